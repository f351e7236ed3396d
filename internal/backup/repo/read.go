package repo

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"gocloud.dev/blob"
)

// Points lists the complete restore points of VM vm in job job, newest first. A point without
// manifest.json is partial and never listed.
func (r *Repository) Points(ctx context.Context, job, vm string) ([]Point, error) {
	return r.complete(ctx, job, subjectDir(job, vm, ""))
}

// JobPoints lists every complete point of job job, its VMs' and its hosts', in one listing:
// also those of VMs the job no longer protects (or that no longer exist). Newest first.
func (r *Repository) JobPoints(ctx context.Context, job string) ([]Point, error) {
	return r.complete(ctx, job, escapeName(job)+"/")
}

// PartialPoints lists the points of job job, VMs' and hosts', that have files but no
// manifest.json: left by an interrupted run or delete, for the next run to remove.
func (r *Repository) PartialPoints(ctx context.Context, job string) ([]Point, error) {
	return r.partial(ctx, job, escapeName(job)+"/")
}

func (r *Repository) partial(ctx context.Context, job, dir string) ([]Point, error) {
	all, err := r.scan(ctx, job, dir)
	if err != nil {
		return nil, err
	}
	var partial []Point
	for _, s := range all {
		if !s.complete {
			partial = append(partial, s.Point)
		}
	}
	return partial, nil
}

// SubjectPoints lists the points of one VM (or, with host set, one host) of job job in one
// listing: the complete ones newest first, and the partial ones an interrupted run left.
func (r *Repository) SubjectPoints(ctx context.Context, job, vm, host string) (complete, partial []Point, err error) {
	all, err := r.scan(ctx, job, subjectDir(job, vm, host))
	if err != nil {
		return nil, nil, err
	}
	for _, s := range all {
		if s.complete {
			complete = append(complete, s.Point)
		} else {
			partial = append(partial, s.Point)
		}
	}
	return complete, partial, nil
}

func (r *Repository) complete(ctx context.Context, job, dir string) ([]Point, error) {
	all, err := r.scan(ctx, job, dir)
	if err != nil {
		return nil, err
	}
	var points []Point
	for _, s := range all {
		if s.complete {
			points = append(points, s.Point)
		}
	}
	return points, nil
}

// scanned is a point found by listing, and whether it has its manifest.
type scanned struct {
	Point
	complete bool
}

// scan lists every key under dir (below job's directory) in one listing and groups the keys by
// point, newest first. Keys that are not in a point's directory are not vmgmt's and are skipped.
func (r *Repository) scan(ctx context.Context, job, dir string) ([]scanned, error) {
	jobDir := r.root + escapeName(job) + "/"
	byDir := map[string]*scanned{}
	it := r.bucket.List(&blob.ListOptions{Prefix: r.root + dir})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("listing the restore points of job %s in %s: %w", job, r.loc, r.classify(err))
		}
		p, file, ok := parsePointKey(job, strings.TrimPrefix(obj.Key, jobDir))
		if !ok {
			continue
		}
		s := byDir[p.dir()]
		if s == nil {
			s = &scanned{Point: p}
			byDir[p.dir()] = s
		}
		s.complete = s.complete || file == ManifestFile
	}
	out := make([]scanned, 0, len(byDir))
	for _, s := range byDir {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ID != out[j].ID {
			return out[i].ID > out[j].ID
		}
		return out[i].dir() < out[j].dir()
	})
	return out, nil
}

// ReadManifest reads a complete point's manifest.
func (r *Repository) ReadManifest(ctx context.Context, p Point) (*Manifest, error) {
	body, err := r.bucket.ReadAll(ctx, r.root+p.dir()+ManifestFile)
	if err != nil {
		return nil, fmt.Errorf("reading the manifest of restore point %s: %w", p, r.classify(err))
	}
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("restore point %s has a manifest that is not valid JSON: %w", p, err)
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("restore point %s has a manifest of format %d; this vmgmt reads format %d", p, m.Format, ManifestFormat)
	}
	return &m, nil
}

// OpenFile opens a data file of a point for streaming; the caller closes it.
func (r *Repository) OpenFile(ctx context.Context, p Point, name string) (io.ReadCloser, error) {
	rd, err := r.bucket.NewReader(ctx, r.root+p.dir()+name, nil)
	if err != nil {
		return nil, fmt.Errorf("opening %s of restore point %s: %w", name, p, r.classify(err))
	}
	return rd, nil
}

// Verify re-reads every file of a complete point, streaming, and compares its size and SHA-256
// with the manifest and with SHA256SUMS. Every mismatch is a *CorruptError naming the file
// (errors.Is(err, ErrCorrupt)); a repository that fails while reading gives that error instead.
func (r *Repository) Verify(ctx context.Context, p Point) error {
	m, err := r.ReadManifest(ctx, p)
	if err != nil {
		return err
	}
	listed, err := r.readSums(ctx, p)
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range m.Files {
		sum, ok := listed[f.Name]
		delete(listed, f.Name)
		if !ok {
			errs = append(errs, &CorruptError{Point: p, File: f.Name, Reason: "is in the manifest but not in " + SumsFile})
		} else if sum != f.SHA256 {
			errs = append(errs, &CorruptError{Point: p, File: f.Name, Reason: "has different SHA-256 sums in the manifest and in " + SumsFile})
		}
		got, err := r.hashFile(ctx, p, f.Name)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				errs = append(errs, &CorruptError{Point: p, File: f.Name, Reason: "is missing"})
				continue
			}
			return err
		}
		if got.Bytes != f.Bytes {
			errs = append(errs, &CorruptError{Point: p, File: f.Name, Reason: fmt.Sprintf("has %d bytes, the manifest says %d", got.Bytes, f.Bytes)})
		} else if got.SHA256 != f.SHA256 {
			errs = append(errs, &CorruptError{Point: p, File: f.Name, Reason: fmt.Sprintf("has SHA-256 %s, the manifest says %s", got.SHA256, f.SHA256)})
		}
	}
	for name := range listed {
		errs = append(errs, &CorruptError{Point: p, File: name, Reason: "is in " + SumsFile + " but not in the manifest"})
	}
	return errors.Join(errs...)
}

// readSums parses a point's SHA256SUMS into file name -> hex sum.
func (r *Repository) readSums(ctx context.Context, p Point) (map[string]string, error) {
	body, err := r.bucket.ReadAll(ctx, r.root+p.dir()+SumsFile)
	if err != nil {
		if errors.Is(r.classify(err), ErrNotFound) {
			return nil, &CorruptError{Point: p, File: SumsFile, Reason: "is missing"}
		}
		return nil, fmt.Errorf("reading %s of restore point %s: %w", SumsFile, p, r.classify(err))
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != sha256.Size*2 {
			return nil, &CorruptError{Point: p, File: SumsFile, Reason: fmt.Sprintf("has a line that is not \"<sha256>  <file>\": %q", sc.Text())}
		}
		out[name] = sum
	}
	return out, nil
}

// hashFile streams a stored file through SHA-256.
func (r *Repository) hashFile(ctx context.Context, p Point, name string) (FileInfo, error) {
	rd, err := r.OpenFile(ctx, p, name)
	if err != nil {
		return FileInfo{}, err
	}
	defer rd.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, struct{ io.Reader }{rd}, make([]byte, copyBufferSize))
	if err != nil {
		return FileInfo{}, fmt.Errorf("reading %s of restore point %s: %w", name, p, r.classify(err))
	}
	return FileInfo{Name: name, Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// DeletePoint removes a point: manifest.json first, so that a delete cut short leaves a partial
// point (which PartialPoints finds) and never a listed point with files missing; then the rest.
func (r *Repository) DeletePoint(ctx context.Context, p Point) error {
	if err := r.delete(ctx, r.root+p.dir()+ManifestFile); err != nil {
		return fmt.Errorf("deleting restore point %s: %w", p, err)
	}
	return r.deleteDir(ctx, p)
}

// deleteDir removes every key of a point, and on a file repository the directories left empty.
func (r *Repository) deleteDir(ctx context.Context, p Point) error {
	it := r.bucket.List(&blob.ListOptions{Prefix: r.root + p.dir()})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("listing restore point %s to delete it: %w", p, r.classify(err))
		}
		if err := r.delete(ctx, obj.Key); err != nil {
			return fmt.Errorf("deleting %s of restore point %s: %w", path.Base(obj.Key), p, err)
		}
	}
	if r.loc.Scheme == "file" {
		// Remove the point's directory and its parents up to the job's while they are empty;
		// os.Remove refuses a directory that is not.
		dir := filepath.Join(r.loc.Path, filepath.FromSlash(strings.TrimSuffix(p.dir(), "/")))
		for dir != r.loc.Path && os.Remove(dir) == nil {
			dir = filepath.Dir(dir)
		}
	}
	return nil
}

// delete removes one key; a key already gone is not an error.
func (r *Repository) delete(ctx context.Context, key string) error {
	if r.beforeDelete != nil {
		if err := r.beforeDelete(key); err != nil {
			return err
		}
	}
	err := r.classify(r.bucket.Delete(ctx, key))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

package repo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"gocloud.dev/blob"
)

// PointWriter writes one restore point: its data files (WriteFile, concurrently if wanted), then
// Commit, or Abort. Until Commit has written manifest.json the point is partial and not listed.
type PointWriter struct {
	repo  *Repository
	point Point

	mu    sync.Mutex
	files map[string]FileInfo
	done  bool
}

// BeginPoint starts a restore point of VM vm in job job, created at at.
func (r *Repository) BeginPoint(ctx context.Context, job, vm string, at time.Time) (*PointWriter, error) {
	if vm == "" {
		return nil, errors.New("a restore point needs the VM's name")
	}
	return r.begin(job, Point{Job: job, VM: vm}, at)
}

// BeginHostPoint starts a host configuration point of host host in job job, created at at.
func (r *Repository) BeginHostPoint(ctx context.Context, job, host string, at time.Time) (*PointWriter, error) {
	if host == "" {
		return nil, errors.New("a host configuration point needs the host's name")
	}
	return r.begin(job, Point{Job: job, Host: host}, at)
}

func (r *Repository) begin(job string, p Point, at time.Time) (*PointWriter, error) {
	if job == "" {
		return nil, errors.New("a restore point needs the job's name")
	}
	id, err := newPointID(at)
	if err != nil {
		return nil, err
	}
	p.ID, p.Time = id, at.UTC().Truncate(time.Second)
	return &PointWriter{repo: r, point: p, files: map[string]FileInfo{}}, nil
}

// Point is the point being written.
func (w *PointWriter) Point() Point { return w.point }

// WriteFile streams r into the point's file name, computing its SHA-256 on the way. Memory stays
// bounded whatever the size (see the package documentation); on S3 a file larger than 10,000
// parts of PartSize needs WriteFileSized.
func (w *PointWriter) WriteFile(ctx context.Context, name string, r io.Reader) (FileInfo, error) {
	return w.WriteFileSized(ctx, name, r, -1)
}

// WriteFileSized is WriteFile with the file's expected size (a disk's capacity), from which the
// S3 part size is chosen so that the upload stays within S3's 10,000 parts; -1 if unknown.
func (w *PointWriter) WriteFileSized(ctx context.Context, name string, r io.Reader, size int64) (FileInfo, error) {
	if err := checkFileName(name); err != nil {
		return FileInfo{}, err
	}
	if err := w.reserve(name); err != nil {
		return FileInfo{}, err
	}
	info, err := w.stream(ctx, name, r, size)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		delete(w.files, name)
		return FileInfo{}, err
	}
	w.files[name] = info
	return info, nil
}

// reserve claims name for one WriteFile, so that two writes of one name are refused.
func (w *PointWriter) reserve(name string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return fmt.Errorf("restore point %s is already committed or aborted", w.point)
	}
	if _, dup := w.files[name]; dup {
		return fmt.Errorf("restore point %s already has a file %s", w.point, name)
	}
	w.files[name] = FileInfo{}
	return nil
}

func (w *PointWriter) stream(ctx context.Context, name string, r io.Reader, size int64) (FileInfo, error) {
	// Cancelling the writer's context is how a blob write is abandoned instead of completed.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bw, err := w.repo.bucket.NewWriter(wctx, w.repo.root+w.point.dir()+name, &blob.WriterOptions{
		ContentType:    "application/octet-stream",
		BufferSize:     partSize(size),
		MaxConcurrency: PartConcurrency,
	})
	if err != nil {
		return FileInfo{}, w.writeError(name, err)
	}
	h := sha256.New()
	var dst io.Writer = bw
	if w.repo.wrapWriter != nil {
		dst = w.repo.wrapWriter(name, bw)
	}
	// Plain Reader and MultiWriter, so that io.CopyBuffer uses the bounded buffer rather than a
	// ReadFrom or WriteTo shortcut of either side.
	n, err := io.CopyBuffer(io.MultiWriter(dst, h), struct{ io.Reader }{r}, make([]byte, copyBufferSize))
	if err != nil {
		cancel()
		_ = bw.Close()
		return FileInfo{}, w.writeError(name, err)
	}
	if err := bw.Close(); err != nil {
		return FileInfo{}, w.writeError(name, err)
	}
	return FileInfo{Name: name, Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// partSize is the S3 part size for a file of size bytes: PartSize, or larger when the file would
// need more than maxParts parts.
func partSize(size int64) int {
	if size <= int64(PartSize)*maxParts {
		return PartSize
	}
	const mib = 1 << 20
	return int((size/maxParts + mib) / mib * mib)
}

func (w *PointWriter) writeError(name string, err error) error {
	return &WriteError{Point: w.point, File: name, Err: err}
}

// Commit completes the point: it fills m's point fields and file hashes from what was written,
// writes SHA256SUMS, then manifest.json last, which makes the point complete. Every disk in m
// must name a file written to the point.
func (w *PointWriter) Commit(ctx context.Context, m Manifest) (Point, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return Point{}, fmt.Errorf("restore point %s is already committed or aborted", w.point)
	}
	files := make([]FileInfo, 0, len(w.files))
	for _, f := range w.files {
		if f.Name == "" {
			return Point{}, fmt.Errorf("restore point %s cannot be committed while a file is still being written", w.point)
		}
		files = append(files, f)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	if err := w.complete(&m, files); err != nil {
		return Point{}, err
	}
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Point{}, fmt.Errorf("encoding the manifest of restore point %s: %w", w.point, err)
	}
	if err := w.writeSmall(ctx, SumsFile, sums(files)); err != nil {
		return Point{}, err
	}
	if err := w.writeSmall(ctx, ManifestFile, append(body, '\n')); err != nil {
		return Point{}, err
	}
	w.done = true
	return w.point, nil
}

// complete fills the manifest's fields that the writer knows.
func (w *PointWriter) complete(m *Manifest, files []FileInfo) error {
	m.Format, m.Job, m.Point, m.Time, m.Files = ManifestFormat, w.point.Job, w.point.ID, w.point.Time, files
	for i, d := range m.Disks {
		f, ok := w.files[d.File]
		if !ok {
			return fmt.Errorf("restore point %s: disk %d names file %q, which was not written", w.point, d.Key, d.File)
		}
		m.Disks[i].Bytes, m.Disks[i].SHA256 = f.Bytes, f.SHA256
	}
	if m.Host != nil {
		if _, ok := w.files[m.Host.Bundle]; !ok {
			return fmt.Errorf("restore point %s: the host bundle file %q was not written", w.point, m.Host.Bundle)
		}
	}
	return nil
}

// sums is the SHA256SUMS content: sha256sum(1)'s format, "<hex>  <name>" per line.
func sums(files []FileInfo) []byte {
	var b bytes.Buffer
	for _, f := range files {
		fmt.Fprintf(&b, "%s  %s\n", f.SHA256, f.Name)
	}
	return b.Bytes()
}

func (w *PointWriter) writeSmall(ctx context.Context, name string, body []byte) error {
	err := w.repo.bucket.WriteAll(ctx, w.repo.root+w.point.dir()+name, body, &blob.WriterOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return w.writeError(name, err)
	}
	return nil
}

// Abort removes everything written to the point so far. It is safe after a failed WriteFile or
// Commit; after a successful Commit it does nothing (use DeletePoint).
func (w *PointWriter) Abort(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return nil
	}
	w.done = true
	return w.repo.deleteDir(ctx, w.point)
}

// SetVerified records a restore test's outcome in a complete point's manifest, rewritten in one
// piece (a rename on a file system, a single PUT on S3), so that the point stays complete while
// it changes. A point deleted meanwhile (pruned) is ErrNotFound, and is not brought back. The
// caller holds the VM's lease, under which retention also runs.
func (r *Repository) SetVerified(ctx context.Context, p Point, v Verification) error {
	m, err := r.ReadManifest(ctx, p)
	if err != nil {
		return err
	}
	m.Verified = &v
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := r.bucket.WriteAll(ctx, r.root+p.dir()+ManifestFile, append(body, '\n'), &blob.WriterOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("recording the restore test of %s: %w", p, r.classify(err))
	}
	return nil
}

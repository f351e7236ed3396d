package repo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"gocloud.dev/blob"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/testutil/tmpfs"
)

// serveEnv makes the test binary an S3 server process (see TestMain), for the benchmark, whose
// heap figure must not include the server's storage.
const serveEnv = "VMGMT_REPO_SERVE_FAKES3"

func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) != "" {
		serveFakeS3()
		return
	}
	os.Exit(m.Run())
}

// serveFakeS3 serves gofakes3 with bucket "bk", prints its URL, and returns when stdin closes.
func serveFakeS3() {
	be := s3mem.New()
	if err := be.CreateBucket("bk"); err != nil {
		panic(err)
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	fmt.Println(srv.URL)
	_, _ = io.Copy(io.Discard, os.Stdin)
	srv.Close()
}

// testRepo is an open repository of one kind, with what the tests need to reach behind it.
type testRepo struct {
	*Repository
	// corrupt flips one byte of a stored file, behind the repository's back.
	corrupt func(t *testing.T, p Point, name string, offset int64)
	// stop makes the repository's server or directory unreachable.
	stop func()
}

type backendCase struct {
	name string
	open func(t *testing.T, wrap func(http.Handler) http.Handler) testRepo
}

var backends = []backendCase{
	{"file", openTestFile},
	{"s3", openTestS3},
}

func openTestFile(t *testing.T, _ func(http.Handler) http.Handler) testRepo {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	r, err := Open(context.Background(), Location{Scheme: "file", Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	return testRepo{
		Repository: r,
		corrupt: func(t *testing.T, p Point, name string, offset int64) {
			flipByte(t, filepath.Join(dir, filepath.FromSlash(p.dir()), name), offset)
		},
		stop: func() {},
	}
}

// openTestS3 starts gofakes3 on plain HTTP (over TLS the SDK's chunked upload framing would be
// stored as data), with bucket "bk", optionally behind wrap, and opens s3://bk/vmgmt/prod on it
// with credentials from the environment.
func openTestS3(t *testing.T, wrap func(http.Handler) http.Handler) testRepo {
	t.Helper()
	be := s3mem.New()
	if err := be.CreateBucket("bk"); err != nil {
		t.Fatal(err)
	}
	var h = gofakes3.New(be).Server()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	setS3Env(t)
	loc, err := ParseURL("s3://bk/vmgmt/prod?endpoint=" + srv.URL + "&region=us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return testRepo{
		Repository: r,
		corrupt: func(t *testing.T, p Point, name string, offset int64) {
			ctx := context.Background()
			key := r.root + p.dir() + name
			body, err := r.bucket.ReadAll(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			body[offset] ^= 0x01
			if err := r.bucket.WriteAll(ctx, key, body, nil); err != nil {
				t.Fatal(err)
			}
		},
		stop: func() { srv.CloseClientConnections(); srv.Close() },
	}
}

// setS3Env gives the SDK test credentials, and one attempt per request so that a server that is
// down fails at once.
func setS3Env(tb testing.TB) {
	tb.Setenv("AWS_ACCESS_KEY_ID", "vmgmt-test")
	tb.Setenv("AWS_SECRET_ACCESS_KEY", "vmgmt-test-secret")
	tb.Setenv("AWS_MAX_ATTEMPTS", "1")
	tb.Setenv("AWS_CONFIG_FILE", filepath.Join(tb.TempDir(), "none"))
	tb.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(tb.TempDir(), "none"))
	tb.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func flipByte(t *testing.T, path string, offset int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, offset); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x01
	if _, err := f.WriteAt(b, offset); err != nil {
		t.Fatal(err)
	}
}

// generated is n pseudo-random bytes from seed, produced as they are read (never held whole).
func generated(seed uint64, n int64) io.Reader {
	var s [32]byte
	s[0] = byte(seed)
	return io.LimitReader(rand.NewChaCha8(s), n)
}

// sumOf is the SHA-256 of generated(seed, n), computed independently of the repository.
func sumOf(t testing.TB, seed uint64, n int64) string {
	h := sha256.New()
	if _, err := io.Copy(h, generated(seed, n)); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// keys lists every key the repository holds below its root.
func keys(t *testing.T, r *Repository) []string {
	t.Helper()
	var out []string
	it := r.bucket.List(&blob.ListOptions{Prefix: r.root})
	for {
		obj, err := it.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.TrimPrefix(obj.Key, r.root))
	}
}

var at = time.Date(2026, 12, 2, 3, 15, 0, 0, time.UTC)

const bigSize = 5<<20 + 12345

// writeTestPoint writes a committed point of vm with a disk of several MiB and a small one.
func writeTestPoint(t *testing.T, r *Repository, vm string, when time.Time) Point {
	t.Helper()
	ctx := context.Background()
	w, err := r.BeginPoint(ctx, "nightly", vm, when)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteFile(ctx, "disk-2000.vmdk", generated(1, bigSize)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteFile(ctx, "disk-2001.vmdk", strings.NewReader("small disk\n")); err != nil {
		t.Fatal(err)
	}
	unit := int32(1)
	p, err := w.Commit(ctx, Manifest{
		VM:          &VMInfo{ID: "vm-42", Name: vm, UUID: "4201-aa"},
		Consistency: Quiesced,
		Hardware:    &Hardware{CPUs: 2, MemoryMB: 4096, Firmware: "efi", HardwareVersion: "vmx-19"},
		Disks: []Disk{
			{Key: 2000, Label: "Hard disk 1", File: "disk-2000.vmdk", CapacityBytes: bigSize, Controller: "scsi0", Unit: new(int32)},
			{Key: 2001, Label: "Hard disk 2", File: "disk-2001.vmdk", CapacityBytes: 11, Controller: "scsi0", Unit: &unit},
		},
		Networks:    []Network{{Label: "Network adapter 1", Network: "VM Network"}},
		ExtraConfig: map[string]string{"vmgmt.baseline": "cis-1"},
		Tags:        []string{"tier/tier-1"},
		CatalogItem: "web-small",
		Baseline:    map[string]string{"name": "cis-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func forEachBackend(t *testing.T, f func(t *testing.T, tr testRepo)) {
	for _, bc := range backends {
		t.Run(bc.name, func(t *testing.T) { f(t, bc.open(t, nil)) })
	}
}

// TestWriteReadPoint: a committed point is listed, and its files, SHA256SUMS and manifest read
// back as written.
func TestWriteReadPoint(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tr testRepo) {
		ctx := context.Background()
		vm := "web/01 ü"
		p := writeTestPoint(t, tr.Repository, vm, at)
		if !strings.HasPrefix(p.ID, "20261202T031500.000Z-") || p.VM != vm || p.Job != "nightly" {
			t.Fatalf("point = %+v", p)
		}
		points, err := tr.Points(ctx, "nightly", vm)
		if err != nil {
			t.Fatal(err)
		}
		if len(points) != 1 || points[0] != p {
			t.Fatalf("Points = %+v, want [%+v]", points, p)
		}

		bigSum := sumOf(t, 1, bigSize)
		smallSum := fmt.Sprintf("%x", sha256.Sum256([]byte("small disk\n")))
		rd, err := tr.OpenFile(ctx, p, "disk-2000.vmdk")
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		n, err := io.Copy(h, rd)
		_ = rd.Close()
		if err != nil || n != bigSize || hex.EncodeToString(h.Sum(nil)) != bigSum {
			t.Fatalf("read back %d bytes, sha256 %x, err %v; want %d bytes, %s", n, h.Sum(nil), err, int64(bigSize), bigSum)
		}

		sums, err := tr.bucket.ReadAll(ctx, tr.root+p.dir()+SumsFile)
		if err != nil {
			t.Fatal(err)
		}
		wantSums := bigSum + "  disk-2000.vmdk\n" + smallSum + "  disk-2001.vmdk\n"
		if string(sums) != wantSums {
			t.Fatalf("SHA256SUMS =\n%s\nwant\n%s", sums, wantSums)
		}

		m, err := tr.ReadManifest(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if m.Format != 1 || m.Job != "nightly" || m.Point != p.ID || !m.Time.Equal(at) || m.VM.Name != vm || m.Consistency != Quiesced {
			t.Fatalf("manifest header = %+v", m)
		}
		if m.Disks[0].SHA256 != bigSum || m.Disks[0].Bytes != bigSize || m.Disks[1].SHA256 != smallSum || *m.Disks[1].Unit != 1 {
			t.Fatalf("manifest disks = %+v", m.Disks)
		}
		if len(m.Files) != 2 || m.Files[0].SHA256 != bigSum || m.Hardware.MemoryMB != 4096 || m.Tags[0] != "tier/tier-1" {
			t.Fatalf("manifest = %+v", m)
		}
		if err := tr.Verify(ctx, p); err != nil {
			t.Fatalf("Verify of an intact point: %v", err)
		}
		wantKeys := []string{"nightly/web%2F01%20%C3%BC/" + p.ID + "/SHA256SUMS", "nightly/web%2F01%20%C3%BC/" + p.ID + "/disk-2000.vmdk",
			"nightly/web%2F01%20%C3%BC/" + p.ID + "/disk-2001.vmdk", "nightly/web%2F01%20%C3%BC/" + p.ID + "/manifest.json"}
		if got := keys(t, tr.Repository); !slices.Equal(got, wantKeys) {
			t.Fatalf("stored keys = %q, want %q", got, wantKeys)
		}
	})
}

// TestSHA256SUMSCheckable: a file point's SHA256SUMS is checked by sha256sum -c itself.
func TestSHA256SUMSCheckable(t *testing.T) {
	if _, err := exec.LookPath("sha256sum"); err != nil {
		t.Skip("sha256sum is not installed")
	}
	tr := openTestFile(t, nil)
	p := writeTestPoint(t, tr.Repository, "db01", at)
	cmd := exec.Command("sha256sum", "-c", SumsFile)
	cmd.Dir = filepath.Join(tr.loc.Path, filepath.FromSlash(p.dir()))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, out)
	}
	tr.corrupt(t, p, "disk-2001.vmdk", 0)
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("sha256sum -c accepted a flipped byte:\n%s", out)
	}
}

// TestPartialPoint: a point not committed is not listed, is found by PartialPoints, and Abort
// removes every trace of it.
func TestPartialPoint(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tr testRepo) {
		ctx := context.Background()
		done := writeTestPoint(t, tr.Repository, "db01", at)
		w, err := tr.BeginPoint(ctx, "nightly", "db01", at.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.WriteFile(ctx, "disk-2000.vmdk", generated(2, 1<<20)); err != nil {
			t.Fatal(err)
		}
		points, err := tr.Points(ctx, "nightly", "db01")
		if err != nil || len(points) != 1 || points[0] != done {
			t.Fatalf("Points = %+v, %v; want only the committed %s", points, err, done.ID)
		}
		partial, err := tr.PartialPoints(ctx, "nightly")
		if err != nil || len(partial) != 1 || partial[0] != w.Point() {
			t.Fatalf("PartialPoints = %+v, %v; want [%+v]", partial, err, w.Point())
		}
		if _, err := tr.ReadManifest(ctx, w.Point()); !errors.Is(err, ErrNotFound) {
			t.Fatalf("ReadManifest of a partial point = %v, want ErrNotFound", err)
		}
		if err := w.Abort(ctx); err != nil {
			t.Fatal(err)
		}
		if partial, err := tr.PartialPoints(ctx, "nightly"); err != nil || len(partial) != 0 {
			t.Fatalf("PartialPoints after Abort = %+v, %v", partial, err)
		}
		for _, k := range keys(t, tr.Repository) {
			if strings.Contains(k, w.Point().ID) {
				t.Fatalf("Abort left %s", k)
			}
		}
		if tr.loc.Scheme == "file" {
			if _, err := os.Stat(filepath.Join(tr.loc.Path, filepath.FromSlash(w.Point().dir()))); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("Abort left the point's directory: %v", err)
			}
		}
		if _, err := w.WriteFile(ctx, "disk-2001.vmdk", strings.NewReader("x")); err == nil {
			t.Fatal("WriteFile after Abort succeeded")
		}
	})
}

// TestPointsOrderAndSubjects: points are listed newest first, per VM or host, and a VM called
// "hosts" stays apart from the host points.
func TestPointsOrderAndSubjects(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tr testRepo) {
		ctx := context.Background()
		var want []Point
		for _, h := range []int{2, 0, 1} {
			want = append(want, writeSmallPoint(t, tr.Repository, "nightly", "hosts", at.Add(time.Duration(h)*time.Hour)))
		}
		slices.SortFunc(want, func(a, b Point) int { return b.Time.Compare(a.Time) })
		hp := writeHostPoint(t, tr.Repository, "nightly", "esx01.lab", at)
		writeSmallPoint(t, tr.Repository, "weekly", "hosts", at)

		got, err := tr.Points(ctx, "nightly", "hosts")
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("Points = %+v, %v; want newest first %+v", got, err, want)
		}
		hosts, partial, err := tr.SubjectPoints(ctx, "nightly", "", "esx01.lab")
		if err != nil || len(hosts) != 1 || hosts[0] != hp || !hp.IsHost() || len(partial) != 0 {
			t.Fatalf("SubjectPoints of the host = %+v, %+v, %v; want [%+v]", hosts, partial, err, hp)
		}
		m, err := tr.ReadManifest(ctx, hp)
		if err != nil || m.Host == nil || m.Host.Bundle != HostBundleFile || m.VM != nil {
			t.Fatalf("host manifest = %+v, %v", m, err)
		}
		if err := tr.Verify(ctx, hp); err != nil {
			t.Fatal(err)
		}
		if partial, err := tr.PartialPoints(ctx, "nightly"); err != nil || len(partial) != 0 {
			t.Fatalf("PartialPoints = %+v, %v; want none", partial, err)
		}
		// JobPoints: the job's every complete point, VMs' and hosts', none of another job's, no
		// partial one.
		pw, err := tr.BeginPoint(ctx, "nightly", "half-done", at.Add(5*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pw.WriteFile(ctx, "disk-2000.vmdk", strings.NewReader("not committed")); err != nil {
			t.Fatal(err)
		}
		all, err := tr.JobPoints(ctx, "nightly")
		if err != nil || len(all) != len(want)+1 || !slices.Contains(all, hp) {
			t.Fatalf("JobPoints = %+v, %v; want the %d VM points and the host point", all, err, len(want))
		}
		for _, p := range want {
			if !slices.Contains(all, p) {
				t.Errorf("JobPoints lacks %+v", p)
			}
		}
	})
}

func writeSmallPoint(t *testing.T, r *Repository, job, vm string, when time.Time) Point {
	t.Helper()
	ctx := context.Background()
	w, err := r.BeginPoint(ctx, job, vm, when)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteFile(ctx, "disk-2000.vmdk", strings.NewReader(vm)); err != nil {
		t.Fatal(err)
	}
	p, err := w.Commit(ctx, Manifest{VM: &VMInfo{Name: vm}, Disks: []Disk{{Key: 2000, File: "disk-2000.vmdk"}}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func writeHostPoint(t *testing.T, r *Repository, job, host string, when time.Time) Point {
	t.Helper()
	ctx := context.Background()
	w, err := r.BeginHostPoint(ctx, job, host, when)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteFile(ctx, HostBundleFile, generated(3, 4096)); err != nil {
		t.Fatal(err)
	}
	p, err := w.Commit(ctx, Manifest{Host: &HostInfo{ID: "host-21", Name: host, Version: "8.0.3", Bundle: HostBundleFile}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCommitChecksManifest: a manifest naming a disk file that was not written is refused, and
// the point stays partial.
func TestCommitChecksManifest(t *testing.T) {
	tr := openTestFile(t, nil)
	ctx := context.Background()
	w, err := tr.BeginPoint(ctx, "nightly", "db01", at)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteFile(ctx, "disk-2000.vmdk", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteFile(ctx, "disk-2000.vmdk", strings.NewReader("y")); err == nil {
		t.Fatal("a second write of one file name succeeded")
	}
	for _, bad := range []string{ManifestFile, SumsFile, "../x", "a/b", "", "disk.tmp"} {
		if _, err := w.WriteFile(ctx, bad, strings.NewReader("x")); err == nil {
			t.Errorf("WriteFile(%q) succeeded", bad)
		}
	}
	_, err = w.Commit(ctx, Manifest{Disks: []Disk{{Key: 2001, File: "disk-2001.vmdk"}}})
	if err == nil || !strings.Contains(err.Error(), `"disk-2001.vmdk", which was not written`) {
		t.Fatalf("Commit = %v", err)
	}
	if points, _ := tr.Points(ctx, "nightly", "db01"); len(points) != 0 {
		t.Fatalf("a refused Commit left a listed point: %+v", points)
	}
}

// TestDeletePointManifestFirst: a delete cut short after its first key leaves a partial point,
// never a listed one with files missing; running it again finishes it.
func TestDeletePointManifestFirst(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tr testRepo) {
		ctx := context.Background()
		p := writeTestPoint(t, tr.Repository, "db01", at)
		keep := writeTestPoint(t, tr.Repository, "db01", at.Add(time.Hour))
		var deleted []string
		tr.beforeDelete = func(key string) error {
			if len(deleted) == 1 {
				return errors.New("interrupted")
			}
			deleted = append(deleted, baseName(key))
			return nil
		}
		if err := tr.DeletePoint(ctx, p); err == nil || !strings.Contains(err.Error(), "interrupted") {
			t.Fatalf("interrupted DeletePoint = %v", err)
		}
		if len(deleted) != 1 || deleted[0] != ManifestFile {
			t.Fatalf("DeletePoint deleted %q first, want %s", deleted, ManifestFile)
		}
		points, err := tr.Points(ctx, "nightly", "db01")
		if err != nil || len(points) != 1 || points[0] != keep {
			t.Fatalf("Points after an interrupted delete = %+v, %v; want only %s", points, err, keep.ID)
		}
		partial, err := tr.PartialPoints(ctx, "nightly")
		if err != nil || len(partial) != 1 || partial[0] != p {
			t.Fatalf("PartialPoints = %+v, %v; want [%+v]", partial, err, p)
		}
		tr.beforeDelete = nil
		if err := tr.DeletePoint(ctx, p); err != nil {
			t.Fatal(err)
		}
		for _, k := range keys(t, tr.Repository) {
			if strings.Contains(k, p.ID) {
				t.Fatalf("DeletePoint left %s", k)
			}
		}
		if points, err := tr.Points(ctx, "nightly", "db01"); err != nil || len(points) != 1 {
			t.Fatalf("Points = %+v, %v", points, err)
		}
	})
}

func baseName(key string) string { return key[strings.LastIndex(key, "/")+1:] }

// TestVerifyDetectsCorruption: one flipped byte in a stored file, or a wrong line in
// SHA256SUMS, is a CorruptError naming the file.
func TestVerifyDetectsCorruption(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tr testRepo) {
		ctx := context.Background()
		p := writeTestPoint(t, tr.Repository, "db01", at)
		tr.corrupt(t, p, "disk-2000.vmdk", 3<<20)
		err := tr.Verify(ctx, p)
		var ce *CorruptError
		if !errors.Is(err, ErrCorrupt) || !errors.As(err, &ce) || ce.File != "disk-2000.vmdk" || !strings.Contains(err.Error(), "disk-2000.vmdk has SHA-256") {
			t.Fatalf("Verify of a flipped byte = %v", err)
		}
		if strings.Contains(err.Error(), "disk-2001") {
			t.Fatalf("Verify blames the intact file: %v", err)
		}

		q := writeTestPoint(t, tr.Repository, "db01", at.Add(time.Hour))
		key := tr.root + q.dir() + SumsFile
		sums, _ := tr.bucket.ReadAll(ctx, key)
		bad := strings.Replace(string(sums), "  disk-2001.vmdk", "  disk-2009.vmdk", 1)
		if err := tr.bucket.WriteAll(ctx, key, []byte(bad), nil); err != nil {
			t.Fatal(err)
		}
		err = tr.Verify(ctx, q)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "disk-2001.vmdk is in the manifest but not in SHA256SUMS") ||
			!strings.Contains(err.Error(), "disk-2009.vmdk is in SHA256SUMS but not in the manifest") {
			t.Fatalf("Verify of a wrong SHA256SUMS = %v", err)
		}
	})
}

// TestOpenUnavailable: a repository that cannot be reached or used is ErrUnavailable at Open,
// with a message saying why.
func TestOpenUnavailable(t *testing.T) {
	ctx := context.Background()
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		loc  func(t *testing.T) Location
		want string
	}{
		"file parent missing": {func(t *testing.T) Location {
			return Location{Scheme: "file", Path: filepath.Join(t.TempDir(), "nas", "vmgmt")}
		}, "/nas does not exist: create it, or mount the share"},
		"file not a directory": {func(t *testing.T) Location { return Location{Scheme: "file", Path: notDir} }, "is not a directory"},
		"file not writable":    {func(t *testing.T) Location { return Location{Scheme: "file", Path: "/proc"} }, "cannot be written by this process"},
		"s3 server down": {func(t *testing.T) Location {
			srv := httptest.NewServer(http.NotFoundHandler())
			srv.Close()
			return Location{Scheme: "s3", Bucket: "bk", Endpoint: srv.URL, PathStyle: true}
		}, "cannot be reached"},
		"s3 bucket missing": {func(t *testing.T) Location {
			srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
			t.Cleanup(srv.Close)
			return Location{Scheme: "s3", Bucket: "nobucket", Prefix: "p", Endpoint: srv.URL, PathStyle: true}
		}, `the bucket "nobucket" of s3://nobucket/p?endpoint=http`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			setS3Env(t)
			r, err := Open(ctx, c.loc(t))
			if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open = %v, %v; want ErrUnavailable containing %q", r, err, c.want)
			}
		})
	}
}

// TestWriteUnavailable: a repository that goes away while a point is written gives a WriteError
// naming the point and the file that is ErrUnavailable.
func TestWriteUnavailable(t *testing.T) {
	tr := openTestS3(t, nil)
	ctx := context.Background()
	w, err := tr.BeginPoint(ctx, "nightly", "db01", at)
	if err != nil {
		t.Fatal(err)
	}
	tr.stop()
	_, err = w.WriteFile(ctx, "disk-2000.vmdk", generated(1, 20<<20))
	var we *WriteError
	if !errors.Is(err, ErrUnavailable) || !errors.As(err, &we) || we.File != "disk-2000.vmdk" ||
		!strings.Contains(err.Error(), "writing disk-2000.vmdk of restore point nightly/db01/"+w.Point().ID) {
		t.Fatalf("WriteFile to a stopped server = %v", err)
	}
	if _, err := tr.Points(ctx, "nightly", "db01"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Points on a stopped server = %v, want ErrUnavailable", err)
	}
}

// errAfter fails every write with err once limit bytes have passed: a device filling up.
type errAfter struct {
	w     io.Writer
	limit int64
	err   error
}

func (e *errAfter) Write(p []byte) (int, error) {
	if int64(len(p)) > e.limit {
		n, _ := e.w.Write(p[:e.limit])
		e.limit = 0
		return n, e.err
	}
	e.limit -= int64(len(p))
	return e.w.Write(p)
}

// TestWriteFull: a repository that fills up mid-file gives a WriteError naming the point and file
// that is ErrFull, keeps nothing of that file, and Abort leaves nothing. The file repository's
// device error is injected here (TestFileRepositoryFull has a real full file system); the S3 one
// comes from the server, as MinIO answers when its drives are full.
func TestWriteFull(t *testing.T) {
	full := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "disk-2000") {
				_, _ = io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusInsufficientStorage)
				_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>XMinioStorageFull</Code>`+
					`<Message>Storage backend has reached its minimum free drive threshold.</Message></Error>`)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	for _, bc := range backends {
		t.Run(bc.name, func(t *testing.T) {
			tr := bc.open(t, full)
			if bc.name == "file" {
				tr.wrapWriter = func(name string, w io.Writer) io.Writer {
					return &errAfter{w: w, limit: 1 << 20, err: &os.PathError{Op: "write", Path: name, Err: syscall.ENOSPC}}
				}
			}
			ctx := context.Background()
			w, err := tr.BeginPoint(ctx, "nightly", "db01", at)
			if err != nil {
				t.Fatal(err)
			}
			_, err = w.WriteFile(ctx, "disk-2000.vmdk", generated(1, 20<<20))
			var we *WriteError
			if !errors.Is(err, ErrFull) || !errors.As(err, &we) || we.File != "disk-2000.vmdk" ||
				!strings.Contains(err.Error(), "of restore point nightly/db01/"+w.Point().ID) || !strings.Contains(err.Error(), "the repository is full") {
				t.Fatalf("WriteFile to a full repository = %v", err)
			}
			if errors.Is(err, ErrUnavailable) {
				t.Fatalf("a full repository is not unavailable: %v", err)
			}
			for _, k := range keys(t, tr.Repository) {
				if strings.Contains(k, "disk-2000") {
					t.Fatalf("a failed write left %s", k)
				}
			}
			if _, err := w.Commit(ctx, Manifest{Disks: []Disk{{Key: 2000, File: "disk-2000.vmdk"}}}); err == nil {
				t.Fatal("Commit of a point whose disk failed succeeded")
			}
			if err := w.Abort(ctx); err != nil {
				t.Fatal(err)
			}
			if k := keys(t, tr.Repository); len(k) != 0 {
				t.Fatalf("Abort left %q", k)
			}
		})
	}
}

// TestFileRepositoryFull writes to a real full file system: a 4 MiB tmpfs mounted in a private
// mount namespace (unshare), where the test runs again as a child process.
func TestFileRepositoryFull(t *testing.T) {
	dir := tmpfs.Dir(t, 4)
	if dir == "" {
		return
	}
	ctx := context.Background()
	r, err := Open(ctx, Location{Scheme: "file", Path: filepath.Join(dir, "repo")})
	if err != nil {
		t.Fatal(err)
	}
	w, err := r.BeginPoint(ctx, "nightly", "db01", at)
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.WriteFile(ctx, "disk-2000.vmdk", generated(1, 8<<20))
	if !errors.Is(err, ErrFull) || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "writing disk-2000.vmdk of restore point nightly/db01/") {
		t.Fatalf("WriteFile on a full file system = %v", err)
	}
	t.Log(err)
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	var left []string
	_ = filepath.Walk(filepath.Join(dir, "repo"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) != 0 {
		t.Fatalf("a failed write on a full file system left %q", left)
	}
}

// TestEscapeName: any name is one safe path element, given back by unescaping.
func TestEscapeName(t *testing.T) {
	cases := map[string]string{
		"web01":        "web01",
		"web/01 ü":     "web%2F01%20%C3%BC",
		"..":           "%2E%2E",
		".":            "%2E",
		"a%b":          "a%25b",
		"db_01.prod-2": "db_01.prod-2",
		"x\n\x00":      "x%0A%00",
	}
	for in, want := range cases {
		got := escapeName(in)
		if got != want {
			t.Errorf("escapeName(%q) = %q, want %q", in, got, want)
		}
		if back, ok := unescapeName(got); !ok || back != in {
			t.Errorf("unescapeName(%q) = %q, %v; want %q", got, back, ok, in)
		}
	}
	if got := escapeVM("hosts"); got != "%68osts" {
		t.Errorf("escapeVM(hosts) = %q", got)
	}
	if back, _ := unescapeName(escapeVM("hosts")); back != "hosts" {
		t.Errorf("escapeVM(hosts) does not unescape: %q", back)
	}
}

// TestParsePointKey: only keys in a point's directory with a point ID are points.
func TestParsePointKey(t *testing.T) {
	good := map[string]Point{
		"db01/20261202T031500Z-1a2b3c/manifest.json":              {Job: "j", VM: "db01", ID: "20261202T031500Z-1a2b3c", Time: at},
		"hosts/esx%2001/20261202T031500Z-1a2b3c/configBundle.tgz": {Job: "j", Host: "esx 01", ID: "20261202T031500Z-1a2b3c", Time: at},
		"%68osts/20261202T031500Z-1a2b3c/disk-2000.vmdk":          {Job: "j", VM: "hosts", ID: "20261202T031500Z-1a2b3c", Time: at},
		"db01/20261202T031500.250Z-1a2b3c/manifest.json":          {Job: "j", VM: "db01", ID: "20261202T031500.250Z-1a2b3c", Time: at.Add(250 * time.Millisecond)},
	}
	for key, want := range good {
		p, file, ok := parsePointKey("j", key)
		if !ok || p != want || file != key[strings.LastIndex(key, "/")+1:] {
			t.Errorf("parsePointKey(%q) = %+v, %q, %v; want %+v", key, p, file, ok, want)
		}
	}
	for _, key := range []string{"db01/manifest.json", "db01/2026-12-02/manifest.json", "hosts/20261202T031500Z-1a2b3c/x",
		"db01/20261202T031500Z-1a2b3c/", "db01/20261202T031500Z-1a2b3c/sub/x", "README",
		"db01/20261202T031500.25Z-1a2b3c/manifest.json", "db01/20261202T031500.2500Z-1a2b3c/manifest.json"} {
		if p, _, ok := parsePointKey("j", key); ok {
			t.Errorf("parsePointKey(%q) = %+v, want not a point", key, p)
		}
	}
}

// TestPartSize: a file too large for 9,000 parts of PartSize gets larger parts.
func TestPartSize(t *testing.T) {
	for size, want := range map[int64]int{-1: PartSize, 1 << 30: PartSize, PartSize * maxParts: PartSize, 1 << 40: 117 << 20} {
		if got := partSize(size); got != want || int64(got)*maxParts < size {
			t.Errorf("partSize(%d) = %d, want %d", size, got, want)
		}
	}
}

// TestCommitFailureLeavesPartial: when SHA256SUMS cannot be written, manifest.json is not either,
// so the point stays partial, and the error names the point and the file.
func TestCommitFailureLeavesPartial(t *testing.T) {
	failSums := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/"+SumsFile) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusForbidden)
				_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	tr := openTestS3(t, failSums)
	ctx := context.Background()
	w, err := tr.BeginPoint(ctx, "nightly", "db01", at)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteFile(ctx, "disk-2000.vmdk", strings.NewReader("data")); err != nil {
		t.Fatal(err)
	}
	_, err = w.Commit(ctx, Manifest{Disks: []Disk{{Key: 2000, File: "disk-2000.vmdk"}}})
	if err == nil || !strings.Contains(err.Error(), "writing SHA256SUMS of restore point nightly/db01/"+w.Point().ID) {
		t.Fatalf("Commit with SHA256SUMS refused = %v", err)
	}
	if points, err := tr.Points(ctx, "nightly", "db01"); err != nil || len(points) != 0 {
		t.Fatalf("Points after a failed Commit = %+v, %v; want none", points, err)
	}
	if partial, err := tr.PartialPoints(ctx, "nightly"); err != nil || len(partial) != 1 {
		t.Fatalf("PartialPoints after a failed Commit = %+v, %v", partial, err)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
}

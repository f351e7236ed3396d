package repo

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchSize is the stream the benchmark writes: far larger than any buffer, so that a heap that
// grew with the file would show.
const benchSize = 256 << 20

// BenchmarkRepositoryWrite measures writing one 256 MiB file (from a file on disk) into a file
// repository and into gofakes3 over HTTP (in a child process, so that its in-memory storage is
// not counted in this process's heap), against cp of the same file in the same run. It reports
// MB/s and heap-peak-MiB, the highest heap in use seen while writing (sampled with
// runtime.ReadMemStats), which stays bounded by the buffers, not by the file's size.
func BenchmarkRepositoryWrite(b *testing.B) {
	src := filepath.Join(b.TempDir(), "disk.raw")
	f, err := os.Create(src)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(f, generated(9, benchSize)); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()

	write := func(b *testing.B, r *Repository) {
		b.SetBytes(benchSize)
		peak := sampleHeap()
		for b.Loop() {
			w, err := r.BeginPoint(ctx, "bench", "vm", time.Now())
			if err != nil {
				b.Fatal(err)
			}
			in, err := os.Open(src)
			if err != nil {
				b.Fatal(err)
			}
			info, err := w.WriteFile(ctx, "disk-2000.vmdk", in)
			_ = in.Close()
			if err != nil || info.Bytes != benchSize {
				b.Fatalf("WriteFile = %+v, %v", info, err)
			}
			if err := w.Abort(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(peak()/(1<<20), "heap-peak-MiB")
	}

	b.Run("file", func(b *testing.B) {
		r, err := Open(ctx, Location{Scheme: "file", Path: filepath.Join(b.TempDir(), "repo")})
		if err != nil {
			b.Fatal(err)
		}
		write(b, r)
	})
	b.Run("s3", func(b *testing.B) {
		setS3Env(b)
		loc, err := ParseURL("s3://bk/bench?endpoint=" + fakeS3Process(b) + "&region=us-east-1")
		if err != nil {
			b.Fatal(err)
		}
		r, err := Open(ctx, loc)
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		write(b, r)
	})
	b.Run("cp", func(b *testing.B) {
		dst := filepath.Join(b.TempDir(), "copy.raw")
		b.SetBytes(benchSize)
		for b.Loop() {
			if out, err := exec.Command("cp", src, dst).CombinedOutput(); err != nil {
				b.Fatalf("cp: %v\n%s", err, out)
			}
			if err := os.Remove(dst); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// sampleHeap samples the heap in use until the benchmark ends; the function it returns gives
// the highest value seen, in bytes.
func sampleHeap() func() float64 {
	runtime.GC()
	var mu sync.Mutex
	var peak uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peak = max(peak, ms.HeapInuse)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() float64 {
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		return float64(peak)
	}
}

// fakeS3Process starts this test binary as a gofakes3 server (see TestMain) and gives its URL.
func fakeS3Process(b *testing.B) string {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serveEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("the gofakes3 process gave no URL: %v", err)
	}
	return strings.TrimSpace(line)
}

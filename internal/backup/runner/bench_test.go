package runner

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/job"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/repo"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

const (
	// benchDisk is erp-db01's disk in the file benchmark: the size the issue asks the runner's
	// peak RSS for. The simulator's flat extent is sparse, so it costs no disk space; the file
	// repository's copy of it does, for the length of the benchmark.
	benchDisk = 4 << 30
	// benchS3Disk is erp-db01's disk in the S3 benchmark. It is smaller because gofakes3 holds a
	// multipart upload's parts, the reassembled object and s3mem's copy of it in the benchmark
	// process's memory (about 3x the disk). The runner's own memory does not grow with the disk:
	// it streams through PartConcurrency+1 parts of a fixed PartSize.
	benchS3Disk = 1 << 30
)

// BenchmarkBackupRun runs `terraform-provider-vmgmt backup run` as a child process over
// erp-db01 alone and reports the child's peak RSS (peak-rss-MiB) and its throughput (MB/s: the
// disk's bytes over the child's wall time), into a file repository and into S3 (gofakes3 on plain
// HTTP), beside `cp` copying the same flat extent in the same run (cp-MB/s). One iteration is
// enough: b.N repeats the child run.
//
// The child is started through testdata/peakrss, which reads its rusage: the child's own
// ru_maxrss as a child of the benchmark process would be at least the benchmark's own peak RSS
// (see peakrss). The peak counts every resident page: the heap, the runtime's own memory, and the
// binary's text and read-only data pages the run touched.
func BenchmarkBackupRun(b *testing.B) {
	if os.Getenv("TF_ACC") == "" {
		b.Skip("set TF_ACC=1 to run the backup benchmark (it builds the provider and streams a 4 GiB disk)")
	}
	bin := filepath.Join(acctest.ProviderBinary(b), acctest.ProviderBinaryName)
	peakrss := buildPeakRSS(b)

	b.Run("file", func(b *testing.B) {
		sim, c := benchSim(b, benchDisk)
		dir := filepath.Join(b.TempDir(), "repo")
		benchRun(b, peakrss, bin, sim, c, benchDisk, "file://"+dir, nil)
	})

	b.Run("s3", func(b *testing.B) {
		sim, c := benchSim(b, benchS3Disk)
		be := s3mem.New()
		if err := be.CreateBucket("bk"); err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(gofakes3.New(be).Server())
		b.Cleanup(srv.Close)
		none := filepath.Join(b.TempDir(), "none")
		aws := map[string]string{
			"AWS_ACCESS_KEY_ID":           "vmgmt-test",
			"AWS_SECRET_ACCESS_KEY":       "vmgmt-test-secret",
			"AWS_SESSION_TOKEN":           "",
			"AWS_PROFILE":                 "",
			"AWS_CONFIG_FILE":             none,
			"AWS_SHARED_CREDENTIALS_FILE": none,
			"AWS_EC2_METADATA_DISABLED":   "true",
		}
		// The child reads the credentials; the benchmark process opens the repository to check
		// the stored point, so it needs them too.
		for k, v := range aws {
			b.Setenv(k, v)
		}
		url := fmt.Sprintf("s3://bk/vmgmt?endpoint=%s&region=us-east-1", srv.URL)
		benchRun(b, peakrss, bin, sim, c, benchS3Disk, url, aws)
	})
}

// buildPeakRSS builds testdata/peakrss into a temporary directory and returns its path.
func buildPeakRSS(b *testing.B) string {
	b.Helper()
	root, err := acctest.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(b.TempDir(), "peakrss")
	build := exec.Command("go", "build", "-o", bin, "./internal/backup/runner/testdata/peakrss")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building peakrss: %v\n%s", err, out)
	}
	return bin
}

// benchSim starts a simulator whose erp-db01 has a disk of size bytes, and a client of it.
func benchSim(b *testing.B, size int64) (*simulator.Sim, *vsphere.Client) {
	b.Helper()
	ctx := context.Background()
	sim, err := simulator.Start(ctx, simulator.Options{BigDiskSize: size})
	if err != nil {
		b.Fatalf("starting the simulator: %v", err)
	}
	b.Cleanup(sim.Close)
	c, err := vsphere.Connect(ctx, vsphere.Config{Server: sim.URL.Host, User: sim.User, Password: sim.Password, Insecure: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close(context.Background()) })
	return sim, c
}

// benchRun puts a job over erp-db01 into repository, times cp on the disk's flat extent, then
// runs the job b.N times in a child process (through peakrss) with the simulator's environment
// and extra, and reports the metrics. Each run must exit 0 and store the whole disk.
func benchRun(b *testing.B, peakrss, bin string, sim *simulator.Sim, c *vsphere.Client, size int64, repository string, extra map[string]string) {
	b.Helper()
	ctx := context.Background()
	vm, err := c.FindVM(ctx, simulator.WorkloadFolder+"/"+simulator.BigDiskVM)
	if err != nil {
		b.Fatal(err)
	}
	j := &job.Job{
		Name:        "bench",
		Selection:   &vsphere.Selection{Include: vsphere.Criteria{IDs: []string{vm.ID}}},
		Schedule:    job.Schedule{Cron: "0 2 * * *"},
		Retention:   job.Retention{KeepLast: 1},
		Consistency: job.Crash,
		Repository:  repository,
		Enabled:     true,
	}
	if err := job.PutJob(ctx, c, j); err != nil {
		b.Fatal(err)
	}
	files, err := sim.DiskFiles(simulator.BigDiskVM)
	if err != nil || len(files) != 1 {
		b.Fatalf("disk files of %s: %v, %v", simulator.BigDiskVM, files, err)
	}
	if fi, err := os.Stat(files[0]); err != nil || fi.Size() != size {
		b.Fatalf("flat extent %s: %v, size %d, want %d", files[0], err, statSize(fi), size)
	}
	cpMBs := benchCP(b, files[0], size)

	env := os.Environ()
	for k, v := range sim.Env() {
		env = append(env, k+"="+v)
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	loc, err := repo.ParseURL(repository)
	if err != nil {
		b.Fatal(err)
	}

	rssFile := filepath.Join(b.TempDir(), "peak-rss")
	var wall time.Duration
	var peakKiB int64
	b.ResetTimer()
	for range b.N {
		var out bytes.Buffer
		cmd := exec.Command(peakrss, rssFile, bin, "backup", "run", "--job", j.Name, "--output", "plain")
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		wall += time.Since(start)
		if err != nil {
			b.Fatalf("backup run: %v (exit code %d)\n%s", err, cmd.ProcessState.ExitCode(), out.Bytes())
		}
		b.StopTimer()
		if kib := readPeakRSS(b, rssFile); kib > peakKiB {
			peakKiB = kib
		}
		benchCheckPoint(b, loc, j.Name, size)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(peakKiB)/1024, "peak-rss-MiB")
	b.ReportMetric(float64(size)*float64(b.N)/1e6/wall.Seconds(), "MB/s")
	b.ReportMetric(cpMBs, "cp-MB/s")
}

// readPeakRSS reads peakrss's file: the command's peak RSS and peakrss's own, in KiB. A command
// that peaked no higher than peakrss itself gives no figure of its own.
func readPeakRSS(b *testing.B, path string) int64 {
	b.Helper()
	body, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var peak, own int64
	if _, err := fmt.Sscanf(string(body), "%d %d", &peak, &own); err != nil {
		b.Fatalf("peakrss's file %q: %v", body, err)
	}
	if peak <= own {
		b.Fatalf("the child's peak RSS (%d KiB) is not above peakrss's own (%d KiB)", peak, own)
	}
	return peak
}

// benchCP times `cp --sparse=never` of the flat extent into a temporary directory, removes the
// copy, and returns the copy's MB/s.
func benchCP(b *testing.B, src string, size int64) float64 {
	b.Helper()
	dst := filepath.Join(b.TempDir(), "disk-flat.vmdk")
	start := time.Now()
	if out, err := exec.Command("cp", "--sparse=never", src, dst).CombinedOutput(); err != nil {
		b.Fatalf("cp: %v\n%s", err, out)
	}
	elapsed := time.Since(start)
	fi, err := os.Stat(dst)
	if err != nil || fi.Size() != size {
		b.Fatalf("cp copy %s: %v, size %d, want %d", dst, err, statSize(fi), size)
	}
	if err := os.Remove(dst); err != nil {
		b.Fatal(err)
	}
	return float64(size) / 1e6 / elapsed.Seconds()
}

// benchCheckPoint fails the benchmark unless the job's newest point of erp-db01 stores one disk
// of size bytes.
func benchCheckPoint(b *testing.B, loc repo.Location, jobName string, size int64) {
	b.Helper()
	ctx := context.Background()
	r, err := repo.Open(ctx, loc)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	points, err := r.Points(ctx, jobName, simulator.BigDiskVM)
	if err != nil {
		b.Fatal(err)
	}
	if len(points) == 0 {
		b.Fatal("the run stored no restore point")
	}
	m, err := r.ReadManifest(ctx, points[0]) // newest first
	if err != nil {
		b.Fatal(err)
	}
	if len(m.Disks) != 1 || m.Disks[0].Bytes != size || m.Disks[0].CapacityBytes != size {
		b.Fatalf("stored disks %+v, want one of %d bytes", m.Disks, size)
	}
}

func statSize(fi os.FileInfo) int64 {
	if fi == nil {
		return -1
	}
	return fi.Size()
}

package runner

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/job"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/repo"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/restore"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

const (
	// restoreAllVMs is how many VMs BenchmarkRestoreAll20 restores at once: a small site's worth,
	// enough for the restore's concurrency to show.
	restoreAllVMs = 20
	// restoreAllDisk is the size of each of those VMs' one disk, all of it random data. The
	// disks are small so that the per-VM work (Prepare's reads, the import task and its lease,
	// the rename) weighs as it does on a site of many small VMs, and 20 restored copies fit any
	// /tmp.
	restoreAllDisk = 32 << 20
)

// BenchmarkRestore runs `terraform-provider-vmgmt backup restore --vm erp-db01 --latest` as a
// child process (through testdata/peakrss, as BenchmarkBackupRun does) from a file repository
// that holds one backup of erp-db01 (a benchDisk disk), and reports the child's peak RSS
// (peak-rss-MiB), its throughput (MB/s: the disk's bytes over the child's wall time), and `cp`
// copying the repository's stored disk in the same run (cp-MB/s).
//
// Each iteration restores under a name of its own into a folder of the benchmark's, checks that
// the restored VM's flat extent on the simulator's datastore has the manifest's SHA-256, and
// destroys the VM (both with the timer stopped): the simulator stores an upload as a real file,
// so each restored copy costs benchDisk of disk space until it is destroyed.
//
// The simulator runs in the benchmark process, so its side of the upload (TLS, a SHA-256, the
// write of the flat extent) runs beside the child on the same cores: on a small machine MB/s says
// as much about the simulator's writes as about the restore's own reading, hashing and sending.
func BenchmarkRestore(b *testing.B) {
	if os.Getenv("TF_ACC") == "" {
		b.Skip("set TF_ACC=1 to run the restore benchmark (it builds the provider and streams a 4 GiB disk)")
	}
	ctx := context.Background()
	bin := filepath.Join(acctest.ProviderBinary(b), acctest.ProviderBinaryName)
	peakrss := buildPeakRSS(b)
	sim, c := benchSim(b, benchDisk)
	dir := filepath.Join(b.TempDir(), "repo")
	vm, err := c.FindVM(ctx, simulator.WorkloadFolder+"/"+simulator.BigDiskVM)
	if err != nil {
		b.Fatal(err)
	}
	j := benchBackUp(b, c, &vsphere.Selection{Include: vsphere.Criteria{IDs: []string{vm.ID}}}, "file://"+dir, 1)

	r := benchRepo(b, j.Repository)
	points, err := r.Points(ctx, j.Name, simulator.BigDiskVM)
	if err != nil || len(points) != 1 {
		b.Fatalf("points of %s: %v, %v; want one", simulator.BigDiskVM, points, err)
	}
	m, err := r.ReadManifest(ctx, points[0])
	if err != nil {
		b.Fatal(err)
	}
	if len(m.Disks) != 1 || m.Disks[0].Bytes != benchDisk {
		b.Fatalf("stored disks %+v, want one of %d bytes", m.Disks, benchDisk)
	}
	// The file repository keeps a point's files under <job>/<vm>/<point>/ (names that need no
	// escaping here): cp copies the very file the restore reads.
	stored := filepath.Join(dir, j.Name, simulator.BigDiskVM, points[0].ID, m.Disks[0].File)
	syscall.Sync()
	cpMBs := benchCP(b, stored, benchDisk)
	folder := makeFolder(b, c, "bench-restored")

	env := os.Environ()
	for k, v := range sim.Env() {
		env = append(env, k+"="+v)
	}
	rssFile := filepath.Join(b.TempDir(), "peak-rss")
	var wall time.Duration
	var peakKiB int64
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		// Both the cp and each restore start with no dirty pages to write back: the backup's
		// 4 GiB (and the last iteration's) would otherwise throttle whichever writes next, and
		// the figures would say more about the disk under /tmp than about the restore.
		syscall.Sync()
		b.StartTimer()
		name := fmt.Sprintf("%s-bench-%d", simulator.BigDiskVM, i)
		var out bytes.Buffer
		cmd := exec.Command(peakrss, rssFile, bin, "backup", "restore", "--job", j.Name, "--vm", simulator.BigDiskVM,
			"--latest", "--name", name, "--folder", folder, "--output", "plain")
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		wall += time.Since(start)
		if err != nil {
			b.Fatalf("backup restore: %v (exit code %d)\n%s", err, cmd.ProcessState.ExitCode(), out.Bytes())
		}
		b.StopTimer()
		if kib := readPeakRSS(b, rssFile); kib > peakKiB {
			peakKiB = kib
		}
		if !strings.Contains(out.String(), "restored as "+name) {
			b.Fatalf("backup restore's output does not say erp-db01 was restored as %s:\n%s", name, out.Bytes())
		}
		id := benchVMIn(b, c, folder, name)
		flats := benchFlats(b, sim, id)
		if len(flats) != 1 {
			b.Fatalf("restored VM %s has flat extents %v, want one", name, flats)
		}
		if size, sum := benchFileSHA(b, flats[0]); size != benchDisk || sum != m.Disks[0].SHA256 {
			b.Fatalf("restored disk %s: %d bytes, SHA-256 %s; the manifest says %d, %s", flats[0], size, sum, benchDisk, m.Disks[0].SHA256)
		}
		benchDestroy(b, c, id, flats)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(peakKiB)/1024, "peak-rss-MiB")
	b.ReportMetric(float64(benchDisk)*float64(b.N)/1e6/wall.Seconds(), "MB/s")
	b.ReportMetric(cpMBs, "cp-MB/s")
}

// BenchmarkRestoreAll20 restores a whole environment: restoreAllVMs VMs, each with a disk of
// restoreAllDisk random bytes, backed up once by one job, restored in-process (runner.Restore
// with All) into a fresh folder per iteration, each VM under its own name, at several
// concurrencies. It reports the wall time of one whole restore (s/restore) and the aggregate
// throughput (MB/s: every disk's bytes over that time). Each iteration checks that every VM was
// restored with its disk's SHA-256 and destroys the copies, with the timer stopped.
func BenchmarkRestoreAll20(b *testing.B) {
	if os.Getenv("TF_ACC") == "" {
		b.Skip("set TF_ACC=1 to run the restore benchmark (it backs up and restores 20 VMs on the simulator)")
	}
	ctx := context.Background()
	sim, err := simulator.Start(ctx, simulator.Options{ExtraVMs: restoreAllVMs})
	if err != nil {
		b.Fatalf("starting the simulator: %v", err)
	}
	b.Cleanup(sim.Close)
	c, err := vsphere.Connect(ctx, vsphere.Config{Server: sim.URL.Host, User: sim.User, Password: sim.Password, Insecure: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close(context.Background()) })
	benchFillBulkDisks(b, sim, c, restoreAllVMs, restoreAllDisk)
	j := benchBackUp(b, c, &vsphere.Selection{Include: vsphere.Criteria{Folders: []string{simulator.BulkFolder}}},
		"file://"+filepath.Join(b.TempDir(), "repo"), restoreAllVMs)

	// What each VM's restored disk must hold: its manifest's SHA-256.
	r := benchRepo(b, j.Repository)
	want := map[string]string{}
	for i := range restoreAllVMs {
		name := simulator.BulkVMName(i)
		points, err := r.Points(ctx, j.Name, name)
		if err != nil || len(points) != 1 {
			b.Fatalf("points of %s: %v, %v; want one", name, points, err)
		}
		m, err := r.ReadManifest(ctx, points[0])
		if err != nil {
			b.Fatal(err)
		}
		if len(m.Disks) != 1 || m.Disks[0].Bytes != restoreAllDisk {
			b.Fatalf("%s: stored disks %+v, want one of %d bytes", name, m.Disks, restoreAllDisk)
		}
		want[name] = m.Disks[0].SHA256
	}

	// folders numbers the restore folders: a sub-benchmark's function runs again for each -count
	// and each b.N the framework tries, and every iteration needs a folder of its own.
	folders := 0
	for _, conc := range []int{1, 4, 8} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			var wall time.Duration
			for range b.N {
				b.StopTimer()
				folders++
				folder := makeFolder(b, c, fmt.Sprintf("restored-%d", folders))
				b.StartTimer()
				start := time.Now()
				sum, err := Restore(ctx, c, RestoreOptions{Job: j.Name, All: true, Concurrency: conc, Target: restore.Target{Folder: folder}})
				wall += time.Since(start)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				if len(sum.Results) != restoreAllVMs || sum.Failed() {
					b.Fatalf("restore of every VM: %d results, failed %v: %+v; want %d restored", len(sum.Results), sum.Failed(), sum.Results, restoreAllVMs)
				}
				for _, res := range sum.Results {
					if res.Name != res.VM || res.Bytes != restoreAllDisk || want[res.VM] == "" {
						b.Fatalf("restored %s as %s with %d bytes, want a VM of the job under its own name with %d bytes", res.VM, res.Name, res.Bytes, restoreAllDisk)
					}
					if id := benchVMIn(b, c, folder, res.Name); id != res.ID {
						b.Fatalf("%s in the restore folder is %s, the restore says %s", res.Name, id, res.ID)
					}
					flats := benchFlats(b, sim, res.ID)
					if len(flats) != 1 {
						b.Fatalf("restored VM %s has flat extents %v, want one", res.Name, flats)
					}
					if size, sha := benchFileSHA(b, flats[0]); size != restoreAllDisk || sha != want[res.VM] {
						b.Fatalf("restored disk of %s: %d bytes, SHA-256 %s; the manifest says %d, %s", res.VM, size, sha, restoreAllDisk, want[res.VM])
					}
					benchDestroy(b, c, res.ID, flats)
				}
				b.StartTimer()
			}
			b.StopTimer()
			b.ReportMetric(wall.Seconds()/float64(b.N), "s/restore")
			b.ReportMetric(float64(restoreAllVMs)*restoreAllDisk*float64(b.N)/1e6/wall.Seconds(), "MB/s")
		})
	}
}

// benchBackUp puts a job named bench over sel into repository and runs it once in-process; the
// run must back up vms VMs.
func benchBackUp(b *testing.B, c *vsphere.Client, sel *vsphere.Selection, repository string, vms int) *job.Job {
	b.Helper()
	ctx := context.Background()
	j := &job.Job{
		Name:        "bench",
		Selection:   sel,
		Schedule:    job.Schedule{Cron: "0 2 * * *"},
		Retention:   job.Retention{KeepLast: 1},
		Consistency: job.Crash,
		Repository:  repository,
		Enabled:     true,
	}
	if err := job.PutJob(ctx, c, j); err != nil {
		b.Fatal(err)
	}
	sum, err := Run(ctx, c, Options{Job: j.Name, Concurrency: 4})
	if err != nil {
		b.Fatalf("backing up: %v", err)
	}
	if len(sum.Jobs) != 1 || sum.Jobs[0].Status != "ok" || len(sum.Jobs[0].VMs) != vms {
		b.Fatalf("backup run: %+v, want job %s ok with %d VMs", sum.Jobs, j.Name, vms)
	}
	return j
}

// benchRepo opens a repository for the benchmark's checks.
func benchRepo(b *testing.B, repository string) *repo.Repository {
	b.Helper()
	loc, err := repo.ParseURL(repository)
	if err != nil {
		b.Fatal(err)
	}
	r, err := repo.Open(context.Background(), loc)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.Close() })
	return r
}

// benchFillBulkDisks gives each of the first n bulk VMs (simulator.Options.ExtraVMs, which makes
// them without disks) a disk of size bytes, and fills its flat extent with random bytes, so that
// a backup and a restore of it move real data.
func benchFillBulkDisks(b *testing.B, sim *simulator.Sim, c *vsphere.Client, n int, size int64) {
	b.Helper()
	ctx := context.Background()
	f, err := c.Finder(ctx)
	if err != nil {
		b.Fatal(err)
	}
	ds, err := f.DefaultDatastore(ctx)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, size)
	seen := map[string]bool{}
	for i := range n {
		name := simulator.BulkVMName(i)
		vm, err := f.VirtualMachine(ctx, simulator.BulkFolder+"/"+name)
		if err != nil {
			b.Fatal(err)
		}
		var devices object.VirtualDeviceList
		scsi, err := devices.CreateSCSIController("pvscsi")
		if err != nil {
			b.Fatal(err)
		}
		scsi.GetVirtualDevice().Key = 1000
		devices = append(devices, scsi)
		disk := devices.CreateDisk(devices.PickController(scsi.(types.BaseVirtualController)), ds.Reference(), "")
		disk.Key = 2000
		disk.CapacityInKB = size / 1024
		devices = append(devices, disk)
		changes, err := devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)
		if err != nil {
			b.Fatal(err)
		}
		changes[1].GetVirtualDeviceConfigSpec().FileOperation = types.VirtualDeviceConfigSpecFileOperationCreate
		task, err := vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{DeviceChange: changes})
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil {
			b.Fatalf("adding a disk to %s: %v", name, err)
		}
		files, err := sim.DiskFiles(name)
		if err != nil || len(files) != 1 {
			b.Fatalf("disk files of %s: %v, %v; want one", name, files, err)
		}
		flat := files[0]
		if !strings.HasSuffix(flat, "-flat.vmdk") {
			// The simulator made a descriptor without its flat extent: make it beside it.
			flat = strings.TrimSuffix(flat, ".vmdk") + "-flat.vmdk"
		}
		if seen[flat] {
			b.Fatalf("%s's disk is %s, another bulk VM's: the VMs must not share their data", name, flat)
		}
		seen[flat] = true
		if _, err := rand.Read(buf); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(flat, buf, 0o644); err != nil {
			b.Fatalf("filling the disk of %s: %v", name, err)
		}
		if files, err := sim.DiskFiles(name); err != nil || len(files) != 1 || files[0] != flat {
			b.Fatalf("disk files of %s after filling: %v, %v; want %s", name, files, err, flat)
		}
	}
}

// benchVMIn returns the ID of the one VM of a name in a folder.
func benchVMIn(b *testing.B, c *vsphere.Client, folder, name string) string {
	b.Helper()
	c.InvalidateVMs()
	vms, err := c.VMs(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	var ids []string
	for _, vm := range vms {
		if vm.FolderID == folder && vm.Name == name {
			ids = append(ids, vm.ID)
		}
	}
	if len(ids) != 1 {
		b.Fatalf("VMs named %s in folder %s: %v, want one", name, folder, ids)
	}
	return ids[0]
}

// benchFileSHA returns a file's size and SHA-256 (hex).
func benchFileSHA(b *testing.B, path string) (int64, string) {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		b.Fatalf("reading %s: %v", path, err)
	}
	return n, hex.EncodeToString(h.Sum(nil))
}

// benchDestroy destroys a restored VM and checks that its flat extents went with it, so that the
// benchmark's disk space does not grow with b.N.
func benchDestroy(b *testing.B, c *vsphere.Client, id string, flats []string) {
	b.Helper()
	if err := c.DestroyVM(context.Background(), id); err != nil {
		b.Fatal(err)
	}
	for _, f := range flats {
		if _, err := os.Stat(f); !errors.Is(err, fs.ErrNotExist) {
			b.Fatalf("destroying VM %s left its disk %s (stat: %v)", id, f, err)
		}
	}
}

// benchFlats returns a VM's disks' data files on the simulator (restored VMs share their names
// with the VMs they copy, so DiskFiles by name would not tell them apart).
func benchFlats(b *testing.B, sim *simulator.Sim, id string) []string {
	b.Helper()
	files, err := sim.DiskFilesByID(id)
	if err != nil {
		b.Fatal(err)
	}
	return files
}

package vsphere

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

const exportTestDisk = 64 << 20

// exportSim starts a simulator whose big disk has the given size, and returns a client and the
// big disk VM's ID.
func exportSim(tb testing.TB, size int64) (*simulator.Sim, *Client, string) {
	tb.Helper()
	sim, err := simulator.Start(context.Background(), simulator.Options{BigDiskSize: size})
	if err != nil {
		tb.Fatalf("starting the simulator: %v", err)
	}
	tb.Cleanup(sim.Close)
	c := connect(tb, sim)
	vm, err := c.FindVM(context.Background(), "workloads/"+simulator.BigDiskVM)
	if err != nil {
		tb.Fatal(err)
	}
	return sim, c, vm.ID
}

func snapshotOf(tb testing.TB, c *Client, vmID string) string {
	tb.Helper()
	id, err := c.CreateSnapshot(context.Background(), vmID, "vmgmt-backup", "vmgmt-backup run=test", true)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

func lastLease(tb testing.TB, sim *simulator.Sim) simulator.ExportLease {
	tb.Helper()
	l := sim.ExportLeases()
	if len(l) == 0 {
		tb.Fatal("the simulator made no export lease")
	}
	return l[len(l)-1]
}

// A snapshot is taken with its name, description and quiescing, listed, and removed; removing it
// again is not an error.
func TestVMSnapshotLifecycle(t *testing.T) {
	ctx := context.Background()
	_, c, vmID := exportSim(t, exportTestDisk)
	id := snapshotOf(t, c, vmID)
	got, err := c.Snapshots(ctx, vmID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != id || got[0].Name != "vmgmt-backup" || got[0].Description != "vmgmt-backup run=test" || !got[0].Quiesced || got[0].Created.IsZero() {
		t.Fatalf("Snapshots = %+v; want the one taken (%s)", got, id)
	}
	child, err := c.CreateSnapshot(ctx, vmID, "second", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Snapshots(ctx, vmID); len(got) != 2 || got[1].ID != child || got[1].Quiesced {
		t.Fatalf("Snapshots = %+v; want the child listed after its parent", got)
	}
	if err := c.RemoveSnapshot(ctx, vmID, id); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Snapshots(ctx, vmID); len(got) != 1 || got[0].ID != child {
		t.Fatalf("after removing %s: Snapshots = %+v; want only %s", id, got, child)
	}
	if err := c.RemoveSnapshot(ctx, vmID, id); err != nil {
		t.Errorf("removing a removed snapshot: %v", err)
	}
	if _, err := c.Snapshots(ctx, "vm-nope"); !IsNotFound(err) {
		t.Errorf("Snapshots of a missing VM: %v; want not found", err)
	}
}

// The bytes an export delivers are the bytes of the disk on the datastore, and the lease is
// completed.
func TestExportSnapshotBytesEqualDatastore(t *testing.T) {
	ctx := context.Background()
	sim, c, vmID := exportSim(t, exportTestDisk)
	snap := snapshotOf(t, c, vmID)
	var disks []ExportDisk
	var sum [32]byte
	_, err := c.ExportSnapshot(ctx, vmID, snap, func(d ExportDisk, r io.Reader) error {
		disks = append(disks, d)
		h := sha256.New()
		if _, err := io.Copy(h, r); err != nil {
			return err
		}
		copy(sum[:], h.Sum(nil))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(disks) != 1 || disks[0].Size != exportTestDisk || disks[0].Key == "" || !strings.HasSuffix(disks[0].Name, "-flat.vmdk") {
		t.Fatalf("disks exported: %+v; want one of %d bytes", disks, exportTestDisk)
	}
	files, err := sim.DiskFiles(simulator.BigDiskVM)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(data) != sum {
		t.Error("the exported bytes differ from the datastore file's")
	}
	if l := lastLease(t, sim); l.State != types.HttpNfcLeaseStateDone {
		t.Errorf("lease state %s, want done", l.State)
	}
}

// While a disk is read, the lease hears how far: with half the disk read, the percent the lease
// updater sends (every 2 s) is close to 50, and the completed lease is at 100 or done.
func TestExportSnapshotReportsProgress(t *testing.T) {
	ctx := context.Background()
	sim, c, vmID := exportSim(t, exportTestDisk)
	snap := snapshotOf(t, c, vmID)
	_, err := c.ExportSnapshot(ctx, vmID, snap, func(d ExportDisk, r io.Reader) error {
		if _, err := io.CopyN(io.Discard, r, exportTestDisk/2); err != nil {
			return err
		}
		// The updater sends its first percent 2 s after the lease starts; wait for it, well past.
		deadline := time.Now().Add(30 * time.Second)
		for lastLease(t, sim).Progress == 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		// Reports come every leaseProgressStep bytes: the last one before half is at most a
		// step short of it.
		low := int32(100 * (exportTestDisk/2 - leaseProgressStep) / exportTestDisk)
		if p := lastLease(t, sim).Progress; p < low || p > 50 {
			t.Errorf("lease progress with half the disk read: %d%%, want %d-50%%", p, low)
		}
		_, err := io.Copy(io.Discard, r)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if l := lastLease(t, sim); l.State != types.HttpNfcLeaseStateDone {
		t.Errorf("lease %+v, want completed", l)
	}
}

// When each fails, the lease is aborted with the failure, and the error names the disk.
func TestExportSnapshotAbortsOnError(t *testing.T) {
	ctx := context.Background()
	sim, c, vmID := exportSim(t, exportTestDisk)
	snap := snapshotOf(t, c, vmID)
	full := errors.New("repository full")
	_, err := c.ExportSnapshot(ctx, vmID, snap, func(d ExportDisk, r io.Reader) error {
		if _, err := io.CopyN(io.Discard, r, 1<<20); err != nil {
			return err
		}
		return full
	})
	if !errors.Is(err, full) || !strings.Contains(err.Error(), "-flat.vmdk") {
		t.Fatalf("ExportSnapshot: %v; want the repository's error, naming the disk", err)
	}
	if l := lastLease(t, sim); l.State != types.HttpNfcLeaseStateError || !strings.Contains(l.Fault, "repository full") {
		t.Errorf("lease %+v; want aborted with the repository's error", l)
	}
}

// A disk that each leaves unread is an error, not a short backup.
func TestExportSnapshotUnreadDisk(t *testing.T) {
	ctx := context.Background()
	sim, c, vmID := exportSim(t, exportTestDisk)
	snap := snapshotOf(t, c, vmID)
	_, err := c.ExportSnapshot(ctx, vmID, snap, func(d ExportDisk, r io.Reader) error {
		_, err := io.CopyN(io.Discard, r, 4096)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "4096 of its") {
		t.Fatalf("ExportSnapshot: %v; want an error for the unread bytes", err)
	}
	if l := lastLease(t, sim); l.State != types.HttpNfcLeaseStateError {
		t.Errorf("lease state %s, want error (aborted)", l.State)
	}
}

// Exporting a 4 GiB disk holds far less than the disk in memory: the heap in use, sampled every
// 256 MiB read, stays under 64 MiB. The simulator serving it runs in the same process and counts.
func TestExportSnapshotBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 4 GiB")
	}
	ctx := context.Background()
	_, c, vmID := exportSim(t, simulator.DefaultBigDiskSize)
	snap := snapshotOf(t, c, vmID)
	var peak uint64
	sample := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		peak = max(peak, m.HeapInuse)
	}
	var total int64
	_, err := c.ExportSnapshot(ctx, vmID, snap, func(d ExportDisk, r io.Reader) error {
		for {
			n, err := io.CopyN(io.Discard, r, 256<<20)
			total += n
			sample()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if total != simulator.DefaultBigDiskSize {
		t.Fatalf("read %d bytes, want %d", total, simulator.DefaultBigDiskSize)
	}
	t.Logf("peak heap in use while exporting %d MiB: %.1f MiB", total>>20, float64(peak)/(1<<20))
	if peak >= 64<<20 {
		t.Errorf("peak heap in use %.1f MiB, want < 64 MiB", float64(peak)/(1<<20))
	}
}

// BenchmarkExportSnapshot exports a 1 GiB disk to io.Discard; MB/s is the export's throughput
// (the in-process simulator serving over TLS on loopback included).
func BenchmarkExportSnapshot(b *testing.B) {
	const size = 1 << 30
	ctx := context.Background()
	_, c, vmID := exportSim(b, size)
	snap := snapshotOf(b, c, vmID)
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		_, err := c.ExportSnapshot(ctx, vmID, snap, func(d ExportDisk, r io.Reader) error {
			_, err := io.Copy(io.Discard, r)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

package simulator

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/nfc"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"
)

const testDiskSize = 64 << 20

// exportFixture is a simulator with a 64 MiB big disk, a client, and a snapshot of BigDiskVM.
type exportFixture struct {
	sim  *Sim
	c    *object.VirtualMachine
	snap types.ManagedObjectReference
	http *http.Client
}

func newExportFixture(t *testing.T) *exportFixture {
	t.Helper()
	ctx := context.Background()
	sim, err := Start(ctx, Options{BigDiskSize: testDiskSize})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	c, err := sim.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Logout(ctx) })
	f := find.NewFinder(c.Client, true)
	dc, err := f.Datacenter(ctx, Datacenter)
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	vm, err := f.VirtualMachine(ctx, BigDiskVM)
	if err != nil {
		t.Fatal(err)
	}
	task, err := vm.CreateSnapshot(ctx, "backup", "", false, false)
	if err != nil {
		t.Fatal(err)
	}
	info, err := task.WaitForResult(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	return &exportFixture{sim: sim, c: vm, snap: info.Result.(types.ManagedObjectReference), http: hc}
}

func (fx *exportFixture) export(t *testing.T) (*nfc.Lease, *nfc.LeaseInfo) {
	t.Helper()
	ctx := context.Background()
	res, err := methods.ExportSnapshot(ctx, fx.c.Client(), &types.ExportSnapshot{This: fx.snap})
	if err != nil {
		t.Fatalf("ExportSnapshot: %v", err)
	}
	lease := nfc.NewLease(fx.c.Client(), res.Returnval)
	info, err := lease.Wait(ctx, nil)
	if err != nil {
		t.Fatalf("waiting for the lease: %v", err)
	}
	return lease, info
}

func (fx *exportFixture) get(t *testing.T, url, rng string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	res, err := fx.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

// The big disk's flat extent is sparse, of the size asked for, with non-zero data at its extents.
func TestBigDiskSeeded(t *testing.T) {
	fx := newExportFixture(t)
	files, err := fx.sim.DiskFiles(BigDiskVM)
	if err != nil || len(files) != 1 || !strings.HasSuffix(files[0], "-flat.vmdk") {
		t.Fatalf("DiskFiles(%s) = %v, %v; want one -flat.vmdk", BigDiskVM, files, err)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != testDiskSize {
		t.Fatalf("flat extent is %d bytes, want %d", len(data), testDiskSize)
	}
	ext := BigDiskExtents(testDiskSize)
	if len(ext) != 4 {
		t.Fatalf("extents %v, want 4", ext)
	}
	var nonzero int64
	for _, b := range data {
		if b != 0 {
			nonzero++
		}
	}
	inData := int64(len(ext)) * bigDiskChunk
	if nonzero < inData*99/100 || nonzero > inData {
		t.Errorf("%d non-zero bytes, want about %d (the extents only)", nonzero, inData)
	}
	for _, e := range ext {
		if bytes.Count(data[e[0]:e[0]+e[1]], []byte{0}) > int(e[1])/100 {
			t.Errorf("extent at %d is mostly zeros", e[0])
		}
	}
	var st syscall.Stat_t
	if err := syscall.Stat(files[0], &st); err == nil && st.Blocks*512 >= testDiskSize/2 {
		t.Errorf("flat extent uses %d bytes on disk, want it sparse", st.Blocks*512)
	}
	other, err := fx.sim.DiskFiles(Workloads[1])
	if err != nil || len(other) != 1 || !strings.HasSuffix(other[0], "-flat.vmdk") {
		t.Fatalf("DiskFiles(%s) = %v, %v; want its flat extent", Workloads[1], other, err)
	}
	if st, err := os.Stat(other[0]); err != nil || st.Size() != 0 {
		t.Errorf("flat extent of %s: %v, %v; want it empty", Workloads[1], st, err)
	}
}

// The export lease lists the disk as vCenter does and its URL serves the flat extent's bytes,
// whole and by range; progress is recorded; once completed, the URL no longer answers.
func TestExportSnapshotServesDiskData(t *testing.T) {
	fx := newExportFixture(t)
	ctx := context.Background()
	lease, info := fx.export(t)
	if len(info.DeviceUrl) != 1 {
		t.Fatalf("lease has %d device URLs, want 1: %+v", len(info.DeviceUrl), info.DeviceUrl)
	}
	d := info.DeviceUrl[0]
	if d.Disk == nil || !*d.Disk || d.FileSize != testDiskSize || d.Key == "" || !strings.HasSuffix(d.TargetId, "-flat.vmdk") {
		t.Errorf("device URL %+v: want a disk of %d bytes with a key and a -flat.vmdk target", d, testDiskSize)
	}
	if info.TotalDiskCapacityInKB != testDiskSize/1024 || info.Entity != fx.c.Reference() {
		t.Errorf("lease info capacity %d KB, entity %v", info.TotalDiskCapacityInKB, info.Entity)
	}

	files, _ := fx.sim.DiskFiles(BigDiskVM)
	want, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	status, got := fx.get(t, info.Items[0].URL.String(), "")
	if status != http.StatusOK || sha256.Sum256(got) != sha256.Sum256(want) {
		t.Fatalf("GET: status %d, %d bytes; want 200 and the flat extent's %d bytes", status, len(got), len(want))
	}
	e := BigDiskExtents(testDiskSize)[1]
	status, part := fx.get(t, info.Items[0].URL.String(), fmt.Sprintf("bytes=%d-%d", e[0], e[0]+99))
	if status != http.StatusPartialContent || !bytes.Equal(part, want[e[0]:e[0]+100]) {
		t.Errorf("ranged GET: status %d, %d bytes; want 206 and 100 bytes of the extent", status, len(part))
	}

	if err := lease.Progress(ctx, 50); err != nil {
		t.Fatalf("HttpNfcLeaseProgress: %v", err)
	}
	if err := lease.Complete(ctx); err != nil {
		t.Fatalf("HttpNfcLeaseComplete: %v", err)
	}
	if got := fx.sim.ExportLeases(); len(got) != 1 || got[0].Ref != lease.Reference() || got[0].State != types.HttpNfcLeaseStateDone || got[0].Progress != 50 {
		t.Errorf("ExportLeases() = %+v", got)
	}
	if status, _ := fx.get(t, info.Items[0].URL.String(), ""); status != http.StatusNotFound {
		t.Errorf("GET after complete: status %d, want 404", status)
	}
	if err := lease.Progress(ctx, 60); err == nil {
		t.Error("HttpNfcLeaseProgress on a completed lease succeeded")
	}
}

// An aborted lease is in the error state with the client's fault, and serves nothing.
// (vcsim removes a lease object once completed or aborted; ExportLeases keeps its last state.)
func TestExportLeaseAbort(t *testing.T) {
	fx := newExportFixture(t)
	ctx := context.Background()
	lease, info := fx.export(t)
	if err := lease.Abort(ctx, &types.LocalizedMethodFault{Fault: &types.SystemError{Reason: "disk full"}, LocalizedMessage: "disk full"}); err != nil {
		t.Fatalf("HttpNfcLeaseAbort: %v", err)
	}
	if got := fx.sim.ExportLeases(); len(got) != 1 || got[0].State != types.HttpNfcLeaseStateError || got[0].Fault != "disk full" {
		t.Errorf("ExportLeases() after abort = %+v; want one, in error, disk full", got)
	}
	if status, _ := fx.get(t, info.Items[0].URL.String(), ""); status != http.StatusNotFound {
		t.Errorf("GET after abort: status %d, want 404", status)
	}
	if err := lease.Complete(ctx); err == nil {
		t.Error("HttpNfcLeaseComplete on an aborted lease succeeded")
	}
}

package vsphere

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vmware/govmomi/vim25/mo"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// restoreSpec is a VM of two disks on two controllers (lsilogic 0:0 and pvscsi 1:3) and three
// NICs: an e1000e with a manual MAC, and two on one network (vmxnet3, then e1000).
func restoreSpec(name string, req Request) RestoreSpec {
	return RestoreSpec{
		Name: name, Datastore: "LocalDS_0", GuestID: "rhel9_64Guest", CPUs: 2, MemoryMB: 2048,
		Firmware: "efi", HardwareVersion: simulator.HardwareVersion,
		Disks: []RestoreDisk{
			{Controller: "lsilogic", Bus: 0, Unit: 0, CapacityBytes: 2 << 20, Thin: true},
			{Controller: "pvscsi", Bus: 1, Unit: 3, CapacityBytes: 1 << 20},
		},
		NICs: []RestoreNIC{
			{Network: simulator.PortGroups[1], Adapter: "e1000e", MAC: "00:50:56:01:02:03"},
			{Network: simulator.PortGroups[2]},
			{Network: simulator.PortGroups[2], Adapter: "e1000"},
		},
		ExtraConfig: map[string]string{"vmgmt.catalog.item": "db-server", "guestinfo.role": "db"},
		Request:     req,
	}
}

func diskBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func shaOf(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// RestoreVM makes the VM the spec describes through the import lease: its hardware, each disk on
// its controller at its bus and unit with the bytes uploaded, its NICs, its stamps with the
// request's, and its real name once the disks are in. A reader that fails at its end destroys the
// VM; a VM left under the pending name is destroyed and made again; a finished one is adopted.
func TestRestoreVM(t *testing.T) {
	ctx := context.Background()
	sim, c, pool, folderID := restoreTarget(t, simulator.WorkloadFolder)
	disks := [][]byte{diskBytes(1, 2<<20), diskBytes(2, 1<<20)}
	var data DiskData = func(_ context.Context, i int) (io.ReadCloser, int64, error) {
		return io.NopCloser(bytes.NewReader(disks[i])), int64(len(disks[i])), nil
	}
	req := NewRequest("test-restore", "db-restored")
	s := restoreSpec("db-restored", req)
	s.PoolID, s.FolderID = pool, folderID

	// A reader that fails at the end of the second disk: the VM is destroyed.
	bad := func(ctx context.Context, i int) (io.ReadCloser, int64, error) {
		rc, n, err := data(ctx, i)
		if i == 1 {
			return io.NopCloser(io.MultiReader(rc, errReader{errors.New("checksum differs")})), n, err
		}
		return rc, n, err
	}
	if _, err := c.RestoreVM(ctx, s, bad); err == nil || !strings.Contains(err.Error(), "checksum differs") {
		t.Fatalf("restore with a failing disk: %v, want its error", err)
	}
	c.InvalidateVMs()
	if vm, _ := c.createdVM(ctx, CloneSpec{Name: s.Name, FolderID: s.FolderID, Request: req}, true); vm != nil {
		t.Fatalf("the failed restore left %s (%s)", vm.Name, vm.ID)
	}

	res, err := c.RestoreVM(ctx, s, data)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := c.GetVM(ctx, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	if vm.Name != "db-restored" || vm.CPUs != 2 || vm.MemoryMB != 2048 || vm.ExtraConfig[StampRequest] != req.Token ||
		vm.ExtraConfig["vmgmt.catalog.item"] != "db-server" || strings.Join(vm.Networks, ",") != simulator.PortGroups[1]+","+simulator.PortGroups[2]+","+simulator.PortGroups[2] {
		t.Errorf("restored VM %+v", vm)
	}
	var nics []string
	for _, n := range readHardware(t, c, res.ID).NICs {
		mac := n.AddressType
		if n.AddressType == "manual" {
			mac = n.MAC
		}
		nics = append(nics, n.Adapter+" "+vm.NICNetwork(n)+" "+mac)
	}
	if want := []string{
		"e1000e " + simulator.PortGroups[1] + " 00:50:56:01:02:03",
		"vmxnet3 " + simulator.PortGroups[2] + " generated",
		"e1000 " + simulator.PortGroups[2] + " generated",
	}; !slices.Equal(nics, want) {
		t.Errorf("network adapters\n%q\nwant\n%q", nics, want)
	}
	files, err := sim.DiskFiles("db-restored")
	if err != nil || len(files) != 2 {
		t.Fatalf("disk files %v %v", files, err)
	}
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if shaOf(b) != shaOf(disks[i]) {
			t.Errorf("disk %d (%s): %d bytes, not the uploaded ones", i, f, len(b))
		}
	}
	devs := readHardware(t, c, res.ID).Disks
	want := []string{"lsilogic 0:0 2097152", "pvscsi 1:3 1048576"}
	for i, d := range devs {
		if got := d.Controller + " " + fmt.Sprintf("%d:%d %d", d.Bus, d.Unit, d.CapacityBytes); i >= len(want) || got != want[i] {
			t.Errorf("disk %d is %s, want %v", i, got, want)
		}
	}

	// Adopted when run again; a VM under the pending name is destroyed and made again.
	again, err := c.RestoreVM(ctx, s, data)
	if err != nil || !again.Adopted || again.ID != res.ID {
		t.Errorf("the rerun: %+v %v, want %s adopted", again, err, res.ID)
	}
	if err := c.DestroyVM(ctx, res.ID); err != nil {
		t.Fatal(err)
	}
	half := s
	half.Name = req.PendingName()
	half.Request = Request{}
	half.ExtraConfig = map[string]string{StampRequest: req.Token}
	made, err := c.RestoreVM(ctx, half, data)
	if err != nil {
		t.Fatal(err)
	}
	redo, err := c.RestoreVM(ctx, s, data)
	if err != nil || redo.Discarded != made.ID || redo.Adopted {
		t.Fatalf("restore over a half-made VM: %+v %v, want %s discarded", redo, err, made.ID)
	}
	if _, err := c.GetVM(ctx, made.ID); !IsNotFound(err) {
		t.Errorf("the half-made VM %s is still there: %v", made.ID, err)
	}
}

// restoreTarget is a simulator of this test's own, a client of it, the cluster's root pool and the
// ID of the named VM folder to restore into.
func restoreTarget(t *testing.T, folder string) (*simulator.Sim, *Client, string, string) {
	t.Helper()
	ctx := context.Background()
	sim := newSim(t)
	c, err := Connect(ctx, simConfig(sim))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	pool, err := c.DefaultPool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f, err := c.ResolveFolder(ctx, folder)
	if err != nil {
		t.Fatal(err)
	}
	return sim, c, pool, f.Reference().Value
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// readHardware is a VM's disks and network adapters, as SnapshotHardware reads a snapshot's.
func readHardware(t *testing.T, c *Client, id string) SnapshotHardware {
	t.Helper()
	var vm mo.VirtualMachine
	if err := c.collector().RetrieveOne(context.Background(), vmRef(id), []string{"config.hardware.device"}, &vm); err != nil {
		t.Fatal(err)
	}
	return SnapshotHardware{Disks: diskDevices(vm.Config.Hardware.Device), NICs: nicDevices(vm.Config.Hardware.Device)}
}

// A disk stored as vCenter's export serves it (a stream-optimized VMDK) is POSTed to the import
// lease as it is, and the disk holds the image the stream encodes: the restore path of a point a
// real vCenter made.
func TestRestoreVMStreamOptimized(t *testing.T) {
	ctx := context.Background()
	sim, c, pool, folderID := restoreTarget(t, simulator.RecoveryFolder)
	const capacity = 4 << 20
	raw := diskBytes(3, 3<<20+12345) // the rest of the disk zeros
	stream, err := simulator.StreamOptimized(raw, capacity)
	if err != nil {
		t.Fatal(err)
	}
	s := restoreSpec("db-from-vcenter", NewRequest("test-restore", "db-from-vcenter"))
	s.PoolID, s.FolderID = pool, folderID
	s.Disks = []RestoreDisk{{Controller: "pvscsi", CapacityBytes: capacity}}
	var data DiskData = func(context.Context, int) (io.ReadCloser, int64, error) {
		return io.NopCloser(bytes.NewReader(stream)), int64(len(stream)), nil
	}
	res, err := c.RestoreVM(ctx, s, data)
	if err != nil {
		t.Fatal(err)
	}
	files, err := sim.DiskFilesByID(res.ID)
	if err != nil || len(files) != 1 {
		t.Fatalf("disk files %v %v", files, err)
	}
	got, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte(nil), raw...), make([]byte, capacity-len(raw))...)
	if shaOf(got) != shaOf(want) {
		t.Errorf("the restored disk (%d bytes) is not the image the stream encodes (%d bytes)", len(got), len(want))
	}
}

package vsphere

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// The VM life cycle vmgmt's catalog relies on: find a template, clone it into a pool with a size,
// a network, extraConfig stamps and guest customization, read it from the shared snapshot,
// resize, stamp a custom attribute, power and destroy.
func TestVMLifecycle(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	c := connect(t, sim)

	tmpl, err := c.FindVM(ctx, "/"+simulator.Datacenter+"/vm/"+simulator.TemplateFolder+"/"+simulator.Templates[0])
	if err != nil {
		t.Fatal(err)
	}
	if !tmpl.Template || tmpl.DiskGB != 40 || tmpl.CPUs != 2 {
		t.Fatalf("template read as %+v", tmpl)
	}
	if byRel, err := c.FindVM(ctx, simulator.TemplateFolder+"/"+simulator.Templates[0]); err != nil || byRel.ID != tmpl.ID {
		t.Fatalf("relative path: %v %v", byRel, err)
	}
	if byUUID, err := c.FindVM(ctx, tmpl.UUID); err != nil || byUUID.ID != tmpl.ID {
		t.Fatalf("by uuid: %v %v", byUUID, err)
	}
	if _, err := c.FindVM(ctx, "templates/nope"); !IsNotFound(err) {
		t.Fatalf("missing template: %v, want NotFound", err)
	}

	pool := mustCreatePool(t, c, rootPool(t, c), uniqueName("vm"), spec(0, 0))
	folder, err := c.ResolveFolder(ctx, simulator.WorkloadFolder)
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.CloneVM(ctx, CloneSpec{
		TemplateID: tmpl.ID, Name: "app01", FolderID: folder.Reference().Value, PoolID: pool.ID(),
		Network: simulator.PortGroups[1], CPUs: 4, MemoryMB: 8192, DiskGB: 60,
		ExtraConfig:   map[string]string{"vmgmt.catalog.item": "app-server", "vmgmt.catalog.version": "1.2.0"},
		Customization: &Customization{Hostname: "app01", Domain: "corp.example", IPv4: "10.0.0.15/24", Gateway: "10.0.0.1", DNSServers: []string{"10.0.0.2"}},
		PowerOn:       true,
	})
	if err != nil {
		t.Fatal(err)
	}
	vm, err := c.GetVM(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if vm.CPUs != 4 || vm.MemoryMB != 8192 || vm.DiskGB != 60 || vm.PoolID != pool.ID() || vm.Template {
		t.Fatalf("clone read as %+v", vm)
	}
	if vm.Path != "/"+simulator.Datacenter+"/vm/"+simulator.WorkloadFolder+"/app01" {
		t.Fatalf("path %q", vm.Path)
	}
	if vm.ExtraConfig["vmgmt.catalog.version"] != "1.2.0" {
		t.Fatalf("extraConfig stamps %v", vm.ExtraConfig)
	}
	if len(vm.Networks) != 1 || vm.Networks[0] != simulator.PortGroups[1] {
		t.Fatalf("networks %v", vm.Networks)
	}
	if vm.PowerState != "poweredOn" {
		t.Fatalf("power state %s", vm.PowerState)
	}
	if _, err := c.CloneVM(ctx, CloneSpec{TemplateID: tmpl.ID, Name: "small", FolderID: folder.Reference().Value, PoolID: pool.ID(), DiskGB: 10}); err == nil {
		t.Fatal("a disk smaller than the template's was accepted")
	}

	if err := c.SetPower(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	if err := c.ReconfigureVM(ctx, id, ReconfigSpec{CPUs: 8, MemoryMB: 16384, ExtraConfig: map[string]string{"vmgmt.owner": "jdoe"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetCustomValue(ctx, id, "vmgmt.test", "hello"); err != nil {
		t.Fatal(err)
	}
	vm, err = c.GetVM(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if vm.CPUs != 8 || vm.MemoryMB != 16384 || vm.ExtraConfig["vmgmt.owner"] != "jdoe" || vm.ExtraConfig["vmgmt.catalog.item"] != "app-server" {
		t.Fatalf("after reconfigure %+v", vm)
	}
	if vm.Custom["vmgmt.test"] != "hello" {
		t.Fatalf("custom values %v", vm.Custom)
	}
	if vm.PowerState != "poweredOff" {
		t.Fatalf("power state %s", vm.PowerState)
	}

	// One snapshot serves many reads.
	before := c.Stats().RoundTrips()
	for i := 0; i < 50; i++ {
		if _, err := c.GetVM(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Stats().RoundTrips() - before; n != 0 {
		t.Fatalf("50 reads from a fresh snapshot took %d round trips, want 0", n)
	}
	c.InvalidateVMs()
	before = c.Stats().RoundTrips()
	if _, err := c.VMs(ctx); err != nil {
		t.Fatal(err)
	}
	if n := c.Stats().RoundTrips() - before; n > 4 {
		t.Fatalf("a full VM snapshot took %d round trips, want at most 4", n)
	}

	if err := c.DestroyVM(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetVM(ctx, id); !IsNotFound(err) {
		t.Fatalf("destroyed VM: %v, want NotFound", err)
	}
	if err := c.DestroyVM(ctx, id); err != nil {
		t.Fatalf("destroying a missing VM: %v", err)
	}
}

// The snapshot reads each VM's first disk by the key vCenter gives SCSI 0:0 (one round trip for
// the seeded inventory); a VM whose disk has another key costs one more round trip for all of
// them together, and still gets its disk size.
func TestSnapshotFirstDisk(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	c := connect(t, sim)

	c.InvalidateVMs()
	before := c.Stats().RoundTrips()
	vms, err := c.VMs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := c.Stats().RoundTrips() - before; n != 1 {
		t.Fatalf("snapshot of the seeded inventory took %d round trips, want 1", n)
	}
	for _, vm := range vms {
		want := map[bool]int64{true: 40, false: 80}[vm.Template]
		if vm.Name == simulator.BigDiskVM {
			want = simulator.DefaultBigDiskSize >> 30
		}
		if vm.DiskGB != want {
			t.Fatalf("%s: DiskGB %d, want %d", vm.Path, vm.DiskGB, want)
		}
	}

	// Two VMs whose disks vcsim numbers itself (not 2000), one of them with no disk at all.
	folder, pool := workloadPlacement(t, c)
	fd := find.NewFinder(c.vim, true)
	dc, err := fd.Datacenter(ctx, simulator.Datacenter)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := fd.SetDatacenter(dc).DefaultDatastore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, diskGB := range []int64{25, 0} {
		var devices object.VirtualDeviceList
		if diskGB > 0 {
			ide, err := devices.CreateIDEController()
			if err != nil {
				t.Fatal(err)
			}
			devices = append(devices, ide)
			disk := devices.CreateDisk(ide.(types.BaseVirtualController), ds.Reference(), "")
			disk.CapacityInKB = diskGB * 1024 * 1024
			devices = append(devices, disk)
		}
		changes, err := devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("ide-%d", diskGB)
		task, err := folder.CreateVM(ctx, types.VirtualMachineConfigSpec{
			Name: name, GuestId: "otherGuest64", NumCPUs: 1, MemoryMB: 512, DeviceChange: changes,
			Files: &types.VirtualMachineFileInfo{VmPathName: "[" + ds.Name() + "]"},
		}, object.NewResourcePool(c.vim, types.ManagedObjectReference{Type: "ResourcePool", Value: pool}), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := task.WaitForResult(ctx); err != nil {
			t.Fatal(err)
		}
	}
	c.InvalidateVMs()
	before = c.Stats().RoundTrips()
	if vms, err = c.VMs(ctx); err != nil {
		t.Fatal(err)
	}
	if n := c.Stats().RoundTrips() - before; n != 2 {
		t.Fatalf("snapshot with two VMs off SCSI 0:0 took %d round trips, want 2", n)
	}
	got := map[string]int64{}
	for _, vm := range vms {
		got[vm.Name] = vm.DiskGB
	}
	if got["ide-25"] != 25 || got["ide-0"] != 0 || got[simulator.BigDiskVM] != simulator.DefaultBigDiskSize>>30 {
		t.Fatalf("disk sizes %v", got)
	}
}

// The snapshot follows this client's own writes without reading every VM again: a clone, a
// reconfigure and a destroy each cost one small read of the VMs written, merged into a copy (a
// map handed out before is never changed). A VM created by someone else is read on its own
// when asked for by ID.
func TestSnapshotFollowsOwnWrites(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	c := connect(t, sim)
	before, err := c.VMs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := c.FindVM(ctx, simulator.TemplateFolder+"/"+simulator.Templates[0])
	if err != nil {
		t.Fatal(err)
	}
	folder, pool := workloadPlacement(t, c)
	clone := func(name string) string {
		t.Helper()
		id, err := c.CloneVM(ctx, CloneSpec{TemplateID: tmpl.ID, Name: name, FolderID: folder.Reference().Value, PoolID: pool, CPUs: 2, MemoryMB: 2048})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	trips := func(f func()) int64 {
		t.Helper()
		n := c.Stats().RoundTrips()
		f()
		return c.Stats().RoundTrips() - n
	}
	a, b := clone("own-a"), clone("own-b")
	var after map[string]*VM
	if n := trips(func() { after, err = c.VMs(ctx) }); err != nil || n != 1 {
		t.Fatalf("snapshot after two clones: %d round trips (%v), want 1", n, err)
	}
	if after[a] == nil || after[b] == nil || after[a].Path != "/"+simulator.Datacenter+"/vm/"+simulator.WorkloadFolder+"/own-a" {
		t.Fatalf("clones missing from the snapshot: %v %v", after[a], after[b])
	}
	if before[a] != nil || len(after) != len(before)+2 {
		t.Fatalf("a snapshot handed out earlier changed, or VMs were lost: %d before, %d after", len(before), len(after))
	}
	if n := trips(func() { _, err = c.VMs(ctx) }); err != nil || n != 0 {
		t.Fatalf("snapshot with nothing written since: %d round trips (%v), want 0", n, err)
	}

	if err := c.ReconfigureVM(ctx, a, ReconfigSpec{CPUs: 4}); err != nil {
		t.Fatal(err)
	}
	var vm *VM
	if n := trips(func() { vm, err = c.GetVM(ctx, a) }); err != nil || n != 1 || vm.CPUs != 4 {
		t.Fatalf("read after reconfigure: %+v, %d round trips (%v); want 4 CPUs in 1", vm, n, err)
	}

	if err := c.DestroyVM(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetVM(ctx, b); !IsNotFound(err) {
		t.Fatalf("destroyed VM: %v, want NotFound", err)
	}
	if m, _ := c.VMs(ctx); m[b] != nil || m[a] == nil {
		t.Fatal("the snapshot still holds the destroyed VM, or lost the other")
	}

	// A VM created behind the client's back is not in its fresh snapshot, but reading it by ID works.
	task, err := object.NewVirtualMachine(c.vim, types.ManagedObjectReference{Type: "VirtualMachine", Value: tmpl.ID}).
		Clone(ctx, folder, "elsewhere", types.VirtualMachineCloneSpec{Location: types.VirtualMachineRelocateSpec{Pool: &types.ManagedObjectReference{Type: "ResourcePool", Value: pool}}})
	if err != nil {
		t.Fatal(err)
	}
	info, err := task.WaitForResult(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other := info.Result.(types.ManagedObjectReference).Value
	if m, _ := c.VMs(ctx); m[other] != nil {
		t.Fatal("the snapshot saw a VM created elsewhere before it was asked for (test premise)")
	}
	if vm, err := c.GetVM(ctx, other); err != nil || vm.Name != "elsewhere" {
		t.Fatalf("VM created elsewhere, by ID: %+v %v", vm, err)
	}
}

// CloneVM from a content library item: deployed, sized, grown, stamped, put on the requested
// network, customized and powered on, like a clone of a template VM.
func TestCloneVMFromLibraryItem(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	c := connect(t, sim)
	it, err := c.FindLibraryItem(ctx, simulator.Library+"/"+simulator.LibraryItems[0].Item)
	if err != nil {
		t.Fatal(err)
	}
	folder, err := c.ResolveFolder(ctx, simulator.WorkloadFolder)
	if err != nil {
		t.Fatal(err)
	}
	pool := mustCreatePool(t, c, rootPool(t, c), uniqueName("libvm"), spec(0, 0))
	id, err := c.CloneVM(ctx, CloneSpec{
		LibraryItemID: it.ID, Name: "lib-db01", FolderID: folder.Reference().Value, PoolID: pool.ID(),
		Network: simulator.PortGroups[1], CPUs: 4, MemoryMB: 16384, DiskGB: 60,
		ExtraConfig:   map[string]string{"vmgmt.catalog.item": "db-server"},
		Customization: &Customization{Hostname: "lib-db01", Domain: "corp.example"},
		PowerOn:       true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.DestroyVM(context.Background(), id) })
	vm, err := c.GetVM(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if vm.Template || vm.PoolID != pool.ID() || vm.CPUs != 4 || vm.MemoryMB != 16384 || vm.DiskGB != 60 || vm.PowerState != "poweredOn" ||
		vm.ExtraConfig["vmgmt.catalog.item"] != "db-server" || len(vm.Networks) != 1 || vm.Networks[0] != simulator.PortGroups[1] {
		t.Fatalf("VM from the library read as %+v", vm)
	}
	var guest mo.VirtualMachine
	if err := c.retrieveOne(ctx, types.ManagedObjectReference{Type: "VirtualMachine", Value: id}, []string{"guest.hostName"}, &guest); err != nil {
		t.Fatal(err)
	}
	if guest.Guest == nil || guest.Guest.HostName != "lib-db01" {
		t.Errorf("the VM from the library was not customized: guest %+v", guest.Guest)
	}
	if _, err := c.CloneVM(ctx, CloneSpec{LibraryItemID: it.ID, Name: "lib-db01", FolderID: folder.Reference().Value, PoolID: pool.ID()}); err == nil {
		t.Fatal("a second VM with the same name in the same folder was created")
	}
}

// A datacenter custom attribute is set, read fresh (one round trip) and read from the snapshot
// (no round trip of its own once the snapshot is read).
func TestDatacenterCustomValue(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	c := connect(t, sim)
	if v, err := c.DatacenterCustomValue(ctx, "vmgmt.test", false); err != nil || v != "" {
		t.Fatalf("unset attribute: %q %v", v, err)
	}
	if err := c.SetDatacenterCustomValue(ctx, "vmgmt.test", `{"a":1}`); err != nil {
		t.Fatal(err)
	}
	before := c.Stats().RoundTrips()
	if v, err := c.DatacenterCustomValue(ctx, "vmgmt.test", true); err != nil || v != `{"a":1}` {
		t.Fatalf("fresh read: %q %v", v, err)
	}
	if n := c.Stats().RoundTrips() - before; n != 1 {
		t.Fatalf("fresh read took %d round trips, want 1", n)
	}
	if _, err := c.VMs(ctx); err != nil {
		t.Fatal(err)
	}
	before = c.Stats().RoundTrips()
	if v, err := c.DatacenterCustomValue(ctx, "vmgmt.test", false); err != nil || v != `{"a":1}` {
		t.Fatalf("snapshot read: %q %v", v, err)
	}
	if n := c.Stats().RoundTrips() - before; n != 0 {
		t.Fatalf("snapshot read took %d round trips, want 0", n)
	}
	// A client that never looked the attribute up names it from the snapshot too.
	other := connect(t, sim)
	if v, err := other.DatacenterCustomValue(ctx, "vmgmt.test", false); err != nil || v != `{"a":1}` {
		t.Fatalf("another client: %q %v", v, err)
	}
	if err := c.SetDatacenterCustomValue(ctx, "vmgmt.test", ""); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.DatacenterCustomValue(ctx, "vmgmt.test", false); v != "" {
		t.Fatalf("cleared attribute reads %q", v)
	}
}

// workloadPlacement resolves the seeded workloads folder and the cluster's root pool.
func workloadPlacement(t *testing.T, c *Client) (*object.Folder, string) {
	t.Helper()
	folder, err := c.ResolveFolder(context.Background(), simulator.WorkloadFolder)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := c.DefaultPool(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return folder, pool
}

// Parallel clones, reads and snapshot uses of one client (as an apply at -parallelism=10 makes
// them): every clone is seen with its own size, and the race detector finds nothing.
func TestSnapshotParallelWrites(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	c := connect(t, sim)
	tmpl, err := c.FindVM(ctx, simulator.TemplateFolder+"/"+simulator.Templates[0])
	if err != nil {
		t.Fatal(err)
	}
	folder, pool := workloadPlacement(t, c)
	const n = 12
	ids := make([]string, n)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func(i int) {
			id, err := c.CloneVM(ctx, CloneSpec{TemplateID: tmpl.ID, Name: fmt.Sprintf("par-%02d", i), FolderID: folder.Reference().Value, PoolID: pool, CPUs: int32(1 + i%4), MemoryMB: 1024})
			if err == nil {
				ids[i] = id
				if i%3 == 0 {
					c.InvalidateVMs() // a bulk read racing the merges
				}
				_, err = c.VMs(ctx)
			}
			if err == nil {
				var vm *VM
				if vm, err = c.GetVM(ctx, id); err == nil && vm.CPUs != int32(1+i%4) {
					err = fmt.Errorf("par-%02d read with %d CPUs, want %d", i, vm.CPUs, 1+i%4)
				}
			}
			errs <- err
		}(i)
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	m, err := c.VMs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		if vm := m[id]; vm == nil || vm.CPUs != int32(1+i%4) {
			t.Fatalf("par-%02d in the final snapshot: %+v", i, vm)
		}
	}
}

// Once the VM snapshot is read, the datacenter is found in it (it holds every datacenter with its
// path): no finder round trips, for the only datacenter or the configured one.
func TestDatacenterFromSnapshot(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	for name, cfg := range map[string]func(*Config){
		"only one":   func(*Config) {},
		"configured": func(c *Config) { c.Datacenter = simulator.Datacenter },
	} {
		t.Run(name, func(t *testing.T) {
			c := connect(t, sim, cfg)
			if _, err := c.VMs(ctx); err != nil {
				t.Fatal(err)
			}
			before := c.Stats().RoundTrips()
			dc, err := c.Datacenter(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n := c.Stats().RoundTrips() - before; n != 0 || dc.InventoryPath != "/"+simulator.Datacenter {
				t.Fatalf("datacenter %q in %d round trips, want /%s in 0", dc.InventoryPath, n, simulator.Datacenter)
			}
		})
	}
}

// Reading a datacenter custom attribute that was never defined defines nothing: a plan or a
// read-only user's read writes nothing to vCenter.
func TestDatacenterCustomValue_readDefinesNothing(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	c := connect(t, sim)
	if v, err := c.DatacenterCustomValue(ctx, "vmgmt.never-set", true); err != nil || v != "" {
		t.Fatalf("unset attribute read fresh: %q %v", v, err)
	}
	if recs, err := c.DatacenterRecords(ctx, "vmgmt.never-set-records", true); err != nil || len(recs) != 0 {
		t.Fatalf("unset records read fresh: %v %v", recs, err)
	}
	m, err := object.GetCustomFieldsManager(c.vim)
	if err != nil {
		t.Fatal(err)
	}
	defs, err := m.Field(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		if strings.HasPrefix(d.Name, "vmgmt.never-set") {
			t.Errorf("a read defined custom attribute %s", d.Name)
		}
	}
}

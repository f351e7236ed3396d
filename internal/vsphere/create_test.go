package vsphere

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	vmsim "github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

func TestNewRequest(t *testing.T) {
	a := NewRequest("vmgmt_catalog_vm", "web-01", "/dc/vm/apps")
	if a != NewRequest("vmgmt_catalog_vm", "web-01", "/dc/vm/apps") {
		t.Fatal("the same request gave two tokens")
	}
	for _, other := range []Request{
		NewRequest("vmgmt_catalog_vm", "web-02", "/dc/vm/apps"),
		NewRequest("vmgmt_catalog_vm", "web-01", "/dc/vm/apps2"),
		NewRequest("vmgmt_capacity_reservation", "web-01", "/dc/vm/apps"),
		// Fields are separated: moving a character from one field to the next is another request.
		NewRequest("vmgmt_catalog_vm", "web-01/", "dc/vm/apps"),
	} {
		if other == a {
			t.Errorf("%+v has the token of another request", other)
		}
	}
	if len(a.Token) != 32 || !IsPendingName(a.PendingName()) || len(a.PendingName()) > 80 {
		t.Errorf("token %q, pending name %q", a.Token, a.PendingName())
	}
	if IsPendingName("web-01") {
		t.Error("an ordinary name was taken for a pending one")
	}
}

// vmCreateFixture is a template, a folder and a pool to create catalog-like VMs in.
type vmCreateFixture struct {
	c        *Client
	template *VM
	folderID string
	poolID   string
}

func newVMCreateFixture(t *testing.T, sim *vmsim.Sim) *vmCreateFixture {
	t.Helper()
	ctx := context.Background()
	c := connect(t, sim)
	tmpl, err := c.FindVM(ctx, vmsim.TemplateFolder+"/"+vmsim.Templates[0])
	if err != nil {
		t.Fatal(err)
	}
	folder, err := c.ResolveFolder(ctx, vmsim.WorkloadFolder)
	if err != nil {
		t.Fatal(err)
	}
	pool := mustCreatePool(t, c, rootPool(t, c), uniqueName("create"), spec(0, 0))
	return &vmCreateFixture{c: c, template: tmpl, folderID: folder.Reference().Value, poolID: pool.ID()}
}

func (f *vmCreateFixture) spec(name string, req Request) CloneSpec {
	return CloneSpec{
		TemplateID: f.template.ID, Name: name, FolderID: f.folderID, PoolID: f.poolID,
		CPUs: 2, MemoryMB: 2048, DiskGB: 60, PowerOn: true, Network: vmsim.PortGroups[1],
		ExtraConfig: map[string]string{"vmgmt.catalog.item": "app", "vmgmt.lease.created": "2026-01-01T00:00:00Z"},
		Preserve:    []string{"vmgmt.lease.created"},
		Request:     req,
	}
}

// A create run again for the same request (the rerun after a kill) adopts the VM the first run
// made instead of failing on its name or making a second one; another request, or a VM vmgmt did
// not make, is refused and not touched.
func TestCreateVMAdoptsItsOwnRequestOnly(t *testing.T) {
	ctx := context.Background()
	f := newVMCreateFixture(t, sharedSim(t))
	name := uniqueName("adopt")
	req := NewRequest("test", name)

	first, err := f.c.CreateVM(ctx, f.spec(name, req))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.c.DestroyVM(context.Background(), first.ID) })
	if first.Adopted {
		t.Fatal("a first create was reported as an adoption")
	}
	vm, err := f.c.GetVM(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if vm.ExtraConfig[StampRequest] != req.Token || vm.DiskGB != 60 || vm.PowerState != "poweredOn" {
		t.Fatalf("created VM read as %+v", vm)
	}

	// The rerun: a fresh client (a new provider process), a new creation time that must not
	// overwrite the VM's own.
	rerun := connect(t, sharedSim(t))
	s := f.spec(name, req)
	s.ExtraConfig = map[string]string{"vmgmt.catalog.item": "app", "vmgmt.lease.created": "2026-02-02T00:00:00Z"}
	again, err := rerun.CreateVM(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Adopted || again.ID != first.ID {
		t.Fatalf("rerun = %+v, want an adoption of %s", again, first.ID)
	}
	vm, _ = rerun.GetVM(ctx, first.ID)
	if got := vm.ExtraConfig["vmgmt.lease.created"]; got != "2026-01-01T00:00:00Z" {
		t.Errorf("adoption overwrote the preserved stamp: created = %q", got)
	}

	var foreign *ForeignObjectError
	_, err = rerun.CreateVM(ctx, f.spec(name, NewRequest("test", name, "another owner")))
	if !errors.As(err, &foreign) || !foreign.Stamped || foreign.ID != first.ID {
		t.Fatalf("another request's create = %v, want a ForeignObjectError (stamped) naming %s", err, first.ID)
	}

	// A VM of that name that vmgmt did not make: no stamp.
	plainName := uniqueName("plain")
	plain, err := f.c.CloneVM(ctx, f.spec(plainName, Request{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.c.DestroyVM(context.Background(), plain) })
	_, err = rerun.CreateVM(ctx, f.spec(plainName, NewRequest("test", plainName)))
	if !errors.As(err, &foreign) || foreign.Stamped || foreign.ID != plain {
		t.Fatalf("create over an unstamped VM = %v, want a ForeignObjectError (unstamped) naming %s", err, plain)
	}
	if vm, _ := rerun.GetVM(ctx, plain); vm.ExtraConfig[StampRequest] != "" {
		t.Error("the refused VM was stamped")
	}
}

// An apply killed after the clone but before the disk was grown and the VM powered on: the rerun
// adopts the VM and finishes both.
func TestCreateVMFinishesAnInterruptedClone(t *testing.T) {
	ctx := context.Background()
	f := newVMCreateFixture(t, sharedSim(t))
	name := uniqueName("unfinished")
	req := NewRequest("test", name)
	s := f.spec(name, req)
	s.ExtraConfig = map[string]string{"vmgmt.catalog.item": "app", StampRequest: req.Token}
	// What the killed run had done: the clone call alone (stamped, small disk, off).
	partial := s
	partial.DiskGB, partial.PowerOn, partial.Request = 0, false, Request{}
	id, err := f.c.CloneVM(ctx, partial)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.c.DestroyVM(context.Background(), id) })

	got, err := connect(t, sharedSim(t)).CreateVM(ctx, f.spec(name, req))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Adopted || got.ID != id || !slices.Contains(got.Finished, "disk grown to 60 GB") || !slices.Contains(got.Finished, "powered on") {
		t.Fatalf("rerun = %+v, want the adoption of %s with the disk grown and the VM powered on", got, id)
	}
	vm, _ := f.c.GetVM(ctx, id)
	if vm.DiskGB != 60 || vm.PowerState != "poweredOn" || vm.ExtraConfig["vmgmt.lease.created"] != "2026-01-01T00:00:00Z" {
		t.Fatalf("adopted VM read as %+v", vm)
	}
}

// A content library deploy cannot carry a stamp: the VM is deployed under the request's pending
// name and named once stamped. A run killed after the deploy left the pending name; the rerun
// adopts it, stamps, sizes, names and powers it on.
func TestCreateVMAdoptsAPendingDeploy(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	f := newVMCreateFixture(t, sim)
	it, err := f.c.FindLibraryItem(ctx, vmsim.Library+"/"+vmsim.LibraryItems[0].Item)
	if err != nil {
		t.Fatal(err)
	}
	name := "lib-adopt"
	req := NewRequest("test", name)
	id, err := f.c.DeployLibraryItem(ctx, DeploySpec{ItemID: it.ID, Name: req.PendingName(), FolderID: f.folderID, PoolID: f.poolID})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.c.DestroyVM(context.Background(), id) })
	s := f.spec(name, req)
	s.TemplateID, s.LibraryItemID = "", it.ID
	s.Customization = &Customization{Hostname: name, Domain: "corp.example"}
	got, err := connect(t, sim).CreateVM(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Adopted || got.ID != id {
		t.Fatalf("rerun = %+v, want the adoption of the pending VM %s", got, id)
	}
	vm, _ := f.c.GetVM(ctx, id)
	if vm.Name != name || vm.ExtraConfig[StampRequest] != req.Token || vm.CPUs != 2 || vm.PowerState != "poweredOn" {
		t.Fatalf("adopted deploy read as %+v", vm)
	}

	// A deploy that is not interrupted goes through the pending name too, and ends named.
	freshSpec := f.libSpec(it.ID, "lib-fresh")
	freshSpec.Customization = &Customization{Hostname: "lib-fresh-host", Domain: "corp.example"}
	fresh, err := f.c.CreateVM(ctx, freshSpec)
	if err != nil || fresh.Adopted {
		t.Fatalf("deploy = %+v, %v", fresh, err)
	}
	t.Cleanup(func() { _ = f.c.DestroyVM(context.Background(), fresh.ID) })
	if vm, _ := f.c.GetVM(ctx, fresh.ID); vm.Name != "lib-fresh" || vm.ExtraConfig[StampRequest] == "" {
		t.Fatalf("deployed VM read as %+v", vm)
	}
	var guest mo.VirtualMachine
	if err := f.c.retrieveOne(ctx, types.ManagedObjectReference{Type: "VirtualMachine", Value: fresh.ID}, []string{"guest.hostName"}, &guest); err != nil {
		t.Fatal(err)
	}
	if guest.Guest == nil || guest.Guest.HostName != "lib-fresh-host" {
		t.Errorf("the deployed VM was not customized: guest %+v", guest.Guest)
	}
}

func (f *vmCreateFixture) libSpec(itemID, name string) CloneSpec {
	s := f.spec(name, NewRequest("test", name))
	s.TemplateID, s.LibraryItemID = "", itemID
	return s
}

// A clone of an interrupted apply still running in vCenter when the rerun starts is waited for
// and adopted, not duplicated.
func TestCreateVMWaitsForAForeignCloneInFlight(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	f := newVMCreateFixture(t, sim)
	name := "in-flight"
	req := NewRequest("test", name)
	s := f.spec(name, req)

	simulator.TaskDelay.MethodDelay = map[string]int{"CloneVm": 1500, "LockHandoff": 0}
	t.Cleanup(func() { simulator.TaskDelay.MethodDelay = nil })

	// The killed run's clone: started by another client, not waited for.
	start := time.Now()
	s.ExtraConfig = map[string]string{"vmgmt.catalog.item": "app", StampRequest: req.Token}
	pool := types.ManagedObjectReference{Type: "ResourcePool", Value: f.poolID}
	folder := object.NewFolder(f.c.vim, types.ManagedObjectReference{Type: "Folder", Value: f.folderID})
	task, err := object.NewVirtualMachine(f.c.vim, types.ManagedObjectReference{Type: "VirtualMachine", Value: f.template.ID}).
		Clone(ctx, folder, name, types.VirtualMachineCloneSpec{Location: types.VirtualMachineRelocateSpec{Pool: &pool},
			Config: &types.VirtualMachineConfigSpec{ExtraConfig: extraConfig(s.ExtraConfig)}})
	if err != nil {
		t.Fatal(err)
	}

	rerun := connect(t, sim)
	got, err := rerun.CreateVM(ctx, f.spec(name, req))
	if err != nil {
		t.Fatal(err)
	}
	info, err := task.WaitForResult(ctx)
	if err != nil {
		t.Fatalf("the first clone failed (the rerun made its VM first?): %v", err)
	}
	want := info.Result.(types.ManagedObjectReference).Value
	t.Cleanup(func() { _ = rerun.DestroyVM(context.Background(), want) })
	if !got.Adopted || got.ID != want {
		t.Fatalf("rerun = %+v, want the adoption of %s, the VM of the clone in flight", got, want)
	}
	// Waited for, not raced: the rerun started no clone of its own (a second clone of the name
	// would have failed in vCenter, or, where names are checked late, made a duplicate).
	var tmpl mo.VirtualMachine
	if err := rerun.retrieveOne(ctx, types.ManagedObjectReference{Type: "VirtualMachine", Value: f.template.ID}, []string{"recentTask"}, &tmpl); err != nil {
		t.Fatal(err)
	}
	var infos []mo.Task
	if err := rerun.collector().Retrieve(ctx, tmpl.RecentTask, []string{"info"}, &infos); err != nil {
		t.Fatal(err)
	}
	clones := 0
	for _, task := range infos {
		if isCloneTask(task.Info) && task.Info.QueueTime.After(start) {
			clones++
		}
	}
	if clones != 1 {
		t.Errorf("%d clones of the template since the test began, want 1 (the interrupted run's)", clones)
	}
	vms, _ := rerun.VMs(ctx)
	n := 0
	for _, vm := range vms {
		if vm.Name == name {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d VMs named %s, want 1", n, name)
	}
}

// A pool is created under its pending name, stamped, then named: the rerun after a kill at any of
// these points adopts it; a pool of the name vmgmt did not make for the request is refused.
func TestEnsurePool(t *testing.T) {
	ctx := context.Background()
	c := connect(t, sharedSim(t))
	parent := mustCreatePool(t, c, rootPool(t, c), uniqueName("ensure"), spec(1000, 1000))
	name := "tier"
	req := NewRequest("test", parent.ID(), name)

	got, err := c.EnsurePool(ctx, parent, name, spec(100, 100), req)
	if err != nil || got.Adopted {
		t.Fatalf("EnsurePool = %+v, %v", got, err)
	}
	p, err := c.GetPool(ctx, got.ID)
	if err != nil || p.Name != name || p.Spec.CPU.Reservation != 100 {
		t.Fatalf("pool read as %+v, %v", p, err)
	}
	rerun := connect(t, sharedSim(t))
	again, err := rerun.EnsurePool(ctx, parent, name, spec(200, 100), req)
	if err != nil || !again.Adopted || again.ID != got.ID {
		t.Fatalf("rerun = %+v, %v; want the adoption of %s", again, err, got.ID)
	}
	if p, _ := rerun.GetPool(ctx, got.ID); p.Spec.CPU.Reservation != 200 {
		t.Errorf("adopted pool's CPU reservation = %d, want 200 (the rerun's)", p.Spec.CPU.Reservation)
	}
	var foreign *ForeignObjectError
	if _, err := rerun.EnsurePool(ctx, parent, name, spec(0, 0), NewRequest("test", "other")); !errors.As(err, &foreign) || !foreign.Stamped {
		t.Fatalf("another request = %v, want a stamped ForeignObjectError", err)
	}
	mustCreatePool(t, c, parent, "hand-made", spec(0, 0))
	if _, err := rerun.EnsurePool(ctx, parent, "hand-made", spec(0, 0), NewRequest("test", parent.ID(), "hand-made")); !errors.As(err, &foreign) || foreign.Stamped {
		t.Fatalf("over a hand-made pool = %v, want an unstamped ForeignObjectError", err)
	}

	// Killed right after the create call: the pool has its pending name and no stamp.
	req2 := NewRequest("test", parent.ID(), "tier-2")
	pendingID, err := c.CreatePool(ctx, parent, req2.PendingName(), spec(10, 10))
	if err != nil {
		t.Fatal(err)
	}
	adopted, err := connect(t, sharedSim(t)).EnsurePool(ctx, parent, "tier-2", spec(20, 20), req2)
	if err != nil || !adopted.Adopted || adopted.ID != pendingID {
		t.Fatalf("rerun over the pending pool = %+v, %v; want the adoption of %s", adopted, err, pendingID)
	}
	capa, err := c.PoolCapacity(ctx, parent)
	if err != nil {
		t.Fatal(err)
	}
	ch, ok := capa.Child("tier-2")
	if !ok || ch.ID != pendingID || ch.Request != req2.Token || ch.CPUReservationMHz != 20 {
		t.Fatalf("adopted pending pool read as %+v (found %v)", ch, ok)
	}
	for _, id := range []string{got.ID, pendingID} {
		if err := c.DestroyPool(ctx, id); err != nil {
			t.Error(err)
		}
	}
}

package vsphere

import (
	"context"
	"fmt"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// accessFixture makes folder /dc1/vm/<folder> with the named bare VMs in it and returns the
// folder's reference and the VMs' by name.
func accessFixture(tb testing.TB, sim *simulator.Sim, folder string, vms ...string) (ObjectRef, map[string]ObjectRef) {
	tb.Helper()
	ctx := context.Background()
	gc, err := sim.Connect(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = gc.Logout(ctx) }()
	f := find.NewFinder(gc.Client, false)
	dc, err := f.Datacenter(ctx, simulator.Datacenter)
	if err != nil {
		tb.Fatal(err)
	}
	f.SetDatacenter(dc)
	parent, err := f.Folder(ctx, "/dc1/vm")
	if err != nil {
		tb.Fatal(err)
	}
	fo, err := parent.CreateFolder(ctx, folder)
	if err != nil {
		tb.Fatal(err)
	}
	pool, err := f.ResourcePool(ctx, simulator.RootPoolPath)
	if err != nil {
		tb.Fatal(err)
	}
	ds, err := f.DefaultDatastore(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]ObjectRef{}
	for _, name := range vms {
		task, err := fo.CreateVM(ctx, types.VirtualMachineConfigSpec{
			Name: name, GuestId: "otherGuest64", NumCPUs: 1, MemoryMB: 512,
			Files: &types.VirtualMachineFileInfo{VmPathName: fmt.Sprintf("[%s]", ds.Name())},
		}, pool, nil)
		if err != nil {
			tb.Fatal(err)
		}
		info, err := task.WaitForResult(ctx)
		if err != nil {
			tb.Fatalf("creating %s: %v", name, err)
		}
		out[name] = VMRef(info.Result.(types.ManagedObjectReference).Value)
	}
	return ObjectRef{Type: "Folder", ID: fo.Reference().Value}, out
}

func destroyVM(tb testing.TB, sim *simulator.Sim, ref ObjectRef) {
	tb.Helper()
	ctx := context.Background()
	gc, err := sim.Connect(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = gc.Logout(ctx) }()
	task, err := object.NewVirtualMachine(gc.Client, ref.mor()).Destroy(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		tb.Fatalf("destroying %s: %v", ref.ID, err)
	}
}

func readAccess(tb testing.TB, c *Client) *AccessSnapshot {
	tb.Helper()
	s, err := c.ReadAccess(context.Background())
	if err != nil {
		tb.Fatalf("ReadAccess: %v", err)
	}
	return s
}

// brief prints an effective permission without the role's privileges.
func brief(e EffectivePermission) string {
	return fmt.Sprintf("{%s group=%v role=%s on %s %s inherited=%v propagate=%v}",
		e.Principal, e.Group, e.Role.Name, e.DefinedOn.ID, e.DefinedOnName, e.Inherited, e.Propagate)
}

func briefAll(es []EffectivePermission) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = brief(e)
	}
	return out
}

// effectiveOf is the effective permission of principal (a user) on ref, and whether there is one.
func effectiveOf(s *AccessSnapshot, ref ObjectRef, principal string) (EffectivePermission, bool) {
	for _, e := range s.Effective(ref) {
		if !e.Group && SamePrincipal(e.Principal, principal) {
			return e, true
		}
	}
	return EffectivePermission{}, false
}

// Effective follows vCenter's inheritance: a folder's permission reaches the VMs in it only when
// it propagates, the VM's own permission for the same principal overrides the folder's, and a
// permission left on a destroyed VM (vcsim keeps it) applies to nothing.
func TestEffectivePermissions(t *testing.T) {
	sim := newSim(t)
	c := connect(t, sim)
	ctx := context.Background()
	folder, vms := accessFixture(t, sim, "acc", "acc-vm", "acc-gone")
	vm, gone := vms["acc-vm"], vms["acc-gone"]
	readOnly, admin := mustRole(t, c, "ReadOnly"), mustRole(t, c, "Admin")
	const (
		deep = `VSPHERE.LOCAL\deep-user` // propagating permission on the folder
		flat = `VSPHERE.LOCAL\flat-user` // the folder only
		lost = `VSPHERE.LOCAL\lost-user` // on the VM that is then destroyed
	)
	for _, p := range []Permission{
		{Entity: folder, Principal: deep, RoleID: readOnly.ID, Propagate: true},
		{Entity: folder, Principal: flat, RoleID: admin.ID, Propagate: false},
		{Entity: gone, Principal: lost, RoleID: admin.ID, Propagate: true},
	} {
		if err := c.SetPermission(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	destroyVM(t, sim, gone)

	s := readAccess(t, c)
	e, ok := effectiveOf(s, vm, deep)
	if !ok {
		t.Fatalf("the folder's propagating permission does not reach the VM: %v", briefAll(s.Effective(vm)))
	}
	if !e.Inherited || e.DefinedOn != folder || e.DefinedOnName != "acc" || e.Role.Name != "ReadOnly" || !e.Propagate {
		t.Errorf("inherited permission = %s, want ReadOnly inherited from folder acc (%s)", brief(e), folder.ID)
	}
	if e, ok := effectiveOf(s, vm, flat); ok {
		t.Errorf("the folder's non-propagating permission reaches the VM: %s", brief(e))
	}
	if e, ok := effectiveOf(s, folder, flat); !ok || e.Inherited || e.DefinedOn != folder || e.Role.Name != "Admin" {
		t.Errorf("on the folder itself, flat-user = %s, %v; want Admin defined there", brief(e), ok)
	}
	// vcsim's own permission on the root folder (admin is Administrator everywhere) reaches the
	// VM through every level.
	if e, ok := effectiveOf(s, vm, "admin"); !ok || !e.Inherited || e.DefinedOnName != "Datacenters" || e.Role.Name != "Admin" {
		t.Errorf("admin on the VM = %s, %v; want Admin inherited from the root folder", brief(e), ok)
	}
	if d := s.Defined(gone); len(d) != 0 {
		t.Errorf("a destroyed VM still has permissions in the snapshot: %+v", d)
	}
	if eff := s.Effective(gone); len(eff) != 0 {
		t.Errorf("a destroyed VM has effective permissions: %v", briefAll(eff))
	}
	for _, obj := range []ObjectRef{vm, folder} {
		if e, ok := effectiveOf(s, obj, lost); ok {
			t.Errorf("the destroyed VM's permission applies to %s: %s", obj.ID, brief(e))
		}
	}

	// The VM's own permission for deep-user overrides the folder's, whatever it propagates.
	if err := c.SetPermission(ctx, Permission{Entity: vm, Principal: "deep-user@vsphere.local", RoleID: admin.ID}); err != nil {
		t.Fatal(err)
	}
	s = readAccess(t, c)
	e, ok = effectiveOf(s, vm, deep)
	if !ok || e.Inherited || e.DefinedOn != vm || e.DefinedOnName != "acc-vm" || e.Role.Name != "Admin" {
		t.Errorf("with a permission on the VM, deep-user = %s, %v; want the VM's Admin, not inherited", brief(e), ok)
	}
	n := 0
	for _, e := range s.Effective(vm) {
		if SamePrincipal(e.Principal, deep) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("deep-user has %d effective permissions on the VM, want 1", n)
	}
}

// ReadAccess costs the same round trips whatever the number of VMs: cold (a new client) and warm.
func TestReadAccessRoundTripsDoNotGrow(t *testing.T) {
	ctx := context.Background()
	type cost struct{ cold, warm int64 }
	costs := map[int]cost{}
	for _, extra := range []int{0, 200} {
		sim, err := simulator.Start(ctx, simulator.Options{ExtraVMs: extra})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sim.Close)
		c := connect(t, sim)
		measureOne := func() (int64, *AccessSnapshot) {
			before := c.Stats().RoundTrips()
			s := readAccess(t, c)
			return c.Stats().RoundTrips() - before, s
		}
		cold, s := measureOne()
		warm, _ := measureOne()
		costs[extra] = cost{cold, warm}
		vmsSeen := 0
		for ref := range s.Ancestors.Name {
			if ref.Type == "VirtualMachine" {
				vmsSeen++
			}
		}
		if want := simulator.SeededVMs() + extra; vmsSeen != want {
			t.Errorf("%d extra VMs: the snapshot names %d VMs, want %d", extra, vmsSeen, want)
		}
		t.Logf("%d VMs: ReadAccess %d round trips cold, %d warm", vmsSeen, cold, warm)
	}
	if costs[0] != costs[200] {
		t.Errorf("ReadAccess round trips grew with the VMs: seeded %+v, 200 more %+v", costs[0], costs[200])
	}
	if costs[200].cold > 4 || costs[200].warm > 2 {
		t.Errorf("ReadAccess took %+v round trips, want at most 4 cold and 2 warm", costs[200])
	}
}

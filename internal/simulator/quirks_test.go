package simulator

import (
	"context"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// TestVcsimQuirks_permissions pins the vcsim behaviour that DESIGN.md's vcsim quirks describe and
// vmgmt codes around, so an upgrade of vcsim that changes it fails here first: SetEntityPermissions
// stores the permissions as sent (no entity filled in) and replaces the entity's whole list,
// RemoveEntityPermission of a permission that does not exist
// succeeds, and RetrieveAllPermissions still lists the permissions of a destroyed entity.
func TestVcsimQuirks_permissions(t *testing.T) {
	c := startSim(t)
	ctx := context.Background()
	f := find.NewFinder(c.Client, false)
	dc, err := f.Datacenter(ctx, Datacenter)
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	folder, err := f.Folder(ctx, "/"+Datacenter+"/vm/"+WorkloadFolder)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := folder.CreateFolder(ctx, "quirks")
	if err != nil {
		t.Fatal(err)
	}
	am := object.NewAuthorizationManager(c.Client)
	grant := func(principal string, group bool) types.Permission {
		return types.Permission{Principal: principal, Group: group, RoleId: -2, Propagate: true}
	}
	if err := am.SetEntityPermissions(ctx, sub.Reference(), []types.Permission{grant(`VSPHERE.LOCAL\alice`, false)}); err != nil {
		t.Fatal(err)
	}
	perms, err := am.RetrieveEntityPermissions(ctx, sub.Reference(), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(perms) != 1 || perms[0].Entity != nil {
		t.Fatalf("a permission written without its entity read back as %+v, want vcsim's nil entity", perms)
	}
	auditors := grant(`VSPHERE.LOCAL\auditors`, true)
	auditors.Entity = types.NewReference(sub.Reference())
	if err := am.SetEntityPermissions(ctx, sub.Reference(), []types.Permission{auditors}); err != nil {
		t.Fatal(err)
	}
	if perms, err = am.RetrieveEntityPermissions(ctx, sub.Reference(), false); err != nil {
		t.Fatal(err)
	}
	if len(perms) != 1 || perms[0].Principal != `VSPHERE.LOCAL\auditors` {
		t.Fatalf("after two SetEntityPermissions: %+v, want only the second write's principal", perms)
	}
	if err := am.RemoveEntityPermission(ctx, sub.Reference(), `VSPHERE.LOCAL\bob`, false); err != nil {
		t.Fatalf("removing a permission that does not exist: %v, want vcsim's silence", err)
	}
	task, err := sub.Destroy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	all, err := am.RetrieveAllPermissions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kept := false
	for _, p := range all {
		kept = kept || p.Entity != nil && *p.Entity == sub.Reference()
	}
	if !kept {
		t.Fatalf("RetrieveAllPermissions dropped the destroyed folder's permission: %+v", all)
	}
}

// TestVcsimQuirks_reconfigurePortgroup pins that ReconfigureDVPortgroup_Task replaces the whole
// config from the spec: a spec that carries only a description empties config.name and drops the
// port count, while the entity keeps its name.
func TestVcsimQuirks_reconfigurePortgroup(t *testing.T) {
	c := startSim(t)
	ctx := context.Background()
	f := find.NewFinder(c.Client, false)
	dc, err := f.Datacenter(ctx, Datacenter)
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	n, err := f.Network(ctx, PortGroups[1])
	if err != nil {
		t.Fatal(err)
	}
	pg := object.NewDistributedVirtualPortgroup(c.Client, n.Reference())
	task, err := pg.Reconfigure(ctx, types.DVPortgroupConfigSpec{Description: "only a description"})
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	var o mo.DistributedVirtualPortgroup
	if err := pg.Properties(ctx, pg.Reference(), []string{"name", "config"}, &o); err != nil {
		t.Fatal(err)
	}
	if o.Config.Name != "" || o.Config.NumPorts != 0 || o.Name != PortGroups[1] {
		t.Fatalf("after a partial spec: name %q, config.name %q, numPorts %d", o.Name, o.Config.Name, o.Config.NumPorts)
	}
}

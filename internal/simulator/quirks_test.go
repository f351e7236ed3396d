package simulator

import (
	"context"
	"testing"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/view"
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

// TestCloneKeepsFirmware pins the simulator's fix of vcsim's CloneVM_Task, which makes every clone
// a BIOS VM: the seeded templates and workloads are UEFI at HardwareVersion, a clone of a template
// is UEFI with its hardware version, a clone of a secure-boot VM keeps secure boot, and a clone
// spec that sets firmware or boot options wins, as in vCenter. The source keeps its own boot
// options, and vcsim's faults still reach the client.
func TestCloneKeepsFirmware(t *testing.T) {
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
	pool, err := f.ResourcePool(ctx, RootPoolPath)
	if err != nil {
		t.Fatal(err)
	}
	poolRef := pool.Reference()
	read := func(vm *object.VirtualMachine) mo.VirtualMachine {
		t.Helper()
		var o mo.VirtualMachine
		if err := vm.Properties(ctx, vm.Reference(), []string{"config.firmware", "config.version", "config.bootOptions"}, &o); err != nil {
			t.Fatal(err)
		}
		return o
	}
	secure := func(o mo.VirtualMachine) bool {
		return o.Config.BootOptions != nil && o.Config.BootOptions.EfiSecureBootEnabled != nil && *o.Config.BootOptions.EfiSecureBootEnabled
	}
	cloneTo := func(src *object.VirtualMachine, folder *object.Folder, name string, config *types.VirtualMachineConfigSpec) *object.VirtualMachine {
		t.Helper()
		task, err := src.Clone(ctx, folder, name, types.VirtualMachineCloneSpec{Location: types.VirtualMachineRelocateSpec{Pool: &poolRef}, Config: config})
		if err != nil {
			t.Fatal(err)
		}
		info, err := task.WaitForResult(ctx)
		if err != nil {
			t.Fatalf("cloning %s: %v", name, err)
		}
		return object.NewVirtualMachine(c.Client, info.Result.(types.ManagedObjectReference))
	}
	clone := func(src *object.VirtualMachine, name string, config *types.VirtualMachineConfigSpec) *object.VirtualMachine {
		t.Helper()
		return cloneTo(src, folder, name, config)
	}
	efi := string(types.GuestOsDescriptorFirmwareTypeEfi)

	seeded := map[string]string{}
	for _, name := range Templates {
		seeded[name] = TemplateFolder + "/" + name
	}
	for _, name := range Workloads {
		seeded[name] = WorkloadFolder + "/" + name
	}
	for name, p := range seeded {
		vm, err := f.VirtualMachine(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if o := read(vm); o.Config.Firmware != efi || o.Config.Version != HardwareVersion {
			t.Errorf("seeded %s is %s %s, want %s %s", name, o.Config.Firmware, o.Config.Version, efi, HardwareVersion)
		}
	}
	tmpl, err := f.VirtualMachine(ctx, seeded[Templates[0]])
	if err != nil {
		t.Fatal(err)
	}
	plain := clone(tmpl, "clone-of-template", nil)
	if o := read(plain); o.Config.Firmware != efi || o.Config.Version != HardwareVersion || secure(o) {
		t.Errorf("clone of %s: firmware %q version %q secure boot %v, want %s %s without secure boot",
			Templates[0], o.Config.Firmware, o.Config.Version, secure(o), efi, HardwareVersion)
	}

	// The same name in another folder: vcsim names the clone's directory "clone-of-template (1)".
	templates, err := f.Folder(ctx, "/"+Datacenter+"/vm/"+TemplateFolder)
	if err != nil {
		t.Fatal(err)
	}
	if o := read(cloneTo(tmpl, templates, "clone-of-template", nil)); o.Config.Firmware != efi {
		t.Errorf("clone of %s into a second directory of its name: firmware %q, want %s", Templates[0], o.Config.Firmware, efi)
	}

	yes := true
	task, err := plain.Reconfigure(ctx, types.VirtualMachineConfigSpec{BootOptions: &types.VirtualMachineBootOptions{EfiSecureBootEnabled: &yes}})
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatalf("turning on secure boot on the clone (vcsim refuses it on BIOS): %v", err)
	}
	second := clone(plain, "clone-of-secure-boot", nil)
	if o := read(second); o.Config.Firmware != efi || !secure(o) {
		t.Errorf("clone of a secure-boot VM: firmware %q secure boot %v, want %s with secure boot", o.Config.Firmware, secure(o), efi)
	}

	no := false
	bios := clone(plain, "clone-as-bios", &types.VirtualMachineConfigSpec{
		Firmware:    string(types.GuestOsDescriptorFirmwareTypeBios),
		BootOptions: &types.VirtualMachineBootOptions{EfiSecureBootEnabled: &no},
	})
	if o := read(bios); o.Config.Firmware != string(types.GuestOsDescriptorFirmwareTypeBios) || secure(o) {
		t.Errorf("clone with a BIOS spec: firmware %q secure boot %v, want bios without secure boot", o.Config.Firmware, secure(o))
	}
	if o := read(plain); !secure(o) {
		t.Error("cloning with other boot options changed the source's")
	}

	// vcsim's faults still reach the client: the name is taken.
	task, err = plain.Clone(ctx, folder, "clone-as-bios", types.VirtualMachineCloneSpec{Location: types.VirtualMachineRelocateSpec{Pool: &poolRef}})
	if err != nil {
		t.Fatal(err)
	}
	var dup *types.DuplicateName
	err = task.Wait(ctx)
	if _, ok := fault.As(err, &dup); !ok {
		t.Errorf("cloning to a name taken in the folder: %v, want DuplicateName", err)
	}
}

// A container view made before a resource pool (nested in a new one) is created, or a host
// added to the cluster, lists them when it is read, as vCenter's views do (vcsim's alone does
// not: liveViews).
func TestViewsSeeNewPools(t *testing.T) {
	c := startSim(t)
	ctx := context.Background()
	v, err := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"ResourcePool", "HostSystem"}, true)
	if err != nil {
		t.Fatal(err)
	}
	count := func(kind string) int {
		refs, err := v.Find(ctx, []string{kind}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return len(refs)
	}
	pools, hosts := count("ResourcePool"), count("HostSystem")
	f := find.NewFinder(c.Client, true)
	root, err := f.ResourcePool(ctx, ClusterPath+"/Resources")
	if err != nil {
		t.Fatal(err)
	}
	late, err := root.Create(ctx, "late-pool", types.DefaultResourceConfigSpec())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := late.Create(ctx, "late-child", types.DefaultResourceConfigSpec()); err != nil {
		t.Fatal(err)
	}
	cl, err := f.ClusterComputeResource(ctx, ClusterPath)
	if err != nil {
		t.Fatal(err)
	}
	task, err := cl.AddHost(ctx, types.HostConnectSpec{HostName: "late-host", UserName: "root", Password: "x"}, true, nil, nil)
	if err == nil {
		_, err = task.WaitForResult(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := count("ResourcePool"); got != pools+2 {
		t.Errorf("the view lists %d pools after two creates (one nested in the other), want %d", got, pools+2)
	}
	if got := count("HostSystem"); got != hosts+1 {
		t.Errorf("the view lists %d hosts after an add, want %d", got, hosts+1)
	}
}

package vsphere

import (
	"context"
	"testing"

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

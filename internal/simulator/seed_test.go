package simulator

import (
	"context"
	"path"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vim25/mo"
)

// TestWorkloadPortGroups: each seeded workload VM has one NIC, on its tier's port group, and the
// templates stay on PortGroups[0].
func TestWorkloadPortGroups(t *testing.T) {
	c := startSim(t)
	ctx := context.Background()
	f := find.NewFinder(c.Client, false)
	dc, err := f.Datacenter(ctx, Datacenter)
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	want := map[string]string{}
	for _, w := range Workloads {
		want[path.Join(WorkloadFolder, w)] = WorkloadPortGroups[w]
	}
	for _, tmpl := range Templates {
		want[path.Join(TemplateFolder, tmpl)] = PortGroups[0]
	}
	for vmPath, pg := range want {
		vm, err := f.VirtualMachine(ctx, vmPath)
		if err != nil {
			t.Fatal(err)
		}
		var o mo.VirtualMachine
		if err := vm.Properties(ctx, vm.Reference(), []string{"network"}, &o); err != nil {
			t.Fatal(err)
		}
		if len(o.Network) != 1 {
			t.Fatalf("%s is on %d networks, want 1", vmPath, len(o.Network))
		}
		var n mo.Network
		if err := vm.Properties(ctx, o.Network[0], []string{"name"}, &n); err != nil {
			t.Fatal(err)
		}
		if n.Name != pg {
			t.Errorf("%s is on %s, want %s", vmPath, n.Name, pg)
		}
	}
}

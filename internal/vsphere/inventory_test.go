package vsphere_test

import (
	"context"
	"testing"

	"github.com/vmware/govmomi/vim25/mo"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// Reading every VM costs one round trip once the view exists, whatever the number of VMs.
func TestRetrieveAllIsOneRoundTrip(t *testing.T) {
	ctx := context.Background()
	sim, err := simulator.Start(ctx, simulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	c, err := vsphere.Connect(ctx, vsphere.Config{Server: sim.URL.Host, User: sim.User, Password: sim.Password, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close(ctx) }()

	var vms []mo.VirtualMachine
	if err := c.RetrieveAll(ctx, "VirtualMachine", []string{"name", "config.template"}, &vms); err != nil {
		t.Fatal(err)
	}
	if want := simulator.SeededVMs(); len(vms) != want {
		t.Fatalf("got %d VMs, want %d", len(vms), want)
	}
	templates := 0
	for _, vm := range vms {
		if vm.Config != nil && vm.Config.Template {
			templates++
		}
	}
	if templates != simulator.SeededTemplates() {
		t.Fatalf("got %d templates, want %d", templates, simulator.SeededTemplates())
	}
	before := c.Stats().RoundTrips()
	vms = nil
	if err := c.RetrieveAll(ctx, "VirtualMachine", []string{"name"}, &vms); err != nil {
		t.Fatal(err)
	}
	if n := c.Stats().RoundTrips() - before; n != 1 {
		t.Fatalf("second bulk read took %d round trips, want 1", n)
	}
}

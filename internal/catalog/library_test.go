package catalog_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/catalog"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// An item whose template is a content library item: published (its definition on the
// datacenter, since a library item carries no custom attributes), a VM deployed from it sized,
// stamped, on the item's network and powered on; empty re-plan, import by name, unpublished
// behind Terraform's back and published again, unpublished on destroy.
func TestAccCatalogItem_libraryItem(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	libRef := catalog.LibraryPrefix + simulator.Library + "/" + simulator.LibraryItems[0].Item
	cfg := catalogVMConfig(sim, vmCfg{template: libRef})
	item, vm := "vmgmt_catalog_item.app", "vmgmt_catalog_vm.app01"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(item, tfjsonpath.New("template_type"), knownvalue.StringExact("library_item")),
					statecheck.ExpectKnownValue(item, tfjsonpath.New("template_id"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f-]{36}$`))),
					statecheck.ExpectKnownValue(item, tfjsonpath.New("template"), knownvalue.StringExact(libRef)),
					statecheck.ExpectKnownValue(vm, tfjsonpath.New("catalog_item_version"), knownvalue.StringExact("1.0.0")),
					statecheck.ExpectKnownValue(vm, tfjsonpath.New("network"), knownvalue.StringExact(simulator.PortGroups[0])),
				},
				Check: func(*terraform.State) error {
					if err := publishedVersion(t, sim, "app-server", "1.0.0"); err != nil {
						return err
					}
					vms, err := stampedVMs(context.Background(), sim, "app-server")
					if err != nil {
						return err
					}
					got := vms["app01"]
					if got == nil || got.Template || got.CPUs != 2 || got.MemoryMB != 4096 || got.DiskGB != 40 || got.PowerState != "poweredOn" ||
						got.ExtraConfig[catalog.StampOwner] != "jane.doe" || got.Path != "/"+simulator.Datacenter+"/vm/"+simulator.WorkloadFolder+"/app01" {
						return fmt.Errorf("VM deployed from the library item: %+v", got)
					}
					return nil
				},
			},
			{Config: cfg, ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
			{Config: cfg, ResourceName: item, ImportState: true, ImportStateId: "app-server", ImportStateVerify: true},
			{
				PreConfig:        func() { unpublish(t, sim, "app-server") },
				Config:           cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(item, plancheck.ResourceActionCreate)}},
			},
		},
	})
	if err := publishedVersion(t, sim, "app-server", ""); err != nil {
		t.Fatalf("after destroy: %v", err)
	}
}

// A VM whose item was unpublished behind Terraform's back (and left the configuration) keeps its
// version, lease and size: unchanged, the plan is empty (with a warning); a new size cannot be
// resolved and fails at apply, leaving the VM as it was.
func TestAccCatalogVM_itemUnpublished(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	vm := "vmgmt_catalog_vm.app01"
	full := catalogVMConfig(sim, vmCfg{extra: "allow_power_cycle = true"})
	vmOnly := func(size string) string {
		cfg := sim.ProviderConfig() + full[strings.Index(full, `resource "vmgmt_catalog_vm"`):]
		cfg = strings.Replace(cfg, "vmgmt_catalog_item.app.name", `"app-server"`, 1)
		return strings.Replace(cfg, `size         = "small"`, fmt.Sprintf(`size         = %q`, size), 1)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: full},
			{
				PreConfig:        func() { unpublish(t, sim, "app-server") },
				Config:           vmOnly("small"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(vm, tfjsonpath.New("lease_days"), knownvalue.Int64Exact(30)),
					statecheck.ExpectKnownValue(vm, tfjsonpath.New("cpus"), knownvalue.Int64Exact(2)),
				},
			},
			{Config: vmOnly("large"), ExpectError: regexp.MustCompile(`(?s)Catalog item not published.*size "?large`)},
			{
				Config: vmOnly("small"),
				Check: func(*terraform.State) error {
					vms, err := stampedVMs(context.Background(), sim, "app-server")
					if err != nil {
						return err
					}
					if got := vms["app01"]; got == nil || got.CPUs != 2 || got.ExtraConfig[catalog.StampSize] != "small" || got.ExtraConfig[catalog.StampLeaseDays] != "30" {
						return fmt.Errorf("after the failed resize the VM is %+v", got)
					}
					return nil
				},
			},
		},
	})
}

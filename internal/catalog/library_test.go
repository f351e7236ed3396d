package catalog_test

import (
	"context"
	"fmt"
	"regexp"
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

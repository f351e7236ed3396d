package catalog_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/catalog"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// fleetItem is the catalog item the fleet configurations publish and provision from.
const fleetItem = "fleet-app"

// fleetConfig is a provider block, one published catalog item and n catalog VMs made from it
// with `count` (n = 0 keeps only the item). The VMs differ only by name: the worst case for
// parallel creates, which all clone the same template into the same folder and pool.
func fleetConfig(providerBlock string, n int) string {
	var b strings.Builder
	b.WriteString(providerBlock)
	fmt.Fprintf(&b, `
resource "vmgmt_catalog_item" "fleet" {
  name     = %q
  version  = "1.0.0"
  template = %q
  sizes = {
    small = { cpus = 2, memory_mb = 4096, disk_gb = 40 }
  }
  entitled_groups  = ["erp-ops"]
  allowed_folders  = [%q]
  allowed_networks = [%q]
  lease            = { default_days = 30, max_days = 90, grace_days = 7 }
}
`, fleetItem, templatePath, simulator.WorkloadFolder, simulator.PortGroups[0])
	if n > 0 {
		fmt.Fprintf(&b, `
resource "vmgmt_catalog_vm" "fleet" {
  count         = %d
  name          = format("fleet-%%03d", count.index)
  catalog_item  = vmgmt_catalog_item.fleet.name
  size          = "small"
  owner         = "jane.doe"
  job_function  = "erp-ops"
  customization = { domain = "corp.example" }
}
`, n)
	}
	return b.String()
}

// stampedVMs returns the VMs that vCenter holds stamped with the given catalog item, by name.
func stampedVMs(ctx context.Context, sim *acctest.Sim, item string) (map[string]*vsphere.VM, error) {
	c, err := vsphere.Connect(ctx, vsphere.Config{Server: sim.URL.Host, User: sim.User, Password: sim.Password, Insecure: true})
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Close(ctx) }()
	vms, err := c.VMs(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]*vsphere.VM{}
	for _, vm := range vms {
		if !vm.Template && vm.ExtraConfig[catalog.StampItem] == item {
			out[vm.Name] = vm
		}
	}
	return out, nil
}

// TestAccCatalogVM_parallelCreates applies 20 catalog VMs of one item at Terraform's default
// parallelism (10 creates in flight): every one is created once, under its own name, stamped,
// in state with its own ID; the next plan is empty and destroy leaves no VM of the item behind.
func TestAccCatalogVM_parallelCreates(t *testing.T) {
	acctest.PreCheck(t)
	const n = 20
	sim := acctest.NewSim(t)
	cfg := fleetConfig(sim.ProviderConfig(), n)
	ctx := context.Background()

	checkState := func(s *terraform.State) error {
		names, ids, uuids := map[string]bool{}, map[string]bool{}, map[string]bool{}
		for addr, rs := range s.RootModule().Resources {
			if rs.Type != "vmgmt_catalog_vm" {
				continue
			}
			a := rs.Primary.Attributes
			if a["id"] == "" || a["uuid"] == "" {
				return fmt.Errorf("%s has no id or uuid in state: %v", addr, a)
			}
			if names[a["name"]] || ids[a["id"]] || uuids[a["uuid"]] {
				return fmt.Errorf("%s repeats a name, ID or UUID of another VM (name %s, id %s, uuid %s)", addr, a["name"], a["id"], a["uuid"])
			}
			names[a["name"]], ids[a["id"]], uuids[a["uuid"]] = true, true, true
		}
		if len(names) != n {
			return fmt.Errorf("%d catalog VMs in state, want %d", len(names), n)
		}
		return nil
	}
	checkVCenter := func(*terraform.State) error {
		vms, err := stampedVMs(ctx, sim, fleetItem)
		if err != nil {
			return err
		}
		var missing []string
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("fleet-%03d", i)
			vm := vms[name]
			switch {
			case vm == nil:
				missing = append(missing, name)
			case vm.FolderPath != "/"+simulator.Datacenter+"/vm/"+simulator.WorkloadFolder:
				return fmt.Errorf("%s is in %s, not in the item's folder", name, vm.FolderPath)
			case vm.ExtraConfig[catalog.StampOwner] != "jane.doe" || vm.ExtraConfig[catalog.StampJobFunction] != "erp-ops":
				return fmt.Errorf("%s carries the wrong stamps: %v", name, vm.ExtraConfig)
			case vm.CPUs != 2 || vm.MemoryMB != 4096 || vm.PowerState != "poweredOn":
				return fmt.Errorf("%s is %d vCPU / %d MB / %s, want 2 vCPU / 4096 MB / poweredOn", name, vm.CPUs, vm.MemoryMB, vm.PowerState)
			}
		}
		if len(missing) > 0 || len(vms) != n {
			got := make([]string, 0, len(vms))
			for name := range vms {
				got = append(got, name)
			}
			sort.Strings(got)
			return fmt.Errorf("vCenter holds %d VMs of item %s (%s), want %d; missing: %v", len(vms), fleetItem, strings.Join(got, ", "), n, missing)
		}
		return nil
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				Check:  resource.ComposeAggregateTestCheckFunc(checkState, checkVCenter),
			},
			{
				Config:           cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
		CheckDestroy: func(*terraform.State) error {
			vms, err := stampedVMs(ctx, sim, fleetItem)
			if err != nil {
				return err
			}
			if len(vms) > 0 {
				left := make([]string, 0, len(vms))
				for name := range vms {
					left = append(left, name)
				}
				sort.Strings(left)
				return fmt.Errorf("destroy left %d VMs of item %s: %s", len(vms), fleetItem, strings.Join(left, ", "))
			}
			return nil
		},
	})
}

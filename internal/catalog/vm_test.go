package catalog_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/catalog"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

type vmCfg struct {
	version, size, extra string
	leaseDays            int
	template             string // default: templatePath
}

func catalogVMConfig(sim *acctest.Sim, v vmCfg) string {
	if v.version == "" {
		v.version = "1.0.0"
	}
	if v.size == "" {
		v.size = "small"
	}
	if v.template == "" {
		v.template = templatePath
	}
	lease := ""
	if v.leaseDays > 0 {
		lease = fmt.Sprintf("lease_days = %d", v.leaseDays)
	}
	return sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_catalog_item" "app" {
  name     = "app-server"
  version  = %q
  template = %q
  sizes = {
    small = { cpus = 2, memory_mb = 4096, disk_gb = 40 }
    large = { cpus = 8, memory_mb = 16384, disk_gb = 80 }
  }
  entitled_groups  = ["erp-ops"]
  allowed_folders  = [%q]
  allowed_networks = [%q]
  lease            = { default_days = 30, max_days = 90, grace_days = 7 }
}

resource "vmgmt_catalog_vm" "app01" {
  name         = "app01"
  catalog_item = vmgmt_catalog_item.app.name
  size         = %q
  owner        = "jane.doe"
  job_function = "erp-ops"
  customization = {
    domain       = "corp.example"
    ipv4_address = "10.0.20.11/24"
    ipv4_gateway = "10.0.20.1"
    dns_servers  = ["10.0.0.2"]
  }
  %s
  %s
}
`, v.version, v.template, simulator.WorkloadFolder, simulator.PortGroups[0], v.size, lease, v.extra)
}

func TestAccCatalogVM(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	addr := "vmgmt_catalog_vm.app01"
	var firstID string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: catalogVMConfig(sim, vmCfg{}),
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttrWith(addr, "id", func(v string) error { firstID = v; return nil }),
					func(*terraform.State) error {
						// The VM records what it is in tags too, where vSphere users look.
						got, err := client(t, sim).VMTags(context.Background(), firstID)
						if err != nil {
							return err
						}
						want := map[string]string{catalog.TagItem: "app-server", catalog.TagVersion: "1.0.0", catalog.TagOwner: "jane.doe", catalog.TagJobFunction: "erp-ops"}
						for k, v := range want {
							if got[k] != v {
								return fmt.Errorf("tag %s = %q, want %q (all: %v)", k, got[k], v, got)
							}
						}
						return nil
					},
				),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("cpus"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("memory_mb"), knownvalue.Int64Exact(4096)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("catalog_item_version"), knownvalue.StringExact("1.0.0")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("folder"), knownvalue.StringExact(simulator.WorkloadFolder)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("network"), knownvalue.StringExact(simulator.PortGroups[0])),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("lease_days"), knownvalue.Int64Exact(30)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("power_on"), knownvalue.Bool(true)),
				},
			},
			{
				Config:           catalogVMConfig(sim, vmCfg{}),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				ResourceName: addr, ImportState: true,
				ImportStateIdFunc:       func(*terraform.State) (string, error) { return "/dc1/vm/" + simulator.WorkloadFolder + "/app01", nil },
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"customization", "ip_address"},
			},
			{
				// A newer item version does not replace the VM: it keeps running 1.0.0.
				Config: catalogVMConfig(sim, vmCfg{version: "1.1.0"}),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionNoop),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("catalog_item_version"), knownvalue.StringExact("1.0.0")),
				},
			},
			{
				// Growing a running VM without CPU/memory hot add needs a power cycle: refused unless allowed.
				Config:      catalogVMConfig(sim, vmCfg{version: "1.1.0", size: "large"}),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`Resize needs a power cycle(?s:.*)allow_power_cycle`),
			},
			{
				Config: catalogVMConfig(sim, vmCfg{version: "1.1.0", size: "large", extra: "allow_power_cycle = true"}),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("cpus"), knownvalue.Int64Exact(8)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("disk_gb"), knownvalue.Int64Exact(80)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("power_on"), knownvalue.Bool(true)),
				},
			},
			{
				// Resized behind Terraform's back: the next plan puts it back.
				PreConfig: func() { reconfigure(t, sim, firstID, vsphere.ReconfigSpec{CPUs: 3}) },
				Config:    catalogVMConfig(sim, vmCfg{version: "1.1.0", size: "large", extra: "allow_power_cycle = true"}),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue(addr, tfjsonpath.New("cpus"), knownvalue.Int64Exact(8))},
			},
			{
				// rebuild = true moves it to the item's current version (a replacement).
				Config: catalogVMConfig(sim, vmCfg{version: "1.1.0", size: "large", extra: "allow_power_cycle = true\n  rebuild = true"}),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("catalog_item_version"), knownvalue.StringExact("1.1.0")),
				},
			},
			{
				// Deleted behind Terraform's back: recreated.
				PreConfig: func() { destroyByName(t, sim, "app01") },
				Config:    catalogVMConfig(sim, vmCfg{version: "1.1.0", size: "large", extra: "allow_power_cycle = true\n  rebuild = true"}),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}

func TestAccCatalogVM_lease(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	addr := "vmgmt_catalog_vm.app01"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: catalogVMConfig(sim, vmCfg{})},
			{
				// 33 days old on a 30-day lease: expired, inside the 7-day grace: a warning, the plan passes.
				PreConfig: func() { backdate(t, sim, "app01", 33) },
				Config:    catalogVMConfig(sim, vmCfg{}),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionNoop),
				}},
			},
			{
				// 40 days old: the grace period is over and the plan fails until the lease is renewed.
				PreConfig:   func() { backdate(t, sim, "app01", 40) },
				Config:      catalogVMConfig(sim, vmCfg{}),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`Lease expired(?s:.*)grace(?s:.*)lease_days`),
			},
			{
				// Renewed within the item's maximum.
				Config: catalogVMConfig(sim, vmCfg{leaseDays: 60}),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("lease_days"), knownvalue.Int64Exact(60)),
				},
			},
			{
				Config:      catalogVMConfig(sim, vmCfg{leaseDays: 120}),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`Lease longer than the item allows(?s:.*)at\s+most\s+90`),
			},
		},
	})
}

func TestAccCatalogVM_badInput(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	base := catalogVMConfig(sim, vmCfg{})
	cases := []struct{ name, cfg, want string }{
		{"unknown size", strings.Replace(base, `size         = "small"`, `size         = "huge"`, 1), `Unknown size(?s:.*)offers\s+sizes\s+large,\s+small`},
		{"unknown item", strings.Replace(base, `catalog_item = vmgmt_catalog_item.app.name`, `catalog_item = "nope"
  depends_on   = [vmgmt_catalog_item.app]`, 1), `Unknown catalog item(?s:.*)"nope"`},
		{"name collision", strings.Replace(base, `name         = "app01"`, fmt.Sprintf(`name         = %q`, simulator.Workloads[0]), 1), `VM name taken(?s:.*)terraform\s+import`},
		{"bad address", strings.Replace(base, `10.0.20.11/24`, `10.0.20.300`, 1), `Invalid IPv4 address`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
				Steps: []resource.TestStep{
					{Config: tc.cfg, ExpectError: regexp.MustCompile(tc.want)},
				},
			})
		})
	}
}

func findVM(t *testing.T, c *vsphere.Client, name string) *vsphere.VM {
	t.Helper()
	vm, err := c.FindVM(context.Background(), simulator.WorkloadFolder+"/"+name)
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

func reconfigure(t *testing.T, sim *acctest.Sim, id string, s vsphere.ReconfigSpec) {
	c := client(t, sim)
	if err := c.SetPower(context.Background(), id, false); err != nil {
		t.Fatal(err)
	}
	if err := c.ReconfigureVM(context.Background(), id, s); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPower(context.Background(), id, true); err != nil {
		t.Fatal(err)
	}
}

func destroyByName(t *testing.T, sim *acctest.Sim, name string) {
	c := client(t, sim)
	if err := c.DestroyVM(context.Background(), findVM(t, c, name).ID); err != nil {
		t.Fatal(err)
	}
}

// backdate moves a VM's creation stamp into the past, as if it had been running that long.
func backdate(t *testing.T, sim *acctest.Sim, name string, days int) {
	c := client(t, sim)
	created := time.Now().UTC().Add(-time.Duration(days) * 24 * time.Hour).Format(time.RFC3339)
	if err := c.ReconfigureVM(context.Background(), findVM(t, c, name).ID, vsphere.ReconfigSpec{ExtraConfig: map[string]string{catalog.StampCreated: created}}); err != nil {
		t.Fatal(err)
	}
}

// A version pin keeps the VM on its version while the item moves on; moving the pin rebuilds it.
func TestAccCatalogVM_pinVersion(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	addr := "vmgmt_catalog_vm.app01"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: catalogVMConfig(sim, vmCfg{extra: `pin_version = "1.0.0"`})},
			{
				Config: catalogVMConfig(sim, vmCfg{version: "1.1.0", extra: `pin_version = "1.0.0"`}),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionNoop),
				}},
			},
			{
				Config:      catalogVMConfig(sim, vmCfg{version: "1.1.0", extra: `pin_version = "0.9.0"`}),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`Pinned version not published(?s:.*)publishes\s+version\s+1.1.0`),
			},
			{
				// A new owner is recorded in the stamps and the tags.
				Config: strings.Replace(catalogVMConfig(sim, vmCfg{version: "1.1.0", extra: `pin_version = "1.0.0"`}), `"jane.doe"`, `"john.roe"`, 1),
				Check: func(s *terraform.State) error {
					id := s.RootModule().Resources[addr].Primary.ID
					got, err := client(t, sim).VMTags(context.Background(), id)
					if err != nil {
						return err
					}
					if got[catalog.TagOwner] != "john.roe" || got[catalog.TagItem] != "app-server" {
						return fmt.Errorf("tags after the owner change: %v", got)
					}
					return nil
				},
			},
			{
				Config: catalogVMConfig(sim, vmCfg{version: "1.1.0", extra: `pin_version = "1.1.0"`}),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("catalog_item_version"), knownvalue.StringExact("1.1.0")),
				},
			},
		},
	})
}

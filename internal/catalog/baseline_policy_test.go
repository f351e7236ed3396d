package catalog_test

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// baselinePolicyConfig is a configuration baseline over the workloads folder (mode, or none when
// mode is empty; "removed" takes it out of Terraform but leaves it in vCenter), an item whose
// config_baseline is itemBaseline (none when empty), and one catalog VM per name, with the
// baseline pack judging them.
func baselinePolicyConfig(sim *acctest.Sim, mode, itemBaseline string, vms ...string) string {
	cfg := sim.ProviderConfigWith(`  policy {
    packs = ["baseline"]
  }`)
	switch mode {
	case "":
	case "removed":
		cfg += `
removed {
  from = vmgmt_config_baseline.db
  lifecycle {
    destroy = false
  }
}
`
	default:
		cfg += fmt.Sprintf(`
resource "vmgmt_config_baseline" "db" {
  name     = "db-hardening"
  mode     = %q
  settings = [{ key = "isolation.tools.copy.disable", value = "TRUE" }]
  scope {
    folders = [%q]
  }
}
`, mode, simulator.WorkloadFolder)
	}
	if itemBaseline != "" {
		itemBaseline = fmt.Sprintf("config_baseline = %s", itemBaseline)
	}
	cfg += fmt.Sprintf(`
resource "vmgmt_catalog_item" "db" {
  name            = "db-server"
  version         = "1.0.0"
  template        = %q
  sizes           = { small = { cpus = 2, memory_mb = 4096, disk_gb = 40 } }
  allowed_folders = [%q]
  lease           = { default_days = 30, max_days = 90, grace_days = 7 }
  %s
}
`, templatePath, simulator.WorkloadFolder, itemBaseline)
	for _, name := range vms {
		cfg += fmt.Sprintf(`
resource "vmgmt_catalog_vm" %[1]q {
  name         = %[1]q
  catalog_item = vmgmt_catalog_item.db.name
  size         = "small"
  owner        = "jane.doe"
  job_function = "dba"
}
`, name)
	}
	return cfg
}

// The baseline pack refuses a catalog VM whose item names no enforcing configuration baseline,
// with the facts the VM gathers: no baseline named, one planned in audit mode, one of a name
// nobody defines. It passes a VM whose item names a baseline planned in enforce mode, and one
// whose baseline enforces as vCenter holds it (no longer planned by this configuration).
func TestAccCatalogVM_baselinePackRequiresAnEnforcingBaseline(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	refused := func(item, held string) *regexp.Regexp {
		return regexp.MustCompile(`(?s)Policy violation: baseline.catalog_enforced.*catalog VM "db01" is not held by an\s+enforcing\s+configuration\s+baseline:\s+its\s+catalog\s+item\s+"` +
			item + `"\s+` + held)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      baselinePolicyConfig(sim, "", "", "db01"),
				PlanOnly:    true,
				ExpectError: refused("db-server", `names\s+no\s+configuration\s+baseline\s+\(config_baseline\)`),
			},
			{
				Config:      baselinePolicyConfig(sim, "audit", "vmgmt_config_baseline.db.name", "db01"),
				PlanOnly:    true,
				ExpectError: refused("db-server", `names\s+the\s+configuration\s+baseline\s+"db-hardening",\s+which\s+is\s+in\s+audit\s+mode`),
			},
			{
				Config:      baselinePolicyConfig(sim, "", `"db-hardnening"`, "db01"),
				PlanOnly:    true,
				ExpectError: refused("db-server", `names\s+the\s+configuration\s+baseline\s+"db-hardnening",\s+which\s+no\s+configuration\s+baseline\s+of\s+that\s+name\s+defines\s+or\s+plans`),
			},
			{
				// Planned in enforce mode in the same run: the VM passes.
				// The VM is born compliant with the baseline, applied before it: a refreshed plan is
				// empty, and only the harness's plan without refresh sees the baseline's scope grow.
				Config:      baselinePolicyConfig(sim, "enforce", "vmgmt_config_baseline.db.name", "db01"),
				ExpectError: regexp.MustCompile(`After applying this test step, the non-refresh plan was not empty`),
			},
			{RefreshState: true},
			{
				// The baseline leaves this configuration but enforces in vCenter: a new VM passes on
				// the mode vCenter holds.
				Config: baselinePolicyConfig(sim, "removed", `"db-hardening"`, "db01", "db02"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vmgmt_catalog_vm.db02", plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}

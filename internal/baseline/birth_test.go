package baseline_test

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/vmware/govmomi/vim25/mo"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// birthConfig is a baseline in the given mode (scoped to a tag no seeded VM carries, so that it
// holds only the catalog VMs whose item names it), an item naming it by reference (the item, and
// so its VM, is applied after the baseline) and one catalog VM of that item.
func birthConfig(sim *acctest.Sim, mode string) string {
	return sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_config_baseline" "b" {
  name               = "born-%[1]s"
  mode               = %[1]q
  secure_boot        = true
  cpu_hot_add        = true
  logging            = true
  migrate_encryption = "required"
  settings = [
    { key = "isolation.tools.copy.disable", value = "TRUE" },
    { key = "isolation.tools.paste.disable", value = "TRUE", match = "default_ok" },
    { key = "sched.mem.pshare.salt", match = "absent" },
  ]
  scope {
    tags = [{ category = "tier", name = "tier-3" }]
  }
}

resource "vmgmt_catalog_item" "app" {
  name            = "born-app-%[1]s"
  version         = "1.0.0"
  template        = %[2]q
  sizes           = { small = { cpus = 2, memory_mb = 4096, disk_gb = 40 } }
  lease           = { default_days = 30, max_days = 90, grace_days = 7 }
  config_baseline = vmgmt_config_baseline.b.name
}

resource "vmgmt_catalog_vm" "app01" {
  name         = "born-%[1]s-01"
  catalog_item = vmgmt_catalog_item.app.name
  size         = "small"
  owner        = "jane.doe"
  job_function = "erp-ops"
}
`, mode, "/"+simulator.Datacenter+"/vm/"+simulator.TemplateFolder+"/"+simulator.Templates[0])
}

// bornFlags reads the flags a baseline can set on a clone, as an administrator would: secure
// boot, CPU hot add, logging and vMotion encryption.
func (h *vmHandle) bornFlags() string {
	h.t.Helper()
	var o mo.VirtualMachine
	props := []string{"config.bootOptions", "config.cpuHotAddEnabled", "config.flags", "config.migrateEncryption"}
	if err := h.vm.Properties(h.ctx, h.vm.Reference(), props, &o); err != nil {
		h.t.Fatal(err)
	}
	b := func(p *bool) bool { return p != nil && *p }
	c := o.Config
	var secure bool
	if c.BootOptions != nil {
		secure = b(c.BootOptions.EfiSecureBootEnabled)
	}
	return fmt.Sprintf("secure_boot=%t cpu_hot_add=%t logging=%t migrate_encryption=%s",
		secure, b(c.CpuHotAddEnabled), b(c.Flags.EnableLogging), c.MigrateEncryption)
}

// A catalog VM whose item names an enforcing baseline is cloned compliant with it: the baseline's
// settings (an exact and a default_ok value set, an absent key left out), its flags and its stamp
// are on the VM after the one apply that makes both, and the baseline's next plan, which judges the
// VM (tagged vmgmt-baseline:<name>), is empty.
//
// The baseline is applied before the VM exists, so the state it stores counts no VM. A plan that
// refreshes (what `terraform plan` does) reads it again and is empty; the harness's post-apply
// plan without refresh shows the VM joining the scope (scope_count and compliant_count 0 -> 1):
// that plan is checked, and the error it draws expected. An enforcing baseline's plan shows what
// its apply leaves, so drift it would remediate is caught by the refreshed state and the empty
// plans that follow.
func TestAccBaseline_catalogVMBornCompliant(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	cfg := birthConfig(sim, "enforce")
	const b = "vmgmt_config_baseline.b"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				Check: func(*terraform.State) error {
					vm := openVM(t, sim, "born-enforce-01")
					for key, want := range map[string]string{
						"isolation.tools.copy.disable":  "TRUE",
						"isolation.tools.paste.disable": "TRUE",
						"sched.mem.pshare.salt":         "",
					} {
						if got := vm.get(key); got != want {
							return fmt.Errorf("the new VM has %s = %q, want %q", key, got, want)
						}
					}
					if got := vm.get("vmgmt.baseline.born-enforce"); len(got) != 16 {
						return fmt.Errorf("the new VM carries the stamp vmgmt.baseline.born-enforce = %q, want the baseline's 16-digit hash", got)
					}
					if got, want := vm.bornFlags(), "secure_boot=true cpu_hot_add=true logging=true migrate_encryption=required"; got != want {
						return fmt.Errorf("the new VM has %s, want %s", got, want)
					}
					return nil
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPreRefresh: []plancheck.PlanCheck{
						plancheck.ExpectKnownValue(b, tfjsonpath.New("scope_count"), knownvalue.Int64Exact(1)),
						plancheck.ExpectKnownValue(b, tfjsonpath.New("compliant_count"), knownvalue.Int64Exact(1)),
						plancheck.ExpectKnownValue(b, tfjsonpath.New("drifted_count"), knownvalue.Int64Exact(0)),
						plancheck.ExpectKnownValue(b, tfjsonpath.New("compliance"), knownvalue.ListExact([]knownvalue.Check{})),
					},
				},
				ExpectError: regexp.MustCompile(`After applying this test step, the non-refresh plan was not empty`),
			},
			// terraform plan: refreshed, empty.
			{RefreshState: true, Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttr(b, "scope_count", "1"),
				resource.TestCheckResourceAttr(b, "drifted_count", "0"),
				resource.TestCheckResourceAttr(b, "compliance.#", "0"),
			)},
			{Config: cfg, PlanOnly: true},
		},
	})
}

// A baseline that only audits changes nothing on the VMs of the items that name it: the clone is
// made as the template is, without the baseline's settings, flags or stamp (and the baseline
// reports its drift).
func TestAccBaseline_auditBaselineLeavesCatalogVMAlone(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:             birthConfig(sim, "audit"),
			ExpectNonEmptyPlan: true, // the audit baseline's next plan sees the VM join, drifted
			Check: func(*terraform.State) error {
				vm := openVM(t, sim, "born-audit-01")
				for _, key := range []string{"isolation.tools.copy.disable", "isolation.tools.paste.disable", "vmgmt.baseline.born-audit"} {
					if got := vm.get(key); got != "" {
						return fmt.Errorf("an audit baseline set %s = %q on the new VM", key, got)
					}
				}
				if got, want := vm.bornFlags(), "secure_boot=false cpu_hot_add=false logging=false migrate_encryption="; got != want {
					return fmt.Errorf("the new VM has %s, want the template's %s", got, want)
				}
				return nil
			},
		}},
	})
}

package baseline_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

const addr = "vmgmt_config_baseline.b"

func baselineConfig(sim *acctest.Sim, mode string) string {
	return sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_config_baseline" "b" {
  name = "workloads-hardening"
  mode = %q
  settings = [
    { key = "isolation.tools.copy.disable", value = "TRUE" },
    { key = "sched.mem.pshare.salt", match = "absent" },
  ]
  scope {
    folders = [%q]
  }
}
`, mode, simulator.WorkloadFolder)
}

// vmHandle reads and changes one VM's extraConfig as someone outside Terraform would.
type vmHandle struct {
	t   *testing.T
	vm  *object.VirtualMachine
	ctx context.Context
}

func openVM(t *testing.T, sim *acctest.Sim, name string) *vmHandle {
	t.Helper()
	ctx := context.Background()
	c, err := sim.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Logout(ctx) })
	f := find.NewFinder(c.Client, true)
	dc, err := f.Datacenter(ctx, simulator.Datacenter)
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	vm, err := f.VirtualMachine(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return &vmHandle{t: t, vm: vm, ctx: ctx}
}

func (h *vmHandle) set(key, value string) {
	h.t.Helper()
	task, err := h.vm.Reconfigure(h.ctx, types.VirtualMachineConfigSpec{ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: key, Value: value}}})
	if err == nil {
		err = task.Wait(h.ctx)
	}
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *vmHandle) get(key string) string {
	h.t.Helper()
	var o mo.VirtualMachine
	if err := h.vm.Properties(h.ctx, h.vm.Reference(), []string{"config.extraConfig"}, &o); err != nil {
		h.t.Fatal(err)
	}
	for _, ov := range o.Config.ExtraConfig {
		if v := ov.GetOptionValue(); v.Key == key {
			return fmt.Sprint(v.Value)
		}
	}
	return ""
}

// Audit reports the drift of every VM in scope (the plan shows it and exits 2) and changes
// nothing; enforce remediates and stamps, the next plan is empty; a setting changed behind
// Terraform's back shows in the next plan with who changed it, and apply fixes it; import.
func TestAccConfigBaseline_auditThenEnforce(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	db := openVM(t, sim, "erp-db01")
	db.set("sched.mem.pshare.salt", "x") // must be absent
	workloads := int64(len(simulator.Workloads))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: baselineConfig(sim, "audit"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("scope_count"), knownvalue.Int64Exact(workloads)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("drifted_count"), knownvalue.Int64Exact(workloads)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("compliant_count"), knownvalue.Int64Exact(0)),
				},
				Check: func(*terraform.State) error {
					if got := db.get("isolation.tools.copy.disable"); got != "" {
						return fmt.Errorf("audit changed erp-db01: isolation.tools.copy.disable = %q", got)
					}
					if got := db.get("sched.mem.pshare.salt"); got != "x" {
						return fmt.Errorf("audit changed erp-db01: sched.mem.pshare.salt = %q", got)
					}
					return nil
				},
				ExpectNonEmptyPlan: true, // an audit with drift plans again: CI's -detailed-exitcode exits 2
			},
			{
				Config: baselineConfig(sim, "enforce"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("drifted_count"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("compliant_count"), knownvalue.Int64Exact(workloads)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("compliance"), knownvalue.ListExact(nil)),
				},
				Check: func(s *terraform.State) error {
					if got := db.get("isolation.tools.copy.disable"); got != "TRUE" {
						return fmt.Errorf("enforce left erp-db01's isolation.tools.copy.disable = %q", got)
					}
					if got := db.get("sched.mem.pshare.salt"); got != "" {
						return fmt.Errorf("enforce left sched.mem.pshare.salt = %q on erp-db01", got)
					}
					hash := s.RootModule().Resources[addr].Primary.Attributes["rules_hash"]
					if got := db.get("vmgmt.baseline.workloads-hardening"); got == "" || got != hash {
						return fmt.Errorf("erp-db01's stamp is %q, want the rules hash %q", got, hash)
					}
					return nil
				},
			},
			{
				Config:           baselineConfig(sim, "enforce"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// Behind Terraform's back: the refresh finds the drift, with the user who changed it.
				PreConfig:          func() { db.set("isolation.tools.copy.disable", "FALSE") },
				RefreshState:       true,
				ExpectNonEmptyPlan: true,
				Check: func(s *terraform.State) error {
					a := s.RootModule().Resources[addr].Primary.Attributes
					want := map[string]string{
						"drifted_count": "1", "compliance.0.vm_name": "erp-db01",
						"compliance.0.drift.0.key": "isolation.tools.copy.disable", "compliance.0.drift.0.expected": "TRUE",
						"compliance.0.drift.0.actual": "FALSE", "compliance.0.drift.0.changed_by": simulator.DefaultUser,
						"compliance.0.drift.0.source": "explicit",
					}
					for k, v := range want {
						if a[k] != v {
							return fmt.Errorf("after refresh %s = %q, want %q", k, a[k], v)
						}
					}
					if a["compliance.0.drift.0.changed_at"] == "" {
						return fmt.Errorf("the drift says not when it was changed")
					}
					return nil
				},
			},
			{
				Config: baselineConfig(sim, "enforce"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					if got := db.get("isolation.tools.copy.disable"); got != "TRUE" {
						return fmt.Errorf("apply did not fix erp-db01: %q", got)
					}
					return nil
				},
			},
			{
				// A key that must be absent, added behind Terraform's back, is drift too.
				PreConfig:          func() { db.set("sched.mem.pshare.salt", "shared") },
				RefreshState:       true,
				ExpectNonEmptyPlan: true,
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttr(addr, "drifted_count", "1"),
					resource.TestCheckResourceAttr(addr, "compliance.0.vm_name", "erp-db01"),
					resource.TestCheckResourceAttr(addr, "compliance.0.drift.0.key", "sched.mem.pshare.salt"),
					resource.TestCheckResourceAttr(addr, "compliance.0.drift.0.expected", "(absent)"),
					resource.TestCheckResourceAttr(addr, "compliance.0.drift.0.actual", "shared"),
					resource.TestCheckResourceAttr(addr, "compliance.0.drift.0.match", "absent"),
					resource.TestCheckResourceAttr(addr, "compliance.0.drift.0.changed_by", simulator.DefaultUser),
				),
			},
			{
				Config: baselineConfig(sim, "enforce"),
				Check: func(*terraform.State) error {
					if got := db.get("sched.mem.pshare.salt"); got != "" {
						return fmt.Errorf("apply left sched.mem.pshare.salt = %q on erp-db01", got)
					}
					return nil
				},
			},
			{
				ResourceName:      addr,
				ImportState:       true,
				ImportStateId:     "workloads-hardening",
				ImportStateVerify: true,
			},
		},
	})
}

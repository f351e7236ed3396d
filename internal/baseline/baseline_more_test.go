package baseline_test

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/baseline"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

const copyKey = "isolation.tools.copy.disable"

// A power-cycle flag (CPU hot add) under enforce: without allow_power_cycle the apply leaves every
// VM as it is and powered on, the state lists the drift as needing a power cycle and the next plan
// is not empty; with it, each VM is powered off, reconfigured and powered on again, and the next
// plan is empty.
func TestAccConfigBaseline_powerCycle(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	vms := map[string]*vmHandle{}
	for _, w := range simulator.Workloads {
		vms[w] = openVM(t, sim, w)
	}
	// hardware checks each VM's CPU hot add, that it is powered on, and how often it was powered
	// off (the simulator would change hot add on a running VM; vCenter does not).
	hardware := func(wantHot bool, wantOffs int) func(*terraform.State) error {
		return func(*terraform.State) error {
			for name, h := range vms {
				power, hot := h.hardware()
				if power != types.VirtualMachinePowerStatePoweredOn || hot != wantHot {
					return fmt.Errorf("%s is %s with cpu hot add %v, want poweredOn with %v", name, power, hot, wantHot)
				}
				if n := h.powerOffs(); n != wantOffs {
					return fmt.Errorf("%s was powered off %d times, want %d", name, n, wantOffs)
				}
			}
			return nil
		}
	}
	pcDrift := knownvalue.ObjectPartial(map[string]knownvalue.Check{
		"vm_name": knownvalue.NotNull(),
		"drift": knownvalue.ListExact([]knownvalue.Check{knownvalue.ObjectPartial(map[string]knownvalue.Check{
			"key": knownvalue.StringExact("cpu_hot_add"), "expected": knownvalue.StringExact("true"),
			"actual": knownvalue.StringExact("false"), "needs_power_cycle": knownvalue.Bool(true), "manual": knownvalue.Bool(false),
		})}),
	})
	without := workloadsConfig(sim, "hot-add", "enforce", "  cpu_hot_add = true")
	with := workloadsConfig(sim, "hot-add", "enforce", "  cpu_hot_add = true\n  allow_power_cycle = true")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: without,
				Check:  hardware(false, 0),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("drifted_count"), knownvalue.Int64Exact(int64(len(vms)))),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("compliance"), knownvalue.ListExact([]knownvalue.Check{pcDrift, pcDrift, pcDrift})),
				},
				ExpectNonEmptyPlan: true, // the drift stays: CI's -detailed-exitcode keeps exiting 2
			},
			{
				Config: with,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: hardware(true, 1),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("drifted_count"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("compliance"), knownvalue.ListExact(nil)),
				},
			},
			{
				Config:           with,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

func tierConfig(sim *acctest.Sim, name string) string {
	return sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_config_baseline" "b" {
  name     = %q
  mode     = "enforce"
  settings = [{ key = %q, value = "TRUE" }]
  scope {
    tags = [{ category = "tier", name = "tier-1" }]
  }
}
`, name, copyKey)
}

// want checks that each VM holds these values of copyKey.
func want(vms map[string]*vmHandle, values map[string]string) func(*terraform.State) error {
	return func(*terraform.State) error {
		for name, v := range values {
			if got := vms[name].get(copyKey); got != v {
				return fmt.Errorf("%s: %s = %q, want %q", name, copyKey, got, v)
			}
		}
		return nil
	}
}

func handles(t *testing.T, sim *acctest.Sim) map[string]*vmHandle {
	vms := map[string]*vmHandle{}
	for _, w := range simulator.Workloads {
		vms[w] = openVM(t, sim, w)
	}
	return vms
}

// A VM tagged into the scope behind Terraform's back joins it at the next plan (the scope grows,
// the baseline plans an update) and enforce remediates it.
func TestAccConfigBaseline_taggedIntoScope(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	tg := acctest.NewAdmin(t, sim)
	tg.Tag("erp-db01", "tier", "tier-1")
	vms := handles(t, sim)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: tierConfig(sim, "tier1"),
				Check:  want(vms, map[string]string{"erp-db01": "TRUE", "web01": "", "erp-app01": ""}),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("scope_count"), knownvalue.Int64Exact(1)),
				},
			},
			{
				PreConfig: func() { tg.Tag("web01", "tier", "tier-1") },
				Config:    tierConfig(sim, "tier1"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("scope_count"), knownvalue.Int64Exact(2)),
				}},
				Check: resource.ComposeTestCheckFunc(
					want(vms, map[string]string{"erp-db01": "TRUE", "web01": "TRUE", "erp-app01": ""}),
					resource.TestCheckResourceAttrWith(addr, "rules_hash", func(hash string) error {
						if got := vms["web01"].get("vmgmt.baseline.tier1"); got != hash {
							return fmt.Errorf("web01's stamp is %q, want %q", got, hash)
						}
						return nil
					}),
				),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("scope_count"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("drifted_count"), knownvalue.Int64Exact(0)),
				},
			},
			{
				Config:           tierConfig(sim, "tier1"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// A catalog VM whose item names the baseline (tag vmgmt-baseline:<name>) is in its scope though
// the selection does not name it.
func TestAccConfigBaseline_catalogComposition(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	tg := acctest.NewAdmin(t, sim)
	tg.Tag("erp-db01", "tier", "tier-1")
	tg.CreateTag(baseline.CompositionCategory, "composed")
	tg.Tag("web01", baseline.CompositionCategory, "composed")
	vms := handles(t, sim)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: tierConfig(sim, "composed"),
				Check:  want(vms, map[string]string{"erp-db01": "TRUE", "web01": "TRUE", "erp-app01": ""}),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("scope_count"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("compliant_count"), knownvalue.Int64Exact(2)),
				},
			},
		},
	})
}

// An explicit setting that relaxes a pack's is listed in relaxed with the pack, its value and its
// control; audit changes nothing meanwhile.
func TestAccConfigBaseline_relaxedPack(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	pack, ok := baseline.LookupPack("scg-8")
	if !ok {
		t.Fatal("no pack scg-8")
	}
	control := ""
	for _, s := range pack.Settings {
		if s.Key == "RemoteDisplay.maxConnections" {
			control = s.Control
		}
	}
	if control == "" {
		t.Fatal("scg-8 has no RemoteDisplay.maxConnections control")
	}
	vms := handles(t, sim)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: workloadsConfig(sim, "relaxed", "audit",
					`  packs    = ["scg-8"]
  settings = [{ key = "RemoteDisplay.maxConnections", value = "2" }]`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("relaxed"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"key": knownvalue.StringExact("RemoteDisplay.maxConnections"), "pack": knownvalue.StringExact("scg-8"),
							"pack_value": knownvalue.StringExact("1"), "value": knownvalue.StringExact("2"),
							"control": knownvalue.StringExact(control),
						}),
					})),
				},
				Check: func(*terraform.State) error {
					for name, h := range vms {
						if got := h.get("RemoteDisplay.maxConnections"); got != "" {
							return fmt.Errorf("audit set RemoteDisplay.maxConnections = %q on %s", got, name)
						}
					}
					return nil
				},
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

func conflictConfig(sim *acctest.Sim, withB bool) string {
	cfg := sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_config_baseline" "a" {
  name     = "copy-off"
  mode     = "enforce"
  settings = [{ key = %[1]q, value = "TRUE" }]
  scope {
    folders = [%[2]q]
  }
}
`, copyKey, simulator.WorkloadFolder)
	if withB {
		cfg += fmt.Sprintf(`
resource "vmgmt_config_baseline" "b" {
  name     = "copy-on"
  mode     = "enforce"
  settings = [{ key = %[1]q, value = "FALSE" }]
  scope {
    folders = [%[2]q]
  }
}
`, copyKey, simulator.WorkloadFolder)
	}
	return cfg
}

// A second enforcing baseline that sets a key the first one holds on the same VMs otherwise fails
// its plan naming both baselines and the VM (found through the first one's stamp and record), and
// writes nothing.
func TestAccConfigBaseline_conflictingBaselines(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	vms := handles(t, sim)
	c := connect(t, sim)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: conflictConfig(sim, false),
				Check:  want(vms, map[string]string{"erp-db01": "TRUE", "web01": "TRUE", "erp-app01": "TRUE"}),
			},
			{
				Config: conflictConfig(sim, true),
				ExpectError: regexp.MustCompile(`Error: Conflicting baselines[\s\S]*Baselines\s+copy-on\s+and\s+copy-off\s+both\s+hold\s+VM\s+erp-db01\s+\(vm-\d+\)\s+and\s+set\s+` +
					regexp.QuoteMeta(copyKey) + `\s+differently:\s+copy-on\s+wants\s+FALSE\s+\(exact\),\s+copy-off\s+wants\s+TRUE`),
			},
			{
				PreConfig: func() {
					names, err := baselineRecords(context.Background(), c)
					if err != nil {
						t.Fatal(err)
					}
					if fmt.Sprint(names) != "[copy-off]" {
						t.Errorf("records after the failed plan: %v, want [copy-off]", names)
					}
				},
				Config:           conflictConfig(sim, false),
				Check:            want(vms, map[string]string{"erp-db01": "TRUE", "web01": "TRUE", "erp-app01": "TRUE"}),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// Destroying an enforcing baseline takes its stamp off the VMs and removes its record.
func TestAccConfigBaseline_destroyUnstamps(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	c := connect(t, sim)
	ctx := context.Background()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: workloadsConfig(sim, "doomed", "enforce", fmt.Sprintf(`  settings = [{ key = %q, value = "TRUE" }]`, copyKey)),
				Check: func(*terraform.State) error {
					got, err := stamps(ctx, sim)
					if err != nil {
						return err
					}
					sort.Strings(got)
					if want := "[erp-app01/vmgmt.baseline.doomed erp-db01/vmgmt.baseline.doomed web01/vmgmt.baseline.doomed]"; fmt.Sprint(got) != want {
						return fmt.Errorf("stamps after apply: %v, want %s", got, want)
					}
					names, err := baselineRecords(ctx, c)
					if err != nil || fmt.Sprint(names) != "[doomed]" {
						return fmt.Errorf("records after apply: %v (%v), want [doomed]", names, err)
					}
					return nil
				},
			},
		},
		CheckDestroy: func(*terraform.State) error {
			got, err := stamps(ctx, sim)
			if err != nil {
				return err
			}
			if len(got) > 0 {
				return fmt.Errorf("stamps left after destroy: %v", got)
			}
			names, err := baselineRecords(ctx, c)
			if err != nil || len(names) > 0 {
				return fmt.Errorf("records left after destroy: %v (%v)", names, err)
			}
			return nil
		},
	})
}

// A baseline switched from enforce to audit and then destroyed leaves no stamp either: the stamps
// its enforcing apply wrote are found on the VMs, whatever the mode at destroy.
func TestAccConfigBaseline_destroyAfterAudit(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	ctx := context.Background()
	body := fmt.Sprintf(`  settings = [{ key = %q, value = "TRUE" }]`, copyKey)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: workloadsConfig(sim, "switched", "enforce", body)},
			{Config: workloadsConfig(sim, "switched", "audit", body)},
		},
		CheckDestroy: func(*terraform.State) error {
			if got, err := stamps(ctx, sim); err != nil || len(got) > 0 {
				return fmt.Errorf("stamps left after destroy: %v (%v)", got, err)
			}
			return nil
		},
	})
}

// An audit changes no VM however often it is applied, and each apply and refresh finds the same
// drift.
func TestAccConfigBaseline_auditRepeated(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	vms := handles(t, sim)
	vms["erp-db01"].set("sched.mem.pshare.salt", "x") // must be absent
	ctx := context.Background()
	cfg := workloadsConfig(sim, "watch", "audit", fmt.Sprintf(`  settings = [
    { key = %q, value = "TRUE" },
    { key = "sched.mem.pshare.salt", match = "absent" },
  ]`, copyKey))
	var first string
	same := func(s *terraform.State) error {
		a := s.RootModule().Resources[addr].Primary.Attributes
		var lines []string
		for k, v := range a {
			if strings.HasPrefix(k, "compliance") || strings.HasSuffix(k, "_count") {
				lines = append(lines, k+"="+v)
			}
		}
		sort.Strings(lines)
		got := strings.Join(lines, "\n")
		if a["drifted_count"] != "3" || a["compliance.#"] != "3" {
			return fmt.Errorf("want 3 drifted VMs, state has:\n%s", got)
		}
		// An audit stamps nothing, so its stamp is no drift: each VM drifts in the rules only.
		for i := 0; i < 3; i++ {
			p := fmt.Sprintf("compliance.%d.", i)
			keys := []string{a[p+"drift.0.key"]}
			if a[p+"vm_name"] == "erp-db01" {
				keys = append(keys, a[p+"drift.1.key"])
			}
			wantKeys := copyKey
			if a[p+"vm_name"] == "erp-db01" {
				wantKeys += " sched.mem.pshare.salt"
			}
			if strings.Join(keys, " ") != wantKeys || a[p+"drift.#"] != fmt.Sprint(len(keys)) {
				return fmt.Errorf("%s drifts in %s keys %v, want %s", a[p+"vm_name"], a[p+"drift.#"], keys, wantKeys)
			}
		}
		if first == "" {
			first = got
		} else if got != first {
			return fmt.Errorf("the drift changed:\n%s\nwas:\n%s", got, first)
		}
		if vms["erp-db01"].get("sched.mem.pshare.salt") != "x" {
			return fmt.Errorf("audit removed sched.mem.pshare.salt from erp-db01")
		}
		for name, h := range vms {
			if v := h.get(copyKey); v != "" {
				return fmt.Errorf("audit set %s = %q on %s", copyKey, v, name)
			}
		}
		if st, err := stamps(ctx, sim); err != nil || len(st) > 0 {
			return fmt.Errorf("audit stamped VMs: %v (%v)", st, err)
		}
		return nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg, Check: same, ExpectNonEmptyPlan: true},
			{Config: cfg, Check: same, ExpectNonEmptyPlan: true,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}}},
			{RefreshState: true, Check: same, ExpectNonEmptyPlan: true},
		},
	})
}

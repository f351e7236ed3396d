package baseline_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

const complianceAddr = "data.vmgmt_compliance.c"

// complianceConfig is a vmgmt_compliance data source over the workloads folder with these rule lines.
func complianceConfig(sim *acctest.Sim, body string) string {
	return sim.ProviderConfig() + fmt.Sprintf(`
data "vmgmt_compliance" "c" {
%s
  scope {
    folders = [%q]
  }
}
`, body, simulator.WorkloadFolder)
}

// extraConfigs reads every VM's extraConfig (name -> key -> value) as an administrator would: what
// a read-only data source must leave as it found it.
func extraConfigs(t *testing.T, sim *acctest.Sim) map[string]map[string]string {
	t.Helper()
	ctx := context.Background()
	c, err := sim.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Logout(ctx) }()
	cv, err := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cv.Destroy(ctx) }()
	var vms []mo.VirtualMachine
	if err := cv.Retrieve(ctx, []string{"VirtualMachine"}, []string{"name", "config.extraConfig"}, &vms); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, o := range vms {
		kv := map[string]string{}
		if o.Config != nil {
			for _, ov := range o.Config.ExtraConfig {
				v := ov.GetOptionValue()
				kv[v.Key] = fmt.Sprint(v.Value)
			}
		}
		out[o.Name] = kv
	}
	return out
}

// unchanged fails when any VM's extraConfig differs from before, or a baseline record appeared.
func unchanged(t *testing.T, sim *acctest.Sim, before map[string]map[string]string) func(*terraform.State) error {
	return func(*terraform.State) error {
		if after := extraConfigs(t, sim); !reflect.DeepEqual(before, after) {
			return fmt.Errorf("the data source changed vCenter's extraConfig:\nbefore %v\nafter  %v", before, after)
		}
		names, err := baselineRecords(context.Background(), connect(t, sim))
		if err != nil {
			return err
		}
		if len(names) > 0 {
			return fmt.Errorf("the data source recorded baselines in vCenter: %v", names)
		}
		return nil
	}
}

// drifts indexes a data source's compliance by "vm/key" -> the drift's attributes.
func drifts(s *terraform.State) (map[string]map[string]string, error) {
	rs := s.RootModule().Resources[complianceAddr]
	if rs == nil {
		return nil, fmt.Errorf("%s not in state", complianceAddr)
	}
	a := rs.Primary.Attributes
	out := map[string]map[string]string{}
	for k, v := range a {
		// compliance.<i>.drift.<j>.<field>
		parts := strings.Split(k, ".")
		if len(parts) != 5 || parts[0] != "compliance" || parts[2] != "drift" {
			continue
		}
		vm := a["compliance."+parts[1]+".vm_name"]
		key := a[strings.Join(parts[:4], ".")+".key"]
		if out[vm+"/"+key] == nil {
			out[vm+"/"+key] = map[string]string{}
		}
		out[vm+"/"+key][parts[4]] = v
	}
	return out, nil
}

// scg-8 over the workloads folder: every workload drifts from the pack's settings (the seeded VMs
// hold none of the exact ones, and no secure boot), each drift names the pack and the guide's
// control, and nothing in vCenter changes.
func TestAccComplianceDataSource_scg8(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	before := extraConfigs(t, sim)
	n := len(simulator.Workloads)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: complianceConfig(sim, `  packs = ["scg-8"]`),
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttr(complianceAddr, "scope_count", fmt.Sprint(n)),
				resource.TestCheckResourceAttr(complianceAddr, "drifted_count", fmt.Sprint(n)),
				resource.TestCheckResourceAttr(complianceAddr, "compliant_count", "0"),
				resource.TestCheckResourceAttr(complianceAddr, "compliance.#", fmt.Sprint(n)),
				func(s *terraform.State) error {
					ds, err := drifts(s)
					if err != nil {
						return err
					}
					for _, vm := range simulator.Workloads {
						for key, control := range map[string]string{
							"RemoteDisplay.maxConnections": "vm-8.limit-console-connections",
							"mks.enable3d":                 "vm-8.deactivate-non-essential-3d-features",
							"secure_boot":                  "guest-8.secure-boot",
						} {
							d := ds[vm+"/"+key]
							if d == nil {
								return fmt.Errorf("%s: no drift for %s in %v", vm, key, ds)
							}
							if d["source"] != "pack:scg-8" || d["control"] != control {
								return fmt.Errorf("%s/%s: source %q control %q, want pack:scg-8 and the guide's control", vm, key, d["source"], d["control"])
							}
						}
						for k := range ds {
							if strings.HasPrefix(k, vm+"/vmgmt.baseline.") {
								return fmt.Errorf("the data source judged a stamp: %s", k)
							}
						}
					}
					return nil
				},
				unchanged(t, sim, before),
			),
		}},
	})
}

// One explicit setting: the VM set to it (ReconfigVM) is compliant, the others drift; the one a
// user set to another value reports who changed it and when; nothing in vCenter changes.
func TestAccComplianceDataSource_explicitSetting(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	openVM(t, sim, "erp-db01").set("isolation.tools.copy.disable", "TRUE")
	openVM(t, sim, "web01").set("isolation.tools.copy.disable", "FALSE")
	before := extraConfigs(t, sim)
	n := len(simulator.Workloads)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: complianceConfig(sim, `  settings = [{ key = "isolation.tools.copy.disable", value = "TRUE" }]`),
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttr(complianceAddr, "scope_count", fmt.Sprint(n)),
				resource.TestCheckResourceAttr(complianceAddr, "compliant_count", "1"),
				resource.TestCheckResourceAttr(complianceAddr, "drifted_count", fmt.Sprint(n-1)),
				func(s *terraform.State) error {
					ds, err := drifts(s)
					if err != nil {
						return err
					}
					if len(ds) != n-1 {
						return fmt.Errorf("want one drift on each of the %d other VMs, got %v", n-1, ds)
					}
					if d := ds["erp-db01/isolation.tools.copy.disable"]; d != nil {
						return fmt.Errorf("erp-db01 holds the setting yet drifts: %v", d)
					}
					web := ds["web01/isolation.tools.copy.disable"]
					want := map[string]string{"expected": "TRUE", "actual": "FALSE", "source": "explicit", "match": "exact",
						"changed_by": simulator.DefaultUser}
					for k, v := range want {
						if web[k] != v {
							return fmt.Errorf("web01's drift %s = %q, want %q (%v)", k, web[k], v, web)
						}
					}
					if web["changed_at"] == "" {
						return fmt.Errorf("web01's drift says not when it was changed")
					}
					if app := ds["erp-app01/isolation.tools.copy.disable"]; app == nil || app["actual"] != "(absent)" || app["changed_by"] != "" {
						return fmt.Errorf("erp-app01 (never set): %v", app)
					}
					return nil
				},
				unchanged(t, sim, before),
			),
		}},
	})
}

// Bad input fails at plan time with the attribute named, and nothing is written to vCenter.
func TestAccComplianceDataSource_badInput(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	cases := []acctest.BadInput{
		{Class: "names", Name: "unknown pack", Config: complianceConfig(sim, `  packs = ["scg-9"]`),
			Want: `Error: Invalid Attribute Value Match.*packs = \["scg-9"\].*Attribute packs\[0\] value must be one of: \["scg-8" "scg-8-host"\], got: "scg-9"`},
		{Class: "rules", Name: "no rules", Config: complianceConfig(sim, ""),
			Want: `Error: Empty compliance check.*The compliance check requires nothing: give packs`},
		{Class: "rules", Name: "key twice", Want: `Error: Setting listed twice.*settings\[0\] and settings\[1\] both set a\.b: one rule per key`,
			Config: complianceConfig(sim, `  settings = [{ key = "a.b", value = "1" }, { key = "a.b", value = "2" }]`)},
		{Class: "rules", Name: "exact without a value", Want: `Error: Missing value.*settings\[0\] \(a\.b\) with match = "exact" needs the value`,
			Config: complianceConfig(sim, `  settings = [{ key = "a.b" }]`)},
	}
	acctest.RunBadInput(t, sim, cases)
}

package baseline_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// badBaseline is a baseline on the workloads folder with these attribute lines and scope block.
func badBaseline(sim *acctest.Sim, body, scope string) string {
	if scope == "" {
		scope = fmt.Sprintf("scope {\n    folders = [%q]\n  }", simulator.WorkloadFolder)
	}
	return sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_config_baseline" "b" {
  name = "bad"
%s
  %s
}
`, body, scope)
}

// Every bad input fails the plan with a message that says what is wrong and where, and nothing is
// written to vCenter: no baseline record on the datacenter, no stamp on any VM.
func TestAccConfigBaseline_badInput(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	ctx := context.Background()
	countRecords := acctest.Counter{What: "baseline records", Count: func(ctx context.Context, c *vsphere.Client) (int, error) {
		names, err := baselineRecords(ctx, c)
		return len(names), err
	}}
	countStamps := acctest.Counter{What: "baseline stamps", Count: func(context.Context, *vsphere.Client) (int, error) {
		s, err := stamps(ctx, sim)
		return len(s), err
	}}
	copyOn := `  settings = [{ key = "isolation.tools.copy.disable", value = "TRUE" }]`
	hostRule := `  settings = [{ key = "UserVars.ESXiShellTimeOut", value = "600" }]`
	hostsBlock := fmt.Sprintf("hosts {\n    clusters = [%q]\n  }", simulator.Cluster)
	cases := []acctest.BadInput{
		{Class: "names", Name: "unknown pack", Config: badBaseline(sim, `  packs = ["scg-9"]`, ""),
			Want: `Error: Invalid Attribute Value Match.*packs = \["scg-9"\].*Attribute packs\[0\] value must be one of: \["scg-8" "scg-8-host"\], got: "scg-9"`},
		{Class: "names", Name: "bad mode", Config: badBaseline(sim, `  mode = "enforced"`+"\n"+copyOn, ""),
			Want: `Error: Invalid Attribute Value Match.*Attribute mode value must be one of: \["audit" "enforce"\], got: "enforced"`},
		{Class: "names", Name: "bad match", Config: badBaseline(sim, `  settings = [{ key = "a.b", value = "x", match = "equal" }]`, ""),
			Want: `Error: Invalid Attribute Value Match.*settings\[0\]\.match.*got: "equal"`},
		{Class: "numbers", Name: "hardware version below 4", Config: badBaseline(sim, `  min_hardware_version = 3`, ""),
			Want: `Error: Number out of range.*Attribute min_hardware_version must be a whole number from 4 to 99; got 3`},
		{Class: "selection", Name: "empty scope", Config: badBaseline(sim, copyOn, "scope {}"),
			Want: `Error: Missing selection criteria.*Attribute scope names no VM: set at least one of tags, folders, pools or ids`},
		{Class: "selection", Name: "no scope", Config: badBaseline(sim, copyOn, " "),
			Want: `Error: Missing scope block.*A baseline with target = "vm" needs a scope block naming its VMs: set at least one of tags, folders, pools or ids`},
		{Class: "rules", Name: "no rules", Config: badBaseline(sim, "", ""),
			Want: `Error: Empty baseline.*The baseline requires nothing: give packs`},
		{Class: "rules", Name: "key twice", Want: `Error: Setting listed twice.*settings\[0\] and settings\[1\] both set a\.b: one rule per key`,
			Config: badBaseline(sim, `  settings = [{ key = "a.b", value = "1" }, { key = "a.b", value = "2" }]`, "")},
		{Class: "rules", Name: "absent with a value", Want: `Error: Value with match = "absent".*settings\[0\] \(sched\.mem\.pshare\.salt\) must be absent, so it takes no value: remove value`,
			Config: badBaseline(sim, `  settings = [{ key = "sched.mem.pshare.salt", value = "x", match = "absent" }]`, "")},
		{Class: "rules", Name: "exact without a value", Want: `Error: Missing value.*settings\[0\] \(a\.b\) with match = "exact" needs the value it must hold`,
			Config: badBaseline(sim, `  settings = [{ key = "a.b" }]`, "")},
		{Class: "rules", Name: "default_ok without a value", Want: `Error: Missing value.*settings\[0\] \(a\.b\) with match = "default_ok" needs the value`,
			Config: badBaseline(sim, `  settings = [{ key = "a.b", match = "default_ok" }]`, "")},
		{Class: "target", Name: "bad target", Config: badBaseline(sim, `  target = "cluster"`+"\n"+copyOn, ""),
			Want: `Error: Invalid Attribute Value Match.*Attribute target value must be one of: \["vm" "host"\], got: "cluster"`},
		{Class: "target", Name: "host pack on VMs", Config: badBaseline(sim, `  packs = ["scg-8-host"]`, ""),
			Want: `Error: Pack for another target.*Pack scg-8-host holds host settings, and this baseline's target is "vm": use vm packs \(scg-8\), or set target = "host"`},
		{Class: "target", Name: "VM pack on hosts", Config: badBaseline(sim, `  target = "host"`+"\n"+`  packs = ["scg-8"]`, hostsBlock),
			Want: `Error: Pack for another target.*Pack scg-8 holds vm settings, and this baseline's target is "host": use host packs \(scg-8-host\)`},
		{Class: "target", Name: "scope on hosts", Config: badBaseline(sim, `  target = "host"`+"\n"+hostRule, ""),
			Want: `Error: Block scope with target = "host".*A host baseline names its hosts in the hosts block; remove scope`},
		{Class: "target", Name: "hosts on VMs", Config: badBaseline(sim, copyOn, fmt.Sprintf("scope {\n    folders = [%q]\n  }\n  %s", simulator.WorkloadFolder, hostsBlock)),
			Want: `Error: Block hosts with target = "vm".*A vm baseline names its vms in the scope block; remove hosts`},
		{Class: "target", Name: "no hosts", Config: badBaseline(sim, `  target = "host"`+"\n"+hostRule, " "),
			Want: `Error: Missing hosts block.*A baseline with target = "host" needs a hosts block naming its hosts: set at least one of clusters, tags or ids`},
		{Class: "target", Name: "empty hosts", Config: badBaseline(sim, `  target = "host"`+"\n"+hostRule, "hosts {}"),
			Want: `Error: Missing host criteria.*Attribute hosts names no host: set at least one of clusters, tags or ids`},
		{Class: "target", Name: "flag on hosts", Config: badBaseline(sim, `  target = "host"`+"\n"+`  secure_boot = true`, hostsBlock),
			Want: `Error: VM flags on a host baseline.*are VM settings: remove them from a baseline with target = "host"`},
		{Class: "target", Name: "power cycle on hosts", Config: badBaseline(sim, `  target = "host"`+"\n  allow_power_cycle = true\n"+hostRule, hostsBlock),
			Want: `Error: allow_power_cycle on a host baseline.*need no power cycle: remove allow_power_cycle`},
		{Class: "target", Name: "bad host ID", Config: badBaseline(sim, `  target = "host"`+"\n"+hostRule, "hosts {\n    ids = [\"vm-42\"]\n  }"),
			Want: `Error: Invalid Attribute Value Match.*Attribute hosts\.ids\[0\] must be a host's managed object ID, such as host-21`},
		{Class: "target", Name: "missing cluster", Config: badBaseline(sim, `  target = "host"`+"\n"+hostRule, "hosts {\n    clusters = [\"staging\"]\n  }"),
			Want: `Error: Cannot judge the baseline's scope.*cluster "staging" not found`},
	}
	acctest.RunBadInput(t, sim, cases, countRecords, countStamps)
}

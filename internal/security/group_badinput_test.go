package security_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// badGroup is a group of db-admins on tier-1 with an owned role, with one line replaced: each
// key of edits is a line of the good configuration, its value what replaces it ("" drops it).
func badGroup(sim *acctest.Sim, edits map[string]string) string {
	lines := []string{
		`  name       = "bad"`,
		`  privileges = ["VirtualMachine.Interact.PowerOn"]`,
		fmt.Sprintf(`  principals = [{ name = %q, is_group = true }]`, dbAdmins),
		`  members {`,
		`    tags = [{ category = "tier", name = "tier-1" }]`,
		`  }`,
	}
	used := map[string]bool{}
	var out []string
	for _, l := range lines {
		key := strings.TrimSpace(l)
		if repl, ok := edits[key]; ok {
			used[key] = true
			if repl != "" {
				out = append(out, repl)
			}
			continue
		}
		out = append(out, l)
	}
	for k, v := range edits {
		if !used[k] {
			if k != "+" {
				panic("badGroup: no line " + k)
			}
			out = append(out, v)
		}
	}
	return sgConfig(sim, "", strings.Join(out, "\n"))
}

// Counters of what a failed plan must not have made: roles, permissions, group records.
var (
	countRoles = acctest.Counter{What: "roles", Count: func(ctx context.Context, c *vsphere.Client) (int, error) {
		r, err := c.Roles(ctx)
		return len(r), err
	}}
	countPermissions = acctest.Counter{What: "permissions", Count: func(ctx context.Context, c *vsphere.Client) (int, error) {
		p, err := c.AllPermissions(ctx)
		return len(p), err
	}}
)

// Every misspelt or contradictory input fails the plan, on its attribute, naming the nearest
// valid spellings, and nothing is written to vCenter.
func TestAccSecurityGroup_badInput(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	principals := `principals = [{ name = "VSPHERE.LOCAL\\db-admins", is_group = true }]`
	privileges := `privileges = ["VirtualMachine.Interact.PowerOn"]`
	tags := `tags = [{ category = "tier", name = "tier-1" }]`
	cases := []acctest.BadInput{
		{Class: "names", Name: "unknown principal", Want: `Error: Unknown principal.*principals\[0\]: vCenter's directory has no group\s+VSPHERE\.LOCAL\\db-admin: did you mean\s+"VSPHERE\.LOCAL\\db-admins"\?\s`,
			Config: badGroup(sim, map[string]string{principals: `  principals = [{ name = "VSPHERE.LOCAL\\db-admin", is_group = true }]`})},
		{Class: "names", Name: "group given as a user", Want: `Error: Unknown principal.*no\s+user\s+VSPHERE\.LOCAL\\db-admins.*a group needs is_group = true`,
			Config: badGroup(sim, map[string]string{principals: `  principals = [{ name = "VSPHERE.LOCAL\\db-admins" }]`})},
		{Class: "names", Name: "user given as a group", Want: `Error: Unknown principal.*principals\[1\]:.*no\s+group\s+VSPHERE\.LOCAL\\alice`,
			Config: badGroup(sim, map[string]string{principals: `  principals = [{ name = "VSPHERE.LOCAL\\db-admins", is_group = true }, { name = "VSPHERE.LOCAL\\alice", is_group = true }]`})},
		{Class: "names", Name: "unknown privilege", Want: `Error: Unknown privilege.*privileges = \["VirtualMachine\.Interact\.PowerOnn"\].*did you mean "VirtualMachine\.Interact\.PowerOn"`,
			Config: badGroup(sim, map[string]string{privileges: `  privileges = ["VirtualMachine.Interact.PowerOnn"]`})},
		{Class: "names", Name: "unknown ceiling privilege", Want: `Error: Unknown privilege.*ceiling_privileges = \["System\.Reed"\].*did you mean "System\.Read"`,
			Config: badGroup(sim, map[string]string{"+": `  ceiling_privileges = ["System.Reed"]`})},
		{Class: "names", Name: "unknown role", Want: `Error: Unknown role.*role = "ReadOnyl".*did you mean "ReadOnly"`,
			Config: badGroup(sim, map[string]string{privileges: `  role = "ReadOnyl"`})},
		{Class: "names", Name: "unknown tag", Want: `Error: Unknown tag.*tags = .*"tier-9".*category "tier" has no tag "tier-9"; did you mean "tier-1"`,
			Config: badGroup(sim, map[string]string{tags: `    tags = [{ category = "tier", name = "tier-9" }]`})},
		{Class: "names", Name: "unknown tag category", Want: `Error: Unknown tag.*no tag category "teir"; did you mean "tier"`,
			Config: badGroup(sim, map[string]string{tags: `    tags = [{ category = "teir", name = "tier-1" }]`})},
		{Class: "names", Name: "unknown excluded tag", Want: `Error: Unknown tag.*exclude \{ tags = .*"tier-9".*did you mean "tier-1"`,
			Config: badGroup(sim, map[string]string{tags: tags + "\n    exclude { tags = [{ category = \"tier\", name = \"tier-9\" }] }"})},
		{Class: "names", Name: "unknown port group", Want: `Error: Unknown port group.*port_groups = \["pg-dbb"\].*No distributed port group "pg-dbb": did you mean "pg-db"`,
			Config: badGroup(sim, map[string]string{"+": "  network_policy {\n    allow_promiscuous = false\n    port_groups = [\"pg-dbb\"]\n  }"})},
		{Class: "references", Name: "duplicate principal", Want: `Error: Principal listed twice.*DB-ADMINS is listed as principals\[0\] already`,
			Config: badGroup(sim, map[string]string{principals: `  principals = [{ name = "VSPHERE.LOCAL\\db-admins", is_group = true }, { name = "vsphere.local\\DB-ADMINS", is_group = true }]`})},
		{Class: "references", Name: "empty network policy", Want: `Error: Empty network policy.*sets none of allow_promiscuous, allow_mac_changes and allow_forged_transmits`,
			Config: badGroup(sim, map[string]string{"+": "  network_policy {\n    port_groups = [\"pg-db\"]\n  }"})},
		{Class: "references", Name: "role and privileges", Want: `Error: Invalid Attribute Combination.*2 attributes specified when one \(and only one\) of \[role,privileges\]`,
			Config: badGroup(sim, map[string]string{"+": `  role = "ReadOnly"`})},
		{Class: "references", Name: "neither role nor privileges", Want: `Error: Invalid Attribute Combination.*No attribute specified when one \(and only one\) of \[role,privileges\]`,
			Config: badGroup(sim, map[string]string{privileges: ""})},
	}
	acctest.RunBadInput(t, sim, cases, countRoles, countPermissions)
}

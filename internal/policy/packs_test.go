package policy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy/packs"
)

// Every built-in pack carries Rego tests, and they pass.
func TestBuiltinPacks(t *testing.T) {
	for _, name := range packs.Names() {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			sum, err := policy.RunTests(context.Background(), &out, policy.TestConfig{Verbose: true, Packs: []string{name}})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Passed == 0 {
				t.Fatalf("pack %s has no Rego tests", name)
			}
			if sum.Failed+sum.Errors > 0 {
				t.Fatalf("pack %s: %d failed, %d errors\n%s", name, sum.Failed, sum.Errors, out.String())
			}
			t.Logf("pack %s: %d Rego tests passed", name, sum.Passed)
		})
	}
}

// securityGroupSchemas is the committed policy input schema of vmgmt_security_group, which the
// security pack declares (schema.vmgmt_security_group).
func securityGroupSchemas(t *testing.T) policy.Schemas {
	t.Helper()
	raw, err := os.ReadFile("../../schemas/policy-input/vmgmt_security_group.json")
	if err != nil {
		t.Fatal(err)
	}
	var s policy.Schema
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return policy.Schemas{"vmgmt_security_group": &s}
}

// securityGroupChange is a vmgmt_security_group change as the resource hands it to the gate.
func securityGroupChange(t *testing.T, actions []string, role string, privileges []string, members int) policy.Change {
	t.Helper()
	var inv map[string]any
	doc := `{
		"role": {"name": "` + role + `", "owned": false, "privileges": ` + jsonText(t, privileges) + `},
		"members": [{"id": "vm-1", "name": "db01", "tags": ["tier/tier-1"]}],
		"port_groups": [{"id": "dvportgroup-1", "name": "pg-db", "allow_promiscuous": false, "allow_mac_changes": null,
			"allow_forged_transmits": false, "member_ids": ["vm-1"], "other_vm_count": 0}],
		"principals": [{"name": "CORP\\dba", "is_group": true, "domain": "CORP"}]
	}`
	if err := json.Unmarshal([]byte(doc), &inv); err != nil {
		t.Fatal(err)
	}
	ids := []any{"vm-1"}
	if members == 0 {
		inv["members"], inv["port_groups"], ids = []any{}, []any{}, []any{}
	}
	after := map[string]any{
		"name": "db-admins", "description": "", "role": role, "privileges": nil,
		"principals":     []any{map[string]any{"name": "CORP\\dba", "is_group": true, "propagate": true}},
		"network_policy": nil, "member_ids": ids, "member_count": int64(members),
	}
	c := policy.Change{Type: "vmgmt_security_group", Name: "db-admins", Actions: actions, After: after,
		Inventory: inv, Phase: policy.PhasePlan}
	if actions[0] == "update" {
		c.Before = after
	}
	return c
}

func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The security pack loads in the gate, type-checked against the committed input schema, and its
// findings get the outcomes their levels and paths give: a denied privilege blocks, an empty group
// warns, and Administrator on a business-critical VM blocks a new group but is grandfathered on an
// update that changes neither the role nor the members.
func TestSecurityPackInTheGate(t *testing.T) {
	e := newEngine(t, policy.Config{Packs: []string{"security"}, Schemas: securityGroupSchemas(t)})
	read := []string{"VirtualMachine.Interact.PowerOn", "System.View"}

	d := evaluate(t, e, securityGroupChange(t, []string{"create"}, "DBAdmin", []string{"System.View", "Global.Settings"}, 1))
	f := wantOutcome(t, byPolicy(t, d), "security.ceiling", policy.OutcomeBlock)
	if !strings.Contains(f.Message, `"Global.Settings"`) || len(f.Path) != 1 || f.Path[0] != "role" {
		t.Errorf("ceiling finding %+v", f)
	}

	d = evaluate(t, e, securityGroupChange(t, []string{"create"}, "DBAdmin", read, 0))
	wantOutcome(t, byPolicy(t, d), "security.empty", policy.OutcomeWarn)
	if d.Blocked() {
		t.Errorf("an empty group blocks: %+v", d.Findings)
	}

	d = evaluate(t, e, securityGroupChange(t, []string{"create"}, "Admin", read, 1))
	f = wantOutcome(t, byPolicy(t, d), "security.admin_on_critical", policy.OutcomeBlock)
	if !strings.Contains(f.Message, `"db01"`) {
		t.Errorf("admin finding does not name the VM: %s", f.Message)
	}
	d = evaluate(t, e, securityGroupChange(t, []string{"update"}, "Admin", read, 1))
	wantOutcome(t, byPolicy(t, d), "security.admin_on_critical", policy.OutcomeGrandfathered)

	d = evaluate(t, e, securityGroupChange(t, []string{"delete"}, "Admin", []string{"Global.Settings"}, 0))
	if len(d.Findings) != 0 {
		t.Errorf("a destroy is judged: %+v", d.Findings)
	}
}

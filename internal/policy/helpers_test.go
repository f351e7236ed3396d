package policy_test

import (
	"context"
	"strings"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy"
)

const resType = "vmgmt_capacity_reservation"

// newEngine prepares an engine and closes it when the test ends.
func newEngine(t testing.TB, cfg policy.Config) *policy.Engine {
	t.Helper()
	e, err := policy.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("policy.New: %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// engineFrom prepares an engine from one source directory made of files.
func engineFrom(t testing.TB, files map[string]string) *policy.Engine {
	t.Helper()
	return newEngine(t, policy.Config{Sources: []string{acctest.WriteFiles(t, files)}})
}

// res is a planned reservation document as FromTerraform produces it.
func res(name string, cpu int64) map[string]any {
	return map[string]any{
		"id":     "resgroup-7",
		"name":   name,
		"parent": "/dc1/host/prod",
		"cpu":    map[string]any{"reservation": cpu, "limit": int64(-1), "expandable": false},
		"memory": map[string]any{"reservation": int64(1024), "limit": int64(-1), "expandable": false},
		"note":   nil,
	}
}

func create(after map[string]any) policy.Change {
	return policy.Change{Type: resType, Name: after["name"].(string), Actions: []string{"create"}, After: after, Phase: policy.PhasePlan}
}

func update(before, after map[string]any) policy.Change {
	return policy.Change{Type: resType, Name: after["name"].(string), ID: "resgroup-7", Actions: []string{"update"},
		Before: before, After: after, Phase: policy.PhasePlan}
}

func evaluate(t testing.TB, e *policy.Engine, c policy.Change) *policy.Decision {
	t.Helper()
	d, err := e.Evaluate(context.Background(), c)
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	return d
}

// byPolicy indexes findings by policy id; a test that expects one finding per id uses it.
func byPolicy(t testing.TB, d *policy.Decision) map[string]policy.Finding {
	t.Helper()
	out := map[string]policy.Finding{}
	for _, f := range d.Findings {
		if _, dup := out[f.Policy]; dup {
			t.Fatalf("two findings for %s: %+v", f.Policy, d.Findings)
		}
		out[f.Policy] = f
	}
	return out
}

func wantOutcome(t testing.TB, fs map[string]policy.Finding, id string, outcome policy.Outcome) policy.Finding {
	t.Helper()
	f, ok := fs[id]
	if !ok {
		t.Fatalf("no finding for %s; findings: %+v", id, fs)
	}
	if f.Outcome != outcome {
		t.Errorf("%s: outcome %q, want %q (%+v)", id, f.Outcome, outcome, f)
	}
	return f
}

func wantErrContains(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

// capacityChange is a realistic create of a vmgmt_capacity_reservation as the resource hands it
// to the gate: planned values (computed ones unknown) and the parent cluster's capacity with 20
// existing child pools as inventory.
func capacityChange(name string, cpuMHz int64) policy.Change {
	alloc := func(r int64) map[string]any {
		return map[string]any{"reservation": r, "limit": int64(-1), "expandable": false, "shares_level": "normal", "shares": nil}
	}
	after := map[string]any{
		"id": nil, "name": name, "parent": "/dc1/host/prod", "parent_id": nil, "path": nil,
		"cpu": alloc(cpuMHz), "memory": alloc(1024), "unreserved_cpu_mhz": nil, "unreserved_memory_mb": nil,
	}
	rc := func(capacity, reserved int64) map[string]any {
		return map[string]any{"capacity": capacity, "reserved": reserved, "unreserved": capacity - reserved, "expandable": false, "limit": capacity}
	}
	return policy.Change{
		Type: resType, Name: name, Actions: []string{"create"}, After: after, Phase: policy.PhasePlan,
		AfterUnknown: map[string]any{"id": true, "parent_id": true, "path": true, "unreserved_cpu_mhz": true, "unreserved_memory_mb": true},
		Inventory: map[string]any{
			"parent": map[string]any{"id": "resgroup-8", "name": "Resources", "kind": "cluster", "vm_count": int64(3),
				"child_count": 20, "cpu": rc(332800, 40000), "memory": rc(2097152, 81920)},
			"held": map[string]any{"cpu": int64(0), "memory": int64(0)},
		},
		Principal: "VSPHERE.LOCAL\\Administrator", Version: "test",
	}
}

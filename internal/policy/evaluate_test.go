package policy_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy"
)

const levelsRego = `package vmgmt.levels

fires if input.change.after.name == "bad"

deny contains "denied: names may not be bad" if fires

deny contains {"msg": "denied with a path", "path": "name"} if fires

warn contains "warned: bad is a bad name" if fires

violation contains {"id": "levels.advisory", "level": "advisory", "msg": "advisory violation", "path": "cpu.reservation"} if fires

violation contains {"id": "levels.mandatory", "level": "mandatory", "msg": "mandatory violation", "path": ["disks", 0, "size"]} if fires

violation contains {"id": "levels.odd", "level": "critical", "msg": "odd level"} if fires

violation contains {"msg": "no id, no level"} if fires
`

// deny -> block, warn -> warn; violation levels advisory / mandatory; an invalid level is treated
// as mandatory and says so; every finding names its policy id.
func TestEvaluate_levels(t *testing.T) {
	e := engineFrom(t, map[string]string{
		"levels.rego": levelsRego,
		"team.rego":   "package vmgmt.team.naming\n\ndeny contains \"team rule\" if input.change.after.name == \"bad\"\n",
		"other.rego":  "package other\n\ndeny contains \"outside vmgmt: never evaluated\" if true\n",
	})
	if got, want := e.Packages(), []string{"vmgmt.levels", "vmgmt.team.naming"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Packages() = %v, want %v", got, want)
	}

	d := evaluate(t, e, create(res("good", 1000)))
	if len(d.Findings) != 0 || d.Blocked() {
		t.Fatalf("good change: findings %+v", d.Findings)
	}

	d = evaluate(t, e, create(res("bad", 1000)))
	if !d.Blocked() {
		t.Error("Blocked() = false with mandatory findings")
	}
	type want struct {
		policy  string
		level   policy.Level
		outcome policy.Outcome
		path    []any
	}
	wants := map[string]want{
		"denied: names may not be bad":   {"levels", policy.LevelMandatory, policy.OutcomeBlock, nil},
		"denied with a path":             {"levels", policy.LevelMandatory, policy.OutcomeBlock, []any{"name"}},
		"warned: bad is a bad name":      {"levels", policy.LevelAdvisory, policy.OutcomeWarn, nil},
		"advisory violation":             {"levels.advisory", policy.LevelAdvisory, policy.OutcomeWarn, []any{"cpu", "reservation"}},
		"mandatory violation":            {"levels.mandatory", policy.LevelMandatory, policy.OutcomeBlock, []any{"disks", 0, "size"}},
		"no id, no level":                {"levels", policy.LevelMandatory, policy.OutcomeBlock, nil},
		"team rule":                      {"team.naming", policy.LevelMandatory, policy.OutcomeBlock, nil},
		`odd level (level "critical" is`: {"levels.odd", policy.LevelMandatory, policy.OutcomeBlock, nil},
	}
	if len(d.Findings) != len(wants) {
		t.Errorf("%d findings, want %d: %+v", len(d.Findings), len(wants), d.Findings)
	}
	for _, f := range d.Findings {
		var w want
		var ok bool
		for prefix, cand := range wants {
			if strings.HasPrefix(f.Message, prefix) {
				w, ok = cand, true
			}
		}
		if !ok {
			t.Errorf("unexpected finding %+v", f)
			continue
		}
		if f.Policy != w.policy || f.Level != w.level || f.Outcome != w.outcome || !reflect.DeepEqual(f.Path, w.path) {
			t.Errorf("finding %q: policy %q level %q outcome %q path %#v; want %q %q %q %#v",
				f.Message, f.Policy, f.Level, f.Outcome, f.Path, w.policy, w.level, w.outcome, w.path)
		}
		if f.Blocks() != (w.outcome == policy.OutcomeBlock) {
			t.Errorf("finding %q: Blocks() = %t", f.Message, f.Blocks())
		}
		if strings.HasPrefix(f.Message, "odd level") && !strings.Contains(f.Message, "treated as mandatory") {
			t.Errorf("invalid level not explained: %q", f.Message)
		}
	}
	if d.ID == "" || d.Revision != e.Revision() || !strings.HasPrefix(d.Revision, "sha256:") {
		t.Errorf("decision id %q revision %q (engine %q)", d.ID, d.Revision, e.Revision())
	}
}

// Paths come as "a.b" strings or ["a", 0, "b"] arrays (numbers are list indexes).
func TestEvaluate_paths(t *testing.T) {
	e := engineFrom(t, map[string]string{"paths.rego": `package vmgmt.paths

violation contains {"id": "paths.dotted", "msg": "m", "path": "cpu.reservation"} if true
violation contains {"id": "paths.array", "msg": "m", "path": ["disks", 0, "size"]} if true
violation contains {"id": "paths.single", "msg": "m", "path": "name"} if true
violation contains {"id": "paths.empty", "msg": "m", "path": ""} if true
violation contains {"id": "paths.none", "msg": "m"} if true
violation contains {"id": "paths.bad", "msg": "m", "path": 42} if true
`})
	fs := byPolicy(t, evaluate(t, e, create(res("tier-1", 1))))
	for id, want := range map[string][]any{
		"paths.dotted": {"cpu", "reservation"},
		"paths.array":  {"disks", 0, "size"},
		"paths.single": {"name"},
		"paths.empty":  nil,
		"paths.none":   nil,
		"paths.bad":    nil,
	} {
		if got := fs[id].Path; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: path %#v, want %#v", id, got, want)
		}
	}
	if idx, ok := fs["paths.array"].Path[1].(int); !ok || idx != 0 {
		t.Errorf("list index is %#v (%T), want int 0", fs["paths.array"].Path[1], fs["paths.array"].Path[1])
	}
}

const grandfatherRego = `package vmgmt.gf

violation contains {"id": "gf.cpu", "level": "mandatory", "path": ["cpu", "reservation"], "msg": "cpu reservation above 1000 MHz"} if {
	input.change.after.cpu.reservation > 1000
}

violation contains {"id": "gf.delete", "msg": "reservations may not be deleted"} if {
	"delete" in input.change.actions
}
`

// A mandatory rule does not block a resource whose judged attributes did not change; it does
// block creates, changes and deletes.
func TestEvaluate_grandfathering(t *testing.T) {
	e := engineFrom(t, map[string]string{
		"gf.rego":   grandfatherRego,
		"name.rego": "package vmgmt.legacy\n\ndeny contains \"legacy names are retired\" if input.change.after.name == \"legacy\"\n",
	})
	renamed := res("tier-2", 2000)
	renamed["note"] = "moved"

	for _, tc := range []struct {
		name   string
		change policy.Change
		want   map[string]policy.Outcome
	}{
		{"unchanged path, other attribute changed", update(res("tier-1", 2000), renamed),
			map[string]policy.Outcome{"gf.cpu": policy.OutcomeGrandfathered}},
		{"no-op", policy.Change{Type: resType, Actions: []string{"no-op"}, Before: res("tier-1", 2000), After: res("tier-1", 2000), Phase: policy.PhasePlan},
			map[string]policy.Outcome{"gf.cpu": policy.OutcomeGrandfathered}},
		{"judged path changed", update(res("tier-1", 1500), res("tier-1", 2000)),
			map[string]policy.Outcome{"gf.cpu": policy.OutcomeBlock}},
		{"create", create(res("tier-1", 2000)),
			map[string]policy.Outcome{"gf.cpu": policy.OutcomeBlock}},
		{"delete", policy.Change{Type: resType, Actions: []string{"delete"}, Before: res("tier-1", 2000), Phase: policy.PhasePlan},
			map[string]policy.Outcome{"gf.delete": policy.OutcomeBlock}},
		{"replace", policy.Change{Type: resType, Actions: []string{"delete", "create"}, Before: res("tier-1", 2000), After: res("tier-1", 2000), Phase: policy.PhasePlan},
			map[string]policy.Outcome{"gf.cpu": policy.OutcomeBlock, "gf.delete": policy.OutcomeBlock}},
		// A deny without a path is judged on every input.change.after attribute its package reads.
		{"pathless rule, read attributes unchanged", update(res("legacy", 500), func() map[string]any { a := res("legacy", 500); a["note"] = "x"; return a }()),
			map[string]policy.Outcome{"legacy": policy.OutcomeGrandfathered}},
		{"pathless rule, read attribute changed", update(res("old", 500), res("legacy", 500)),
			map[string]policy.Outcome{"legacy": policy.OutcomeBlock}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := byPolicy(t, evaluate(t, e, tc.change))
			if len(fs) != len(tc.want) {
				t.Errorf("findings %+v, want %v", fs, tc.want)
			}
			for id, outcome := range tc.want {
				f := wantOutcome(t, fs, id, outcome)
				if outcome == policy.OutcomeGrandfathered && f.Blocks() {
					t.Errorf("%s: a grandfathered finding blocks", id)
				}
			}
		})
	}
}

// At plan time a finding on an unknown attribute, or a package that reads unknown values without
// firing, is deferred to apply and says so; at apply time nothing is deferred.
func TestEvaluate_deferral(t *testing.T) {
	e := engineFrom(t, map[string]string{
		"path.rego": `package vmgmt.onpath

violation contains {"id": "onpath.cpu", "path": ["cpu", "reservation"], "msg": "judged on an unknown attribute"} if {
	input.change.after.name == "tier-1"
}
`,
		"reader.rego": `package vmgmt.reader

deny contains "limit too high" if input.change.after.cpu.limit > 10
`,
		"inventory.rego": `package vmgmt.inv

deny contains "parent too small" if input.inventory.parent.cpu.capacity < 1
`,
		"other.rego": `package vmgmt.othertype

deny contains "other type" if {
	input.type == "vmgmt_other"
	input.change.after.cpu.limit > 1
}
`,
		"known.rego": `package vmgmt.known

deny contains "name is known" if input.change.after.name == "never"
`,
	})
	after := res("tier-1", 0)
	cpu := after["cpu"].(map[string]any)
	cpu["reservation"], cpu["limit"] = nil, nil
	c := create(after)
	c.AfterUnknown = map[string]any{"cpu": map[string]any{"reservation": true, "limit": true}}
	c.InventoryUnknown = []string{"parent"}

	fs := byPolicy(t, evaluate(t, e, c))
	f := wantOutcome(t, fs, "onpath.cpu", policy.OutcomeDeferred)
	if !reflect.DeepEqual(f.Unknown, []string{"cpu.reservation"}) || f.Blocks() {
		t.Errorf("onpath.cpu: unknown %v, blocks %t", f.Unknown, f.Blocks())
	}
	f = wantOutcome(t, fs, "reader", policy.OutcomeDeferred)
	if f.Message != "reads values that are unknown until apply" || !reflect.DeepEqual(f.Unknown, []string{"cpu.limit"}) {
		t.Errorf("reader: %+v", f)
	}
	f = wantOutcome(t, fs, "inv", policy.OutcomeDeferred)
	if !reflect.DeepEqual(f.Unknown, []string{"inventory.parent"}) {
		t.Errorf("inv: unknown %v", f.Unknown)
	}
	for _, id := range []string{"othertype", "known"} {
		if _, ok := fs[id]; ok {
			t.Errorf("%s deferred, but it does not read an unknown value for this type: %+v", id, fs[id])
		}
	}

	// The same change at apply time: values are judged, nothing waits.
	c.Phase = policy.PhaseApply
	for _, f := range evaluate(t, e, c).Findings {
		if f.Outcome == policy.OutcomeDeferred {
			t.Errorf("apply phase deferred %+v", f)
		}
	}
	// With every value known at plan time, nothing is deferred either.
	for _, f := range evaluate(t, e, create(res("tier-2", 1))).Findings {
		t.Errorf("known values: unexpected finding %+v", f)
	}
}

// Policy that cannot be evaluated refuses the change: a runtime error in a rule, an undefined
// decision, a decision of the wrong shape.
func TestEvaluate_failClosed(t *testing.T) {
	for _, tc := range []struct {
		name, rego string
		want       string
	}{
		{"conflicting complete rule", `package vmgmt.conflict

size := 1 if input.change.after.name != ""
size := 2 if input.change.after.cpu.reservation > 0

deny contains "never" if size == 3
`, "eval_conflict_error"},
		{"builtin type error", `package vmgmt.strict

deny contains "never" if object.get(input.change.after.name, "k", 1) == 2
`, "object.get"},
		{"function with conflicting outputs", `package vmgmt.fn

f(x) := 1 if x > 0
f(x) := 2 if x > 1

deny contains "never" if f(input.change.after.cpu.reservation) == 5
`, "eval_conflict_error"},
		{"undefined decision", `package vmgmt.undef

deny := {"x"} if input.change.after.name == "never"
`, "undefined"},
		{"decision of the wrong shape", `package vmgmt.shape

deny := "not a set"
`, "must be a set"},
		{"violation of the wrong shape", `package vmgmt.vshape

violation contains "a string, not an object"
`, "violation contains string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := engineFrom(t, map[string]string{"p.rego": tc.rego})
			d, err := e.Evaluate(context.Background(), create(res("tier-1", 4000)))
			var ee *policy.EvalError
			if !errors.As(err, &ee) {
				t.Fatalf("Evaluate = %+v, %v; want an *EvalError", d, err)
			}
			if d != nil {
				t.Errorf("a decision came with the error: %+v", d)
			}
			wantErrContains(t, err, "fail closed", tc.want)
			if strings.Contains(tc.want, "_error") {
				wantErrContains(t, err, "p.rego:") // runtime errors carry a location
			}
		})
	}
}

// Input is one resource_changes[] entry of `terraform show -json` plus context and inventory.
func TestChangeInput(t *testing.T) {
	e := engineFrom(t, map[string]string{"echo.rego": `package vmgmt.echo

warn contains json.marshal({
	"type": input.type,
	"actions": input.change.actions,
	"before": input.change.before,
	"reservation": input.change.after.cpu.reservation,
	"after_unknown": input.change.after_unknown,
	"phase": input.context.phase,
	"principal": input.context.principal,
	"version": input.context.provider_version,
	"parent": input.inventory.parent.name,
	"has_time": input.context.time != "",
})
`})
	c := create(res("tier-1", 4000))
	c.Principal, c.Version = "VSPHERE.LOCAL\\admin", "1.2.3"
	c.Inventory = map[string]any{"parent": map[string]any{"name": "Resources"}}
	fs := evaluate(t, e, c).Findings
	if len(fs) != 1 {
		t.Fatalf("findings %+v", fs)
	}
	want := `{"actions":["create"],"after_unknown":{},"before":null,"has_time":true,"parent":"Resources","phase":"plan",` +
		`"principal":"VSPHERE.LOCAL\\admin","reservation":4000,"type":"vmgmt_capacity_reservation","version":"1.2.3"}`
	if fs[0].Message != want {
		t.Errorf("input seen by Rego:\n%s\nwant\n%s", fs[0].Message, want)
	}
}

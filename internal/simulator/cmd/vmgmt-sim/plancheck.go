package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
)

// planCheckCommand reads a saved plan as `terraform show -json` prints it (standard input) and
// lists its changes other than the standing diff of audit baselines, one a line; exit status 1
// when there is any. `make demo` uses it to check that a plan has nothing left to do.
func planCheckCommand(args []string) int {
	if len(args) != 0 {
		fmt.Fprintln(os.Stderr, "usage: terraform show -json PLANFILE | vmgmt-sim plan-check")
		return 2
	}
	unexpected, err := readUnexpectedChanges(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmgmt-sim plan-check:", err)
		return 2
	}
	for _, u := range unexpected {
		fmt.Println(u)
	}
	if len(unexpected) > 0 {
		return 1
	}
	return 0
}

func readUnexpectedChanges(r io.Reader) ([]string, error) {
	var p tfjson.Plan
	if err := json.NewDecoder(r).Decode(&p); err != nil {
		return nil, fmt.Errorf("reading the plan (the output of terraform show -json): %w", err)
	}
	return unexpectedChanges(&p), nil
}

// unexpectedChanges lists the changes of a plan other than the standing diff of audit baselines.
// An audit baseline whose VMs drift plans an update at every plan, by design, so that
// `plan -detailed-exitcode` exits 2 in CI until someone fixes the VMs. Accepted are only updates of
// vmgmt_config_baseline resources whose mode is "audit" before and after, and updates of outputs
// whose values only become "known after apply" (the compliance summary of such a baseline); every
// other change is listed, as "address: actions".
func unexpectedChanges(p *tfjson.Plan) []string {
	var out []string
	for _, rc := range p.ResourceChanges {
		if rc.Change == nil || rc.Change.Actions.NoOp() || auditStandingDiff(rc) {
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s", rc.Address, actions(rc.Change.Actions)))
	}
	for _, name := range sortedKeys(p.OutputChanges) {
		c := p.OutputChanges[name]
		if c == nil || c.Actions.NoOp() || c.Actions.Update() && onlyBecomesUnknown(c) {
			continue
		}
		out = append(out, fmt.Sprintf("output.%s: %s", name, actions(c.Actions)))
	}
	return out
}

// auditStandingDiff tells whether a resource change is an audit baseline's update.
func auditStandingDiff(rc *tfjson.ResourceChange) bool {
	return rc.Type == "vmgmt_config_baseline" && rc.Mode == tfjson.ManagedResourceMode && rc.Change.Actions.Update() &&
		mode(rc.Change.Before) == "audit" && mode(rc.Change.After) == "audit"
}

func mode(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["mode"].(string)
	return s
}

// onlyBecomesUnknown tells whether every value an output change knows after the plan is the value
// it had before: what changes is only "known after apply".
func onlyBecomesUnknown(c *tfjson.Change) bool {
	if u, ok := c.AfterUnknown.(bool); ok && u {
		return true
	}
	return knownLeavesEqual(c.After, c.Before)
}

// knownLeavesEqual tells whether every leaf of after (terraform leaves out the unknown ones) equals
// the leaf at the same path in before.
func knownLeavesEqual(after, before any) bool {
	switch a := after.(type) {
	case map[string]any:
		b, ok := before.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range a {
			if !knownLeavesEqual(v, b[k]) {
				return false
			}
		}
		return true
	case []any:
		b, ok := before.([]any)
		if !ok || len(b) != len(a) {
			return false
		}
		for i := range a {
			if !knownLeavesEqual(a[i], b[i]) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(after, before)
	}
}

func actions(a tfjson.Actions) string {
	s := make([]string, len(a))
	for i, x := range a {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}

func sortedKeys(m map[string]*tfjson.Change) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

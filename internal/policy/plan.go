package policy

import (
	"sort"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
)

// InventoryAll, as the only entry of Change.InventoryUnknown, says that no inventory fact is
// known: every policy that reads input.inventory is deferred, whatever fact it reads.
const InventoryAll = "*"

// ChangeFromPlan builds the change for one resource_changes[] entry of a `terraform show -json`
// plan, so a saved plan is judged with the same input the provider builds in ModifyPlan. Decode
// the plan with Plan.UseJSONNumber(true) so numbers reach Rego exactly.
//
// A saved plan carries no vCenter inventory: Inventory is empty and InventoryUnknown is
// InventoryAll, so a policy that reads inventory is reported as deferred instead of passing.
// Attributes marked sensitive in before_sensitive or after_sensitive are masked in the decision
// log. Phase is PhasePlan; Principal and Version are left to the caller.
func ChangeFromPlan(rc *tfjson.ResourceChange) Change {
	c := Change{
		Type:             rc.Type,
		Phase:            PhasePlan,
		Inventory:        map[string]any{},
		InventoryUnknown: []string{InventoryAll},
	}
	if rc.Change == nil {
		return c
	}
	ch := rc.Change
	for _, a := range ch.Actions {
		c.Actions = append(c.Actions, string(a))
	}
	c.Before, c.After, c.AfterUnknown = ch.Before, ch.After, ch.AfterUnknown
	for _, doc := range []any{ch.After, ch.Before} {
		m, ok := doc.(map[string]any)
		if !ok {
			continue
		}
		if c.Name == "" {
			c.Name, _ = m["name"].(string)
		}
		if c.ID == "" {
			c.ID, _ = m["id"].(string)
		}
	}
	seen := map[string]bool{}
	for _, s := range []any{ch.BeforeSensitive, ch.AfterSensitive} {
		for _, p := range sensitivePaths(s, nil) {
			if !seen[p] {
				seen[p] = true
				c.Sensitive = append(c.Sensitive, p)
			}
		}
	}
	sort.Strings(c.Sensitive)
	return c
}

// sensitivePaths lists the dotted attribute paths marked true in a before_sensitive or
// after_sensitive document. The decision log masks by attribute name, not list index, so a
// sensitive value inside a list masks the whole list.
func sensitivePaths(v any, prefix []string) []string {
	switch x := v.(type) {
	case bool:
		if x && len(prefix) > 0 {
			return []string{strings.Join(prefix, ".")}
		}
	case map[string]any:
		var out []string
		for k, e := range x {
			out = append(out, sensitivePaths(e, append(prefix[:len(prefix):len(prefix)], k))...)
		}
		return out
	case []any:
		for _, e := range x {
			if len(sensitivePaths(e, []string{"x"})) > 0 && len(prefix) > 0 {
				return []string{strings.Join(prefix, ".")}
			}
		}
	}
	return nil
}

package framework

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy"
)

// Gate is a planned change on its way to the policy engine.
type Gate struct {
	// Type is the full resource or data source type, e.g. vmgmt_capacity_reservation.
	Type  string
	Phase policy.Phase
	// Before and After are the prior state and the planned state (or, for a data source, the
	// configuration); a null Before is a create, a null After a delete.
	Before, After tftypes.Value
	// Replace is true when the plan replaces the object.
	Replace bool
	// Read marks a data source read.
	Read bool
	// Inventory holds the live facts the rules need; InventoryUnknown names those that cannot
	// be gathered yet (e.g. the parent is created in the same apply).
	Inventory        map[string]any
	InventoryUnknown []string
	// Name identifies the object for exemption selectors and the log when the values have no
	// name attribute (a data source read names what it reads).
	Name string
	// Sensitive lists attributes (dotted paths) masked in the decision log.
	Sensitive []string
	// AttributeExists reports whether a path names an attribute of the schema, so findings can be
	// attached to it; nil attaches every finding to the resource.
	AttributeExists func(path.Path) bool
}

// PolicyInventory is implemented by the resources and data sources that give the policy gate
// inventory facts (Facts.Inventory, Gate.Inventory): it describes input.inventory fact by fact,
// so that the policy input schemas include it and rules reading a fact no type gathers fail to
// load. Keep it next to the code that builds the facts, with a test that the facts conform.
type PolicyInventory interface {
	PolicyInventory() map[string]*policy.Schema
}

// principal caches the session's user name for the policy context.
type principal struct {
	once sync.Once
	name string
}

// CheckPolicy evaluates the change and turns the decision into diagnostics. With no policy
// configured it does nothing. A policy that cannot be evaluated is an error (fail closed).
func (c *Client) CheckPolicy(ctx context.Context, g Gate) diag.Diagnostics {
	var diags diag.Diagnostics
	if c == nil || c.Policy == nil {
		return diags
	}
	before, _, err := policy.FromTerraform(g.Before)
	if err != nil {
		diags.AddError("Policy input", fmt.Sprintf("converting the prior state of %s for policy: %v", g.Type, err))
		return diags
	}
	after, afterUnknown, err := policy.FromTerraform(g.After)
	if err != nil {
		diags.AddError("Policy input", fmt.Sprintf("converting the planned values of %s for policy: %v", g.Type, err))
		return diags
	}
	change := policy.Change{
		Type: g.Type, Phase: g.Phase, Before: before, After: after, AfterUnknown: afterUnknown,
		Actions: actions(g), Inventory: g.Inventory, InventoryUnknown: g.InventoryUnknown,
		Sensitive: g.Sensitive, Principal: c.principalName(ctx), Version: c.Version, Name: g.Name,
	}
	for _, doc := range []any{after, before} {
		if m, ok := doc.(map[string]any); ok {
			if change.Name == "" {
				change.Name, _ = m["name"].(string)
			}
			if change.ID == "" {
				change.ID, _ = m["id"].(string)
			}
		}
	}
	d, err := c.Policy.Evaluate(ctx, change)
	if err != nil {
		diags.AddError("Policy could not be evaluated",
			fmt.Sprintf("%v\n\nThe %s of this %s is refused because policy must be evaluated before anything changes in vCenter. "+
				"Fix the policy (or the remote decision point) and plan again.", err, g.Phase, g.Type))
		return diags
	}
	tflog.Debug(ctx, "policy decision", map[string]any{
		"decision_id": d.ID, "type": g.Type, "name": change.Name, "phase": g.Phase, "findings": len(d.Findings),
		"blocked": d.Blocked(), "revision": d.Revision, "duration_us": d.Duration.Microseconds(),
	})
	for _, f := range d.Findings {
		addFinding(&diags, g, d, f)
	}
	return diags
}

func actions(g Gate) []string {
	switch {
	case g.Read:
		return []string{"read"}
	case g.After.IsNull():
		return []string{"delete"}
	case g.Before.IsNull():
		return []string{"create"}
	case g.Replace:
		return []string{"delete", "create"}
	case g.Before.Equal(g.After):
		return []string{"no-op"}
	default:
		return []string{"update"}
	}
}

func (c *Client) principalName(ctx context.Context) string {
	if c.VSphere == nil {
		return ""
	}
	c.principal.once.Do(func() {
		name, err := c.VSphere.Principal(ctx)
		if err == nil {
			c.principal.name = name
		} else {
			c.principal.name = c.VSphere.User()
		}
	})
	return c.principal.name
}

func addFinding(diags *diag.Diagnostics, g Gate, d *policy.Decision, f policy.Finding) {
	var p path.Path
	attached := false
	if len(f.Path) > 0 && g.AttributeExists != nil {
		if s, ok := f.Path[0].(string); ok {
			p = path.Root(s)
			for _, step := range f.Path[1:] {
				switch x := step.(type) {
				case string:
					p = p.AtName(x)
				case int:
					p = p.AtListIndex(x)
				}
			}
			attached = g.AttributeExists(p)
		}
	}
	where := ""
	if len(f.Path) > 0 && !attached {
		where = fmt.Sprintf(" (attribute %v)", f.Path)
	}
	footer := fmt.Sprintf("\n\nPolicy %s, decision %s, policy revision %s, %s phase.", f.Policy, d.ID, d.Revision, g.Phase)
	var summary, detail string
	isError := false
	switch f.Outcome {
	case policy.OutcomeBlock:
		isError = true
		summary = "Policy violation: " + f.Policy
		detail = fmt.Sprintf("[%s] %s%s", f.Policy, f.Message, where)
		if f.Trace != "" {
			detail += "\n\nEvaluation trace (trimmed):\n" + f.Trace
		}
	case policy.OutcomeExpired:
		isError = true
		summary = "Policy exemption expired: " + f.Policy
		detail = fmt.Sprintf("[%s] %s%s\n\nThe %s no longer applies. Renew it in policy data (with a new reason, approver and expiry) or fix the resource.",
			f.Policy, f.Message, where, f.Exemption)
	case policy.OutcomeWarn:
		summary = "Policy warning: " + f.Policy
		detail = fmt.Sprintf("[%s] %s%s", f.Policy, f.Message, where)
	case policy.OutcomeDeferred:
		summary = "Policy check deferred to apply: " + f.Policy
		detail = fmt.Sprintf("[%s] reads %s, unknown until apply. It is evaluated again at apply time, before anything changes in vCenter, and fails the apply if it is violated.",
			f.Policy, strings.Join(f.Unknown, ", "))
		if f.Message != "" && f.Message != "reads values that are unknown until apply" {
			detail += "\n\nWith the values known now it reports: " + f.Message
		}
	case policy.OutcomeGrandfathered:
		summary = "Policy violation on unchanged attributes: " + f.Policy
		detail = fmt.Sprintf("[%s] %s%s\n\nThis resource was not changed in what the rule judges, so the rule does not block it (grandfathered); it will block the next change of those attributes.",
			f.Policy, f.Message, where)
	case policy.OutcomeExempted:
		summary = "Policy exemption used: " + f.Policy
		detail = fmt.Sprintf("[%s] %s%s\n\nAllowed by %s.", f.Policy, f.Message, where, f.Exemption)
	default:
		return
	}
	detail += footer
	switch {
	case isError && attached:
		diags.AddAttributeError(p, summary, detail)
	case isError:
		diags.AddError(summary, detail)
	case attached:
		diags.AddAttributeWarning(p, summary, detail)
	default:
		diags.AddWarning(summary, detail)
	}
}

// AttributeChecker returns a function that reports whether a path names an attribute of the
// schema of a plan, state or config (their Schema field).
func AttributeChecker[A any](ctx context.Context, s interface {
	AttributeAtPath(context.Context, path.Path) (A, diag.Diagnostics)
}) func(path.Path) bool {
	if s == nil {
		return nil
	}
	return func(p path.Path) bool {
		_, d := s.AttributeAtPath(ctx, p)
		return !d.HasError()
	}
}

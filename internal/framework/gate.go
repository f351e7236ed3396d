package framework

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy"
)

// Facts are what a resource gives the policy gate beside the change itself: live inventory,
// and the inventory facts it cannot know yet.
type Facts struct {
	Inventory map[string]any
	Unknown   []string
}

// GatePlan puts a planned change (create, update, replacement or destroy) through the policy gate
// at plan time. planned is the plan as the resource has modified it (resp.Plan.Raw).
func (b *ResourceBase) GatePlan(ctx context.Context, req resource.ModifyPlanRequest, planned tftypes.Value, replace bool, f Facts) diag.Diagnostics {
	exists := AttributeChecker(ctx, req.Plan.Schema)
	if planned.IsNull() {
		exists = AttributeChecker(ctx, req.State.Schema)
	}
	return b.gate(ctx, policy.PhasePlan, req.State.Raw, planned, replace, f, exists)
}

// GateCreate is the apply-time check of a create, before anything changes in vCenter.
func (b *ResourceBase) GateCreate(ctx context.Context, req resource.CreateRequest, f Facts) diag.Diagnostics {
	return b.gate(ctx, policy.PhaseApply, tftypes.NewValue(req.Plan.Raw.Type(), nil), req.Plan.Raw, false, f, AttributeChecker(ctx, req.Plan.Schema))
}

// GateUpdate is the apply-time check of an update.
func (b *ResourceBase) GateUpdate(ctx context.Context, req resource.UpdateRequest, f Facts) diag.Diagnostics {
	return b.gate(ctx, policy.PhaseApply, req.State.Raw, req.Plan.Raw, false, f, AttributeChecker(ctx, req.Plan.Schema))
}

// GateDelete is the apply-time check of a destroy: a rule can protect an object from deletion.
func (b *ResourceBase) GateDelete(ctx context.Context, req resource.DeleteRequest, f Facts) diag.Diagnostics {
	return b.gate(ctx, policy.PhaseApply, req.State.Raw, tftypes.NewValue(req.State.Raw.Type(), nil), false, f, AttributeChecker(ctx, req.State.Schema))
}

func (b *ResourceBase) gate(ctx context.Context, phase policy.Phase, before, after tftypes.Value, replace bool, f Facts, exists func(path.Path) bool) diag.Diagnostics {
	return b.Client.CheckPolicy(ctx, Gate{
		Type: b.typeName(), Phase: phase, Before: before, After: after, Replace: replace,
		Inventory: f.Inventory, InventoryUnknown: f.Unknown, AttributeExists: exists,
	})
}

func (b *ResourceBase) typeName() string { return "vmgmt_" + b.TypeSuffix }

// GateRead puts a data source's read through the policy gate at plan time, with what it found
// (inventory; nil is no facts): rules may restrict what is read, or refuse what a read shows.
// name names the read in decisions and messages.
func (b *DataSourceBase) GateRead(ctx context.Context, req datasource.ReadRequest, name string, inventory map[string]any) diag.Diagnostics {
	if inventory == nil {
		inventory = map[string]any{}
	}
	return b.Client.CheckPolicy(ctx, Gate{
		Type: "vmgmt_" + b.TypeSuffix, Phase: policy.PhasePlan, Read: true,
		Before: tftypes.NewValue(req.Config.Raw.Type(), nil), After: req.Config.Raw,
		Name:            name,
		Inventory:       inventory,
		AttributeExists: AttributeChecker(ctx, req.Config.Schema),
	})
}

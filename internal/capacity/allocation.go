package capacity

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// Defaults of a new resource pool, as vCenter applies them.
const (
	defaultReservation = 0
	defaultLimit       = -1
	defaultExpandable  = true
	defaultShares      = vsphere.SharesNormal
)

// allocationModel is one of the cpu / memory attributes.
type allocationModel struct {
	Reservation types.Int64  `tfsdk:"reservation"`
	Limit       types.Int64  `tfsdk:"limit"`
	Expandable  types.Bool   `tfsdk:"expandable"`
	SharesLevel types.String `tfsdk:"shares_level"`
	Shares      types.Int64  `tfsdk:"shares"`
}

var allocationAttrTypes = map[string]attr.Type{
	"reservation":  framework.Int64Type{},
	"limit":        framework.Int64Type{},
	"expandable":   types.BoolType,
	"shares_level": types.StringType,
	"shares":       framework.Int64Type{},
}

func defaultAllocationObject() basetypes.ObjectValue {
	return types.ObjectValueMust(allocationAttrTypes, map[string]attr.Value{
		"reservation":  types.Int64Value(defaultReservation),
		"limit":        types.Int64Value(defaultLimit),
		"expandable":   types.BoolValue(defaultExpandable),
		"shares_level": types.StringValue(defaultShares),
		"shares":       types.Int64Null(),
	})
}

// allocationAttribute is the schema of cpu or memory; unit is "MHz" or "MB", most the most vCenter
// takes for a reservation or limit.
func allocationAttribute(resourceName, unit string, most int64) schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		MarkdownDescription: fmt.Sprintf("%s allocation of the pool. Omitted: no reservation, no limit, expandable, normal shares.", resourceName),
		Optional:            true,
		Computed:            true,
		PlanModifiers:       []planmodifier.Object{omittedAllocation{}},
		Attributes: map[string]schema.Attribute{
			"reservation": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("Guaranteed %s in %s, %s. Must fit the parent's unreserved capacity when the parent is not expandable (checked at plan time). Default `0`.",
					resourceName, unit, framework.Int64Between(0, most).Description(context.Background())),
				Optional:   true,
				Computed:   true,
				CustomType: framework.Int64Type{},
				Default:    int64default.StaticInt64(defaultReservation),
				Validators: []validator.Int64{framework.Int64Between(0, most)},
			},
			"limit": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("Upper bound of %s in %s, %s; `-1` means unlimited. Must be at least `reservation`. Default `-1`.",
					resourceName, unit, framework.Int64Between(-1, most).Description(context.Background())),
				Optional:   true,
				Computed:   true,
				CustomType: framework.Int64Type{},
				Default:    int64default.StaticInt64(defaultLimit),
				Validators: []validator.Int64{framework.Int64Between(-1, most)},
			},
			"expandable": schema.BoolAttribute{
				MarkdownDescription: "Whether the pool may borrow unreserved capacity from its parent when its own reservation is used up (vSphere's expandable reservation). Default `true`.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(defaultExpandable),
			},
			"shares_level": schema.StringAttribute{
				MarkdownDescription: "Relative priority under contention: `low`, `normal`, `high`, or `custom` (then set `shares`). Default `normal`.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(defaultShares),
				Validators:          []validator.String{stringvalidator.OneOf(vsphere.SharesLevels...)},
			},
			"shares": schema.Int64Attribute{
				MarkdownDescription: "Number of shares, " + framework.Int64Between(0, vsphere.MaxShares).Description(context.Background()) +
					". Required with `shares_level = \"custom\"` and not allowed otherwise; for the other levels vCenter computes it and it is read back.",
				Optional:      true,
				Computed:      true,
				CustomType:    framework.Int64Type{},
				Validators:    []validator.Int64{framework.Int64Between(0, vsphere.MaxShares)},
				PlanModifiers: []planmodifier.Int64{sharesPlanModifier{}},
			},
		},
	}
}

func (m allocationModel) toVSphere() vsphere.Allocation {
	return vsphere.Allocation{
		Reservation: m.Reservation.ValueInt64(),
		Limit:       m.Limit.ValueInt64(),
		Expandable:  m.Expandable.ValueBool(),
		SharesLevel: m.SharesLevel.ValueString(),
		Shares:      int32(m.Shares.ValueInt64()),
	}
}

func allocationObject(a vsphere.Allocation) basetypes.ObjectValue {
	return types.ObjectValueMust(allocationAttrTypes, map[string]attr.Value{
		"reservation":  types.Int64Value(a.Reservation),
		"limit":        types.Int64Value(a.Limit),
		"expandable":   types.BoolValue(a.Expandable),
		"shares_level": types.StringValue(a.SharesLevel),
		"shares":       types.Int64Value(int64(a.Shares)),
	})
}

// allocationFrom reads a cpu/memory object; ok is false when it is unknown or null.
func allocationFrom(ctx context.Context, obj types.Object, diags *diag.Diagnostics) (allocationModel, bool) {
	var m allocationModel
	if obj.IsNull() || obj.IsUnknown() {
		return m, false
	}
	diags.Append(obj.As(ctx, &m, basetypes.ObjectAsOptions{})...)
	return m, !diags.HasError()
}

// validateAllocation checks the rules that span attributes of one allocation, at plan time.
func validateAllocation(m allocationModel, at path.Path, unit string, diags *diag.Diagnostics) {
	if !m.Reservation.IsNull() && !m.Reservation.IsUnknown() && !m.Limit.IsNull() && !m.Limit.IsUnknown() {
		if l := m.Limit.ValueInt64(); l != -1 && m.Reservation.ValueInt64() > l {
			diags.AddAttributeError(at.AtName("reservation"), "Reservation above limit",
				fmt.Sprintf("reservation (%d %s) is greater than limit (%d %s): a pool cannot guarantee more than it may use. "+
					"Lower the reservation, raise the limit, or set limit = -1 (unlimited).", m.Reservation.ValueInt64(), unit, l, unit))
		}
	}
	if m.SharesLevel.IsUnknown() {
		return
	}
	level := m.SharesLevel.ValueString()
	if m.SharesLevel.IsNull() {
		level = defaultShares
	}
	switch {
	case level == vsphere.SharesCustom && m.Shares.IsNull():
		diags.AddAttributeError(at.AtName("shares"), "Missing shares",
			`shares_level = "custom" needs a number of shares: set shares, or pick low, normal or high.`)
	case level != vsphere.SharesCustom && !m.Shares.IsNull() && !m.Shares.IsUnknown():
		diags.AddAttributeError(at.AtName("shares"), "Shares without custom level",
			fmt.Sprintf(`shares can only be set with shares_level = "custom" (it is %q, for which vCenter computes the number). `+
				`Remove shares or set shares_level = "custom".`, level))
	}
}

// sharesPlanModifier keeps the computed share count when the level does not change, and marks it
// unknown when vCenter will compute a new one.
type sharesPlanModifier struct{}

func (sharesPlanModifier) Description(context.Context) string {
	return "keeps the computed share count unless shares_level changes"
}
func (m sharesPlanModifier) MarkdownDescription(ctx context.Context) string {
	return m.Description(ctx)
}

func (sharesPlanModifier) PlanModifyInt64(ctx context.Context, req planmodifier.Int64Request, resp *planmodifier.Int64Response) {
	if !req.ConfigValue.IsNull() {
		return // custom shares: the configured number
	}
	levelPath := req.Path.ParentPath().AtName("shares_level")
	var planLevel, stateLevel types.String
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, levelPath, &planLevel)...)
	if req.State.Raw.IsNull() || req.StateValue.IsNull() {
		resp.PlanValue = types.Int64Unknown()
		return
	}
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, levelPath, &stateLevel)...)
	if !planLevel.IsUnknown() && planLevel.Equal(stateLevel) && planLevel.ValueString() != vsphere.SharesCustom {
		resp.PlanValue = req.StateValue
		return
	}
	resp.PlanValue = types.Int64Unknown()
}

// omittedAllocation plans the vSphere defaults when cpu or memory is left out of the
// configuration. (A static object default cannot carry the share count vCenter computes, which
// would show a change on every plan.)
type omittedAllocation struct{}

func (omittedAllocation) Description(context.Context) string {
	return "defaults to no reservation, no limit, expandable, normal shares"
}
func (m omittedAllocation) MarkdownDescription(ctx context.Context) string { return m.Description(ctx) }

func (omittedAllocation) PlanModifyObject(ctx context.Context, req planmodifier.ObjectRequest, resp *planmodifier.ObjectResponse) {
	if !req.ConfigValue.IsNull() || req.Plan.Raw.IsNull() {
		return
	}
	def := defaultAllocationObject()
	attrs := def.Attributes()
	attrs["shares"] = types.Int64Unknown()
	if !req.StateValue.IsNull() && !req.StateValue.IsUnknown() {
		var old allocationModel
		resp.Diagnostics.Append(req.StateValue.As(ctx, &old, basetypes.ObjectAsOptions{})...)
		if old.SharesLevel.ValueString() == defaultShares {
			attrs["shares"] = old.Shares
		}
	}
	obj, diags := types.ObjectValue(allocationAttrTypes, attrs)
	resp.Diagnostics.Append(diags...)
	resp.PlanValue = obj
}

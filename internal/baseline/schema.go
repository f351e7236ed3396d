package baseline

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
)

// Mode says whether a baseline changes VMs.
type Mode string

const (
	// ModeAudit reports drift and never changes a VM.
	ModeAudit Mode = "audit"
	// ModeEnforce remediates drift at apply.
	ModeEnforce Mode = "enforce"
)

// MaxBaselineNameLength bounds a baseline's name: it is part of an extraConfig key and a tag.
const MaxBaselineNameLength = 64

func (r *baselineResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Version: 0,
		MarkdownDescription: "A configuration baseline: the settings every VM in `scope` must keep (advanced settings in " +
			"`extraConfig`, and typed flags such as secure boot or encrypted vMotion), from built-in packs such as `scg-8` " +
			"(the vSphere 8 Security Configuration Guide) and explicit settings over them. The scope is resolved live at " +
			"every plan, and every VM in it is judged in bulk; drift shows as a change on the baseline, with who changed " +
			"the setting and when (from vCenter's events), so that `terraform plan -detailed-exitcode` exits 2 when any VM " +
			"drifted. `enforce` remediates at apply (one reconfiguration per VM, several at a time); `audit` never changes " +
			"a VM. With `target = \"host\"` the same resource checks and enforces ESXi advanced options on the hosts in " +
			"`hosts` (a cluster, a tag), with the `scg-8-host` pack; a host that joins the cluster is picked up by the next " +
			"plan. Import by name.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The baseline's name.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "Name of the baseline, unique in the datacenter. Changing it replaces the baseline.",
				Required:            true,
				Validators:          []validator.String{framework.Name(MaxBaselineNameLength)},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"description": schema.StringAttribute{
				MarkdownDescription: "What the baseline is for. Defaults to empty.",
				Optional:            true, Computed: true, Default: stringdefault.StaticString(""),
				Validators: []validator.String{stringvalidator.LengthAtMost(1024)},
			},
			"target": schema.StringAttribute{
				MarkdownDescription: "What the baseline judges: `vm` (the default), the VMs in `scope`, by their advanced settings " +
					"(extraConfig) and typed flags; or `host`, the ESXi hosts in `hosts`, by their advanced options (the host's " +
					"OptionManager). Changing it replaces the baseline.",
				Optional: true, Computed: true, Default: stringdefault.StaticString(TargetVM),
				Validators:    []validator.String{stringvalidator.OneOf(Targets()...)},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"mode": schema.StringAttribute{
				MarkdownDescription: "`audit` (the default) reports drift and never changes a VM; `enforce` remediates it at apply.",
				Optional:            true, Computed: true, Default: stringdefault.StaticString(string(ModeAudit)),
				Validators: []validator.String{stringvalidator.OneOf(string(ModeAudit), string(ModeEnforce))},
			},
			"packs": schema.ListAttribute{
				ElementType: types.StringType, Optional: true, MarkdownDescription: packsDescription, Validators: packsValidators(),
			},
			"settings": schema.ListNestedAttribute{
				MarkdownDescription: settingsDescription,
				Optional:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"key":   schema.StringAttribute{Required: true, MarkdownDescription: settingKeyDescription, Validators: settingKeyValidators()},
					"value": schema.StringAttribute{Optional: true, MarkdownDescription: settingValueDescription, Validators: settingValueValidators()},
					"match": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(string(MatchExact)),
						MarkdownDescription: settingMatchDescription, Validators: settingMatchValidators()},
				}},
				Validators: settingsValidators(),
			},
			"allow_power_cycle": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "With `enforce`, power off the VMs whose drift needs it (secure boot, hardware version, hot add), " +
					"remediate and power them on again. Without it (the default) that drift is reported as needing a power cycle and left."},
			"rules_hash": schema.StringAttribute{Computed: true,
				MarkdownDescription: "Hash of the merged rules: an enforcing baseline stamps it on every VM it holds (extraConfig `vmgmt.baseline.<name>`)."},
			"scope_count":     schema.Int64Attribute{Computed: true, MarkdownDescription: "VMs (hosts) in scope."},
			"compliant_count": schema.Int64Attribute{Computed: true, MarkdownDescription: "VMs (hosts) in scope that keep every rule."},
			"drifted_count":   schema.Int64Attribute{Computed: true, MarkdownDescription: "VMs (hosts) in scope that break at least one rule."},
			"compliance":      complianceAttribute(),
			"host_compliance": hostComplianceAttribute(),
			"relaxed":         relaxedAttribute(),
		},
		Blocks: map[string]schema.Block{
			"scope": func() schema.SingleNestedBlock {
				b := framework.OptionalSelectionBlock()
				b.MarkdownDescription = "With `target = \"vm\"` (required then): " + b.MarkdownDescription
				return b
			}(),
			"hosts": func() schema.SingleNestedBlock {
				b := framework.HostSelectionBlock()
				b.MarkdownDescription = "With `target = \"host\"` (required then): " + b.MarkdownDescription
				return b
			}(),
		},
	}
	for name, f := range flagAttributes {
		resp.Schema.Attributes[name] = f.resourceAttribute()
	}
}

var driftAttrTypes = map[string]attr.Type{
	"key": types.StringType, "expected": types.StringType, "actual": types.StringType, "match": types.StringType,
	"source": types.StringType, "control": types.StringType, "needs_power_cycle": types.BoolType, "manual": types.BoolType,
	"changed_by": types.StringType, "changed_at": types.StringType,
}

var hostComplianceAttrTypes = map[string]attr.Type{
	"host_id": types.StringType, "host_name": types.StringType, "cluster": types.StringType,
	"drift": types.ListType{ElemType: types.ObjectType{AttrTypes: driftAttrTypes}},
}

var vmComplianceAttrTypes = map[string]attr.Type{
	"vm_id": types.StringType, "vm_name": types.StringType,
	"drift": types.ListType{ElemType: types.ObjectType{AttrTypes: driftAttrTypes}},
}

// The descriptions of the compliance attribute's fields, shared by the resource and the data source.
var (
	vmComplianceDocs = map[string]string{"vm_id": "Managed object ID of the VM.", "vm_name": "Name of the VM.", "drift": "The rules the VM breaks."}
	driftDocs        = map[string]string{
		"key":               "The extraConfig key, or the flag (`secure_boot`, `min_hardware_version`, …).",
		"expected":          "What the rule requires (`(absent)`: not set).",
		"actual":            "What the VM has (`(absent)`: not set).",
		"match":             "How the rule judges: exact, default_ok or absent.",
		"source":            "Where the rule comes from.",
		"control":           "The Security Configuration Guide control, when the rule comes from one.",
		"needs_power_cycle": "Remediating it needs the VM powered off.",
		"manual":            "vmgmt cannot remediate it.",
		"changed_by":        "Who last changed it (vCenter user), from the VM's events.",
		"changed_at":        "When (RFC 3339).",
	}
)

func driftAttributes() map[string]schema.Attribute {
	drift := map[string]schema.Attribute{}
	for name, t := range driftAttrTypes {
		if t == types.BoolType {
			drift[name] = schema.BoolAttribute{Computed: true, MarkdownDescription: driftDocs[name]}
		} else {
			drift[name] = schema.StringAttribute{Computed: true, MarkdownDescription: driftDocs[name]}
		}
	}
	return drift
}

// hostComplianceDescription describes host_compliance, in the resource and the data source.
const hostComplianceDescription = "With `target = \"host\"`: the hosts in scope that drifted, sorted by managed object ID, " +
	"each with the options it breaks (expected and actual value, source and control ID). An option the host does not have " +
	"reads `(no such option on this host)`; ESXi neither creates nor removes options, so that drift is `manual`. vCenter " +
	"records no event for an option change, so `changed_by` and `changed_at` are empty. Empty for a VM baseline."

var hostComplianceDocs = map[string]string{
	"host_id": "Managed object ID of the host.", "host_name": "Name of the host.", "cluster": "The host's cluster (empty for a standalone host).",
	"drift": "The rules the host breaks.",
}

func hostComplianceAttribute() schema.ListNestedAttribute {
	return schema.ListNestedAttribute{
		MarkdownDescription: hostComplianceDescription,
		Computed:            true,
		NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"host_id":   schema.StringAttribute{Computed: true, MarkdownDescription: hostComplianceDocs["host_id"]},
			"host_name": schema.StringAttribute{Computed: true, MarkdownDescription: hostComplianceDocs["host_name"]},
			"cluster":   schema.StringAttribute{Computed: true, MarkdownDescription: hostComplianceDocs["cluster"]},
			"drift": schema.ListNestedAttribute{Computed: true, MarkdownDescription: hostComplianceDocs["drift"],
				NestedObject: schema.NestedAttributeObject{Attributes: driftAttributes()}},
		}},
	}
}

func complianceAttribute() schema.ListNestedAttribute {
	drift := driftAttributes()
	return schema.ListNestedAttribute{
		MarkdownDescription: "The VMs in scope that drifted, each with the settings it breaks: expected and actual value, the " +
			"rule's source (`explicit`, `pack:<name>`, or `stamp`) and control ID, and who changed it and when (the latest " +
			"reconfiguration event that set it; empty when no event says). Empty for a host baseline (see `host_compliance`). After refresh it is what vCenter holds; at plan " +
			"time, for `enforce`, what will remain after apply (drift that needs a power cycle not allowed, or manual work).",
		Computed: true,
		NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"vm_id":   schema.StringAttribute{Computed: true, MarkdownDescription: vmComplianceDocs["vm_id"]},
			"vm_name": schema.StringAttribute{Computed: true, MarkdownDescription: vmComplianceDocs["vm_name"]},
			"drift": schema.ListNestedAttribute{Computed: true, MarkdownDescription: vmComplianceDocs["drift"],
				NestedObject: schema.NestedAttributeObject{Attributes: drift}},
		}},
	}
}

var relaxedAttrTypes = map[string]attr.Type{
	"key": types.StringType, "pack": types.StringType, "pack_value": types.StringType, "value": types.StringType, "control": types.StringType,
}

func relaxedAttribute() schema.ListNestedAttribute {
	str := func(d string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: d}
	}
	return schema.ListNestedAttribute{
		MarkdownDescription: "Explicit settings that relax a pack's: another value, a looser match, or a key the pack wants absent.",
		Computed:            true,
		NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"key": str("The key."), "pack": str("The pack."), "pack_value": str("What the pack requires."),
			"value": str("What the baseline requires instead."), "control": str("The pack's control ID."),
		}},
	}
}

type baselineModel struct {
	ID          types.String   `tfsdk:"id"`
	Name        types.String   `tfsdk:"name"`
	Description types.String   `tfsdk:"description"`
	Target      types.String   `tfsdk:"target"`
	Mode        types.String   `tfsdk:"mode"`
	Packs       types.List     `tfsdk:"packs"`
	Settings    []settingModel `tfsdk:"settings"`
	flagsModel
	AllowPowerCycle types.Bool                    `tfsdk:"allow_power_cycle"`
	RulesHash       types.String                  `tfsdk:"rules_hash"`
	ScopeCount      types.Int64                   `tfsdk:"scope_count"`
	CompliantCount  types.Int64                   `tfsdk:"compliant_count"`
	DriftedCount    types.Int64                   `tfsdk:"drifted_count"`
	Compliance      types.List                    `tfsdk:"compliance"`
	HostCompliance  types.List                    `tfsdk:"host_compliance"`
	Relaxed         types.List                    `tfsdk:"relaxed"`
	Scope           *framework.SelectionModel     `tfsdk:"scope"`
	Hosts           *framework.HostSelectionModel `tfsdk:"hosts"`

	// lists are the values of compliance and host_compliance once known (fill): set must put
	// them in place of the model's null lists.
	lists map[string]tftypes.Value
}

type settingModel struct {
	Key   types.String `tfsdk:"key"`
	Value types.String `tfsdk:"value"`
	Match types.String `tfsdk:"match"`
}

func quoted(list []string) string {
	out := ""
	for i, s := range list {
		if i > 0 {
			out += ", "
		}
		out += "`" + s + "`"
	}
	return out
}

// setState writes the model into a State (or, with plan, a Plan), with its compliance lists.
func (m *baselineModel) setState(ctx context.Context, st *tfsdk.State) diag.Diagnostics {
	return framework.SetWithLists(ctx, st.Set, &st.Raw, m, m.lists)
}

func (m *baselineModel) setPlan(ctx context.Context, p *tfsdk.Plan) diag.Diagnostics {
	return framework.SetWithLists(ctx, p.Set, &p.Raw, m, m.lists)
}

package baseline

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

var (
	_ datasource.DataSourceWithConfigure      = (*complianceDataSource)(nil)
	_ datasource.DataSourceWithValidateConfig = (*complianceDataSource)(nil)
)

// NewComplianceDataSource is the vmgmt_compliance data source: an auditor's read-only view of how
// any scope stands against any packs and settings, judged as a baseline would judge it, without
// managing anything.
func NewComplianceDataSource() datasource.DataSource {
	return &complianceDataSource{DataSourceBase: framework.DataSourceBase{TypeSuffix: "compliance"}}
}

type complianceDataSource struct {
	framework.DataSourceBase
}

// DataSources lists the data sources this package contributes to the provider.
func DataSources() []func() datasource.DataSource {
	return []func() datasource.DataSource{NewComplianceDataSource}
}

type complianceModel struct {
	Target   types.String                  `tfsdk:"target"`
	Scope    *framework.SelectionModel     `tfsdk:"scope"`
	Hosts    *framework.HostSelectionModel `tfsdk:"hosts"`
	Packs    types.List                    `tfsdk:"packs"`
	Settings []settingModel                `tfsdk:"settings"`
	flagsModel
	ScopeCount     types.Int64 `tfsdk:"scope_count"`
	CompliantCount types.Int64 `tfsdk:"compliant_count"`
	DriftedCount   types.Int64 `tfsdk:"drifted_count"`
	Compliance     types.List  `tfsdk:"compliance"`
	HostCompliance types.List  `tfsdk:"host_compliance"`
}

func (d *complianceDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	drift := map[string]schema.Attribute{}
	for name, t := range driftAttrTypes {
		if t == types.BoolType {
			drift[name] = schema.BoolAttribute{Computed: true, MarkdownDescription: driftDocs[name]}
		} else {
			drift[name] = schema.StringAttribute{Computed: true, MarkdownDescription: driftDocs[name]}
		}
	}
	// Each block is required only for its target: ValidateConfig.
	scope, hosts := framework.OptionalDataSourceSelectionBlock(), framework.DataSourceHostSelectionBlock()
	scope.MarkdownDescription = "With `target = \"vm\"` (required then): " + scope.MarkdownDescription
	hosts.MarkdownDescription = "With `target = \"host\"` (required then): " + hosts.MarkdownDescription
	resp.Schema = schema.Schema{
		MarkdownDescription: "How the VMs in `scope` stand against built-in setting packs such as `scg-8` (the vSphere 8 " +
			"Security Configuration Guide), explicit settings and typed flags, judged exactly as a `vmgmt_config_baseline` " +
			"in `audit` mode judges them, with who changed each drifted setting and when (from vCenter's events). It manages " +
			"nothing and changes nothing in vCenter: an auditor's read-only view of any scope against any pack. Unlike a " +
			"baseline it does not include the catalog VMs that name a baseline, and does not check a baseline's stamp.",
		Attributes: map[string]schema.Attribute{
			"target": schema.StringAttribute{Optional: true, Validators: []validator.String{stringvalidator.OneOf(Targets()...)},
				MarkdownDescription: "What is judged: `vm` (the default), the VMs in `scope`; or `host`, the ESXi hosts in `hosts`, " +
					"by their advanced options."},
			"packs": schema.ListAttribute{ElementType: types.StringType, Optional: true, Validators: packsValidators(),
				MarkdownDescription: "Built-in setting packs, merged in order; explicit `settings` and flags win over them. VM packs: " +
					quoted(PackNames(TargetVM)) + "; host packs: " + quoted(PackNames(TargetHost)) + "."},
			"settings": schema.ListNestedAttribute{
				MarkdownDescription: settingsDescription,
				Optional:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"key":   schema.StringAttribute{Required: true, MarkdownDescription: settingKeyDescription, Validators: settingKeyValidators()},
					"value": schema.StringAttribute{Optional: true, MarkdownDescription: settingValueDescription, Validators: settingValueValidators()},
					"match": schema.StringAttribute{Optional: true, MarkdownDescription: settingMatchDescription, Validators: settingMatchValidators()},
				}},
				Validators: settingsValidators(),
			},
			"scope_count":     schema.Int64Attribute{Computed: true, MarkdownDescription: "VMs in scope."},
			"compliant_count": schema.Int64Attribute{Computed: true, MarkdownDescription: "VMs in scope that keep every rule."},
			"drifted_count":   schema.Int64Attribute{Computed: true, MarkdownDescription: "VMs in scope that break at least one rule."},
			"host_compliance": schema.ListNestedAttribute{
				MarkdownDescription: hostComplianceDescription,
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"host_id":   schema.StringAttribute{Computed: true, MarkdownDescription: hostComplianceDocs["host_id"]},
					"host_name": schema.StringAttribute{Computed: true, MarkdownDescription: hostComplianceDocs["host_name"]},
					"cluster":   schema.StringAttribute{Computed: true, MarkdownDescription: hostComplianceDocs["cluster"]},
					"drift": schema.ListNestedAttribute{Computed: true, MarkdownDescription: hostComplianceDocs["drift"],
						NestedObject: schema.NestedAttributeObject{Attributes: drift}},
				}},
			},
			"compliance": schema.ListNestedAttribute{
				MarkdownDescription: "The VMs in scope that drifted, sorted by managed object ID, each with the rules it breaks: " +
					"expected and actual value, the rule's source (`explicit` or `pack:<name>`) and control ID, and who changed it " +
					"and when (the latest reconfiguration event that set it; empty when no event says).",
				Computed: true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"vm_id":   schema.StringAttribute{Computed: true, MarkdownDescription: vmComplianceDocs["vm_id"]},
					"vm_name": schema.StringAttribute{Computed: true, MarkdownDescription: vmComplianceDocs["vm_name"]},
					"drift": schema.ListNestedAttribute{Computed: true, MarkdownDescription: vmComplianceDocs["drift"],
						NestedObject: schema.NestedAttributeObject{Attributes: drift}},
				}},
			},
		},
		Blocks: map[string]schema.Block{"scope": scope, "hosts": hosts},
	}
	for name, f := range flagAttributes {
		resp.Schema.Attributes[name] = f.dataSourceAttribute()
	}
}

// ValidateConfig checks the rules as the baseline resource does (validateRules).
func (d *complianceDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	var m complianceModel
	if resp.Diagnostics.Append(req.Config.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	validateRules("compliance check", m.Settings, m.Packs, &m.flagsModel, &resp.Diagnostics)
	validateTarget(m.Target, m.Scope != nil, m.Hosts != nil, m.Packs, &m.flagsModel, &resp.Diagnostics)
}

// PolicyInventory implements framework.PolicyInventory: the same facts a baseline gives.
func (d *complianceDataSource) PolicyInventory() map[string]*policy.Schema {
	return (&baselineResource{}).PolicyInventory()
}

// Read judges the scope in bulk, as an auditing baseline without a name would: no catalog
// composition tag, no stamp, no conflicts with the baselines in vCenter. It only reads.
func (d *complianceDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	if !framework.RequireClient(d.Client, &resp.Diagnostics) {
		return
	}
	var m complianceModel
	if resp.Diagnostics.Append(req.Config.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	at := path.Root("scope")
	in := &input{Mode: ModeAudit, Target: m.Target.ValueString()}
	var known bool
	var diags diag.Diagnostics
	if in.hostTarget() {
		at = path.Root("hosts")
		in.Hosts, known, diags = m.Hosts.ToHostScope(ctx, at)
	} else {
		in.Scope, known, diags = m.Scope.ToSelection(ctx, at)
	}
	resp.Diagnostics.Append(diags...)
	if m.Packs.IsUnknown() {
		known = false
	} else if !m.Packs.IsNull() {
		resp.Diagnostics.Append(m.Packs.ElementsAs(ctx, &in.Packs, false)...)
	}
	in.Settings = settingsInput(m.Settings, &known)
	in.Flags = m.flags(&known)
	if resp.Diagnostics.HasError() {
		return
	}
	if !known {
		resp.Diagnostics.AddError("Compliance check not known",
			"The scope, packs, settings or flags have values that are known only after apply; the compliance check needs them to judge the VMs.")
		return
	}
	rs := in.rules()
	ev, err := evaluate(ctx, d.Client.VSphere, in, rs, nil)
	switch {
	case err != nil && vsphere.IsNotFound(err):
		resp.Diagnostics.AddAttributeError(at, "Scope names an object that does not exist", fmt.Sprintf(
			"Attribute %s: %v. Name folders and pools by managed object ID or inventory path (absolute, or relative to the "+
				"datacenter's VM or host folder).", at, err))
		return
	case err != nil:
		framework.AddVSphereError(&resp.Diagnostics, "Cannot judge the compliance of the scope", err)
		return
	}
	// The read goes through the policy gate too: rules may restrict who reads compliance reports.
	var facts map[string]any
	if d.Client.Policy != nil {
		if facts, err = factsOf(ctx, d.Client.VSphere, rs, ev); err != nil {
			framework.AddVSphereError(&resp.Diagnostics, "Cannot read the tags of the VMs in scope for the policy gate", err)
			return
		}
	}
	resp.Diagnostics.Append(d.GateRead(ctx, req, "compliance", facts)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m.ScopeCount = types.Int64Value(int64(ev.count()))
	m.DriftedCount = types.Int64Value(int64(len(ev.drifted)))
	m.CompliantCount = types.Int64Value(int64(ev.count() - len(ev.drifted)))
	m.Compliance, m.HostCompliance = nullCompliance()
	resp.Diagnostics.Append(framework.SetWithLists(ctx, resp.State.Set, &resp.State.Raw, &m, complianceLists(ev.target, ev.drifted))...)
}

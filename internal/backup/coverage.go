package backup

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/points"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

var _ datasource.DataSourceWithConfigure = (*coverageDataSource)(nil)

// NewCoverageDataSource is the vmgmt_protection_coverage data source: for a scope of VMs, those no
// enabled backup job protects, those whose newest restore point is older than their schedule
// allows, and those with no verified point, computed at plan time.
func NewCoverageDataSource() datasource.DataSource {
	return &coverageDataSource{DataSourceBase: framework.DataSourceBase{TypeSuffix: "protection_coverage"}}
}

type coverageDataSource struct {
	framework.DataSourceBase
}

// defaultGraceMinutes is how long past a schedule's longest gap a point still counts as fresh:
// the time a run takes.
const defaultGraceMinutes = 60

type coverageModel struct {
	Scope          *framework.SelectionModel `tfsdk:"scope"`
	GraceMinutes   types.Int64               `tfsdk:"grace_minutes"`
	ScopeCount     types.Int64               `tfsdk:"scope_count"`
	UnprotectedCnt types.Int64               `tfsdk:"unprotected_count"`
	StaleCnt       types.Int64               `tfsdk:"stale_count"`
	UnverifiedCnt  types.Int64               `tfsdk:"unverified_count"`
	Unprotected    types.List                `tfsdk:"unprotected"`
	Stale          types.List                `tfsdk:"stale"`
	Unverified     types.List                `tfsdk:"unverified"`
}

var coveredAttrTypes = map[string]attr.Type{
	"vm_id": types.StringType, "vm_name": types.StringType, "jobs": types.ListType{ElemType: types.StringType},
	"newest_point": types.StringType, "allowed_minutes": types.Int64Type,
}

var coveredDocs = map[string]string{
	"vm_id":           "The VM's managed object ID.",
	"vm_name":         "The VM's name.",
	"jobs":            "The enabled jobs that protect it (empty when none does).",
	"newest_point":    "When its newest complete restore point was taken, over those jobs (RFC 3339); null when it has none.",
	"allowed_minutes": "The longest its schedules allow between points, with `grace_minutes` (the shortest over its jobs); null when no job protects it.",
}

func (d *coverageDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	vm := map[string]schema.Attribute{}
	for name, t := range coveredAttrTypes {
		switch t {
		case types.Int64Type:
			vm[name] = schema.Int64Attribute{Computed: true, MarkdownDescription: coveredDocs[name]}
		case types.StringType:
			vm[name] = schema.StringAttribute{Computed: true, MarkdownDescription: coveredDocs[name]}
		default:
			vm[name] = schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: coveredDocs[name]}
		}
	}
	list := func(doc string) schema.ListNestedAttribute {
		return schema.ListNestedAttribute{Computed: true, MarkdownDescription: doc, NestedObject: schema.NestedAttributeObject{Attributes: vm}}
	}
	scope := framework.DataSourceSelectionBlock()
	scope.MarkdownDescription = "The VMs judged (templates left out): " + scope.MarkdownDescription
	resp.Schema = schema.Schema{
		MarkdownDescription: "How a scope of VMs is protected by the enabled `vmgmt_backup_job`s, read at plan time from vCenter " +
			"(the jobs' definitions and selections, resolved together) and the jobs' repositories: the VMs no enabled job " +
			"protects, the VMs whose newest restore point is older than their schedule allows (its longest gap between " +
			"runs, plus `grace_minutes`), and the VMs with no verified restore point (one a restore test proved good). " +
			"`terraform plan` in CI then shows unprotected business-critical VMs, and a `check` block or a policy can fail on them.",
		Attributes: map[string]schema.Attribute{
			"grace_minutes": schema.Int64Attribute{Optional: true, CustomType: framework.Int64Type{},
				Validators:          []validator.Int64{framework.Int64Between(0, 7*24*60)},
				MarkdownDescription: "How long past a schedule's longest gap a point still counts as fresh, for the time a run takes (default 60)."},
			"scope_count":       schema.Int64Attribute{Computed: true, MarkdownDescription: "VMs in the scope."},
			"unprotected_count": schema.Int64Attribute{Computed: true, MarkdownDescription: "VMs no enabled job protects."},
			"stale_count":       schema.Int64Attribute{Computed: true, MarkdownDescription: "Protected VMs whose newest point is too old, or that have none."},
			"unverified_count":  schema.Int64Attribute{Computed: true, MarkdownDescription: "Protected VMs with no verified point."},
			"unprotected":       list("The VMs of the scope that no enabled job protects, by VM ID."),
			"stale":             list("The protected VMs whose newest point is older than `allowed_minutes`, or that have none, by VM ID."),
			"unverified":        list("The protected VMs with no point a restore test proved good, by VM ID."),
		},
		Blocks: map[string]schema.Block{"scope": scope},
	}
}

func (d *coverageDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	if !framework.RequireClient(d.Client, &resp.Diagnostics) {
		return
	}
	var m coverageModel
	if resp.Diagnostics.Append(req.Config.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	sel, known, diags := m.Scope.ToSelection(ctx, path.Root("scope"))
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	if !known {
		resp.Diagnostics.AddError("Protection coverage not known", "The scope is not known yet: give it values known at plan time.")
		return
	}
	grace := int64(defaultGraceMinutes)
	if !m.GraceMinutes.IsNull() {
		grace = m.GraceMinutes.ValueInt64()
	}
	cov, err := points.CoverageOf(ctx, d.Client.VSphere, sel, time.Now(), time.Duration(grace)*time.Minute)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot judge the protection coverage of the scope", err)
		return
	}
	// The read goes through the policy gate with what it found: the backup pack refuses a plan
	// while business-critical VMs are unprotected.
	var facts map[string]any
	if d.Client.Policy != nil {
		if facts, err = coverageFacts(ctx, d.Client.VSphere, cov); err != nil {
			framework.AddVSphereError(&resp.Diagnostics, "Cannot read the tags of the VMs for the policy gate", err)
			return
		}
	}
	resp.Diagnostics.Append(d.GateRead(ctx, req, "protection coverage", facts)...)
	if resp.Diagnostics.HasError() {
		return
	}
	for _, err := range cov.Unreadable {
		resp.Diagnostics.AddWarning("Restore points not readable",
			err.Error()+"\n\nIts VMs count as having no restore point (stale and unverified) until the repository can be read.")
	}
	m.ScopeCount = types.Int64Value(int64(cov.VMs))
	m.UnprotectedCnt, m.StaleCnt, m.UnverifiedCnt = types.Int64Value(int64(len(cov.Unprotected))),
		types.Int64Value(int64(len(cov.Stale))), types.Int64Value(int64(len(cov.Unverified)))
	for _, l := range []struct {
		vms []points.CoveredVM
		to  *types.List
	}{{cov.Unprotected, &m.Unprotected}, {cov.Stale, &m.Stale}, {cov.Unverified, &m.Unverified}} {
		*l.to, diags = coveredList(ctx, l.vms)
		if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
			return
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// PolicyInventory implements framework.PolicyInventory: the coverage's lists, with the VMs' tags.
func (d *coverageDataSource) PolicyInventory() map[string]*policy.Schema {
	vms := func(doc string) *policy.Schema {
		return policy.Array(doc, policy.Object("One VM.", map[string]*policy.Schema{
			"id":   policy.String("Managed object ID of the VM."),
			"name": policy.String("Name of the VM."),
			"tags": policy.Array("The VM's tags, as category/name.", policy.String("")),
			"jobs": policy.Array("The enabled jobs that protect it.", policy.String("")),
		}))
	}
	return map[string]*policy.Schema{
		"unprotected": vms("The VMs of the scope that no enabled backup job protects, by ID."),
		"stale":       vms("The protected VMs whose newest restore point is older than their schedule allows, or that have none, by ID."),
		"unverified":  vms("The protected VMs with no restore point a restore test proved good, by ID."),
	}
}

// coverageFacts are the coverage's lists for the policy gate, each VM with its tags (one vAPI
// call for all of them).
func coverageFacts(ctx context.Context, c *vsphere.Client, cov points.Coverage) (map[string]any, error) {
	var ids []string
	for _, l := range [][]points.CoveredVM{cov.Unprotected, cov.Stale, cov.Unverified} {
		for _, v := range l {
			ids = append(ids, v.ID)
		}
	}
	tags, err := c.AttachedTags(ctx, ids)
	if err != nil {
		return nil, err
	}
	list := func(vms []points.CoveredVM) []any {
		out := make([]any, 0, len(vms))
		for _, v := range vms {
			vt := make([]any, 0, len(tags[v.ID]))
			for _, t := range tags[v.ID] {
				vt = append(vt, t.String())
			}
			jobs := make([]any, 0, len(v.Jobs))
			for _, j := range v.Jobs {
				jobs = append(jobs, j)
			}
			out = append(out, map[string]any{"id": v.ID, "name": v.Name, "tags": vt, "jobs": jobs})
		}
		return out
	}
	return map[string]any{"unprotected": list(cov.Unprotected), "stale": list(cov.Stale), "unverified": list(cov.Unverified)}, nil
}

// coveredList is a coverage list as the schema's list of objects.
func coveredList(ctx context.Context, vms []points.CoveredVM) (types.List, diag.Diagnostics) {
	var all diag.Diagnostics
	elems := make([]attr.Value, 0, len(vms))
	for _, v := range vms {
		jobs, diags := types.ListValueFrom(ctx, types.StringType, append([]string{}, v.Jobs...))
		all.Append(diags...)
		newest, allowed := types.StringNull(), types.Int64Null()
		if !v.Newest.IsZero() {
			newest = types.StringValue(v.Newest.UTC().Format(time.RFC3339))
		}
		if v.Allowed > 0 {
			allowed = types.Int64Value(int64(v.Allowed / time.Minute))
		}
		obj, diags := types.ObjectValue(coveredAttrTypes, map[string]attr.Value{
			"vm_id": types.StringValue(v.ID), "vm_name": types.StringValue(v.Name), "jobs": jobs,
			"newest_point": newest, "allowed_minutes": allowed,
		})
		all.Append(diags...)
		elems = append(elems, obj)
	}
	l, diags := types.ListValue(types.ObjectType{AttrTypes: coveredAttrTypes}, elems)
	all.Append(diags...)
	return l, all
}

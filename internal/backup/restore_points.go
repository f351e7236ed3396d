package backup

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/points"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
)

var _ datasource.DataSourceWithConfigure = (*restorePointsDataSource)(nil)

// NewRestorePointsDataSource is the vmgmt_restore_points data source: the complete restore points
// of a job, of a VM, or of a VM in a job, read from the jobs' repositories (the definitions from
// vCenter), as `backup list` shows them.
func NewRestorePointsDataSource() datasource.DataSource {
	return &restorePointsDataSource{DataSourceBase: framework.DataSourceBase{TypeSuffix: "restore_points"}}
}

type restorePointsDataSource struct {
	framework.DataSourceBase
}

type restorePointsModel struct {
	Job    types.String `tfsdk:"job"`
	VM     types.String `tfsdk:"vm"`
	Count  types.Int64  `tfsdk:"point_count"`
	Points types.List   `tfsdk:"restore_points"`
}

// vmNameMaxLength is vCenter's limit on an inventory name.
const vmNameMaxLength = 80

// pointAttrTypes are the attributes of one listed point.
var pointAttrTypes = map[string]attr.Type{
	"id": types.StringType, "job": types.StringType, "vm": types.StringType, "vm_id": types.StringType,
	"host": types.StringType, "time": types.StringType, "bytes": types.Int64Type, "disks": types.Int64Type,
	"consistency": types.StringType, "verified": types.BoolType, "verified_at": types.StringType,
	"recovery_seconds": types.Float64Type,
}

var pointDocs = map[string]string{
	"id":               "The point's ID: its creation time (UTC), then a random part, as in the repository's layout.",
	"job":              "The job whose repository holds it.",
	"vm":               "The VM's name when the point was taken (empty for a host configuration point).",
	"vm_id":            "The VM's managed object ID when the point was taken.",
	"host":             "The host's name, for a host configuration point.",
	"time":             "When the point was taken (RFC 3339, UTC).",
	"bytes":            "The point's data files, in bytes.",
	"disks":            "The VM's disks in the point.",
	"consistency":      "`crash` or `quiesced`.",
	"verified":         "Whether the point's latest restore test passed.",
	"verified_at":      "When that test ran (RFC 3339); null when the point was never tested.",
	"recovery_seconds": "The recovery time that test measured, in seconds; null when the point was never tested.",
}

func (d *restorePointsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	point := map[string]schema.Attribute{}
	for name, t := range pointAttrTypes {
		switch t {
		case types.Int64Type:
			point[name] = schema.Int64Attribute{Computed: true, MarkdownDescription: pointDocs[name]}
		case types.BoolType:
			point[name] = schema.BoolAttribute{Computed: true, MarkdownDescription: pointDocs[name]}
		case types.Float64Type:
			point[name] = schema.Float64Attribute{Computed: true, MarkdownDescription: pointDocs[name]}
		default:
			point[name] = schema.StringAttribute{Computed: true, MarkdownDescription: pointDocs[name]}
		}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The complete restore points of a `vmgmt_backup_job`, of a VM in every job, or of a VM in one " +
			"job, read from the jobs' repositories (the job definitions from vCenter), as `terraform-provider-vmgmt backup " +
			"list` shows them: a job's VMs by name, then its hosts, each newest first. A VM that left the job's selection, or " +
			"was deleted, keeps its points listed. Partial points (no manifest) are never listed. The repository's " +
			"credentials come from the environment, as for the runner.",
		Attributes: map[string]schema.Attribute{
			"job": schema.StringAttribute{Optional: true, MarkdownDescription: "Only this job's points. The job must exist in vCenter.",
				Validators: []validator.String{framework.Name(MaxJobNameLength)}},
			"vm": schema.StringAttribute{Optional: true, MarkdownDescription: "Only the points of the VM of this name (in every job, or in `job`).",
				Validators: []validator.String{framework.Name(vmNameMaxLength)}},
			"point_count": schema.Int64Attribute{Computed: true, MarkdownDescription: "How many points are listed."},
			"restore_points": schema.ListNestedAttribute{Computed: true, MarkdownDescription: "The points.",
				NestedObject: schema.NestedAttributeObject{Attributes: point}},
		},
	}
}

func (d *restorePointsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	if !framework.RequireClient(d.Client, &resp.Diagnostics) {
		return
	}
	var m restorePointsModel
	if resp.Diagnostics.Append(req.Config.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	// The read goes through the policy gate: rules may restrict who lists restore points.
	resp.Diagnostics.Append(d.GateRead(ctx, req, "restore points", nil)...)
	if resp.Diagnostics.HasError() {
		return
	}
	listing, err := points.List(ctx, d.Client.VSphere, points.ListOptions{Job: m.Job.ValueString(), VM: m.VM.ValueString()})
	if err == nil {
		err = errors.Join(listing.Errs...)
	}
	if err != nil {
		resp.Diagnostics.AddError("Restore points not readable", err.Error())
		return
	}
	objType := types.ObjectType{AttrTypes: pointAttrTypes}
	elems := make([]attr.Value, 0, len(listing.Points))
	for _, p := range listing.Points {
		verifiedAt, recovery := types.StringNull(), types.Float64Null()
		if p.VerifiedAt != nil {
			verifiedAt = types.StringValue(p.VerifiedAt.UTC().Format(time.RFC3339))
		}
		if p.RecoverySeconds != nil {
			recovery = types.Float64Value(*p.RecoverySeconds)
		}
		obj, diags := types.ObjectValue(pointAttrTypes, map[string]attr.Value{
			"id": types.StringValue(p.ID), "job": types.StringValue(p.Job), "vm": types.StringValue(p.VM),
			"vm_id": types.StringValue(p.VMID), "host": types.StringValue(p.Host),
			"time": types.StringValue(p.Time.UTC().Format(time.RFC3339)), "bytes": types.Int64Value(p.Bytes),
			"disks": types.Int64Value(int64(p.Disks)), "consistency": types.StringValue(p.Consistency),
			"verified": types.BoolValue(p.Verified), "verified_at": verifiedAt, "recovery_seconds": recovery,
		})
		if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
			return
		}
		elems = append(elems, obj)
	}
	list, diags := types.ListValue(objType, elems)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	m.Points, m.Count = list, types.Int64Value(int64(len(elems)))
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

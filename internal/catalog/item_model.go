package catalog

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
)

// itemModel is the Terraform state of a catalog item.
type itemModel struct {
	ID                  types.String   `tfsdk:"id"`
	Name                types.String   `tfsdk:"name"`
	Version             types.String   `tfsdk:"version"`
	Description         types.String   `tfsdk:"description"`
	Template            types.String   `tfsdk:"template"`
	TemplateID          types.String   `tfsdk:"template_id"`
	TemplateType        types.String   `tfsdk:"template_type"`
	Sizes               types.Map      `tfsdk:"sizes"`
	AllowedFolders      []types.String `tfsdk:"allowed_folders"`
	AllowedNetworks     []types.String `tfsdk:"allowed_networks"`
	EntitledGroups      []types.String `tfsdk:"entitled_groups"`
	Quota               types.Map      `tfsdk:"quota"`
	Lease               types.Object   `tfsdk:"lease"`
	CapacityReservation types.String   `tfsdk:"capacity_reservation"`
	ConfigBaseline      types.String   `tfsdk:"config_baseline"`
	SecurityGroup       types.String   `tfsdk:"security_group"`
	BackupJob           types.String   `tfsdk:"backup_job"`
}

type sizeModel struct {
	CPUs     types.Int64 `tfsdk:"cpus"`
	MemoryMB types.Int64 `tfsdk:"memory_mb"`
	DiskGB   types.Int64 `tfsdk:"disk_gb"`
}

type quotaModel struct {
	Instances types.Int64 `tfsdk:"instances"`
	CPUs      types.Int64 `tfsdk:"cpus"`
	MemoryMB  types.Int64 `tfsdk:"memory_mb"`
}

type leaseModel struct {
	DefaultDays types.Int64 `tfsdk:"default_days"`
	MaxDays     types.Int64 `tfsdk:"max_days"`
	GraceDays   types.Int64 `tfsdk:"grace_days"`
}

var (
	sizeAttrTypes  = map[string]attr.Type{"cpus": framework.Int64Type{}, "memory_mb": framework.Int64Type{}, "disk_gb": framework.Int64Type{}}
	quotaAttrTypes = map[string]attr.Type{"instances": framework.Int64Type{}, "cpus": framework.Int64Type{}, "memory_mb": framework.Int64Type{}}
)

func leaseFrom(ctx context.Context, obj types.Object, diags *diag.Diagnostics) (Lease, bool) {
	if obj.IsNull() || obj.IsUnknown() {
		return Lease{DefaultDays: defaultLeaseDays, MaxDays: defaultMaxDays, GraceDays: defaultGraceDays}, !obj.IsUnknown()
	}
	var m leaseModel
	diags.Append(obj.As(ctx, &m, basetypes.ObjectAsOptions{})...)
	if m.DefaultDays.IsUnknown() || m.MaxDays.IsUnknown() || m.GraceDays.IsUnknown() {
		return Lease{}, false
	}
	l := Lease{DefaultDays: defaultLeaseDays, MaxDays: defaultMaxDays, GraceDays: defaultGraceDays}
	if !m.DefaultDays.IsNull() {
		l.DefaultDays = m.DefaultDays.ValueInt64()
	}
	if !m.MaxDays.IsNull() {
		l.MaxDays = m.MaxDays.ValueInt64()
	}
	if !m.GraceDays.IsNull() {
		l.GraceDays = m.GraceDays.ValueInt64()
	}
	return l, true
}

func stringValues(l []types.String) []string {
	if len(l) == 0 {
		return nil
	}
	out := make([]string, 0, len(l))
	for _, s := range l {
		out = append(out, s.ValueString())
	}
	return out
}

// definition builds what is stored on the template from a known plan.
func (m *itemModel) definition(ctx context.Context, diags *diag.Diagnostics) (Definition, bool) {
	d := Definition{
		Name: m.Name.ValueString(), Version: m.Version.ValueString(), Description: m.Description.ValueString(),
		AllowedFolders: stringValues(m.AllowedFolders), AllowedNetworks: stringValues(m.AllowedNetworks), EntitledGroups: stringValues(m.EntitledGroups),
		CapacityReservation: m.CapacityReservation.ValueString(), ConfigBaseline: m.ConfigBaseline.ValueString(),
		SecurityGroup: m.SecurityGroup.ValueString(), BackupJob: m.BackupJob.ValueString(),
		Sizes: map[string]Size{},
	}
	var sizes map[string]sizeModel
	diags.Append(m.Sizes.ElementsAs(ctx, &sizes, false)...)
	for name, s := range sizes {
		d.Sizes[name] = Size{CPUs: int32(s.CPUs.ValueInt64()), MemoryMB: s.MemoryMB.ValueInt64(), DiskGB: s.DiskGB.ValueInt64()}
	}
	if !m.Quota.IsNull() {
		var quota map[string]quotaModel
		diags.Append(m.Quota.ElementsAs(ctx, &quota, false)...)
		d.Quota = map[string]Quota{}
		for g, q := range quota {
			d.Quota[g] = Quota{Instances: q.Instances.ValueInt64(), CPUs: q.CPUs.ValueInt64(), MemoryMB: q.MemoryMB.ValueInt64()}
		}
	}
	l, ok := leaseFrom(ctx, m.Lease, diags)
	if !ok {
		diags.AddError("Incomplete lease", "lease must be known before the item is published.")
	}
	d.Lease = l
	return d, !diags.HasError()
}

// fill copies a published item into the state, keeping the user's spelling where it still means
// the same thing (the template path vs ID, empty vs unset lists).
func (m *itemModel) fill(it *Item) {
	d := it.Definition
	m.ID = types.StringValue(d.Name)
	m.Name = types.StringValue(d.Name)
	m.Version = types.StringValue(d.Version)
	m.Description = optString(m.Description, d.Description)
	if m.Template.IsNull() || m.TemplateID.ValueString() != it.TemplateID {
		m.Template = types.StringValue(it.TemplatePath)
	}
	m.TemplateID = types.StringValue(it.TemplateID)
	m.TemplateType = types.StringValue(it.TemplateType())
	sizes := map[string]attr.Value{}
	for name, s := range d.Sizes {
		sizes[name] = types.ObjectValueMust(sizeAttrTypes, map[string]attr.Value{
			"cpus": types.Int64Value(int64(s.CPUs)), "memory_mb": types.Int64Value(s.MemoryMB), "disk_gb": types.Int64Value(s.DiskGB),
		})
	}
	m.Sizes = types.MapValueMust(types.ObjectType{AttrTypes: sizeAttrTypes}, sizes)
	m.AllowedFolders = optList(m.AllowedFolders, d.AllowedFolders)
	m.AllowedNetworks = optList(m.AllowedNetworks, d.AllowedNetworks)
	m.EntitledGroups = optList(m.EntitledGroups, d.EntitledGroups)
	if len(d.Quota) == 0 && m.Quota.IsNull() {
		m.Quota = types.MapNull(types.ObjectType{AttrTypes: quotaAttrTypes})
	} else {
		q := map[string]attr.Value{}
		for g, v := range d.Quota {
			q[g] = types.ObjectValueMust(quotaAttrTypes, map[string]attr.Value{
				"instances": optInt(v.Instances), "cpus": optInt(v.CPUs), "memory_mb": optInt(v.MemoryMB),
			})
		}
		m.Quota = types.MapValueMust(types.ObjectType{AttrTypes: quotaAttrTypes}, q)
	}
	m.Lease = types.ObjectValueMust(leaseAttrTypes, map[string]attr.Value{
		"default_days": types.Int64Value(d.Lease.DefaultDays), "max_days": types.Int64Value(d.Lease.MaxDays), "grace_days": types.Int64Value(d.Lease.GraceDays),
	})
	m.CapacityReservation = optString(m.CapacityReservation, d.CapacityReservation)
	m.ConfigBaseline = optString(m.ConfigBaseline, d.ConfigBaseline)
	m.SecurityGroup = optString(m.SecurityGroup, d.SecurityGroup)
	m.BackupJob = optString(m.BackupJob, d.BackupJob)
}

func optString(prev types.String, v string) types.String {
	if v == "" && (prev.IsNull() || prev.ValueString() == "") {
		return prev
	}
	return types.StringValue(v)
}

func optInt(v int64) types.Int64 {
	if v == 0 {
		return types.Int64Null()
	}
	return types.Int64Value(v)
}

func optList(prev []types.String, v []string) []types.String {
	if len(v) == 0 && len(prev) == 0 {
		return prev
	}
	out := make([]types.String, 0, len(v))
	for _, s := range v {
		out = append(out, types.StringValue(s))
	}
	return out
}

// library says the state's template is a content library item (a state without template_type
// holds a template VM).
func (m *itemModel) library() bool { return m.TemplateType.ValueString() == templateTypeLibrary }

package capacity

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

var (
	_ datasource.DataSourceWithConfigure        = (*capacityDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*capacityDataSource)(nil)
)

// NewCapacityDataSource is the vmgmt_capacity data source.
func NewCapacityDataSource() datasource.DataSource {
	return &capacityDataSource{DataSourceBase: framework.DataSourceBase{TypeSuffix: "capacity"}}
}

type capacityDataSource struct {
	framework.DataSourceBase
}

var childAttrTypes = map[string]attr.Type{
	"id":                    types.StringType,
	"name":                  types.StringType,
	"cpu_reservation_mhz":   types.Int64Type,
	"memory_reservation_mb": types.Int64Type,
}

func (d *capacityDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Capacity, reservations and unreserved headroom of a cluster or resource pool (CPU in MHz, memory in MB), " +
			"read in one vCenter round trip (plus one lookup when addressed by path). For a cluster, capacity is the cluster's total; " +
			"for a pool, its own reservation. Reserved is what its child pools and VMs reserve.",
		Attributes: map[string]schema.Attribute{
			"path": schema.StringAttribute{
				MarkdownDescription: "Inventory path of a cluster (`/dc1/host/prod`) or resource pool, absolute or relative to the datacenter's host folder. Exactly one of `path` and `id`.",
				Optional:            true,
				Validators:          []validator.String{framework.InventoryPath()},
			},
			"id": schema.StringAttribute{
				MarkdownDescription: "Managed object ID of the pool (`resgroup-42`) or cluster (`domain-c7`). Exactly one of `path` and `id`; when `path` is given, this is set to the ID of the pool it resolves to (a cluster's root pool).",
				Optional:            true,
				Computed:            true,
				Validators:          []validator.String{framework.InventoryPath()},
			},
			"name":                 schema.StringAttribute{MarkdownDescription: "Name of the pool (`Resources` for a cluster's root pool).", Computed: true},
			"kind":                 schema.StringAttribute{MarkdownDescription: "`cluster` for a cluster's root pool, `pool` otherwise.", Computed: true},
			"cpu_capacity_mhz":     schema.Int64Attribute{MarkdownDescription: "CPU the cluster or pool can hand out, in MHz.", Computed: true},
			"cpu_reserved_mhz":     schema.Int64Attribute{MarkdownDescription: "CPU reserved by child pools and VMs, in MHz.", Computed: true},
			"cpu_unreserved_mhz":   schema.Int64Attribute{MarkdownDescription: "CPU still free to reserve, in MHz.", Computed: true},
			"cpu_expandable":       schema.BoolAttribute{MarkdownDescription: "Whether the pool may borrow CPU from its parent (always false for a cluster).", Computed: true},
			"memory_capacity_mb":   schema.Int64Attribute{MarkdownDescription: "Memory the cluster or pool can hand out, in MB.", Computed: true},
			"memory_reserved_mb":   schema.Int64Attribute{MarkdownDescription: "Memory reserved by child pools and VMs, in MB.", Computed: true},
			"memory_unreserved_mb": schema.Int64Attribute{MarkdownDescription: "Memory still free to reserve, in MB.", Computed: true},
			"memory_expandable":    schema.BoolAttribute{MarkdownDescription: "Whether the pool may borrow memory from its parent (always false for a cluster).", Computed: true},
			"vm_count":             schema.Int64Attribute{MarkdownDescription: "Number of VMs directly in the pool.", Computed: true},
			"children": schema.ListNestedAttribute{
				MarkdownDescription: "Child pools, by name.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"id":                    schema.StringAttribute{MarkdownDescription: "Managed object ID.", Computed: true},
					"name":                  schema.StringAttribute{MarkdownDescription: "Name.", Computed: true},
					"cpu_reservation_mhz":   schema.Int64Attribute{MarkdownDescription: "CPU reservation in MHz.", Computed: true},
					"memory_reservation_mb": schema.Int64Attribute{MarkdownDescription: "Memory reservation in MB.", Computed: true},
				}},
			},
		},
	}
}

func (d *capacityDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.ExactlyOneOf(path.MatchRoot("path"), path.MatchRoot("id")),
	}
}

func (d *capacityDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	if !framework.RequireClient(d.Client, &resp.Diagnostics) {
		return
	}
	var m capacityModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ref, attrName := m.ID.ValueString(), "id"
	if !m.Path.IsNull() {
		ref, attrName = m.Path.ValueString(), "path"
	}
	c := d.Client.VSphere
	pool, err := c.ResolvePool(ctx, ref)
	var capa *vsphere.Capacity
	if err == nil {
		capa, err = c.PoolCapacity(ctx, pool)
	}
	if err != nil {
		summary := "Cannot read capacity"
		if vsphere.IsNotFound(err) {
			summary = "Cluster or resource pool not found"
		}
		resp.Diagnostics.AddAttributeError(path.Root(attrName), summary,
			fmt.Sprintf("%v. Give a cluster or resource pool by inventory path (/dc1/host/prod) or managed object ID.", err))
		return
	}
	// The read goes through the policy gate too: rules may restrict what is looked up.
	resp.Diagnostics.Append(d.GateRead(ctx, req, ref, map[string]any{"pool": poolFacts(capa)})...)
	if resp.Diagnostics.HasError() {
		return
	}
	if m.ID.IsNull() {
		m.ID = types.StringValue(capa.ID)
	}
	m.Name = types.StringValue(capa.Name)
	m.Kind = types.StringValue(capa.Kind)
	m.CPUCapacity = types.Int64Value(capa.CPU.Capacity)
	m.CPUReserved = types.Int64Value(capa.CPU.Reserved)
	m.CPUUnreserved = types.Int64Value(capa.CPU.Unreserved)
	m.CPUExpandable = types.BoolValue(capa.CPU.Expandable)
	m.MemCapacity = types.Int64Value(capa.Memory.Capacity)
	m.MemReserved = types.Int64Value(capa.Memory.Reserved)
	m.MemUnreserved = types.Int64Value(capa.Memory.Unreserved)
	m.MemExpandable = types.BoolValue(capa.Memory.Expandable)
	m.VMCount = types.Int64Value(int64(capa.VMs))
	children := make([]attr.Value, 0, len(capa.Children))
	for _, ch := range capa.Children {
		children = append(children, types.ObjectValueMust(childAttrTypes, map[string]attr.Value{
			"id":                    types.StringValue(ch.ID),
			"name":                  types.StringValue(ch.Name),
			"cpu_reservation_mhz":   types.Int64Value(ch.CPUReservationMHz),
			"memory_reservation_mb": types.Int64Value(ch.MemoryReservationMB),
		}))
	}
	m.Children = types.ListValueMust(types.ObjectType{AttrTypes: childAttrTypes}, children)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

type capacityModel struct {
	Path          types.String `tfsdk:"path"`
	ID            types.String `tfsdk:"id"`
	Name          types.String `tfsdk:"name"`
	Kind          types.String `tfsdk:"kind"`
	CPUCapacity   types.Int64  `tfsdk:"cpu_capacity_mhz"`
	CPUReserved   types.Int64  `tfsdk:"cpu_reserved_mhz"`
	CPUUnreserved types.Int64  `tfsdk:"cpu_unreserved_mhz"`
	CPUExpandable types.Bool   `tfsdk:"cpu_expandable"`
	MemCapacity   types.Int64  `tfsdk:"memory_capacity_mb"`
	MemReserved   types.Int64  `tfsdk:"memory_reserved_mb"`
	MemUnreserved types.Int64  `tfsdk:"memory_unreserved_mb"`
	MemExpandable types.Bool   `tfsdk:"memory_expandable"`
	VMCount       types.Int64  `tfsdk:"vm_count"`
	Children      types.List   `tfsdk:"children"`
}

package catalog

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

var _ datasource.DataSourceWithConfigure = (*catalogDataSource)(nil)

// NewCatalogDataSource is the vmgmt_catalog data source.
func NewCatalogDataSource() datasource.DataSource {
	return &catalogDataSource{DataSourceBase: framework.DataSourceBase{TypeSuffix: "catalog"}}
}

type catalogDataSource struct {
	framework.DataSourceBase
}

var (
	dsSizeAttrTypes = map[string]attr.Type{
		"name":      types.StringType,
		"cpus":      types.Int64Type,
		"memory_mb": types.Int64Type,
		"disk_gb":   types.Int64Type,
	}
	dsItemAttrTypes = map[string]attr.Type{
		"name":               types.StringType,
		"version":            types.StringType,
		"description":        types.StringType,
		"template":           types.StringType,
		"template_id":        types.StringType,
		"template_type":      types.StringType,
		"sizes":              types.ListType{ElemType: types.ObjectType{AttrTypes: dsSizeAttrTypes}},
		"entitled_groups":    types.ListType{ElemType: types.StringType},
		"lease_default_days": types.Int64Type,
		"lease_max_days":     types.Int64Type,
		"lease_grace_days":   types.Int64Type,
	}
	dsVMAttrTypes = map[string]attr.Type{
		"id":                   types.StringType,
		"name":                 types.StringType,
		"path":                 types.StringType,
		"catalog_item":         types.StringType,
		"catalog_item_version": types.StringType,
		"size":                 types.StringType,
		"owner":                types.StringType,
		"job_function":         types.StringType,
		"lease_expires_at":     types.StringType,
		"expired":              types.BoolType,
	}
)

func (d *catalogDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: desc, Computed: true}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The service catalog as vCenter holds it: the published catalog items (optionally only those a group " +
			"may request) with their versions and sizes, and every VM made from the catalog with its item, owner and lease. " +
			"Items are read from their templates (custom attribute `" + FieldItem + "`) and VMs from their extraConfig stamps, " +
			"in one bulk read of the inventory, so VMs and items made outside this Terraform configuration show too.",
		Attributes: map[string]schema.Attribute{
			"group": schema.StringAttribute{
				MarkdownDescription: "Job function (group) whose view of the catalog to read: `items` then holds only the items " +
					"entitled to it, and the items open to everyone (no `entitled_groups`). Unset: every item. `vms` is never filtered.",
				Optional:   true,
				Validators: []validator.String{framework.Name(vsphere.MaxTagNameLength)},
			},
			"items": schema.ListNestedAttribute{
				MarkdownDescription: "Published catalog items, by name.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":          computed("Catalog name of the item, as requested in `vmgmt_catalog_vm.catalog_item`."),
					"version":       computed("Version currently published. VMs keep the version they were built from."),
					"description":   computed("What the item is for (null when the item has no description)."),
					"template":      computed("Inventory path of the template VM the item clones, or `" + LibraryPrefix + "<library>/<item>` of the content library item it deploys."),
					"template_id":   computed("Managed object ID of the template VM, or ID of the content library item."),
					"template_type": computed("`template_vm` or `library_item`."),
					"sizes": schema.ListNestedAttribute{
						MarkdownDescription: "Sizes the item offers, by name.",
						Computed:            true,
						NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
							"name":      computed("Size name, as requested in `vmgmt_catalog_vm.size`."),
							"cpus":      schema.Int64Attribute{MarkdownDescription: "Virtual CPUs.", Computed: true},
							"memory_mb": schema.Int64Attribute{MarkdownDescription: "Memory in MB.", Computed: true},
							"disk_gb":   schema.Int64Attribute{MarkdownDescription: "Size of the first disk in GB.", Computed: true},
						}},
					},
					"entitled_groups": schema.ListAttribute{
						MarkdownDescription: "Job functions that may request the item; empty when anyone may.",
						ElementType:         types.StringType,
						Computed:            true,
					},
					"lease_default_days": schema.Int64Attribute{MarkdownDescription: "Lease in days of a VM whose request does not say.", Computed: true},
					"lease_max_days":     schema.Int64Attribute{MarkdownDescription: "Longest lease in days a request may ask for.", Computed: true},
					"lease_grace_days":   schema.Int64Attribute{MarkdownDescription: "Days after a lease expires during which plans only warn.", Computed: true},
				}},
			},
			"vms": schema.ListNestedAttribute{
				MarkdownDescription: "VMs made from the catalog (those carrying vmgmt's catalog stamps in extraConfig), by name. " +
					"VMs of items that are no longer published are listed too.",
				Computed: true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"id":                   computed("Managed object ID of the VM."),
					"name":                 computed("Name of the VM."),
					"path":                 computed("Inventory path of the VM."),
					"catalog_item":         computed("Catalog item the VM was made from."),
					"catalog_item_version": computed("Version of the item the VM was built from (null when not stamped)."),
					"size":                 computed("Size the VM was requested in (null when not stamped)."),
					"owner":                computed("Owner of the VM (null when not stamped)."),
					"job_function":         computed("Job function the VM was requested for (null when not stamped)."),
					"lease_expires_at": computed("When the lease ends, RFC 3339 in UTC: the creation stamp plus the lease days. " +
						"Null when the VM carries no readable creation time or lease."),
					"expired": schema.BoolAttribute{MarkdownDescription: "Whether the lease has ended (false when the VM has no readable lease).", Computed: true},
				}},
			},
			"expired_vms": schema.ListAttribute{
				MarkdownDescription: "Names of the catalog VMs whose lease has ended, sorted. Renew a lease by raising " +
					"`lease_days` on its `vmgmt_catalog_vm` (within the item's maximum), or destroy the VM.",
				ElementType: types.StringType,
				Computed:    true,
			},
		},
	}
}

func (d *catalogDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	if !framework.RequireClient(d.Client, &resp.Diagnostics) {
		return
	}
	var m catalogModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := d.Client.VSphere
	// Items reads the shared VM snapshot; VMs then returns that same snapshot (no extra round trip).
	items, err := Items(ctx, c)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot read the catalog", err)
		return
	}
	vms, err := c.VMs(ctx)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot read the catalog's VMs", err)
		return
	}
	// The read goes through the policy gate too: rules may restrict who reads what.
	name := m.Group.ValueString()
	if name == "" {
		name = "catalog"
	}
	resp.Diagnostics.Append(d.GateRead(ctx, req, name, nil)...)
	if resp.Diagnostics.HasError() {
		return
	}

	itemValues := []attr.Value{}
	for _, it := range sortedItems(items) {
		if m.Group.IsNull() || entitledTo(it.Definition, m.Group.ValueString()) {
			itemValues = append(itemValues, itemValue(it))
		}
	}
	m.Items = types.ListValueMust(types.ObjectType{AttrTypes: dsItemAttrTypes}, itemValues)

	now := time.Now()
	vmValues, expired := []attr.Value{}, []attr.Value{}
	var unreadable []string
	for _, cv := range stampedVMs(vms, now) {
		if cv.leaseErr != nil {
			unreadable = append(unreadable, fmt.Sprintf("%s: %v", cv.vm.Path, cv.leaseErr))
		}
		vmValues = append(vmValues, cv.value())
		if cv.expired {
			expired = append(expired, types.StringValue(cv.vm.Name))
		}
	}
	if len(unreadable) > 0 {
		resp.Diagnostics.AddWarning("Catalog VMs with an unreadable lease",
			fmt.Sprintf("These VMs carry catalog stamps, but their lease cannot be read, so they show no lease_expires_at and "+
				"never count as expired: %s. The stamps %s (RFC 3339 time) and %s (whole days) are written by vmgmt_catalog_vm; "+
				"re-apply its configuration, or correct the VM's extraConfig in vCenter.",
				strings.Join(unreadable, "; "), StampCreated, StampLeaseDays))
	}
	m.VMs = types.ListValueMust(types.ObjectType{AttrTypes: dsVMAttrTypes}, vmValues)
	m.ExpiredVMs = types.ListValueMust(types.StringType, expired)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// entitled reports whether a group may request an item: it is listed, or the item is open to all.
func entitledTo(d Definition, group string) bool {
	return len(d.EntitledGroups) == 0 || slices.Contains(d.EntitledGroups, group)
}

func sortedItems(items map[string]*Item) []*Item {
	out := make([]*Item, 0, len(items))
	for _, it := range items {
		out = append(out, it)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func itemValue(it *Item) attr.Value {
	sizes := make([]attr.Value, 0, len(it.Sizes))
	for _, name := range it.SizeNames() {
		s := it.Sizes[name]
		sizes = append(sizes, types.ObjectValueMust(dsSizeAttrTypes, map[string]attr.Value{
			"name":      types.StringValue(name),
			"cpus":      types.Int64Value(int64(s.CPUs)),
			"memory_mb": types.Int64Value(s.MemoryMB),
			"disk_gb":   types.Int64Value(s.DiskGB),
		}))
	}
	groups := make([]attr.Value, 0, len(it.EntitledGroups))
	for _, g := range it.EntitledGroups {
		groups = append(groups, types.StringValue(g))
	}
	return types.ObjectValueMust(dsItemAttrTypes, map[string]attr.Value{
		"name":               types.StringValue(it.Name),
		"version":            types.StringValue(it.Version),
		"description":        nullIfEmpty(it.Description),
		"template":           types.StringValue(it.TemplatePath),
		"template_id":        types.StringValue(it.TemplateID),
		"template_type":      types.StringValue(it.TemplateType()),
		"sizes":              types.ListValueMust(types.ObjectType{AttrTypes: dsSizeAttrTypes}, sizes),
		"entitled_groups":    types.ListValueMust(types.StringType, groups),
		"lease_default_days": types.Int64Value(it.Lease.DefaultDays),
		"lease_max_days":     types.Int64Value(it.Lease.MaxDays),
		"lease_grace_days":   types.Int64Value(it.Lease.GraceDays),
	})
}

// stampedVM is a VM made from the catalog, with its lease worked out from its stamps.
type stampedVM struct {
	vm       *vsphere.VM
	expires  time.Time // zero when the lease cannot be read
	expired  bool
	leaseErr error
}

// stampedVMs picks the VMs carrying a catalog item stamp out of the snapshot, sorted by name.
func stampedVMs(vms map[string]*vsphere.VM, now time.Time) []stampedVM {
	var out []stampedVM
	for _, vm := range vms {
		if vm.Template || vm.ExtraConfig[StampItem] == "" {
			continue
		}
		cv := stampedVM{vm: vm}
		cv.expires, cv.leaseErr = LeaseExpiry(vm.ExtraConfig)
		cv.expired = cv.leaseErr == nil && !now.Before(cv.expires)
		out = append(out, cv)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].vm.Name != out[j].vm.Name {
			return out[i].vm.Name < out[j].vm.Name
		}
		return out[i].vm.Path < out[j].vm.Path
	})
	return out
}

// LeaseExpiry is when a catalog VM's lease ends: its creation stamp plus its lease days.
func LeaseExpiry(stamps map[string]string) (time.Time, error) {
	created, err := time.Parse(time.RFC3339, stamps[StampCreated])
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not an RFC 3339 time", StampCreated, stamps[StampCreated])
	}
	days, err := strconv.Atoi(stamps[StampLeaseDays])
	if err != nil || days < 0 {
		return time.Time{}, fmt.Errorf("%s %q is not a number of days", StampLeaseDays, stamps[StampLeaseDays])
	}
	return created.Add(time.Duration(days) * 24 * time.Hour).UTC(), nil
}

func (cv stampedVM) value() attr.Value {
	x := cv.vm.ExtraConfig
	expires := types.StringNull()
	if cv.leaseErr == nil {
		expires = types.StringValue(cv.expires.Format(time.RFC3339))
	}
	return types.ObjectValueMust(dsVMAttrTypes, map[string]attr.Value{
		"id":                   types.StringValue(cv.vm.ID),
		"name":                 types.StringValue(cv.vm.Name),
		"path":                 types.StringValue(cv.vm.Path),
		"catalog_item":         types.StringValue(x[StampItem]),
		"catalog_item_version": nullIfEmpty(x[StampVersion]),
		"size":                 nullIfEmpty(x[StampSize]),
		"owner":                nullIfEmpty(x[StampOwner]),
		"job_function":         nullIfEmpty(x[StampJobFunction]),
		"lease_expires_at":     expires,
		"expired":              types.BoolValue(cv.expired),
	})
}

func nullIfEmpty(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

type catalogModel struct {
	Group      types.String `tfsdk:"group"`
	Items      types.List   `tfsdk:"items"`
	VMs        types.List   `tfsdk:"vms"`
	ExpiredVMs types.List   `tfsdk:"expired_vms"`
}

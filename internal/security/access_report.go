package security

import (
	"context"
	"fmt"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"golang.org/x/sync/errgroup"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

var _ datasource.DataSourceWithConfigure = (*reportDataSource)(nil)

// NewAccessReportDataSource is the vmgmt_access_report data source: who can touch the selected
// VMs, and why.
func NewAccessReportDataSource() datasource.DataSource {
	return &reportDataSource{DataSourceBase: framework.DataSourceBase{TypeSuffix: "access_report"}}
}

type reportDataSource struct {
	framework.DataSourceBase
}

var (
	reportAccessAttrTypes = map[string]attr.Type{
		"principal":       types.StringType,
		"is_group":        types.BoolType,
		"role":            types.StringType,
		"role_id":         types.Int64Type,
		"privileges":      types.ListType{ElemType: types.StringType},
		"defined_on":      types.StringType,
		"defined_on_name": types.StringType,
		"inherited":       types.BoolType,
		"propagate":       types.BoolType,
	}
	reportVMAttrTypes = map[string]attr.Type{
		"id":     types.StringType,
		"name":   types.StringType,
		"access": types.ListType{ElemType: types.ObjectType{AttrTypes: reportAccessAttrTypes}},
	}
)

func (d *reportDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: desc, Computed: true}
	}
	boolean := func(desc string) schema.BoolAttribute {
		return schema.BoolAttribute{MarkdownDescription: desc, Computed: true}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Who can touch these VMs, and why: the **effective** access to each selected VM, every principal " +
			"(user or group) holding a role on it, whether the permission is set on the VM itself or inherited from a folder, " +
			"the datacenter or the root folder, including the permissions vmgmt did not make. vCenter's rules apply: a permission set on " +
			"an object overrides the same principal's inherited one, and a parent's permission reaches the VM only when it " +
			"propagates. Read in a number of vCenter round trips that does not grow with the number of VMs: the selection, " +
			"every permission (`RetrieveAllPermissions`), one role list and the inventory's parents, side by side.",
		Blocks: map[string]schema.Block{
			"selection": framework.DataSourceSelectionBlock(),
		},
		Attributes: map[string]schema.Attribute{
			"vms": schema.ListNestedAttribute{
				MarkdownDescription: "The selected VMs, sorted by managed object ID, each with its effective access.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"id":   str("Managed object ID of the VM (`vm-42`)."),
					"name": str("Name of the VM."),
					"access": schema.ListNestedAttribute{
						MarkdownDescription: "The permissions in force on the VM, one per principal (a user and a group of the same " +
							"name are two principals), sorted by principal, users before groups.",
						Computed: true,
						NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
							"principal": str("The user or group, as vCenter's permission names it (`DOMAIN\\name`)."),
							"is_group":  boolean("Whether the principal is a group."),
							"role":      str("Name of the role the principal holds (null when the role no longer exists)."),
							"role_id":   schema.Int64Attribute{MarkdownDescription: "ID of the role.", Computed: true},
							"privileges": schema.ListAttribute{
								MarkdownDescription: "Privileges of the role, sorted (a system role lists what it implies).",
								ElementType:         types.StringType,
								Computed:            true,
							},
							"defined_on": str("Managed object ID of the object the permission is set on: the VM itself, or the " +
								"folder, datacenter or root folder it is inherited from."),
							"defined_on_name": str("Name of that object (`Datacenters` for vCenter's root folder)."),
							"inherited":       boolean("Whether the permission is inherited from a parent rather than set on the VM."),
							"propagate":       boolean("Whether the permission propagates to the children of the object it is set on."),
						}},
					},
				}},
			},
			"vm_count": schema.Int64Attribute{MarkdownDescription: "Number of VMs selected.", Computed: true},
			"principals": schema.ListAttribute{
				MarkdownDescription: "Every principal with access to any of the selected VMs, sorted and without duplicates.",
				ElementType:         types.StringType,
				Computed:            true,
			},
		},
	}
}

func (d *reportDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	if !framework.RequireClient(d.Client, &resp.Diagnostics) {
		return
	}
	var m reportModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	at := path.Root("selection")
	sel, known, diags := m.Selection.ToSelection(ctx, at)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !known {
		resp.Diagnostics.AddAttributeError(at, "Selection not known",
			"Attribute selection has values that are known only after apply; the access report needs them to pick the VMs.")
		return
	}
	vms, snap, ok := reportRead(ctx, d.Client.VSphere, sel, at, &resp.Diagnostics)
	if !ok {
		return
	}
	// The read goes through the policy gate too: rules may restrict who reads access reports.
	resp.Diagnostics.Append(d.GateRead(ctx, req, "access_report", nil)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m.VMs, m.Principals = reportValues(vms, snap)
	m.VMCount = types.Int64Value(int64(len(vms)))
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// reportRead resolves the selection and reads the access snapshot side by side. A selection that
// cannot be resolved is reported on its attribute, at.
func reportRead(ctx context.Context, c *vsphere.Client, sel vsphere.Selection, at path.Path, diags *diag.Diagnostics) ([]vsphere.SelectedVM, *vsphere.AccessSnapshot, bool) {
	var (
		vms            []vsphere.SelectedVM
		snap           *vsphere.AccessSnapshot
		selErr, accErr error
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { vms, selErr = c.Select(gctx, sel, []string{"name"}); return selErr })
	g.Go(func() error { snap, accErr = c.ReadAccess(gctx); return accErr })
	// g.Wait returns the error of the call that failed first, the other one's being its
	// cancellation: compare it to each call's own error to tell them apart.
	err := g.Wait()
	switch {
	case err == nil:
		return vms, snap, true
	case err == selErr && vsphere.IsNotFound(err):
		diags.AddAttributeError(at, "Selection names an object that does not exist", fmt.Sprintf(
			"Attribute %s: %v. Name folders and pools by managed object ID or inventory path (absolute, or relative to the "+
				"datacenter's VM or host folder).", at, err))
	case err == selErr:
		diags.AddAttributeError(at, "Cannot resolve the selection", fmt.Sprintf("Attribute %s: %v.", at, err))
	default:
		framework.AddVSphereError(diags, "Cannot read vCenter's permissions and roles", err)
	}
	return nil, nil, false
}

// reportValues builds the vms and principals attributes: each VM's effective access, and every
// principal found in any of them.
func reportValues(vms []vsphere.SelectedVM, snap *vsphere.AccessSnapshot) (types.List, types.List) {
	vmValues := make([]attr.Value, 0, len(vms))
	principals := map[string]bool{}
	for _, vm := range vms {
		perms := snap.Effective(vsphere.VMRef(vm.ID))
		sort.SliceStable(perms, func(i, j int) bool {
			return vsphere.NormalizePrincipal(perms[i].Principal) < vsphere.NormalizePrincipal(perms[j].Principal)
		})
		access := make([]attr.Value, 0, len(perms))
		for _, p := range perms {
			principals[vsphere.NormalizePrincipal(p.Principal)] = true
			access = append(access, reportAccessValue(p))
		}
		name, _ := vm.Props["name"].(string)
		vmValues = append(vmValues, types.ObjectValueMust(reportVMAttrTypes, map[string]attr.Value{
			"id":     types.StringValue(vm.ID),
			"name":   types.StringValue(name),
			"access": types.ListValueMust(types.ObjectType{AttrTypes: reportAccessAttrTypes}, access),
		}))
	}
	sorted := make([]string, 0, len(principals))
	for p := range principals {
		sorted = append(sorted, p)
	}
	sort.Strings(sorted)
	names := make([]attr.Value, 0, len(sorted))
	for _, p := range sorted {
		names = append(names, types.StringValue(p))
	}
	return types.ListValueMust(types.ObjectType{AttrTypes: reportVMAttrTypes}, vmValues), types.ListValueMust(types.StringType, names)
}

func reportAccessValue(p vsphere.EffectivePermission) attr.Value {
	privs := make([]attr.Value, 0, len(p.Role.Privileges))
	for _, priv := range p.Role.Privileges {
		privs = append(privs, types.StringValue(priv))
	}
	role := types.StringNull()
	if p.Role.Name != "" {
		role = types.StringValue(p.Role.Name)
	}
	return types.ObjectValueMust(reportAccessAttrTypes, map[string]attr.Value{
		"principal":       types.StringValue(vsphere.NormalizePrincipal(p.Principal)),
		"is_group":        types.BoolValue(p.Group),
		"role":            role,
		"role_id":         types.Int64Value(int64(p.Role.ID)),
		"privileges":      types.ListValueMust(types.StringType, privs),
		"defined_on":      types.StringValue(p.DefinedOn.ID),
		"defined_on_name": types.StringValue(p.DefinedOnName),
		"inherited":       types.BoolValue(p.Inherited),
		"propagate":       types.BoolValue(p.Propagate),
	})
}

type reportModel struct {
	Selection  *framework.SelectionModel `tfsdk:"selection"`
	VMs        types.List                `tfsdk:"vms"`
	VMCount    types.Int64               `tfsdk:"vm_count"`
	Principals types.List                `tfsdk:"principals"`
}

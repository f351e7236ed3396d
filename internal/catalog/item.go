package catalog

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

var (
	_ resource.ResourceWithConfigure      = (*itemResource)(nil)
	_ resource.ResourceWithImportState    = (*itemResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*itemResource)(nil)
	_ resource.ResourceWithValidateConfig = (*itemResource)(nil)
)

// NewItemResource is the vmgmt_catalog_item resource.
func NewItemResource() resource.Resource {
	return &itemResource{ResourceBase: framework.ResourceBase{TypeSuffix: "catalog_item"}}
}

type itemResource struct {
	framework.ResourceBase
}

var (
	versionPattern = regexp.MustCompile(`^[0-9]+\.[0-9]+(\.[0-9]+)?(-[0-9A-Za-z.-]+)?$`)
	namePattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
)

// What versionPattern and namePattern require, in words.
const (
	versionRule  = "must be a version such as 1.4 or 1.4.2"
	itemNameRule = "must be lower-case letters, digits and dashes, starting with a letter or digit, at most 63 characters"
)

// Lease defaults when an item does not say.
const (
	defaultLeaseDays = 30
	defaultMaxDays   = 90
	defaultGraceDays = 7
)

var leaseAttrTypes = map[string]attr.Type{"default_days": framework.Int64Type{}, "max_days": framework.Int64Type{}, "grace_days": framework.Int64Type{}}

// Bounds of an item's numbers.
const (
	minMemoryMB  = 256
	maxLeaseDays = 3650
	maxGraceDays = 365
	// maxDescription is the longest description, in characters.
	maxDescription = 2048
)

func (r *itemResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	ref := func(what, category, today string) schema.StringAttribute {
		return schema.StringAttribute{
			MarkdownDescription: fmt.Sprintf("Name of the %s that VMs made from this item get. Each VM is tagged with it at birth "+
				"(tag category `%s`)%s", what, category, today),
			Optional:   true,
			Validators: []validator.String{framework.Name(vsphere.MaxTagNameLength)},
		}
	}
	// count is the schema of a number a user sets, in the range v checks.
	count := func(desc string, v framework.Int64RangeValidator, required bool) schema.Int64Attribute {
		return schema.Int64Attribute{
			MarkdownDescription: desc + ": " + v.Description(ctx) + ".",
			Required:            required,
			Optional:            !required,
			CustomType:          framework.Int64Type{},
			Validators:          []validator.Int64{v},
		}
	}
	lease := func(desc string, lo, hi, def int64) schema.Int64Attribute {
		a := count(desc, framework.Int64Between(lo, hi), false)
		a.Computed, a.Default = true, int64default.StaticInt64(def)
		return a
	}
	resp.Schema = schema.Schema{
		// Version of the state's shape: a change that alters stored state raises it and adds a
		// state upgrader (resource.ResourceWithUpgradeState) with a test.
		Version: 0,
		MarkdownDescription: "A published catalog item: a template (a template VM or a content library item) plus the rules " +
			"for the VMs made from it (sizes, entitlements, quotas, lease, placement and the defaults they are born with). The " +
			"definition is stored in vCenter, so the catalog is visible outside Terraform state: on a template VM in its custom " +
			"attribute `" + FieldItem + "`; for a content library item (which carries no custom attributes) in the datacenter's " +
			"custom attribute `" + FieldLibraryItems + "`, by item name.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The item's name (items are imported by name).",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "Catalog name: lower-case letters, digits and dashes. Changing it publishes a new item.",
				Required:            true,
				Validators:          []validator.String{stringvalidator.RegexMatches(namePattern, itemNameRule)},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"version": schema.StringAttribute{
				MarkdownDescription: "Version of the item, e.g. `1.4.0`. VMs record the version they were built from and keep it " +
					"when a newer one is published, until they are rebuilt.",
				Required:   true,
				Validators: []validator.String{stringvalidator.RegexMatches(versionPattern, versionRule)},
			},
			"description": schema.StringAttribute{
				MarkdownDescription: "What the item is for, shown to catalog users: " + framework.Text(maxDescription).Description(ctx) + ".",
				Optional:            true,
				Validators:          []validator.String{framework.Text(maxDescription)},
			},
			"template": schema.StringAttribute{
				MarkdownDescription: "What VMs are made from. A template VM, cloned: inventory path (`/dc1/vm/templates/rhel9-base`, " +
					"or relative to the datacenter's vm folder: `templates/rhel9-base`), managed object ID or UUID; it must be marked " +
					"as a template. Or a content library item (`vm-template` or `ovf`), deployed: `" + LibraryPrefix + "<library>/<item>` " +
					"(e.g. `" + LibraryPrefix + "vmgmt-library/rhel9-base-vmtx`) or `" + LibraryPrefix + "<item ID>`.",
				Required:   true,
				Validators: []validator.String{framework.InventoryPath()},
			},
			"template_id": schema.StringAttribute{
				MarkdownDescription: "Managed object ID of the template VM, or ID of the content library item.",
				Computed:            true,
			},
			"template_type": schema.StringAttribute{
				MarkdownDescription: "`template_vm` or `library_item`.",
				Computed:            true,
			},
			"sizes": schema.MapNestedAttribute{
				MarkdownDescription: "Sizes catalog users choose from, by name (e.g. `small`, `medium`, `large`). A size name is " +
					framework.ObjectName().Description(ctx) + ".",
				Required:   true,
				Validators: []validator.Map{mapvalidator.SizeAtLeast(1), mapvalidator.KeysAre(framework.ObjectName())},
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"cpus": count("Virtual CPUs", framework.Int64Between(1, vsphere.MaxVCPUs), true),
					"memory_mb": count("Memory in MB",
						framework.Int64Between(minMemoryMB, vsphere.MaxMemoryMB).MultipleOf(vsphere.MemoryMultipleMB), true),
					"disk_gb": count("Size of the first disk in GB (at least the template's)", framework.Int64Between(1, vsphere.MaxDiskGB), true),
				}},
			},
			"allowed_folders": schema.ListAttribute{
				MarkdownDescription: "VM folders requests may place VMs in (paths as in `vmgmt_catalog_vm.folder`). Empty: any.",
				ElementType:         types.StringType,
				Optional:            true,
				Validators:          []validator.List{listvalidator.ValueStringsAre(framework.InventoryPath())},
			},
			"allowed_networks": schema.ListAttribute{
				MarkdownDescription: "Networks (port group names) requests may attach VMs to. Empty: any.",
				ElementType:         types.StringType,
				Optional:            true,
				Validators:          []validator.List{listvalidator.ValueStringsAre(framework.Name(vsphere.MaxNameLength))},
			},
			"entitled_groups": schema.ListAttribute{
				MarkdownDescription: "Job functions (groups) that may request the item. Empty: anyone. Each is " +
					framework.Name(vsphere.MaxTagNameLength).Description(ctx) + " (VMs carry their job function as a tag).",
				ElementType: types.StringType,
				Optional:    true,
				Validators: []validator.List{listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(framework.Name(vsphere.MaxTagNameLength))},
			},
			"quota": schema.MapNestedAttribute{
				MarkdownDescription: "Per entitled group: the most instances, vCPUs and memory (MB) it may hold of this item.",
				Optional:            true,
				Validators:          []validator.Map{mapvalidator.KeysAre(framework.Name(vsphere.MaxTagNameLength))},
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"instances": count("Most VMs (unset: no limit)", framework.Int64Between(1, vsphere.MaxVMs), false),
					"cpus":      count("Most vCPUs in total (unset: no limit)", framework.Int64Between(1, vsphere.MaxVMs*vsphere.MaxVCPUs), false),
					"memory_mb": count("Most memory in total, in MB (unset: no limit)", framework.Int64Between(1, vsphere.MaxVMs*vsphere.MaxMemoryMB), false),
				}},
			},
			"lease": schema.SingleNestedAttribute{
				MarkdownDescription: fmt.Sprintf("How long VMs live: `default_days` (default %d), `max_days` a request may ask for (default %d), "+
					"and `grace_days` after expiry before plans fail (default %d).", defaultLeaseDays, defaultMaxDays, defaultGraceDays),
				Optional: true,
				Computed: true,
				Default: objectdefault.StaticValue(types.ObjectValueMust(leaseAttrTypes, map[string]attr.Value{
					"default_days": types.Int64Value(defaultLeaseDays), "max_days": types.Int64Value(defaultMaxDays), "grace_days": types.Int64Value(defaultGraceDays),
				})),
				Attributes: map[string]schema.Attribute{
					"default_days": lease("Lease of a VM whose request does not say, in days", 1, maxLeaseDays, defaultLeaseDays),
					"max_days":     lease("Longest lease a request may ask for, in days", 1, maxLeaseDays, defaultMaxDays),
					"grace_days":   lease("Days after expiry during which plans only warn", 0, maxGraceDays, defaultGraceDays),
				},
			},
			"capacity_reservation": schema.StringAttribute{
				MarkdownDescription: "Capacity reservation (resource pool ID or path) VMs are placed in unless the request overrides it. " +
					"Default: the template's cluster root pool.",
				Optional:   true,
				Validators: []validator.String{framework.InventoryPath()},
			},
			"config_baseline": ref("configuration baseline", TagBaseline, ", which is all vmgmt does with it today: the baseline will select the VMs carrying that tag."),
			"security_group": ref("security group", TagSecurityGroup, ": the `vmgmt_security_group` of that name counts every VM carrying the tag "+
				"among its members, with no selection of its own naming them."),
			"backup_job": ref("backup job", TagBackupJob, ", which is all vmgmt does with it today: the backup job will select the VMs carrying that tag."),
		},
	}
}

// ValidateConfig checks what spans attributes: lease bounds and quota groups.
func (r *itemResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m itemModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if l, ok := leaseFrom(ctx, m.Lease, &resp.Diagnostics); ok && l.DefaultDays > l.MaxDays && l.MaxDays > 0 {
		resp.Diagnostics.AddAttributeError(path.Root("lease").AtName("default_days"), "Default lease above maximum",
			fmt.Sprintf("lease.default_days (%d) is longer than lease.max_days (%d). Lower the default or raise the maximum.", l.DefaultDays, l.MaxDays))
	}
	if m.Quota.IsNull() || m.Quota.IsUnknown() || m.EntitledGroups == nil {
		return
	}
	groups := map[string]bool{}
	for _, g := range m.EntitledGroups {
		if g.IsUnknown() {
			return
		}
		groups[g.ValueString()] = true
	}
	for name := range m.Quota.Elements() {
		if !groups[name] {
			resp.Diagnostics.AddAttributeError(path.Root("quota").AtMapKey(name), "Quota for a group that is not entitled",
				fmt.Sprintf("quota names group %q, which is not in entitled_groups %v. Add it to entitled_groups or remove its quota.", name, sortedKeys(groups)))
		}
	}
}

// ModifyPlan checks at plan time that the template exists and is a template, and puts the change
// through the policy gate with the template and the published catalog as inventory.
func (r *itemResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if !r.Configured() {
		return
	}
	inv, unknown := map[string]any{}, []string(nil)
	var src *Source
	if !req.Plan.Raw.IsNull() {
		var tmpl types.String
		resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("template"), &tmpl)...)
		if tmpl.IsUnknown() {
			unknown = []string{"template"}
		} else if !tmpl.IsNull() {
			var ok bool
			if src, ok = r.template(ctx, tmpl.ValueString(), &resp.Diagnostics); !ok {
				return
			}
			inv["template"] = src.Facts()
			var sizes map[string]sizeModel
			// The disks of a library item are known once deployed: too small a size fails at apply.
			if vm := src.VM; vm != nil && !req.Plan.GetAttribute(ctx, path.Root("sizes"), &sizes).HasError() {
				for name, s := range sizes {
					if !s.DiskGB.IsUnknown() && s.DiskGB.ValueInt64() < vm.DiskGB {
						resp.Diagnostics.AddAttributeError(path.Root("sizes").AtMapKey(name).AtName("disk_gb"), "Disk smaller than the template's",
							fmt.Sprintf("size %q asks for a %d GB disk, but template %s has %d GB and disks can only grow. Use at least %d.",
								name, s.DiskGB.ValueInt64(), vm.Path, vm.DiskGB, vm.DiskGB))
					}
				}
			}
		}
	}
	if resp.Diagnostics.HasError() {
		return
	}
	if !req.Plan.Raw.IsNull() {
		r.notePlanned(ctx, req, src)
		var plan itemModel
		if resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...); !resp.Diagnostics.HasError() {
			r.checkReferences(ctx, plan, &resp.Diagnostics)
		}
		if resp.Diagnostics.HasError() {
			return
		}
	}
	resp.Diagnostics.Append(r.GatePlan(ctx, req, req.Plan.Raw, false, framework.Facts{Inventory: inv, Unknown: unknown})...)
}

// plannedItem is the kind under which an item's plan is noted for the VMs that request it.
const plannedItem = "catalog item"

// notePlanned tells the VMs planned after this item (those that refer to it) what it publishes:
// the whole item when every part of it is known now, else only that it is planned.
func (r *itemResource) notePlanned(ctx context.Context, req resource.ModifyPlanRequest, src *Source) {
	var plan itemModel
	if req.Plan.Get(ctx, &plan).HasError() || plan.Name.IsUnknown() {
		return
	}
	var it *Item
	// The item's reservation is often created in the same apply: VMs then learn their pool at
	// apply, and everything else about the item now.
	if src != nil && configKnown(req.Plan.Raw, "id", "template_id", "template_type", "capacity_reservation") {
		var diags diag.Diagnostics
		if def, ok := plan.definition(ctx, &diags); ok {
			it = &Item{Definition: def, TemplateID: src.ID, TemplatePath: src.Path, Library: src.Library != nil,
				reservationUnknown: plan.CapacityReservation.IsUnknown()}
		}
	}
	r.Client.NotePlanned(plannedItem, plan.Name.ValueString(), it)
}

// checkReferences fails the plan when the item's capacity reservation, allowed folders or allowed
// networks do not exist. Values unknown until apply are checked by Create and Update, before the
// item is published, with the same messages.
func (r *itemResource) checkReferences(ctx context.Context, plan itemModel, diags *diag.Diagnostics) {
	c := r.Client.VSphere
	if v := plan.CapacityReservation; !v.IsUnknown() && v.ValueString() != "" {
		if _, err := c.ResolvePool(ctx, v.ValueString()); vsphere.IsNotFound(err) {
			diags.AddAttributeError(path.Root("capacity_reservation"), "Capacity reservation not found",
				fmt.Sprintf("%v. Give a resource pool's managed object ID (resgroup-42) or inventory path, e.g. vmgmt_capacity_reservation.<name>.id.", err))
		}
	}
	for i, f := range plan.AllowedFolders {
		if f.IsUnknown() || f.IsNull() {
			continue
		}
		if _, err := c.ResolveFolder(ctx, f.ValueString()); vsphere.IsNotFound(err) {
			diags.AddAttributeError(path.Root("allowed_folders").AtListIndex(i), "Folder not found",
				fmt.Sprintf("%v. Give a VM folder's inventory path (/dc1/vm/apps, or apps relative to the datacenter's vm folder) or managed object ID.", err))
		}
	}
	for i, n := range plan.AllowedNetworks {
		if n.IsUnknown() || n.IsNull() {
			continue
		}
		if _, err := c.ResolveNetwork(ctx, n.ValueString()); vsphere.IsNotFound(err) {
			diags.AddAttributeError(path.Root("allowed_networks").AtListIndex(i), "Network not found",
				fmt.Sprintf("%v. Give a network or distributed port group name or inventory path.", err))
		}
	}
}

// configKnown reports whether every attribute of a planned object but the given computed ones is
// known.
func configKnown(v tftypes.Value, computed ...string) bool {
	var attrs map[string]tftypes.Value
	if v.As(&attrs) != nil {
		return false
	}
	for name, a := range attrs {
		if !slices.Contains(computed, name) && !a.IsFullyKnown() {
			return false
		}
	}
	return true
}

func (r *itemResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var plan itemModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := r.Client.VSphere
	src, ok := r.template(ctx, plan.Template.ValueString(), &resp.Diagnostics)
	if !ok {
		return
	}
	items, err := Items(ctx, c)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot read the catalog", err)
		return
	}
	r.checkReferences(ctx, plan, &resp.Diagnostics) // values unknown at plan time
	if resp.Diagnostics.HasError() {
		return
	}
	existing := items[plan.Name.ValueString()]
	adopt := existing != nil && existing.TemplateID == src.ID && existing.Request == itemRequest(existing.Name, src.ID).Token
	if existing != nil && !adopt {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Catalog item already published",
			fmt.Sprintf("Catalog item %q is already published on template %s, and vmgmt did not publish it for this request. "+
				"Choose another name, or bring it under Terraform with: terraform import <address> %s",
				plan.Name.ValueString(), existing.TemplatePath, plan.Name.ValueString()))
		return
	}
	if other := itemOnTemplate(items, src.ID); other != nil && !adopt {
		resp.Diagnostics.AddAttributeError(path.Root("template"), "Template already carries an item",
			fmt.Sprintf("Template %s already carries catalog item %q; an item needs its own template (clone the template, or change that item).", src.Path, other.Name))
		return
	}
	resp.Diagnostics.Append(r.GateCreate(ctx, req, framework.Facts{Inventory: map[string]any{"template": src.Facts()}})...)
	if resp.Diagnostics.HasError() {
		return
	}
	def, ok := plan.definition(ctx, &resp.Diagnostics)
	if !ok {
		return
	}
	if err := Publish(ctx, c, src, def); err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot publish catalog item", err)
		return
	}
	if adopt {
		framework.AddAdopted(&resp.Diagnostics, "catalog item", def.Name, vsphere.Created{ID: src.Path, Adopted: true, Finished: []string{"definition published as planned"}})
	}
	plan.ID = types.StringValue(def.Name)
	plan.TemplateID, plan.TemplateType = types.StringValue(src.ID), types.StringValue(src.Type())
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *itemResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var state itemModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	items, err := Items(ctx, r.Client.VSphere)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot read the catalog", err)
		return
	}
	it := items[state.ID.ValueString()]
	if it == nil {
		// Unpublished (or its template deleted) behind Terraform's back.
		framework.RemoveGone(ctx, &resp.State, &resp.Diagnostics, "catalog item", state.ID.ValueString(), state.TemplateID.ValueString())
		return
	}
	state.fill(it)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *itemResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var plan, state itemModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := r.Client.VSphere
	src, ok := r.template(ctx, plan.Template.ValueString(), &resp.Diagnostics)
	if !ok {
		return
	}
	if src.ID != state.TemplateID.ValueString() {
		items, err := Items(ctx, c)
		if err != nil {
			framework.AddVSphereError(&resp.Diagnostics, "Cannot read the catalog", err)
			return
		}
		if other := itemOnTemplate(items, src.ID); other != nil && other.Name != state.ID.ValueString() {
			resp.Diagnostics.AddAttributeError(path.Root("template"), "Template already carries an item",
				fmt.Sprintf("Template %s already carries catalog item %q.", src.Path, other.Name))
			return
		}
	}
	r.checkReferences(ctx, plan, &resp.Diagnostics) // values unknown at plan time
	resp.Diagnostics.Append(r.GateUpdate(ctx, req, framework.Facts{Inventory: map[string]any{"template": src.Facts()}})...)
	if resp.Diagnostics.HasError() {
		return
	}
	def, ok := plan.definition(ctx, &resp.Diagnostics)
	if !ok {
		return
	}
	// Publish on the new template first, then remove from the old one: the item is never absent.
	if err := Publish(ctx, c, src, def); err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot publish catalog item", err)
		return
	}
	if old := state.TemplateID.ValueString(); old != "" && old != src.ID {
		if err := Unpublish(ctx, c, state.ID.ValueString(), old, state.library()); err != nil {
			framework.AddVSphereError(&resp.Diagnostics, "Published on the new template but cannot remove the item from the old one", err)
			return
		}
	}
	plan.ID = state.ID
	plan.TemplateID, plan.TemplateType = types.StringValue(src.ID), types.StringValue(src.Type())
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *itemResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var state itemModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(r.GateDelete(ctx, req, framework.Facts{})...)
	if resp.Diagnostics.HasError() {
		return
	}
	// VMs made from the item keep running and keep their stamps; only the definition goes.
	if err := Unpublish(ctx, r.Client.VSphere, state.ID.ValueString(), state.TemplateID.ValueString(), state.library()); err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot unpublish catalog item", err)
	}
}

// ImportState takes the item's name.
func (r *itemResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), req.ID)...)
}

// template resolves and checks the item's template.
func (r *itemResource) template(ctx context.Context, ref string, diags *diag.Diagnostics) (*Source, bool) {
	src, err := FindSource(ctx, r.Client.VSphere, ref)
	if err != nil {
		if vsphere.IsNotFound(err) {
			diags.AddAttributeError(path.Root("template"), "Template not found",
				fmt.Sprintf("No template %q. Give a template VM's inventory path (e.g. /dc1/vm/templates/rhel9-base), managed object ID "+
					"or UUID, or a content library item as %s<library>/<item> or %s<item ID>.", ref, LibraryPrefix, LibraryPrefix))
			return nil, false
		}
		framework.AddVSphereError(diags, "Cannot look up template "+ref, err)
		return nil, false
	}
	if vm := src.VM; vm != nil && !vm.Template {
		diags.AddAttributeError(path.Root("template"), "Not a template",
			fmt.Sprintf("%s is a virtual machine, not a template. Mark it as a template in vCenter (or clone it to one) before publishing it.", vm.Path))
		return nil, false
	}
	return src, true
}

func itemOnTemplate(items map[string]*Item, templateID string) *Item {
	for _, it := range items {
		if it.TemplateID == templateID {
			return it
		}
	}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

package catalog

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

var (
	_ resource.ResourceWithConfigure   = (*vmResource)(nil)
	_ resource.ResourceWithImportState = (*vmResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*vmResource)(nil)

	_ resource.ResourceWithValidateConfig = (*vmResource)(nil)
)

// NewVMResource is the vmgmt_catalog_vm resource.
func NewVMResource() resource.Resource {
	return &vmResource{ResourceBase: framework.ResourceBase{TypeSuffix: "catalog_vm"}, now: time.Now}
}

type vmResource struct {
	framework.ResourceBase
	now func() time.Time
}

// maxDNSServers is the most name servers a Linux guest uses (glibc's MAXNS).
const maxDNSServers = 3

// vmModels reads and writes vmModel for the calls made for every VM on every plan (Read and
// ModifyPlan), without the framework's reflection.
var vmModels = framework.NewModel[vmModel](func() schema.Schema {
	var resp resource.SchemaResponse
	(&vmResource{}).Schema(context.Background(), resource.SchemaRequest{}, &resp)
	return resp.Schema
})

func (r *vmResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		// Version of the state's shape: a change that alters stored state raises it and adds a
		// state upgrader (resource.ResourceWithUpgradeState) with a test.
		Version: 0,
		MarkdownDescription: "A VM requested from the service catalog: cloned from a catalog item's template VM (or deployed from its " +
			"content library item) into the item's " +
			"capacity reservation, sized from the item's sizes, stamped (extraConfig) with item, version, owner, job function " +
			"and lease, and customized at birth. A newer item version does not replace the VM: it keeps its version until " +
			"`rebuild = true`.",
		Attributes: map[string]schema.Attribute{
			"id":   schema.StringAttribute{MarkdownDescription: "Managed object ID of the VM, e.g. `vm-42`.", Computed: true, PlanModifiers: keep},
			"uuid": schema.StringAttribute{MarkdownDescription: "BIOS UUID of the VM.", Computed: true, PlanModifiers: keep},
			"name": schema.StringAttribute{
				MarkdownDescription: "VM name, unique in its folder: " + framework.ObjectName().Description(ctx) + ". Renaming is done in place. " +
					"It is also the guest host name unless `customization.hostname` is set.",
				Required:   true,
				Validators: []validator.String{framework.ObjectName()},
			},
			"catalog_item": schema.StringAttribute{
				MarkdownDescription: "Name of the published catalog item (`vmgmt_catalog_item.name`). Changing it replaces the VM.",
				Required:            true,
				Validators:          []validator.String{stringvalidator.RegexMatches(namePattern, itemNameRule)},
				PlanModifiers:       replace,
			},
			"size": schema.StringAttribute{
				MarkdownDescription: "One of the item's sizes. Changing it resizes in place; when that needs a power cycle the plan says " +
					"so and apply does it only with `allow_power_cycle = true`.",
				Required:   true,
				Validators: []validator.String{framework.ObjectName()},
			},
			"folder": schema.StringAttribute{
				MarkdownDescription: "VM folder (path, or relative to the datacenter's vm folder). Default: the item's first allowed folder, else the datacenter's vm folder.",
				Optional:            true,
				Computed:            true,
				Validators:          []validator.String{framework.InventoryPath()},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplaceIfConfigured(), stringplanmodifier.UseStateForUnknown()},
			},
			"network": schema.StringAttribute{
				MarkdownDescription: "Network (port group name) of the first NIC. Default: the item's first allowed network, else the template's.",
				Optional:            true,
				Computed:            true,
				Validators:          []validator.String{framework.Name(vsphere.MaxNameLength)},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplaceIfConfigured(), stringplanmodifier.UseStateForUnknown()},
			},
			"capacity_reservation": schema.StringAttribute{
				MarkdownDescription: "Capacity reservation (resource pool ID or path) overriding the item's. Changing it replaces the VM.",
				Optional:            true,
				Validators:          []validator.String{framework.InventoryPath()},
				PlanModifiers:       replace,
			},
			"owner": schema.StringAttribute{
				MarkdownDescription: "Person responsible for the VM (a directory user), recorded on the VM as a tag and a stamp: " +
					framework.Name(vsphere.MaxTagNameLength).Description(ctx) + ". That the owner is a member of `job_function` is " +
					"checked only by policy: the built-in `catalog` pack (`packs = [\"catalog\"]` in the provider's `policy` block) or a rule of your own.",
				Required:   true,
				Validators: []validator.String{framework.Name(vsphere.MaxTagNameLength)},
			},
			"job_function": schema.StringAttribute{
				MarkdownDescription: "Job function (group) the VM is requested for, recorded on the VM as a tag and a stamp: " +
					framework.Name(vsphere.MaxTagNameLength).Description(ctx) + ". It must be one of the item's `entitled_groups` and " +
					"counts against the item's `quota`, but both are enforced only by policy: with the built-in `catalog` pack " +
					"(`packs = [\"catalog\"]` in the provider's `policy` block) or a rule of your own. Without one, any job function is accepted and no quota is counted.",
				Required:   true,
				Validators: []validator.String{framework.Name(vsphere.MaxTagNameLength)},
			},
			"lease_days": schema.Int64Attribute{
				MarkdownDescription: "Lease in days from creation, at most the item's `lease.max_days`: " + framework.Int64Between(1, maxLeaseDays).Description(ctx) +
					". Default: the item's `lease.default_days`. Raise it to renew an expiring lease.",
				Optional:   true,
				Computed:   true,
				CustomType: framework.Int64Type{},
				Validators: []validator.Int64{framework.Int64Between(1, maxLeaseDays)},
			},
			"customization": schema.SingleNestedAttribute{
				MarkdownDescription: "Guest customization at birth (Linux prep). Without `ipv4_address` the NIC uses DHCP. Changing it replaces the VM.",
				Optional:            true,
				// Customization is not readable back: after an import the state has none, and
				// configuring it then is recorded, not a reason to rebuild.
				PlanModifiers: []planmodifier.Object{objectplanmodifier.RequiresReplaceIf(
					func(_ context.Context, req planmodifier.ObjectRequest, resp *objectplanmodifier.RequiresReplaceIfFuncResponse) {
						resp.RequiresReplace = !req.StateValue.IsNull()
					}, "Replaced when the customization of a VM built by Terraform changes.", "Replaced when the customization of a VM built by Terraform changes."),
					vmNameAsHostName{}},
				Attributes: map[string]schema.Attribute{
					"hostname": schema.StringAttribute{
						MarkdownDescription: "Host name: " + framework.HostName().Description(ctx) + ". Default: the VM name, which must then be a valid host name.",
						Optional:            true,
						Validators:          []validator.String{framework.HostName()},
					},
					"domain": schema.StringAttribute{
						MarkdownDescription: "DNS domain: " + framework.DomainName().Description(ctx) + ".",
						Optional:            true,
						Validators:          []validator.String{framework.DomainName()},
					},
					"ipv4_address": schema.StringAttribute{
						MarkdownDescription: "Static address: " + framework.IPv4Prefix().Description(ctx) + ".",
						Optional:            true,
						Validators:          []validator.String{framework.IPv4Prefix()},
					},
					"ipv4_gateway": schema.StringAttribute{
						MarkdownDescription: "Default gateway: an IPv4 address inside the network of `ipv4_address` (which it needs; with DHCP the gateway comes from DHCP).",
						Optional:            true,
						Validators:          []validator.String{framework.IPv4Address()},
					},
					"dns_servers": schema.ListAttribute{
						MarkdownDescription: fmt.Sprintf("DNS servers: at most %d distinct IPv4 addresses (a Linux guest's resolver reads no more).", maxDNSServers),
						Optional:            true,
						ElementType:         types.StringType,
						Validators: []validator.List{listvalidator.SizeAtMost(maxDNSServers), listvalidator.UniqueValues(),
							listvalidator.ValueStringsAre(framework.IPv4Address())},
					},
				},
			},
			"power_on": schema.BoolAttribute{
				MarkdownDescription: "Keep the VM powered on. Default `true`.",
				Optional:            true, Computed: true, Default: booldefault.StaticBool(true),
			},
			"allow_power_cycle": schema.BoolAttribute{
				MarkdownDescription: "Let apply power the VM off and on when a resize needs it. Default `false`: such a plan fails, saying why.",
				Optional:            true, Computed: true, Default: booldefault.StaticBool(false),
			},
			"pin_version": schema.StringAttribute{
				MarkdownDescription: "Build from exactly this item version. The item must publish it when the VM is (re)built; changing the pin rebuilds the VM.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.RegexMatches(versionPattern, versionRule)},
			},
			"rebuild": schema.BoolAttribute{
				MarkdownDescription: "Rebuild (replace) the VM when the item has a newer version than the one it runs. Default `false`: the VM keeps its version.",
				Optional:            true, Computed: true, Default: booldefault.StaticBool(false),
			},
			"catalog_item_version": schema.StringAttribute{
				MarkdownDescription: "Version of the item the VM was built from.",
				Computed:            true,
			},
			"pool":             schema.StringAttribute{MarkdownDescription: "Managed object ID of the resource pool the VM runs in.", Computed: true, PlanModifiers: keep},
			"cpus":             schema.Int64Attribute{MarkdownDescription: "vCPUs of the size.", Computed: true},
			"memory_mb":        schema.Int64Attribute{MarkdownDescription: "Memory (MB) of the size.", Computed: true},
			"disk_gb":          schema.Int64Attribute{MarkdownDescription: "First disk (GB) of the size.", Computed: true},
			"ip_address":       schema.StringAttribute{MarkdownDescription: "Guest IP address as VMware Tools reports it (empty until known; reads never wait for it).", Computed: true},
			"created_at":       schema.StringAttribute{MarkdownDescription: "When the VM was created (RFC 3339); the lease counts from here.", Computed: true, PlanModifiers: keep},
			"lease_expires_at": schema.StringAttribute{MarkdownDescription: "When the lease ends (RFC 3339).", Computed: true},
		},
	}
}

// ValidateConfig checks the customization as a whole: the gateway belongs to the static address's
// network.
func (r *vmResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var cust types.Object
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("customization"), &cust)...)
	if resp.Diagnostics.HasError() || cust.IsNull() || cust.IsUnknown() {
		return
	}
	cm := customizationModel{IPv4: objectString(cust, "ipv4_address"), Gateway: objectString(cust, "ipv4_gateway")}
	at := path.Root("customization")
	if cm.Gateway.IsNull() || cm.Gateway.IsUnknown() || cm.IPv4.IsUnknown() {
		return
	}
	if cm.IPv4.IsNull() {
		resp.Diagnostics.AddAttributeError(at.AtName("ipv4_gateway"), "Gateway without a static address",
			fmt.Sprintf("Attribute %s: set, but ipv4_address is not: the NIC then uses DHCP, which also gives the gateway, and "+
				"this one would be ignored. Set ipv4_address (e.g. 10.0.10.15/24) or remove ipv4_gateway.", at.AtName("ipv4_gateway")))
		return
	}
	p, problem := framework.ParseIPv4Prefix(cm.IPv4.ValueString())
	gw, gwProblem := framework.ParseIPv4(cm.Gateway.ValueString())
	if problem != "" || gwProblem != "" {
		return // each is reported on its own attribute
	}
	if problem := framework.CheckGateway(p, gw); problem != "" {
		resp.Diagnostics.AddAttributeError(at.AtName("ipv4_gateway"), "Invalid gateway",
			fmt.Sprintf("Attribute %s: %s. Give the address of the router on network %s (often %s), or correct ipv4_address.",
				at.AtName("ipv4_gateway"), problem, p.Masked(), p.Masked().Addr().Next()))
	}
}

// objectString is one string attribute of an object, read alone: the others (a list) may be
// unknown.
func objectString(o types.Object, name string) types.String {
	v, _ := o.Attributes()[name].(types.String)
	return v
}

// vmNameAsHostName refuses, when the VM is created, a customization without a host name on a VM
// whose name is not one: the guest would be given the VM name. A VM that exists was customized
// already, so its plans are not blocked by a name that no longer matters to its guest.
type vmNameAsHostName struct{}

func (vmNameAsHostName) Description(context.Context) string {
	return "without hostname, the VM name must be a host name when the VM is created"
}

func (m vmNameAsHostName) MarkdownDescription(ctx context.Context) string { return m.Description(ctx) }

func (vmNameAsHostName) PlanModifyObject(ctx context.Context, req planmodifier.ObjectRequest, resp *planmodifier.ObjectResponse) {
	if !req.State.Raw.IsNull() || req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() || !objectString(req.ConfigValue, "hostname").IsNull() {
		return
	}
	var name types.String
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("name"), &name)...)
	if name.IsNull() || name.IsUnknown() {
		return
	}
	if problem := framework.CheckHostName(name.ValueString()); problem != "" {
		at := req.Path.AtName("hostname")
		resp.Diagnostics.AddAttributeError(at, "VM name is not a host name",
			fmt.Sprintf("Attribute %s: not set, so the VM name is the guest's host name, but %s. "+
				"Set customization.hostname to a host name (RFC 1123: letters, digits and hyphens, e.g. app01).", at, problem))
	}
}

// ModifyPlan resolves the item, plans what is computed from it (size, lease, version), checks the
// request (size offered, lease within the maximum, expired lease, power cycle, name collision)
// and puts the change through the policy gate with the item and its live usage as inventory.
func (r *vmResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if !r.Configured() {
		return
	}
	if req.Plan.Raw.IsNull() {
		resp.Diagnostics.Append(r.GatePlan(ctx, req, req.Plan.Raw, false, framework.Facts{})...)
		return
	}
	var plan, state vmModel
	resp.Diagnostics.Append(vmModels.Get(ctx, req.Plan.Raw, &plan)...)
	proposed := plan
	exists := !req.State.Raw.IsNull()
	if !exists {
		// A selection planned after this (a security group that depends on it) cannot know yet
		// whether this VM joins it.
		r.Client.NotePlanned(framework.PlannedVM, plannedVMKey(plan), nil)
	}
	if exists {
		resp.Diagnostics.Append(vmModels.Get(ctx, req.State.Raw, &state)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	it, ok := r.planItem(ctx, &plan, state, exists, &resp.Diagnostics)
	if !ok {
		return
	}
	if it == nil {
		// The item is published in this same apply (or named by an unknown value): what it
		// decides (size, lease, version) is known, checked and judged by policy at apply time.
		if plan.LeaseDays.IsNull() {
			plan.LeaseDays = types.Int64Unknown()
		}
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		resp.Diagnostics.Append(r.GatePlan(ctx, req, resp.Plan.Raw, false, framework.Facts{Unknown: []string{"item", "usage", "baselines"}})...)
		return
	}
	size, sizeOK := planSize(&plan, it, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	planLease(&plan, state, exists, it, &resp.Diagnostics)
	if !checkPin(plan, state, exists, it, &resp.Diagnostics) {
		return
	}
	var adopt *vsphere.VM // a VM an interrupted create of this request made
	if !exists {
		adopt = r.planCreate(ctx, req, &plan, it, &resp.Diagnostics)
	} else {
		r.planUpdate(ctx, &plan, state, it, resp)
		if sizeOK && len(resp.RequiresReplace) == 0 {
			r.checkResize(ctx, plan, state, size, &resp.Diagnostics)
		}
	}
	if resp.Diagnostics.HasError() {
		return
	}
	if !reflect.DeepEqual(proposed, plan) { // an unchanged VM's plan needs no conversion back
		var d diag.Diagnostics
		resp.Plan.Raw, d = vmModels.Value(ctx, &plan)
		if resp.Diagnostics.Append(d...); resp.Diagnostics.HasError() {
			return
		}
	}
	r.gatePlan(ctx, req, resp, plan, state, it, adopt)
}

// planItem resolves the VM's item: published, or planned by this configuration (the item
// resource, planned before this VM in this process, noted the definition it publishes; nil while
// not all of it is known). An item neither published nor planned fails a new VM's plan (ok false);
// a VM that exists keeps what the item decided while it is unpublished, with a warning.
func (r *vmResource) planItem(ctx context.Context, plan *vmModel, state vmModel, exists bool, diags *diag.Diagnostics) (it *Item, ok bool) {
	if plan.CatalogItem.IsUnknown() {
		return nil, true
	}
	items, err := Items(ctx, r.Client.VSphere)
	if err != nil {
		framework.AddVSphereError(diags, "Cannot read the catalog", err)
		return nil, false
	}
	name := plan.CatalogItem.ValueString()
	if it = items[name]; it != nil {
		return it, true
	}
	v, planned := r.Client.Planned(plannedItem, name)
	if !planned && !exists {
		diags.AddAttributeError(path.Root("catalog_item"), "Unknown catalog item",
			fmt.Sprintf("No catalog item %q is published, and this configuration does not publish one (published items: %s). "+
				"Request a published item, or publish it with a vmgmt_catalog_item resource and refer to it by "+
				"vmgmt_catalog_item.<name>.name, so that Terraform publishes it first.", name, itemNames(items)))
		return nil, false
	}
	if it, _ = v.(*Item); it != nil || !exists {
		return it, true
	}
	// The VM exists and keeps running as it is; the item may be published again by this same
	// plan (unpublished behind Terraform's back), so this is not an error yet. What the item
	// decides stays as the VM has it; a new size is resolved at apply, from the item as then
	// published.
	resize := ""
	plan.Version, plan.CreatedAt = state.Version, state.CreatedAt
	if plan.LeaseDays.IsUnknown() || plan.LeaseDays.IsNull() {
		plan.LeaseDays = state.LeaseDays
	}
	plan.LeaseExpiresAt = leaseEnd(state.CreatedAt, plan.LeaseDays)
	if plan.Size.Equal(state.Size) {
		plan.CPUs, plan.MemoryMB, plan.DiskGB = state.CPUs, state.MemoryMB, state.DiskGB
	} else {
		resize = fmt.Sprintf(" The new size %s is resolved when applying, from the item as then published; the apply fails if it is not.", plan.Size)
	}
	diags.AddAttributeWarning(path.Root("catalog_item"), "Catalog item not published",
		fmt.Sprintf("No catalog item %q is published now (published items: %s). %s keeps its version, lease and size; "+
			"the checks against the item (size, lease, version) wait until it is published again.%s",
			name, itemNames(items), plan.Name.ValueString(), resize))
	return nil, true
}

// planSize plans the hardware of the requested size; a size the item does not offer is an error.
func planSize(plan *vmModel, it *Item, diags *diag.Diagnostics) (Size, bool) {
	size, ok := it.Sizes[plan.Size.ValueString()]
	if !plan.Size.IsUnknown() && !ok {
		diags.AddAttributeError(path.Root("size"), "Unknown size",
			fmt.Sprintf("Catalog item %s (version %s) offers sizes %s, not %q.", it.Name, it.Version, strings.Join(it.SizeNames(), ", "), plan.Size.ValueString()))
	}
	if ok {
		plan.CPUs, plan.MemoryMB, plan.DiskGB = types.Int64Value(int64(size.CPUs)), types.Int64Value(size.MemoryMB), types.Int64Value(size.DiskGB)
	}
	return size, ok
}

// planLease plans the lease: the VM's own, else the item's default, never beyond its maximum.
func planLease(plan *vmModel, state vmModel, exists bool, it *Item, diags *diag.Diagnostics) {
	if plan.LeaseDays.IsUnknown() {
		if exists && !state.LeaseDays.IsNull() {
			plan.LeaseDays = state.LeaseDays
		} else {
			plan.LeaseDays = types.Int64Value(it.Lease.DefaultDays)
		}
	}
	if !plan.LeaseDays.IsUnknown() && it.Lease.MaxDays > 0 && plan.LeaseDays.ValueInt64() > it.Lease.MaxDays {
		diags.AddAttributeError(path.Root("lease_days"), "Lease longer than the item allows",
			fmt.Sprintf("lease_days = %d, but catalog item %s allows at most %d days. Lower lease_days.", plan.LeaseDays.ValueInt64(), it.Name, it.Lease.MaxDays))
	}
}

// checkPin fails the plan when the pinned version is one the item does not publish and the VM
// does not run already.
func checkPin(plan, state vmModel, exists bool, it *Item, diags *diag.Diagnostics) bool {
	pin := plan.PinVersion
	if pin.IsNull() || pin.IsUnknown() || pin.ValueString() == it.Version ||
		exists && (pin.Equal(state.PinVersion) || pin.ValueString() == state.Version.ValueString()) {
		return true
	}
	diags.AddAttributeError(path.Root("pin_version"), "Pinned version not published",
		fmt.Sprintf("pin_version = %q, but catalog item %s publishes version %s. Pin %s, or publish %s first.",
			pin.ValueString(), it.Name, it.Version, it.Version, pin.ValueString()))
	return false
}

// planCreate plans a new VM: the item's current version and placement, the references checked,
// the name free; it returns a VM an interrupted create of this request made (to be adopted).
func (r *vmResource) planCreate(ctx context.Context, req resource.ModifyPlanRequest, plan *vmModel, it *Item, diags *diag.Diagnostics) *vsphere.VM {
	plan.Version = types.StringValue(it.Version)
	r.planPlacement(ctx, req, plan, it)
	plan.CreatedAt = types.StringUnknown()
	plan.LeaseExpiresAt = types.StringUnknown()
	r.checkReferences(ctx, *plan, it, diags)
	return r.checkNameFree(ctx, *plan, it, diags)
}

// planUpdate plans a VM that exists: it keeps its version unless the pin moves or a rebuild is
// asked for (both replace it), and its lease counts from its creation.
func (r *vmResource) planUpdate(_ context.Context, plan *vmModel, state vmModel, it *Item, resp *resource.ModifyPlanResponse) {
	plan.Version = state.Version
	if pin := plan.PinVersion; !pin.IsNull() && !pin.IsUnknown() && pin.ValueString() != state.Version.ValueString() {
		// A changed pin rebuilds the VM from the pinned (published) version.
		plan.Version = pin
		resp.RequiresReplace.Append(path.Root("pin_version"))
	} else if state.Version.ValueString() != it.Version && plan.PinVersion.IsNull() {
		if plan.Rebuild.ValueBool() {
			plan.Version = types.StringValue(it.Version)
			resp.RequiresReplace.Append(path.Root("catalog_item_version"))
		} else {
			resp.Diagnostics.AddAttributeWarning(path.Root("catalog_item_version"), "Newer catalog item version available",
				fmt.Sprintf("%s runs %s %s; version %s is published. The VM keeps its version; set rebuild = true to rebuild it from %s.",
					plan.Name.ValueString(), it.Name, state.Version.ValueString(), it.Version, it.Version))
		}
	}
	plan.CreatedAt = state.CreatedAt
	plan.LeaseExpiresAt = leaseEnd(state.CreatedAt, plan.LeaseDays)
	r.checkLease(*plan, it, &resp.Diagnostics)
}

// gatePlan puts the planned VM through the policy gate with the item and what each job function
// holds of it as inventory. A new VM claims its size in this run's ledger first, so the VMs
// requested together count against the quota together; an adopted VM is this request itself.
func (r *vmResource) gatePlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, plan, state vmModel, it *Item, adopt *vsphere.VM) {
	self := state.ID.ValueString()
	if adopt != nil {
		self = adopt.ID
	}
	var request *claim
	if req.State.Raw.IsNull() && plan.Name.ValueString() != "" && !plan.JobFunction.IsUnknown() {
		folder, _ := placement(plan, it)
		request = &claim{path: r.absFolder(ctx, folder) + "/" + plan.Name.ValueString(), jobFunction: plan.JobFunction.ValueString(),
			cpus: plan.CPUs.ValueInt64(), memoryMB: plan.MemoryMB.ValueInt64()}
	}
	inv, err := r.inventory(ctx, it, self, request)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot read catalog usage", err)
		return
	}
	resp.Diagnostics.Append(r.GatePlan(ctx, req, resp.Plan.Raw, len(resp.RequiresReplace) > 0, framework.Facts{Inventory: inv})...)
}

// planPlacement plans the item's default folder and network when the configuration leaves them
// out, so that the plan (and the policy) sees where the VM goes. A network given by path, or the
// template's network, is known once the VM exists.
func (r *vmResource) planPlacement(ctx context.Context, req resource.ModifyPlanRequest, plan *vmModel, it *Item) {
	var folder, network types.String
	if req.Config.GetAttribute(ctx, path.Root("folder"), &folder).HasError() || req.Config.GetAttribute(ctx, path.Root("network"), &network).HasError() {
		return
	}
	if folder.IsNull() && plan.Folder.IsUnknown() {
		plan.Folder = types.StringValue(defaultFolder(it))
	}
	if network.IsNull() && plan.Network.IsUnknown() && len(it.AllowedNetworks) > 0 && !strings.Contains(it.AllowedNetworks[0], "/") {
		plan.Network = types.StringValue(it.AllowedNetworks[0])
	}
}

// checkNameFree fails the plan when the VM's name is taken in its folder by a VM that vmgmt did
// not make for this request. A VM an interrupted create of this same request made is returned:
// the apply adopts it, and the plan says so.
func (r *vmResource) checkNameFree(ctx context.Context, plan vmModel, it *Item, diags *diag.Diagnostics) *vsphere.VM {
	if plan.Name.IsUnknown() || plan.Owner.IsUnknown() || plan.JobFunction.IsUnknown() || plan.Folder.IsUnknown() && !plan.Folder.IsNull() {
		return nil
	}
	vms, err := r.Client.VSphere.VMs(ctx)
	if err != nil {
		return nil
	}
	folder, _ := placement(plan, it)
	want := r.absFolder(ctx, folder) + "/" + plan.Name.ValueString()
	token := r.request(ctx, plan, it).Token
	for _, vm := range vms {
		if vm.Path != want {
			continue
		}
		if vm.ExtraConfig[vsphere.StampRequest] == token {
			diags.AddAttributeWarning(path.Root("name"), "VM will be adopted",
				fmt.Sprintf("%s (%s) exists already: an earlier apply of this same request created it and was interrupted before "+
					"Terraform recorded it. Apply adopts it (finishing what is missing) instead of creating another.", vm.Path, vm.ID))
			return vm
		}
		// A VM of the same item under this name is most likely the one this plan replaces
		// (a rebuild); a real collision with it is reported by vCenter at apply.
		if vm.ExtraConfig[StampItem] != it.Name {
			diags.AddAttributeError(path.Root("name"), "VM name taken",
				fmt.Sprintf("A VM named %q already exists at %s (%s), and vmgmt did not create it for this request. Choose another "+
					"name, or bring it under Terraform with: terraform import <address> %s",
					plan.Name.ValueString(), vm.Path, vm.ID, vm.Path))
		}
		return nil
	}
	return nil
}

// checkReferences fails the plan when what the VM is placed in (capacity reservation, folder,
// network) does not exist. A reference unknown until apply is checked by Create, before any
// vCenter write, with the same message.
func (r *vmResource) checkReferences(ctx context.Context, plan vmModel, it *Item, diags *diag.Diagnostics) {
	c := r.Client.VSphere
	if !plan.CapacityReservation.IsUnknown() && (!plan.CapacityReservation.IsNull() || !it.reservationUnknown) {
		if _, err := r.pool(ctx, plan, it); err != nil && vsphere.IsNotFound(err) {
			diags.AddAttributeError(path.Root("capacity_reservation"), "Cannot place the VM", err.Error())
		}
	}
	folder, network := placement(plan, it)
	if !plan.Folder.IsUnknown() || plan.Folder.IsNull() {
		if _, err := c.ResolveFolder(ctx, folder); err != nil && vsphere.IsNotFound(err) {
			diags.AddAttributeError(path.Root("folder"), "Folder not found", err.Error())
		}
	}
	if network != "" && (!plan.Network.IsUnknown() || plan.Network.IsNull()) {
		if _, err := c.ResolveNetwork(ctx, network); err != nil && vsphere.IsNotFound(err) {
			diags.AddAttributeError(path.Root("network"), "Network not found", err.Error())
		}
	}
}

// checkLease warns about an expired lease and fails the plan once the grace period is over.
func (r *vmResource) checkLease(plan vmModel, it *Item, diags *diag.Diagnostics) {
	end, err := time.Parse(time.RFC3339, plan.LeaseExpiresAt.ValueString())
	if plan.LeaseExpiresAt.IsUnknown() || err != nil {
		return
	}
	now := r.now()
	if now.Before(end) {
		return
	}
	graceEnd := end.Add(time.Duration(it.Lease.GraceDays) * 24 * time.Hour)
	days := int64(now.Sub(mustTime(plan.CreatedAt.ValueString())).Hours()/24) + 1
	fix := fmt.Sprintf("Renew it by raising lease_days (to at least %d; the item allows %d), or destroy the VM.", days, it.Lease.MaxDays)
	if now.After(graceEnd) {
		diags.AddAttributeError(path.Root("lease_days"), "Lease expired",
			fmt.Sprintf("The lease of %s ended %s and its %d-day grace period ended %s. %s",
				plan.Name.ValueString(), end.Format("2006-01-02"), it.Lease.GraceDays, graceEnd.Format("2006-01-02"), fix))
		return
	}
	diags.AddAttributeWarning(path.Root("lease_days"), "Lease expired",
		fmt.Sprintf("The lease of %s ended %s; plans fail after the grace period ends %s. %s",
			plan.Name.ValueString(), end.Format("2006-01-02"), graceEnd.Format("2006-01-02"), fix))
}

// checkResize decides whether a size change needs a power cycle, and refuses it unless allowed.
func (r *vmResource) checkResize(ctx context.Context, plan, state vmModel, size Size, diags *diag.Diagnostics) {
	if plan.Size.Equal(state.Size) && plan.CPUs.Equal(state.CPUs) && plan.MemoryMB.Equal(state.MemoryMB) && plan.DiskGB.Equal(state.DiskGB) {
		return
	}
	if size.DiskGB < state.DiskGB.ValueInt64() {
		diags.AddAttributeError(path.Root("size"), "Disk cannot shrink",
			fmt.Sprintf("Size %q has a %d GB disk but %s has %d GB; disks only grow. Pick a size with at least %d GB.",
				plan.Size.ValueString(), size.DiskGB, plan.Name.ValueString(), state.DiskGB.ValueInt64(), state.DiskGB.ValueInt64()))
		return
	}
	vm, err := r.Client.VSphere.GetVM(ctx, state.ID.ValueString())
	if err != nil || vm.PowerState != vsphere.PoweredOn {
		return // powered off (or gone): no power cycle needed
	}
	var why []string
	switch {
	case int64(size.CPUs) < int64(vm.CPUs):
		why = append(why, "vCPUs cannot be removed from a running VM")
	case size.CPUs != vm.CPUs && !vm.CPUHotAdd:
		why = append(why, "CPU hot add is off")
	}
	switch {
	case size.MemoryMB < vm.MemoryMB:
		why = append(why, "memory cannot be removed from a running VM")
	case size.MemoryMB != vm.MemoryMB && !vm.MemoryHotAdd:
		why = append(why, "memory hot add is off")
	}
	if len(why) == 0 {
		return
	}
	msg := fmt.Sprintf("Resizing %s from %s (%d vCPU, %d MB) to %s (%d vCPU, %d MB) needs a power cycle: %s.",
		plan.Name.ValueString(), state.Size.ValueString(), vm.CPUs, vm.MemoryMB, plan.Size.ValueString(), size.CPUs, size.MemoryMB, strings.Join(why, "; "))
	if !plan.AllowPowerCycle.ValueBool() {
		diags.AddAttributeError(path.Root("size"), "Resize needs a power cycle",
			msg+" Set allow_power_cycle = true to let apply power it off and on again, or resize in a maintenance window.")
		return
	}
	diags.AddAttributeWarning(path.Root("size"), "Resize will power cycle the VM", msg+" allow_power_cycle = true: apply powers it off, resizes and powers it on.")
}

func (r *vmResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var plan vmModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	defer r.Client.DonePlanned(framework.PlannedVM, plannedVMKey(plan))
	it, size, ok := r.plannedItem(ctx, plan, &resp.Diagnostics)
	if !ok {
		return
	}
	spec, ok := r.cloneSpec(ctx, plan, it, size, &resp.Diagnostics)
	if !ok {
		return
	}
	inv, err := r.inventory(ctx, it, "", &claim{path: r.absFolder(ctx, placementFolder(plan, it)) + "/" + plan.Name.ValueString(),
		jobFunction: plan.JobFunction.ValueString(), cpus: int64(size.CPUs), memoryMB: size.MemoryMB})
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot read catalog usage", err)
		return
	}
	resp.Diagnostics.Append(r.GateCreate(ctx, req, framework.Facts{Inventory: inv})...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := r.Client.VSphere
	res, err := c.CreateVM(ctx, spec)
	if !r.recordCreated(ctx, plan, res, err, resp) {
		return
	}
	if err := c.SetTags(ctx, res.ID, vmTags(plan, it.Version, it), !res.Adopted); err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "VM "+plan.Name.ValueString()+" created but cannot be tagged", err)
		return
	}
	r.readBack(ctx, res.ID, &plan, &resp.State, &resp.Diagnostics)
}

// plannedVMKey names a VM create in the planned-objects registry: its folder and name as planned.
func plannedVMKey(plan vmModel) string { return plan.Folder.String() + "/" + plan.Name.String() }

// plannedItem is the item and size a create builds from, as the plan saw them: an item
// unpublished, a size withdrawn or a version moved since the plan fails the apply.
func (r *vmResource) plannedItem(ctx context.Context, plan vmModel, diags *diag.Diagnostics) (*Item, Size, bool) {
	items, err := Items(ctx, r.Client.VSphere)
	if err != nil {
		framework.AddVSphereError(diags, "Cannot read the catalog", err)
		return nil, Size{}, false
	}
	it := items[plan.CatalogItem.ValueString()]
	if it == nil {
		diags.AddAttributeError(path.Root("catalog_item"), "Unknown catalog item",
			fmt.Sprintf("No catalog item %q is published (it was unpublished after the plan?).", plan.CatalogItem.ValueString()))
		return nil, Size{}, false
	}
	size, ok := it.Sizes[plan.Size.ValueString()]
	if !ok {
		diags.AddAttributeError(path.Root("size"), "Unknown size", fmt.Sprintf("Item %s no longer offers size %q.", it.Name, plan.Size.ValueString()))
		return nil, Size{}, false
	}
	if it.Version != plan.Version.ValueString() {
		diags.AddAttributeError(path.Root("catalog_item_version"), "Catalog item changed since the plan",
			fmt.Sprintf("The plan builds %s %s, but %s is now published. Plan again.", it.Name, plan.Version.ValueString(), it.Version))
		return nil, Size{}, false
	}
	return it, size, true
}

// cloneSpec places the VM (what was unknown at plan time is checked now, before any write, as
// the plan checks it) and describes it: size, stamps, customization, its request and what its
// item's enforcing baseline requires of a new VM.
func (r *vmResource) cloneSpec(ctx context.Context, plan vmModel, it *Item, size Size, diags *diag.Diagnostics) (vsphere.CloneSpec, bool) {
	if r.checkReferences(ctx, plan, it, diags); diags.HasError() {
		return vsphere.CloneSpec{}, false
	}
	c := r.Client.VSphere
	folder, network := placement(plan, it)
	f, err := c.ResolveFolder(ctx, folder)
	if err != nil {
		diags.AddAttributeError(path.Root("folder"), "Folder not found", err.Error())
		return vsphere.CloneSpec{}, false
	}
	poolID, err := r.pool(ctx, plan, it)
	if err != nil {
		diags.AddAttributeError(path.Root("capacity_reservation"), "Cannot place the VM", err.Error())
		return vsphere.CloneSpec{}, false
	}
	spec := vsphere.CloneSpec{
		Name: plan.Name.ValueString(), FolderID: f.Reference().Value, PoolID: poolID, Network: network,
		CPUs: size.CPUs, MemoryMB: size.MemoryMB, DiskGB: size.DiskGB, PowerOn: plan.PowerOn.ValueBool(),
		ExtraConfig: stamps(plan, it.Version, r.now().UTC().Truncate(time.Second)), Customization: plan.customization(ctx, diags),
		Request: r.request(ctx, plan, it), Preserve: []string{StampCreated},
	}
	if it.Library {
		spec.LibraryItemID = it.TemplateID
	} else {
		spec.TemplateID = it.TemplateID
	}
	r.bornCompliant(ctx, it, &spec, diags)
	return spec, !diags.HasError()
}

// recordCreated puts a VM that exists into state at once, so a failure after it leaves the VM in
// state (tainted), never orphaned, and reports the outcome: an adoption warns, a name taken by a
// VM vmgmt did not make for this request gives the import command. It reports whether the create
// can go on.
func (r *vmResource) recordCreated(ctx context.Context, plan vmModel, res vsphere.Created, err error, resp *resource.CreateResponse) bool {
	name := plan.Name.ValueString()
	if res.ID != "" {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), res.ID)...)
	}
	if res.Adopted {
		framework.AddAdopted(&resp.Diagnostics, "VM", name, res)
	}
	var foreign *vsphere.ForeignObjectError
	switch {
	case err == nil:
		return !resp.Diagnostics.HasError()
	case res.ID != "":
		framework.AddVSphereError(&resp.Diagnostics, "VM "+name+" created but not finished", err)
	case errors.As(err, &foreign):
		framework.AddForeign(&resp.Diagnostics, path.Root("name"), "VM name taken", foreign, foreign.ID)
	default:
		framework.AddVSphereError(&resp.Diagnostics, "Cannot create VM "+name, err)
	}
	return false
}

// request identifies the create of a catalog VM across runs (see vsphere.Request): what names it
// and where it lives, what it is built from and whose it is. Size, lease and power are finished
// on adoption, not part of it.
func (r *vmResource) request(ctx context.Context, plan vmModel, it *Item) vsphere.Request {
	folder, network := placement(plan, it)
	reservation := plan.CapacityReservation.ValueString()
	if reservation == "" {
		reservation = it.CapacityReservation
	}
	var cu string
	var diags diag.Diagnostics
	if c := plan.customization(ctx, &diags); c != nil {
		cu = strings.Join([]string{c.Hostname, c.Domain, c.IPv4, c.Gateway, strings.Join(c.DNSServers, ",")}, "|")
	}
	return vsphere.NewRequest("vmgmt_catalog_vm", plan.Name.ValueString(), r.absFolder(ctx, folder), it.Name, plan.Version.ValueString(),
		plan.Owner.ValueString(), plan.JobFunction.ValueString(), reservation, network, cu)
}

// placementFolder is the folder a VM is created in (see placement).
func placementFolder(plan vmModel, it *Item) string {
	folder, _ := placement(plan, it)
	return folder
}

// placement is the folder and network a VM is created in: the request's, else the item's first
// allowed ones ("" is the datacenter's vm folder, and the template's network).
func placement(plan vmModel, it *Item) (folder, network string) {
	folder, network = plan.Folder.ValueString(), plan.Network.ValueString()
	if plan.Folder.IsUnknown() || plan.Folder.IsNull() {
		folder = defaultFolder(it)
	}
	if plan.Network.IsUnknown() || plan.Network.IsNull() {
		network = ""
		if len(it.AllowedNetworks) > 0 {
			network = it.AllowedNetworks[0]
		}
	}
	return folder, network
}

func (r *vmResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var state vmModel
	resp.Diagnostics.Append(vmModels.Get(ctx, req.State.Raw, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	vm, err := r.Client.VSphere.GetVM(ctx, state.ID.ValueString())
	if vsphere.IsNotFound(err) {
		framework.RemoveGone(ctx, &resp.State, &resp.Diagnostics, "VM", state.Name.ValueString(), state.ID.ValueString())
		return
	}
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot read VM "+state.ID.ValueString(), err)
		return
	}
	prior := state
	state.fill(r.absFolder(ctx, ""), vm)
	if reflect.DeepEqual(prior, state) {
		return // resp.State already holds it: converting it back costs more than the read
	}
	var d diag.Diagnostics
	resp.State.Raw, d = vmModels.Value(ctx, &state)
	resp.Diagnostics.Append(d...)
}

func (r *vmResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var plan, state vmModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !r.gateUpdate(ctx, req, plan, state.ID.ValueString(), &resp.Diagnostics) {
		return
	}
	c := r.Client.VSphere
	id := state.ID.ValueString()
	vm, err := c.GetVM(ctx, id)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot read VM "+id, err)
		return
	}
	if plan.CPUs.IsUnknown() || plan.MemoryMB.IsUnknown() || plan.DiskGB.IsUnknown() || plan.LeaseDays.IsUnknown() {
		// Only when the item is not published at apply time either (ModifyPlan resolves them).
		resp.Diagnostics.AddAttributeError(path.Root("catalog_item"), "Catalog item not published",
			fmt.Sprintf("Catalog item %q is not published, so size %s (or the lease) of %s cannot be resolved. Publish the item, or keep the VM's size.",
				plan.CatalogItem.ValueString(), plan.Size, plan.Name.ValueString()))
		return
	}
	cycled, ok := r.reconfigure(ctx, plan, state, vm, &resp.Diagnostics)
	if !ok {
		return
	}
	if !plan.Owner.Equal(state.Owner) || !plan.JobFunction.Equal(state.JobFunction) {
		if err := c.SetTags(ctx, id, vmTags(plan, state.Version.ValueString(), nil), false); err != nil {
			framework.AddVSphereError(&resp.Diagnostics, "Cannot retag "+plan.Name.ValueString(), err)
			return
		}
	}
	wantOn := plan.PowerOn.ValueBool()
	if cycled || (vm.PowerState == vsphere.PoweredOn) != wantOn {
		if err := c.SetPower(ctx, id, wantOn); err != nil {
			framework.AddVSphereError(&resp.Diagnostics, "Cannot change the power state of "+plan.Name.ValueString(), err)
			return
		}
	}
	r.readBack(ctx, id, &plan, &resp.State, &resp.Diagnostics)
}

// gateUpdate puts an update through the policy gate, with the item and its usage (this VM
// excluded) as inventory while the item is published.
func (r *vmResource) gateUpdate(ctx context.Context, req resource.UpdateRequest, plan vmModel, id string, diags *diag.Diagnostics) bool {
	items, err := Items(ctx, r.Client.VSphere)
	if err != nil {
		framework.AddVSphereError(diags, "Cannot read the catalog", err)
		return false
	}
	var inv map[string]any
	if it := items[plan.CatalogItem.ValueString()]; it != nil {
		if inv, err = r.inventory(ctx, it, id, nil); err != nil {
			framework.AddVSphereError(diags, "Cannot read catalog usage", err)
			return false
		}
	}
	diags.Append(r.GateUpdate(ctx, req, framework.Facts{Inventory: inv})...)
	return !diags.HasError()
}

// reconfigure renames, resizes, grows the disk and restamps the VM in one reconfigure, powering it
// off first when the resize needs a power cycle (refused without allow_power_cycle). It reports
// whether it powered the VM off, and whether the update can go on.
func (r *vmResource) reconfigure(ctx context.Context, plan, state vmModel, vm *vsphere.VM, diags *diag.Diagnostics) (cycled, ok bool) {
	c := r.Client.VSphere
	spec := vsphere.ReconfigSpec{ExtraConfig: stamps(plan, state.Version.ValueString(), mustTime(state.CreatedAt.ValueString()))}
	if !plan.Name.Equal(state.Name) {
		spec.Name = plan.Name.ValueString()
	}
	resize := plan.CPUs.ValueInt64() != int64(vm.CPUs) || plan.MemoryMB.ValueInt64() != vm.MemoryMB
	if resize {
		spec.CPUs, spec.MemoryMB = int32(plan.CPUs.ValueInt64()), plan.MemoryMB.ValueInt64()
	}
	if plan.DiskGB.ValueInt64() > vm.DiskGB {
		spec.DiskGB = plan.DiskGB.ValueInt64()
	}
	cycle := resize && vm.PowerState == vsphere.PoweredOn && needsCycle(vm, spec)
	if cycle {
		if !plan.AllowPowerCycle.ValueBool() {
			diags.AddAttributeError(path.Root("size"), "Resize needs a power cycle",
				fmt.Sprintf("%s is running and cannot be resized without a power cycle; set allow_power_cycle = true.", plan.Name.ValueString()))
			return false, false
		}
		if err := c.SetPower(ctx, vm.ID, false); err != nil {
			framework.AddVSphereError(diags, "Cannot power off "+plan.Name.ValueString()+" for the resize", err)
			return false, false
		}
	}
	if err := c.ReconfigureVM(ctx, vm.ID, spec); err != nil {
		framework.AddVSphereError(diags, "Cannot reconfigure "+plan.Name.ValueString(), err)
		if cycle {
			_ = c.SetPower(ctx, vm.ID, true) // leave it running as it was
		}
		return cycle, false
	}
	return cycle, true
}

func (r *vmResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var state vmModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(r.GateDelete(ctx, req, framework.Facts{})...)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.Client.VSphere.DestroyVM(ctx, state.ID.ValueString()); err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot destroy VM "+state.Name.ValueString(), err)
	}
}

// ImportState takes an inventory path, a UUID or a managed object ID of a VM made from the catalog.
func (r *vmResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	vm, err := r.Client.VSphere.FindVM(ctx, req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Cannot import VM", fmt.Sprintf("%v. Give the VM's inventory path (/dc1/vm/workloads/app01), UUID or managed object ID.", err))
		return
	}
	if vm.ExtraConfig[StampItem] == "" {
		resp.Diagnostics.AddError("Not a catalog VM",
			fmt.Sprintf("%s carries no catalog stamp (%s); only VMs made from the catalog can be imported as vmgmt_catalog_vm.", vm.Path, StampItem))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), vm.ID)...)
}

func (r *vmResource) readBack(ctx context.Context, id string, m *vmModel, state *tfsdk.State, diags *diag.Diagnostics) {
	c := r.Client.VSphere
	vm, err := c.GetVM(ctx, id)
	if err != nil {
		framework.AddVSphereError(diags, "VM "+id+" changed but cannot be read back", err)
		return
	}
	m.ID = types.StringValue(id)
	m.fill(r.absFolder(ctx, ""), vm)
	diags.Append(state.Set(ctx, m)...)
}

// pool picks the resource pool: the request's override, the item's reservation, else the root
// pool of the datacenter's only cluster.
func (r *vmResource) pool(ctx context.Context, plan vmModel, it *Item) (string, error) {
	c := r.Client.VSphere
	ref := plan.CapacityReservation.ValueString()
	if ref == "" {
		ref = it.CapacityReservation
	}
	if ref != "" {
		p, err := c.ResolvePool(ctx, ref)
		if err != nil {
			return "", fmt.Errorf("capacity reservation %q: %w", ref, err)
		}
		return p.ID(), nil
	}
	if id, err := c.DefaultPool(ctx); err == nil {
		return id, nil
	}
	return "", fmt.Errorf("catalog item %s names no capacity_reservation and the datacenter has several clusters: set capacity_reservation on the item or the VM", it.Name)
}

// inventory is the policy input's inventory for a catalog VM: the item, what each job function
// already holds of it (this VM excluded): the VMs vCenter holds, and the new VMs this run claimed
// that vCenter does not hold yet; and the configuration baseline the item names, with its mode.
// A new VM passes its own claim (request), recorded first.
func (r *vmResource) inventory(ctx context.Context, it *Item, selfID string, request *claim) (map[string]any, error) {
	vms, err := r.Client.VSphere.VMs(ctx)
	if err != nil {
		return nil, err
	}
	claims := r.claims()
	if request != nil {
		claims.record(it.Name, *request)
	}
	usage := map[string]*groupUsage{}
	add := func(group string, cpus, memoryMB int64) {
		u := usage[group]
		if u == nil {
			u = &groupUsage{}
			usage[group] = u
		}
		u.instances++
		u.cpus += cpus
		u.memoryMB += memoryMB
	}
	held := map[string]bool{}
	for _, vm := range vms {
		held[vm.Path] = true
		if vm.ID == selfID || vm.ExtraConfig[StampItem] != it.Name || request != nil && vm.Path == request.path {
			continue
		}
		add(vm.ExtraConfig[StampJobFunction], int64(vm.CPUs), vm.MemoryMB)
	}
	for _, cl := range claims.of(it.Name) {
		if !held[cl.path] && (request == nil || cl.path != request.path) {
			add(cl.jobFunction, cl.cpus, cl.memoryMB)
		}
	}
	u := map[string]any{}
	for g, v := range usage {
		u[g] = map[string]any{"instances": v.instances, "cpus": v.cpus, "memory_mb": v.memoryMB}
	}
	holding, err := r.baselines(ctx, it)
	if err != nil {
		return nil, err
	}
	return map[string]any{"item": definitionDoc(it.Definition), "usage": u, "baselines": holding}, nil
}

// baselines are the configuration baselines that hold the item's VMs: the one its config_baseline
// names (none when it names none), with its mode as planned in this run, else as vCenter holds
// it, else "" (no baseline of that name).
func (r *vmResource) baselines(ctx context.Context, it *Item) ([]any, error) {
	name := it.ConfigBaseline
	if name == "" {
		return []any{}, nil
	}
	mode := ""
	if r.Client.Baselines != nil {
		var err error
		if mode, err = r.Client.Baselines.Mode(ctx, r.Client, name); err != nil {
			return nil, fmt.Errorf("reading the mode of configuration baseline %s, which catalog item %s names: %w", name, it.Name, err)
		}
	}
	return []any{map[string]any{"name": name, "mode": mode}}, nil
}

// groupUsage is what one job function holds of an item.
type groupUsage struct{ instances, cpus, memoryMB int64 }

// claim is a new VM of an item that this run plans or creates, by inventory path.
type claim struct {
	path, jobFunction string
	cpus, memoryMB    int64
}

// claimLedger holds the claims of one run, per item.
type claimLedger struct {
	mu     sync.Mutex
	byItem map[string]map[string]claim // item -> path -> claim
}

func (r *vmResource) claims() *claimLedger {
	return r.Client.Shared("catalog VMs planned", func() any { return &claimLedger{byItem: map[string]map[string]claim{}} }).(*claimLedger)
}

func (l *claimLedger) record(item string, c claim) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byItem[item] == nil {
		l.byItem[item] = map[string]claim{}
	}
	l.byItem[item][c.path] = c
}

func (l *claimLedger) of(item string) []claim {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]claim, 0, len(l.byItem[item]))
	for _, c := range l.byItem[item] {
		out = append(out, c)
	}
	return out
}

// absFolder makes a folder path absolute ("" is the datacenter's vm folder).
func (r *vmResource) absFolder(ctx context.Context, folder string) string {
	if strings.HasPrefix(folder, "/") {
		return strings.TrimSuffix(folder, "/")
	}
	dc, err := r.Client.VSphere.Datacenter(ctx)
	if err != nil {
		return folder
	}
	base := dc.InventoryPath + "/vm"
	if folder == "" {
		return base
	}
	return base + "/" + strings.Trim(folder, "/")
}

func defaultFolder(it *Item) string {
	if len(it.AllowedFolders) > 0 {
		return it.AllowedFolders[0]
	}
	return ""
}

func needsCycle(vm *vsphere.VM, s vsphere.ReconfigSpec) bool {
	cpu := s.CPUs != 0 && (s.CPUs < vm.CPUs || (s.CPUs != vm.CPUs && !vm.CPUHotAdd))
	mem := s.MemoryMB != 0 && (s.MemoryMB < vm.MemoryMB || (s.MemoryMB != vm.MemoryMB && !vm.MemoryHotAdd))
	return cpu || mem
}

// stamps are the extraConfig keys that record where a VM came from and who owns it.
func stamps(m vmModel, version string, created time.Time) map[string]string {
	return map[string]string{
		StampItem:        m.CatalogItem.ValueString(),
		StampVersion:     version,
		StampSize:        m.Size.ValueString(),
		StampOwner:       m.Owner.ValueString(),
		StampJobFunction: m.JobFunction.ValueString(),
		StampCreated:     created.UTC().Format(time.RFC3339),
		StampLeaseDays:   strconv.FormatInt(m.LeaseDays.ValueInt64(), 10),
	}
}

// vmTags are the tags that record, in vCenter, what a catalog VM is and whose it is. Given the
// item (at birth), they also carry its configuration baseline, security group and backup job, which
// those functions' selections pick up by tag: the catalog knows nothing of them.
func vmTags(m vmModel, version string, it *Item) map[string]string {
	tags := map[string]string{
		TagItem:        m.CatalogItem.ValueString(),
		TagVersion:     version,
		TagOwner:       m.Owner.ValueString(),
		TagJobFunction: m.JobFunction.ValueString(),
	}
	if it != nil {
		for cat, name := range map[string]string{TagBaseline: it.ConfigBaseline, TagSecurityGroup: it.SecurityGroup, TagBackupJob: it.BackupJob} {
			if name != "" {
				tags[cat] = name
			}
		}
	}
	return tags
}

func leaseEnd(created types.String, days types.Int64) types.String {
	if created.IsNull() || created.IsUnknown() || days.IsUnknown() {
		return types.StringUnknown()
	}
	t, err := time.Parse(time.RFC3339, created.ValueString())
	if err != nil {
		return types.StringUnknown()
	}
	return types.StringValue(t.Add(time.Duration(days.ValueInt64()) * 24 * time.Hour).UTC().Format(time.RFC3339))
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Now().UTC().Truncate(time.Second)
	}
	return t
}

func itemNames(items map[string]*Item) string {
	if len(items) == 0 {
		return "none"
	}
	names := make([]string, 0, len(items))
	for n := range items {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

package capacity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

var (
	_ resource.ResourceWithConfigure      = (*reservationResource)(nil)
	_ resource.ResourceWithImportState    = (*reservationResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*reservationResource)(nil)
	_ resource.ResourceWithValidateConfig = (*reservationResource)(nil)
)

// NewReservationResource is the vmgmt_capacity_reservation resource.
func NewReservationResource() resource.Resource {
	return &reservationResource{ResourceBase: framework.ResourceBase{TypeSuffix: "capacity_reservation"}}
}

type reservationResource struct {
	framework.ResourceBase
}

// ledger is the configured client's ledger of the reservations planned in this run (the framework
// makes a new resource value for every call: one of its own would never see a sibling).
func (r *reservationResource) ledger() *ledger {
	return r.Client.Shared("capacity reservations planned", func() any { return newLedger() }).(*ledger)
}

func (r *reservationResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		// Version of the state's shape: a change that alters stored state raises it and adds a
		// state upgrader (resource.ResourceWithUpgradeState) with a test.
		Version: 0,
		MarkdownDescription: "A capacity reservation: a vSphere resource pool under a cluster or another reservation, with " +
			"guaranteed (reserved) and capped (limited) CPU and memory and a share of contended resources.\n\n" +
			"At plan time the reservation is admitted against the parent's unreserved capacity: when the parent " +
			"is not expandable, a reservation that does not fit fails the plan with the numbers, before anything changes in vCenter.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "Managed object ID of the resource pool, e.g. `resgroup-42`.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "Name of the resource pool, unique among its siblings: " + framework.ObjectName().Description(context.Background()) +
					". Renaming is done in place.",
				Required:   true,
				Validators: []validator.String{framework.ObjectName()},
			},
			"parent": schema.StringAttribute{
				MarkdownDescription: "Where the pool lives: a cluster or a resource pool, by inventory path (`/dc1/host/prod`, " +
					"`/dc1/host/prod/Resources/tier-1`, or relative to the datacenter's host folder: `prod/Resources/tier-1`) " +
					"or by managed object ID (`domain-c7`, `resgroup-42`). Changing it to a different pool replaces the reservation; " +
					"changing only how the same parent is written does not.",
				Required:   true,
				Validators: []validator.String{framework.InventoryPath()},
			},
			"parent_id": schema.StringAttribute{
				MarkdownDescription: "Managed object ID of the parent pool (a cluster's root pool for a top-level reservation).",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"path": schema.StringAttribute{
				MarkdownDescription: "Inventory path of the pool, e.g. `/dc1/host/prod/Resources/tier-1`.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{unlessChanged{attr: "name"}},
			},
			"cpu":    allocationAttribute("CPU", "MHz", vsphere.MaxPoolCPUMHz),
			"memory": allocationAttribute("Memory", "MB", vsphere.MaxPoolMemoryMB),
			"unreserved_cpu_mhz": schema.Int64Attribute{
				MarkdownDescription: "CPU (MHz) of this pool's reservation not yet reserved by its child pools and VMs: the headroom for reservations under it.",
				Computed:            true,
			},
			"unreserved_memory_mb": schema.Int64Attribute{
				MarkdownDescription: "Memory (MB) of this pool's reservation not yet reserved by its child pools and VMs.",
				Computed:            true,
			},
		},
	}
}

// ValidateConfig checks the rules that span attributes (reservation <= limit, custom shares).
func (r *reservationResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m reservationModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if a, ok := allocationFrom(ctx, m.CPU, &resp.Diagnostics); ok {
		validateAllocation(a, path.Root("cpu"), "MHz", &resp.Diagnostics)
	}
	if a, ok := allocationFrom(ctx, m.Memory, &resp.Diagnostics); ok {
		validateAllocation(a, path.Root("memory"), "MB", &resp.Diagnostics)
	}
}

// ModifyPlan admits the planned reservation against the parent's unreserved capacity, then puts
// the change (with the parent's capacity as inventory) through the policy gate.
func (r *reservationResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if !r.Configured() {
		return // validation without a provider configuration
	}
	if req.Plan.Raw.IsNull() {
		resp.Diagnostics.Append(r.GatePlan(ctx, req, req.Plan.Raw, false, framework.Facts{})...)
		return
	}
	capa, held, unknownInv := r.admitPlan(ctx, req, resp)
	if resp.Diagnostics.HasError() {
		return
	}
	var unknown []string
	if unknownInv {
		unknown = []string{"parent", "held"}
	}
	resp.Diagnostics.Append(r.GatePlan(ctx, req, req.Plan.Raw, len(resp.RequiresReplace) > 0,
		framework.Facts{Inventory: inventory(capa, held), Unknown: unknown})...)
}

// admitPlan runs the native admission check and returns the parent's capacity (nil when the parent
// cannot be known at plan time) and what this reservation already holds in it.
func (r *reservationResource) admitPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) (*vsphere.Capacity, held, bool) {
	var plan, state reservationModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if !req.State.Raw.IsNull() {
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	}
	if resp.Diagnostics.HasError() {
		return nil, held{}, false
	}
	moved := !req.State.Raw.IsNull() && !plan.Parent.Equal(state.Parent)
	if moved && plan.Parent.IsUnknown() {
		resp.RequiresReplace.Append(path.Root("parent"))
	}
	if plan.Parent.IsUnknown() || plan.Name.IsUnknown() {
		return nil, held{}, true // the parent is created in this same apply: admitted then
	}
	cpu, okCPU := allocationFrom(ctx, plan.CPU, &resp.Diagnostics)
	mem, okMem := allocationFrom(ctx, plan.Memory, &resp.Diagnostics)
	if !okCPU || !okMem || cpu.Reservation.IsUnknown() || mem.Reservation.IsUnknown() {
		return nil, held{}, true
	}
	c := r.Client.VSphere
	parent, err := c.ResolvePool(ctx, plan.Parent.ValueString())
	if err != nil {
		addParentError(&resp.Diagnostics, plan.Parent.ValueString(), err)
		return nil, held{}, false
	}
	// vCenter cannot move a pool in place here: a different parent means a new pool. The same
	// parent written differently (path instead of ID) is only a new spelling.
	sameParent := !req.State.Raw.IsNull() && state.ParentID.ValueString() == parent.ID()
	if moved && !sameParent {
		resp.RequiresReplace.Append(path.Root("parent"))
		return nil, held{}, true // the replacement is planned (and admitted) as a create
	}
	// Grandfathering: an unchanged reservation is not re-judged because something else grew.
	unchanged := false
	if sameParent {
		oldCPU, _ := allocationFrom(ctx, state.CPU, &resp.Diagnostics)
		oldMem, _ := allocationFrom(ctx, state.Memory, &resp.Diagnostics)
		unchanged = oldCPU.Reservation.Equal(cpu.Reservation) && oldMem.Reservation.Equal(mem.Reservation)
	}
	if unchanged && r.Client.Policy == nil {
		return nil, held{}, false
	}
	capa, err := c.PoolCapacity(ctx, parent)
	if err != nil {
		addParentError(&resp.Diagnostics, plan.Parent.ValueString(), err)
		return nil, held{}, false
	}
	want := planned{name: plan.Name.ValueString(), cpu: cpu.Reservation.ValueInt64(), mem: mem.Reservation.ValueInt64()}
	if sameParent {
		// Renamed in this plan: what it holds is recorded under its current name.
		want.current = state.Name.ValueString()
	} else if !adoptable(capa, parent, &want, &resp.Diagnostics) {
		return nil, held{}, false
	}
	h := heldBy(capa, want)
	if unchanged {
		return capa, h, false
	}
	others := r.ledger().record(parent.ID(), want, capa)
	admit(capa, plan.Parent.ValueString(), want, others, &resp.Diagnostics)
	return capa, h, false
}

// held is what a reservation already holds in its parent.
type held struct{ cpu, mem int64 }

func heldBy(capa *vsphere.Capacity, want planned) held {
	name := want.name
	if want.current != "" {
		name = want.current
	}
	if ch, ok := capa.Child(name); ok {
		return held{cpu: ch.CPUReservationMHz, mem: ch.MemoryReservationMB}
	}
	return held{}
}

// inventory is the policy input's inventory for a capacity reservation: the parent's capacity
// and what this reservation already holds in it. CPU in MHz, memory in MB.
func inventory(capa *vsphere.Capacity, h held) map[string]any {
	if capa == nil {
		return nil
	}
	return map[string]any{
		"parent": poolFacts(capa),
		"held":   map[string]any{"cpu": h.cpu, "memory": h.mem},
	}
}

// poolFacts describes a pool's capacity for policy input.
func poolFacts(capa *vsphere.Capacity) map[string]any {
	res := func(rc vsphere.ResourceCapacity) map[string]any {
		return map[string]any{"capacity": rc.Capacity, "reserved": rc.Reserved, "unreserved": rc.Unreserved, "expandable": rc.Expandable, "limit": rc.Limit}
	}
	// Counts, not lists: the input of every decision under a parent would otherwise grow with the
	// number of its siblings (a plan of N pools under one cluster would cost O(N^2)).
	return map[string]any{
		"id": capa.ID, "name": capa.Name, "kind": capa.Kind, "vm_count": capa.VMs, "child_count": len(capa.Children),
		"cpu": res(capa.CPU), "memory": res(capa.Memory),
	}
}

func (r *reservationResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var plan reservationModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	spec, ok := plan.spec(ctx, &resp.Diagnostics)
	if !ok {
		return
	}
	c := r.Client.VSphere
	parent, err := c.ResolvePool(ctx, plan.Parent.ValueString())
	if err != nil {
		addParentError(&resp.Diagnostics, plan.Parent.ValueString(), err)
		return
	}
	// Admit again against live numbers: the plan may be old, or the parent was created in this apply.
	capa, err := c.PoolCapacity(ctx, parent)
	if err != nil {
		addParentError(&resp.Diagnostics, plan.Parent.ValueString(), err)
		return
	}
	want := planned{name: plan.Name.ValueString(), cpu: spec.CPU.Reservation, mem: spec.Memory.Reservation}
	if !adoptable(capa, parent, &want, &resp.Diagnostics) {
		return
	}
	admit(capa, plan.Parent.ValueString(), want, nil, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(r.GateCreate(ctx, req, framework.Facts{Inventory: inventory(capa, heldBy(capa, want))})...)
	if resp.Diagnostics.HasError() {
		return
	}
	res, err := c.EnsurePool(ctx, parent, plan.Name.ValueString(), spec, poolRequest(parent, plan.Name.ValueString()))
	if res.ID != "" {
		// Record the ID at once: if finishing or reading back fails, Terraform keeps the pool in
		// state (tainted) instead of forgetting it in vCenter.
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), res.ID)...)
	}
	if res.Adopted {
		framework.AddAdopted(&resp.Diagnostics, "resource pool", plan.Name.ValueString(), res)
	}
	if err != nil {
		var foreign *vsphere.ForeignObjectError
		if errors.As(err, &foreign) {
			framework.AddForeign(&resp.Diagnostics, path.Root("name"), "Resource pool already exists", foreign, foreign.ID)
			return
		}
		framework.AddVSphereError(&resp.Diagnostics, "Cannot create resource pool", err)
		return
	}
	r.readBack(ctx, res.ID, "created", &plan, &resp.State, &resp.Diagnostics)
}

// poolRequest identifies the create of a reservation across runs: its name under its parent.
func poolRequest(parent vsphere.PoolRef, name string) vsphere.Request {
	return vsphere.NewRequest("vmgmt_capacity_reservation", parent.ID(), name)
}

// adoptable looks, before a reservation is created, for a pool of its name under the parent. One
// that an interrupted create of this request made is adopted by the apply: want then holds what it
// holds, and the plan says so. One that vmgmt did not make for this request fails the plan with
// the import command; adoptable then returns false.
func adoptable(capa *vsphere.Capacity, parent vsphere.PoolRef, want *planned, diags *diag.Diagnostics) bool {
	ch, err := capa.CreatedBy(parent, want.name, poolRequest(parent, want.name))
	var foreign *vsphere.ForeignObjectError
	switch {
	case errors.As(err, &foreign):
		framework.AddForeign(diags, path.Root("name"), "Resource pool already exists", foreign, foreign.ID)
		return false
	case ch != nil:
		want.current = ch.Name
		diags.AddAttributeWarning(path.Root("name"), "Resource pool will be adopted",
			fmt.Sprintf("Resource pool %s (%s) exists already: an earlier apply of this same request created it and was interrupted "+
				"before Terraform recorded it. Apply adopts it (giving it its name and allocation) instead of creating another.", ch.Name, ch.ID))
	}
	return true
}

// readBack reads the pool after a change and stores what vCenter reports.
func (r *reservationResource) readBack(ctx context.Context, id, what string, m *reservationModel, state *tfsdk.State, diags *diag.Diagnostics) {
	pool, err := r.Client.VSphere.GetPool(ctx, id)
	if err != nil {
		framework.AddVSphereError(diags, fmt.Sprintf("Resource pool %s %s but cannot be read back", id, what), err)
		return
	}
	m.ID = types.StringValue(id)
	m.fill(pool)
	diags.Append(state.Set(ctx, m)...)
}

func (r *reservationResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var state reservationModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	pool, err := r.Client.VSphere.GetPool(ctx, state.ID.ValueString())
	if vsphere.IsNotFound(err) {
		framework.RemoveGone(ctx, &resp.State, &resp.Diagnostics, "resource pool", state.Name.ValueString(), state.ID.ValueString())
		return
	}
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot read resource pool "+state.ID.ValueString(), err)
		return
	}
	if pool.Root {
		resp.Diagnostics.AddError("Not a capacity reservation",
			fmt.Sprintf("%s (%s) is the root resource pool of a cluster or host, which vCenter manages itself. Import a pool below it instead.", pool.Path, pool.ID))
		return
	}
	state.fill(pool)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *reservationResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var plan, state reservationModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	spec, ok := plan.spec(ctx, &resp.Diagnostics)
	if !ok {
		return
	}
	c := r.Client.VSphere
	id := state.ID.ValueString()
	oldCPU, _ := allocationFrom(ctx, state.CPU, &resp.Diagnostics)
	oldMem, _ := allocationFrom(ctx, state.Memory, &resp.Diagnostics)
	grows := spec.CPU.Reservation > oldCPU.Reservation.ValueInt64() || spec.Memory.Reservation > oldMem.Reservation.ValueInt64()
	var capa *vsphere.Capacity
	want := planned{name: plan.Name.ValueString(), current: state.Name.ValueString(), cpu: spec.CPU.Reservation, mem: spec.Memory.Reservation}
	if grows || r.Client.Policy != nil {
		parent, err := c.ResolvePool(ctx, state.ParentID.ValueString())
		if err == nil {
			capa, err = c.PoolCapacity(ctx, parent)
		}
		if err != nil {
			addParentError(&resp.Diagnostics, plan.Parent.ValueString(), err)
			return
		}
		if grows {
			admit(capa, plan.Parent.ValueString(), want, nil, &resp.Diagnostics)
		}
	}
	var h held
	if capa != nil {
		h = heldBy(capa, want)
	}
	resp.Diagnostics.Append(r.GateUpdate(ctx, req, framework.Facts{Inventory: inventory(capa, h)})...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := ""
	if !plan.Name.Equal(state.Name) {
		name = plan.Name.ValueString()
	}
	if err := c.UpdatePool(ctx, id, name, spec); err != nil {
		if vsphere.IsNameConflict(err) {
			resp.Diagnostics.AddAttributeError(path.Root("name"), "Resource pool name taken",
				fmt.Sprintf("Cannot rename %s to %q: a sibling already has that name.", state.Path.ValueString(), plan.Name.ValueString()))
			return
		}
		framework.AddVSphereError(&resp.Diagnostics, "Cannot update resource pool "+id, err)
		return
	}
	r.readBack(ctx, id, "updated", &plan, &resp.State, &resp.Diagnostics)
}

func (r *reservationResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var state reservationModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(r.GateDelete(ctx, req, framework.Facts{})...)
	if resp.Diagnostics.HasError() {
		return
	}
	err := r.Client.VSphere.DestroyPool(ctx, state.ID.ValueString())
	var contents *vsphere.PoolContentsError
	switch {
	case errors.As(err, &contents):
		resp.Diagnostics.AddError("Resource pool is not empty", contents.Error())
	case err != nil:
		framework.AddVSphereError(&resp.Diagnostics, "Cannot destroy resource pool "+state.ID.ValueString(), err)
	}
}

// ImportState accepts a managed object ID (resgroup-42) or an inventory path.
func (r *reservationResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id := strings.TrimSpace(req.ID)
	if vsphere.IsInventoryPath(id) {
		if !framework.RequireClient(r.Client, &resp.Diagnostics) {
			return
		}
		ref, err := r.Client.VSphere.ResolvePool(ctx, id)
		if err != nil {
			resp.Diagnostics.AddError("Cannot import resource pool",
				fmt.Sprintf("%v. Give the pool's inventory path (e.g. /dc1/host/prod/Resources/tier-1) or its managed object ID (e.g. resgroup-42).", err))
			return
		}
		id = ref.ID()
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
}

func addParentError(diags *diag.Diagnostics, parent string, err error) {
	if vsphere.IsNotFound(err) {
		diags.AddAttributeError(path.Root("parent"), "Parent not found",
			fmt.Sprintf("No cluster or resource pool %q: %v. Give the inventory path of a cluster (e.g. /dc1/host/prod) or "+
				"resource pool (e.g. /dc1/host/prod/Resources/tier-1), or a managed object ID (domain-c7, resgroup-42).", parent, err))
		return
	}
	diags.AddAttributeError(path.Root("parent"), "Cannot resolve parent", fmt.Sprintf("%q: %v", parent, err))
}

// planned is one reservation being admitted.
type planned struct {
	name    string // planned name
	current string // name it has in vCenter now, when it exists under this parent already
	cpu     int64
	mem     int64
}

// admit fails the plan when the reservation does not fit the parent's unreserved capacity.
// others is what sibling reservations planned in this same run add on top of their current holdings.
func admit(capa *vsphere.Capacity, parent string, want planned, others *planned, diags *diag.Diagnostics) {
	held := want.name
	if want.current != "" {
		held = want.current
	}
	child, exists := capa.Child(held)
	var extraCPU, extraMem int64
	var siblings string
	if others != nil {
		extraCPU, extraMem = others.cpu, others.mem
		siblings = others.name
	}
	check := func(attr, resName, unit string, rc vsphere.ResourceCapacity, want, holding, extra int64) {
		if rc.Expandable {
			return // vCenter may borrow from the ancestors: it admits at apply time
		}
		avail := rc.Unreserved + holding - extra
		if want <= avail {
			return
		}
		var b strings.Builder
		fmt.Fprintf(&b, "A %s reservation of %d %s does not fit %s %q: it has %d %s of capacity, of which %d %s is reserved by %d child pool(s) and %d VM(s), leaving %d %s unreserved",
			resName, want, unit, capa.Kind, parent, rc.Capacity, unit, rc.Reserved, unit, len(capa.Children), capa.VMs, rc.Unreserved, unit)
		if holding > 0 {
			fmt.Fprintf(&b, "; this reservation already holds %d %s of the reserved amount", holding, unit)
		}
		if extra > 0 {
			fmt.Fprintf(&b, "; %s planned in this run claim %d %s more", siblings, extra, unit)
		}
		fmt.Fprintf(&b, ".\n\nLower %s.reservation to at most %d %s, free capacity in the parent, or make the parent's %s reservation expandable.",
			attr, max(0, avail), unit, attr)
		diags.AddAttributeError(path.Root(attr).AtName("reservation"), "Reservation exceeds parent's unreserved capacity", b.String())
	}
	var hCPU, hMem int64
	if exists {
		hCPU, hMem = child.CPUReservationMHz, child.MemoryReservationMB
	}
	check("cpu", "CPU", "MHz", capa.CPU, want.cpu, hCPU, extraCPU)
	check("memory", "memory", "MB", capa.Memory, want.mem, hMem, extraMem)
}

// ledger remembers the reservations planned in this provider process per parent, so siblings
// planned together are admitted together: two pools that each fit but not both fail the plan.
type ledger struct {
	mu      sync.Mutex
	parents map[string]map[string]planned // parent ID -> planned name -> reservation
}

func newLedger() *ledger { return &ledger{parents: map[string]map[string]planned{}} }

// record stores want and returns what the other planned siblings add beyond their current holdings.
func (l *ledger) record(parentID string, want planned, capa *vsphere.Capacity) *planned {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.parents[parentID]
	if m == nil {
		m = map[string]planned{}
		l.parents[parentID] = m
	}
	m[want.name] = want
	out := &planned{}
	var names []string
	for name, p := range m {
		if name == want.name {
			continue
		}
		held := p.name
		if p.current != "" {
			held = p.current
		}
		var hCPU, hMem int64
		if ch, ok := capa.Child(held); ok {
			hCPU, hMem = ch.CPUReservationMHz, ch.MemoryReservationMB
		}
		if d := p.cpu - hCPU; d > 0 {
			out.cpu += d
		}
		if d := p.mem - hMem; d > 0 {
			out.mem += d
		}
		names = append(names, fmt.Sprintf("%q", name))
	}
	if len(names) == 0 {
		return nil
	}
	out.name = "sibling(s) " + strings.Join(names, ", ")
	return out
}

// reservationModel is the Terraform state of a capacity reservation.
type reservationModel struct {
	ID               types.String `tfsdk:"id"`
	Name             types.String `tfsdk:"name"`
	Parent           types.String `tfsdk:"parent"`
	ParentID         types.String `tfsdk:"parent_id"`
	Path             types.String `tfsdk:"path"`
	CPU              types.Object `tfsdk:"cpu"`
	Memory           types.Object `tfsdk:"memory"`
	UnreservedCPU    types.Int64  `tfsdk:"unreserved_cpu_mhz"`
	UnreservedMemory types.Int64  `tfsdk:"unreserved_memory_mb"`
}

func (m *reservationModel) spec(ctx context.Context, diags *diag.Diagnostics) (vsphere.PoolSpec, bool) {
	cpu, ok1 := allocationFrom(ctx, m.CPU, diags)
	mem, ok2 := allocationFrom(ctx, m.Memory, diags)
	if !ok1 || !ok2 {
		diags.AddError("Incomplete allocation", "cpu and memory must be known before the pool can be created or updated.")
		return vsphere.PoolSpec{}, false
	}
	return vsphere.PoolSpec{CPU: cpu.toVSphere(), Memory: mem.toVSphere()}, true
}

// fill copies what vCenter reports into the model. The parent keeps the user's spelling while it
// still names the same pool; when the pool was moved behind Terraform's back it shows the new one.
func (m *reservationModel) fill(p *vsphere.Pool) {
	m.ID = types.StringValue(p.ID)
	m.Name = types.StringValue(p.Name)
	m.Path = types.StringValue(p.Path)
	switch {
	case m.Parent.IsNull() || m.Parent.IsUnknown(): // import
		m.Parent = types.StringValue(p.ParentPath)
	case !m.ParentID.IsNull() && !m.ParentID.IsUnknown() && m.ParentID.ValueString() != p.ParentID: // moved out of band
		m.Parent = types.StringValue(p.ParentPath)
	}
	m.ParentID = types.StringValue(p.ParentID)
	m.CPU = allocationObject(p.Spec.CPU)
	m.Memory = allocationObject(p.Spec.Memory)
	m.UnreservedCPU = types.Int64Value(p.Capacity.CPU.Unreserved)
	m.UnreservedMemory = types.Int64Value(p.Capacity.Memory.Unreserved)
}

// unlessChanged keeps a computed value from state unless the named sibling attribute changes.
type unlessChanged struct{ attr string }

func (u unlessChanged) Description(context.Context) string {
	return "keeps the value unless " + u.attr + " changes"
}
func (u unlessChanged) MarkdownDescription(ctx context.Context) string { return u.Description(ctx) }
func (u unlessChanged) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if req.StateValue.IsNull() || req.State.Raw.IsNull() {
		return
	}
	var before, after types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root(u.attr), &before)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root(u.attr), &after)...)
	if before.Equal(after) {
		resp.PlanValue = req.StateValue
	}
}

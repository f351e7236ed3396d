package backup

import (
	"context"
	"errors"
	"fmt"
	pathpkg "path"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/float64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/repo"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/restore"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

var (
	_ resource.ResourceWithConfigure   = (*vmRestoreResource)(nil)
	_ resource.ResourceWithImportState = (*vmRestoreResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*vmRestoreResource)(nil)
)

// NewVMRestoreResource is the vmgmt_vm_restore resource.
func NewVMRestoreResource() resource.Resource {
	return &vmRestoreResource{ResourceBase: framework.ResourceBase{TypeSuffix: "vm_restore"}}
}

type vmRestoreResource struct {
	framework.ResourceBase
}

type vmRestoreModel struct {
	ID              types.String  `tfsdk:"id"`
	Job             types.String  `tfsdk:"job"`
	Repository      types.String  `tfsdk:"repository"`
	Point           types.String  `tfsdk:"point"`
	VM              types.String  `tfsdk:"vm"`
	Latest          types.Bool    `tfsdk:"latest"`
	Name            types.String  `tfsdk:"name"`
	Folder          types.String  `tfsdk:"folder"`
	Pool            types.String  `tfsdk:"pool"`
	Datastore       types.String  `tfsdk:"datastore"`
	NetworkMap      types.Map     `tfsdk:"network_map"`
	PowerOn         types.Bool    `tfsdk:"power_on"`
	KeepIdentity    types.Bool    `tfsdk:"keep_identity"`
	RestoredPoint   types.String  `tfsdk:"restored_point"`
	PointTime       types.String  `tfsdk:"point_time"`
	PointVerified   types.Bool    `tfsdk:"point_verified"`
	SourceVM        types.String  `tfsdk:"source_vm"`
	Bytes           types.Int64   `tfsdk:"bytes"`
	RecoverySeconds types.Float64 `tfsdk:"recovery_seconds"`
}

func pointIDValidator() validator.String {
	return stringCheck{summary: "Invalid restore point ID", description: "value must be a restore point ID", check: repo.CheckPointID}
}

func (r *vmRestoreResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A VM recreated from a restore point of a `vmgmt_backup_job`, from the repository alone: the manifest's " +
			"hardware (CPUs, memory, firmware, guest OS, hardware version, controllers), its disks (each one's SHA-256 checked while " +
			"it streams to vCenter: a mismatch fails the restore and removes the half-made VM), its extraConfig with vmgmt's catalog, " +
			"baseline and security-group stamps, its tags, and NICs on the networks it was on (or those `network_map` names). " +
			"The plan checks that the point exists and is complete, that every disk's checksum is listed, that the folder, pool, " +
			"datastore and networks exist, and that the name is free. The point is chosen when the VM is created and kept after " +
			"(a newer backup does not replace the VM). An interrupted apply is finished on the rerun: a VM whose disks were all " +
			"in is adopted, a half-made one (still under its pending name) is destroyed and made again. Destroy removes the " +
			"restored VM, never the restore point.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "Managed object ID of the restored VM.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"job": schema.StringAttribute{Required: true, PlanModifiers: replace,
				MarkdownDescription: "The backup job whose restore point is restored. Changing it replaces the VM.",
				Validators:          []validator.String{framework.Name(MaxJobNameLength)}},
			"repository": schema.StringAttribute{Optional: true,
				MarkdownDescription: "The repository's URL (`file://` or `s3://`), to restore from the repository alone, onto a vCenter " +
					"that does not hold the job (another site's, after a disaster). Default: the repository of the job's definition in vCenter. " +
					"Read when the VM is made: changing it later changes nothing on the VM.",
				Validators: []validator.String{repositoryValidator()}},
			"point": schema.StringAttribute{Optional: true,
				MarkdownDescription: "The ID of the restore point to restore (`vmgmt_restore_points` and `backup list` show them). " +
					"Exactly one of `point` and `vm` is required. Changing it to another point than `restored_point` replaces the VM.",
				Validators: []validator.String{pointIDValidator(), stringvalidator.ExactlyOneOf(path.MatchRoot("point"), path.MatchRoot("vm"))}},
			"vm": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Restore the VM of this name (as it was named when backed up): its newest restore point that " +
					"passed a restore test (`backup verify`), or with `latest` its newest. Resolved when the VM is created (see " +
					"`restored_point`). Changing it to another VM than `source_vm` replaces the VM.",
				Validators: []validator.String{framework.Name(vmNameMaxLength)}},
			"latest": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "With `vm`: restore its newest point even when no restore test verified it. Defaults to false. " +
					"Read when the VM is made, like `vm`: changing it later keeps the VM and its point."},
			"name": schema.StringAttribute{Required: true,
				MarkdownDescription: "Name of the restored VM; unique in its folder. Changing it renames the VM.",
				Validators:          []validator.String{framework.Name(vmNameMaxLength)}},
			"folder": schema.StringAttribute{Optional: true,
				MarkdownDescription: "VM folder to restore into, inventory path or managed object ID. Default: the datacenter's vm folder. " +
					"Changing it, or the VM leaving it, moves the VM back in place. Unset on an existing VM, it leaves the VM where it is.",
				Validators: []validator.String{framework.Name(1024)}},
			"pool": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Cluster or resource pool to restore into, inventory path or managed object ID. Default: the " +
					"datacenter's only cluster. Changing it, or the VM leaving it, moves the VM there live (a vMotion to another " +
					"cluster, whose DRS picks the host). Unset on an existing VM, it leaves the VM where it is.",
				Validators: []validator.String{framework.Name(1024)}},
			"datastore": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Datastore the VM's files and disks go to. Default: the one its first disk was on, when this " +
					"vCenter has one of that name, else its only datastore. Changing it, or the VM's files leaving it, moves them " +
					"there live (a storage vMotion). Unset on an existing VM, it leaves the files where they are.",
				Validators: []validator.String{framework.Name(256)}},
			"network_map": schema.MapAttribute{Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Maps a network the VM was on (key) to the network or port group its NICs attach to (value); " +
					"a network not in the map keeps its name and must exist. Changing it replaces the VM, unless the VM is on every " +
					"network the new map names (as after an import).",
				Validators: []validator.Map{mapvalidator.KeysAre(framework.Name(256)), mapvalidator.ValueStringsAre(framework.Name(256))}},
			"power_on": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Whether the restored VM is powered on. Defaults to true."},
			"keep_identity": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				PlanModifiers: []planmodifier.Bool{boolplanmodifier.RequiresReplace()},
				MarkdownDescription: "Whether the VM gets the point's tags and vmgmt's catalog, baseline, security-group and backup " +
					"stamps, so that it is what the backed-up VM was: the security groups, baselines and backup jobs that select by tag " +
					"take it in. Defaults to true, for a VM that replaces one lost. Set false for a copy beside the original (to " +
					"inspect or recover files): it then joins none of them. Changing it replaces the VM."},
			"restored_point": schema.StringAttribute{Computed: true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "The ID of the restore point the VM was made from."},
			"point_time": schema.StringAttribute{Computed: true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "When that point was taken (RFC 3339, UTC)."},
			"point_verified": schema.BoolAttribute{Computed: true,
				PlanModifiers:       []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "Whether that point had passed a restore test when the VM was made from it."},
			"source_vm": schema.StringAttribute{Computed: true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "The name of the VM the point was taken of."},
			"bytes": schema.Int64Attribute{Computed: true,
				PlanModifiers:       []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
				MarkdownDescription: "The bytes read from the repository and sent to vCenter (0 when an interrupted apply's VM was adopted)."},
			"recovery_seconds": schema.Float64Attribute{Computed: true,
				PlanModifiers:       []planmodifier.Float64{float64planmodifier.UseStateForUnknown()},
				MarkdownDescription: "The measured recovery time: from the start of the restore to the VM existing with its disks checked, tagged and powered on."},
		},
	}
}

// PolicyInventory implements framework.PolicyInventory: the point a restore is made from.
func (r *vmRestoreResource) PolicyInventory() map[string]*policy.Schema {
	return map[string]*policy.Schema{
		"point": policy.Object("The restore point the VM is made from, as its manifest describes it. Missing while it cannot be "+
			"resolved (values unknown until apply).", map[string]*policy.Schema{
			"id":          policy.String("The point's ID."),
			"job":         policy.String("The backup job that made it."),
			"vm":          policy.String("The name of the VM it was taken of."),
			"time":        policy.String("When it was taken, RFC 3339 UTC."),
			"verified":    policy.Boolean("Whether its latest restore test passed."),
			"consistency": policy.String("crash or quiesced."),
			"bytes":       policy.Integer("The bytes of its disks as stored."),
			"tags":        policy.Array("The VM's tags when it was taken, as category/name; the restored VM gets them.", policy.String("")),
		}),
	}
}

// pointFacts is the point for the policy gate.
func pointFacts(plan *restore.Plan) map[string]any {
	tags := make([]any, 0, len(plan.Manifest.Tags))
	for _, t := range plan.Manifest.Tags {
		tags = append(tags, t)
	}
	return map[string]any{"point": map[string]any{
		"id": plan.Point.ID, "job": plan.Point.Job, "vm": plan.Point.VM, "time": plan.Point.Time.UTC().Format(time.RFC3339),
		"verified": restore.Verified(plan.Manifest), "consistency": string(plan.Manifest.Consistency), "bytes": plan.Bytes, "tags": tags,
	}}
}

// ModifyPlan resolves and checks the restore of a VM to be made (the point exists and is
// complete, its checksums are listed, the target exists, the name is free) and puts the change
// through the policy gate with the point as inventory.
func (r *vmRestoreResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if !r.Configured() {
		return
	}
	if req.Plan.Raw.IsNull() {
		resp.Diagnostics.Append(r.GatePlan(ctx, req, req.Plan.Raw, false, framework.Facts{})...)
		return
	}
	var plan vmRestoreModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...); resp.Diagnostics.HasError() {
		return
	}
	if !req.State.Raw.IsNull() {
		// A replacement is planned and checked in the create plan Terraform asks for next, with
		// no prior state.
		if replacing, ok := r.planExisting(ctx, req, resp, plan); ok {
			resp.Diagnostics.Append(r.GatePlan(ctx, req, resp.Plan.Raw, replacing, framework.Facts{})...)
		}
		return
	}
	if !plan.known() {
		plan.unknownComputed()
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		resp.Diagnostics.Append(r.GatePlan(ctx, req, resp.Plan.Raw, len(resp.RequiresReplace) > 0, framework.Facts{Unknown: []string{"point"}})...)
		return
	}
	replaced, _ := r.Client.Planned(plannedReplacement, plan.Name.ValueString())
	replacedID, _ := replaced.(string)
	rp, rep, ok := r.prepare(ctx, plan, "", replacedID, &resp.Diagnostics)
	if !ok {
		return
	}
	_ = rep.Close()
	plan.unknownComputed()
	plan.RestoredPoint = types.StringValue(rp.Point.ID)
	plan.PointTime = types.StringValue(rp.Point.Time.UTC().Format(time.RFC3339))
	plan.PointVerified = types.BoolValue(restore.Verified(rp.Manifest))
	plan.SourceVM = types.StringValue(rp.Manifest.VM.Name)
	for _, w := range rp.Warnings {
		resp.Diagnostics.AddWarning("Restore of "+plan.Name.ValueString()+" differs from the backed-up VM", w)
	}
	if resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...); resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(r.GatePlan(ctx, req, resp.Plan.Raw, len(resp.RequiresReplace) > 0, framework.Facts{Inventory: pointFacts(rp)})...)
}

// plannedReplacement is the kind of planned object (framework.Client.NotePlanned) a restored
// VM that its plan replaces is noted as, by name: the create plan of its replacement, which
// Terraform asks for next, lets it hold the name (it is destroyed before the new one is made).
const plannedReplacement = "vm-restore-replaced"

// planExisting plans a change to a restored VM and reports whether the VM is replaced. A point
// selection replaces it only when the VM's point no longer meets it (point equal to
// restored_point, or vm equal to source_vm; latest counts only when a VM is made), a network map
// only when the VM is not on every network it names (an import leaves the map empty): so an
// imported VM is not made again. A folder, pool or datastore the VM is not in is checked here and
// moved to by Update. ok is false when it added an error.
func (r *vmRestoreResource) planExisting(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, plan vmRestoreModel) (replacing, ok bool) {
	var state vmRestoreModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return false, false
	}
	c := r.Client.VSphere
	vm, err := c.GetVM(ctx, state.ID.ValueString())
	if err != nil {
		if vsphere.IsNotFound(err) {
			return false, true // gone since the refresh: Terraform plans it anew
		}
		framework.AddVSphereError(&resp.Diagnostics, "Cannot read restored VM "+state.ID.ValueString(), err)
		return false, false
	}
	if !plan.Point.Equal(state.Point) || !plan.VM.Equal(state.VM) || !plan.Latest.Equal(state.Latest) {
		pointKept := !plan.Point.IsUnknown() && !plan.VM.IsUnknown() &&
			((!plan.Point.IsNull() && plan.Point.Equal(state.RestoredPoint)) || (plan.Point.IsNull() && plan.VM.Equal(state.SourceVM)))
		if !pointKept {
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("point"), path.Root("vm"))
		}
	}
	if !plan.NetworkMap.Equal(state.NetworkMap) && !onNetworks(plan.NetworkMap, vm) {
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root("network_map"))
	}
	// job and keep_identity replace the VM through their own plan modifiers.
	replacing = len(resp.RequiresReplace) > 0 || !plan.Job.Equal(state.Job) || !plan.KeepIdentity.Equal(state.KeepIdentity)
	if replacing {
		r.Client.NotePlanned(plannedReplacement, vm.Name, vm.ID)
		return true, true
	}
	if plan.Folder.IsUnknown() || plan.Pool.IsUnknown() || plan.Datastore.IsUnknown() {
		return false, true
	}
	if _, err := restore.Place(ctx, c, vm, plan.Folder.ValueString(), plan.Pool.ValueString(), plan.Datastore.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(attrOf(err), "Cannot move restored VM "+vm.Name, capitalize(err.Error())+".")
		return false, false
	}
	return false, true
}

// onNetworks says whether a known network map names only networks the VM is on.
func onNetworks(m types.Map, vm *vsphere.VM) bool {
	if m.IsNull() || m.IsUnknown() {
		return false
	}
	for _, v := range m.Elements() {
		sv, ok := v.(types.String)
		if !ok || sv.IsUnknown() || !slices.Contains(vm.Networks, pathpkg.Base(sv.ValueString())) {
			return false
		}
	}
	return true
}

// known says whether every input that picks the point and the target is known.
func (m vmRestoreModel) known() bool {
	for _, v := range []interface{ IsUnknown() bool }{m.Job, m.Repository, m.Point, m.VM, m.Latest, m.Name, m.Folder, m.Pool, m.Datastore, m.NetworkMap, m.KeepIdentity} {
		if v.IsUnknown() {
			return false
		}
	}
	return true
}

func (m *vmRestoreModel) unknownComputed() {
	m.ID, m.RestoredPoint, m.PointTime, m.SourceVM = types.StringUnknown(), types.StringUnknown(), types.StringUnknown(), types.StringUnknown()
	m.PointVerified, m.Bytes, m.RecoverySeconds = types.BoolUnknown(), types.Int64Unknown(), types.Float64Unknown()
}

// prepare opens the repository, picks the point (pointID, when the plan resolved it already) and
// prepares the restore; the caller closes the repository.
func (r *vmRestoreResource) prepare(ctx context.Context, m vmRestoreModel, pointID, replacing string, diags *diag.Diagnostics) (*restore.Plan, *repo.Repository, bool) {
	c := r.Client.VSphere
	jobName := m.Job.ValueString()
	rep, err := restore.OpenRepository(ctx, c, jobName, m.Repository.ValueString())
	if err != nil {
		diags.AddAttributeError(path.Root("job"), "Cannot open the restore point's repository", capitalize(err.Error())+".")
		return nil, nil, false
	}
	closeRepo := func() { _ = rep.Close() }
	fail := func() (*restore.Plan, *repo.Repository, bool) { closeRepo(); return nil, nil, false }
	var p repo.Point
	switch {
	case pointID != "":
		p, err = restore.FindPoint(ctx, rep, jobName, pointID)
	case !m.Point.IsNull():
		p, err = restore.FindPoint(ctx, rep, jobName, m.Point.ValueString())
	default:
		p, _, err = restore.PointOfVM(ctx, rep, jobName, m.VM.ValueString(), m.Latest.ValueBool())
	}
	if err != nil {
		at := path.Root("point")
		if m.Point.IsNull() {
			at = path.Root("vm")
		}
		diags.AddAttributeError(at, "No restore point to restore", capitalize(err.Error())+".")
		return fail()
	}
	nets := map[string]string{}
	if !m.NetworkMap.IsNull() {
		if diags.Append(m.NetworkMap.ElementsAs(ctx, &nets, false)...); diags.HasError() {
			return fail()
		}
	}
	t := restore.Target{Name: m.Name.ValueString(), Folder: m.Folder.ValueString(), Pool: m.Pool.ValueString(),
		Datastore: m.Datastore.ValueString(), Networks: nets, PowerOn: m.PowerOn.ValueBool(),
		SkipTags: !m.KeepIdentity.ValueBool(), SkipStamps: !m.KeepIdentity.ValueBool(), NewMACs: !m.KeepIdentity.ValueBool(),
		Replacing: replacing}
	rp, err := restore.Prepare(ctx, c, rep, p, t)
	if err != nil {
		diags.AddAttributeError(attrOf(err), "Cannot restore "+m.Name.ValueString()+" from restore point "+p.ID, capitalize(err.Error())+".")
		return fail()
	}
	return rp, rep, true
}

// attrOf is the attribute a Prepare error is about: the part of the target it names, else the
// point.
func attrOf(err error) path.Path {
	var te *restore.TargetError
	if !errors.As(err, &te) {
		return path.Root("point")
	}
	if te.Part == restore.PartNetwork {
		return path.Root("network_map")
	}
	return path.Root(string(te.Part))
}

// Create restores the VM from the point the plan resolved, through the policy gate.
func (r *vmRestoreResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var plan vmRestoreModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...); resp.Diagnostics.HasError() {
		return
	}
	pointID := ""
	if !plan.RestoredPoint.IsUnknown() {
		pointID = plan.RestoredPoint.ValueString()
	}
	rp, rep, ok := r.prepare(ctx, plan, pointID, "", &resp.Diagnostics)
	if !ok {
		return
	}
	defer func() { _ = rep.Close() }()
	if resp.Diagnostics.Append(r.GateCreate(ctx, req, framework.Facts{Inventory: pointFacts(rp)})...); resp.Diagnostics.HasError() {
		return
	}
	res, err := rp.Run(ctx, r.Client.VSphere, rep, restore.Options{})
	name := plan.Name.ValueString()
	if res.Adopted {
		framework.AddAdopted(&resp.Diagnostics, "restored VM", name, vsphere.Created{ID: res.ID, Adopted: true, Finished: []string{"tags and power"}})
	}
	if res.Discarded != "" {
		resp.Diagnostics.AddWarning("Removed a half-made restore of "+name,
			fmt.Sprintf("An earlier apply of this restore was interrupted while the disks of its VM (%s) were being uploaded; that VM was destroyed and the restore made again.", res.Discarded))
	}
	if err != nil {
		if res.ID != "" {
			// The VM exists with its disks checked: record it so that destroy or the rerun finds it.
			resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), res.ID)...)
		}
		var corrupt *repo.CorruptError
		if errors.As(err, &corrupt) {
			resp.Diagnostics.AddAttributeError(path.Root("point"), "Restore point is corrupt", capitalize(err.Error())+
				". The half-made VM was removed. Restore another point (vmgmt_restore_points lists them).")
			return
		}
		framework.AddVSphereError(&resp.Diagnostics, "Cannot restore "+name, err)
		return
	}
	plan.ID = types.StringValue(res.ID)
	plan.RestoredPoint = types.StringValue(rp.Point.ID)
	plan.PointTime = types.StringValue(rp.Point.Time.UTC().Format(time.RFC3339))
	plan.PointVerified = types.BoolValue(restore.Verified(rp.Manifest))
	plan.SourceVM = types.StringValue(rp.Manifest.VM.Name)
	plan.Bytes = types.Int64Value(res.Bytes)
	plan.RecoverySeconds = types.Float64Value(res.Duration.Round(time.Millisecond).Seconds())
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// Read shows the VM gone (removed from state), renamed, or powered on or off behind Terraform's
// back.
func (r *vmRestoreResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var state vmRestoreModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return
	}
	vm, err := r.Client.VSphere.GetVM(ctx, state.ID.ValueString())
	if vsphere.IsNotFound(err) {
		framework.RemoveGone(ctx, &resp.State, &resp.Diagnostics, "restored VM", state.Name.ValueString(), state.ID.ValueString())
		return
	}
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot read restored VM "+state.ID.ValueString(), err)
		return
	}
	state.Name = types.StringValue(vm.Name)
	state.PowerOn = types.BoolValue(vm.PowerState == vsphere.PoweredOn)
	placeDrift(ctx, r.Client.VSphere, vm, &state)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// placeDrift records where the VM is in place of the folder, pool or datastore it left (or that
// is gone), so that the plan shows the move back.
func placeDrift(ctx context.Context, c *vsphere.Client, vm *vsphere.VM, state *vmRestoreModel) {
	if f := state.Folder.ValueString(); f != "" {
		if mv, err := restore.Place(ctx, c, vm, f, "", ""); err != nil || mv.FolderID != "" {
			state.Folder = types.StringValue(vm.FolderPath)
		}
	}
	if p := state.Pool.ValueString(); p != "" {
		if mv, err := restore.Place(ctx, c, vm, "", p, ""); err != nil || mv.PoolID != "" {
			state.Pool = types.StringValue(vm.PoolID)
		}
	}
	if ds := state.Datastore.ValueString(); ds != "" && ds != vm.Datastore {
		state.Datastore = types.StringValue(vm.Datastore)
	}
}

// Update moves the VM to the folder, pool and datastore the plan names (when it is not there),
// renames it and powers it on or off; the other changes that need another VM replaced it.
func (r *vmRestoreResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var plan, state vmRestoreModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if resp.Diagnostics.Append(r.GateUpdate(ctx, req, framework.Facts{})...); resp.Diagnostics.HasError() {
		return
	}
	c, id := r.Client.VSphere, state.ID.ValueString()
	vm, err := c.GetVM(ctx, id)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot read restored VM "+id, err)
		return
	}
	mv, err := restore.Place(ctx, c, vm, plan.Folder.ValueString(), plan.Pool.ValueString(), plan.Datastore.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(attrOf(err), "Cannot move restored VM "+vm.Name, capitalize(err.Error())+".")
		return
	}
	if mv.FolderID != "" {
		if err := c.MoveVM(ctx, id, mv.FolderID); err != nil {
			framework.AddVSphereError(&resp.Diagnostics, "Cannot move restored VM "+vm.Name+" into folder "+plan.Folder.ValueString(), err)
			return
		}
	}
	if err := c.RelocateVM(ctx, id, mv.PoolID, mv.Datastore); err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot move restored VM "+vm.Name, err)
		return
	}
	if !plan.Name.Equal(state.Name) {
		if err := c.ReconfigureVM(ctx, id, vsphere.ReconfigSpec{Name: plan.Name.ValueString()}); err != nil {
			framework.AddVSphereError(&resp.Diagnostics, "Cannot rename restored VM "+state.Name.ValueString(), err)
			return
		}
	}
	if !plan.PowerOn.Equal(state.PowerOn) {
		if err := c.SetPower(ctx, id, plan.PowerOn.ValueBool()); err != nil {
			framework.AddVSphereError(&resp.Diagnostics, "Cannot change the power state of "+plan.Name.ValueString(), err)
			return
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// Delete destroys the restored VM. The restore point stays in the repository.
func (r *vmRestoreResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var state vmRestoreModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return
	}
	if resp.Diagnostics.Append(r.GateDelete(ctx, req, framework.Facts{})...); resp.Diagnostics.HasError() {
		return
	}
	if err := r.Client.VSphere.DestroyVM(ctx, state.ID.ValueString()); err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot destroy restored VM "+state.Name.ValueString(), err)
	}
}

// ImportState takes a restored VM's managed object ID or inventory path; the point it was made
// from is read from its vmgmt.restore.point stamp.
func (r *vmRestoreResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	ref := strings.TrimSpace(req.ID)
	vm, err := r.Client.VSphere.FindVM(ctx, ref)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot import restored VM "+ref, err)
		return
	}
	stamp := vm.ExtraConfig[restore.PointStamp]
	jobName, rest, ok1 := strings.Cut(stamp, "/")
	i := strings.LastIndex(rest, "/")
	if !ok1 || i < 0 || repo.CheckPointID(rest[i+1:]) != nil {
		resp.Diagnostics.AddError("Not a restored VM", fmt.Sprintf("VM %s (%s) carries no %s stamp naming the restore point it was made from, "+
			"so it was not made by vmgmt_vm_restore (a VM made otherwise cannot be imported as one).", vm.Name, vm.ID, restore.PointStamp))
		return
	}
	state := vmRestoreModel{
		ID: types.StringValue(vm.ID), Job: types.StringValue(jobName), Point: types.StringValue(rest[i+1:]),
		Repository: types.StringNull(), VM: types.StringNull(), Latest: types.BoolValue(false), Name: types.StringValue(vm.Name),
		Folder: types.StringNull(), Pool: types.StringNull(), Datastore: types.StringNull(),
		NetworkMap: types.MapNull(types.StringType), PowerOn: types.BoolValue(vm.PowerState == vsphere.PoweredOn),
		KeepIdentity: types.BoolValue(vm.ExtraConfig[restore.CopyStamp] == ""), RestoredPoint: types.StringValue(rest[i+1:]),
		SourceVM: types.StringValue(rest[:i]), PointTime: types.StringNull(), PointVerified: types.BoolNull(),
		Bytes: types.Int64Null(), RecoverySeconds: types.Float64Null(),
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

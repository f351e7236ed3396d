package security

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// inventory is what the policy gate sees of the group beside the change: the role with its
// privileges, the members with their tags, the port groups with the policy they will have, and
// the principals with their domains (schemas/policy-input/vmgmt_security_group.json).
func (r *groupResource) inventory(ctx context.Context, in *groupInput, res *resolution) (map[string]any, error) {
	if r.Client.Policy == nil {
		return nil, nil
	}
	vms := make([]framework.VMFact, len(res.members))
	for i, m := range res.members {
		vms[i] = framework.VMFact{ID: m.ID, Name: m.Name}
	}
	members, err := framework.TaggedVMFacts(ctx, r.Client.VSphere, vms)
	if err != nil {
		return nil, err
	}
	pgs := make([]any, 0, len(res.portGroups))
	for _, pg := range res.portGroups {
		ids := make([]any, 0, len(pg.Members))
		for _, id := range pg.Members {
			ids = append(ids, id)
		}
		pgs = append(pgs, map[string]any{
			"id": pg.ID, "name": pg.Name, "member_ids": ids, "other_vm_count": pg.Other,
			"allow_promiscuous": flagValue(pg.Security.AllowPromiscuous), "allow_mac_changes": flagValue(pg.Security.AllowMACChanges),
			"allow_forged_transmits": flagValue(pg.Security.AllowForgedTransmits),
		})
	}
	principals := make([]any, 0, len(in.Principals))
	for _, p := range in.Principals {
		principals = append(principals, map[string]any{"name": p.Name, "is_group": p.Group, "domain": vsphere.PrincipalDomain(p.Name)})
	}
	privs := make([]any, 0, len(res.role.Privileges))
	for _, p := range res.role.Privileges {
		privs = append(privs, p)
	}
	return map[string]any{
		"role":        map[string]any{"name": res.role.Name, "owned": in.owned(), "privileges": privs},
		"members":     members,
		"port_groups": pgs,
		"principals":  principals,
	}, nil
}

func flagValue(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

func (r *groupResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var plan groupModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, &plan, &resp.State, &resp.Diagnostics, func(f framework.Facts) diag.Diagnostics { return r.GateCreate(ctx, req, f) }, true)
}

func (r *groupResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var plan groupModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, &plan, &resp.State, &resp.Diagnostics, func(f framework.Facts) diag.Diagnostics { return r.GateUpdate(ctx, req, f) }, false)
}

// apply is Create and Update: it resolves again with the members the plan showed, passes the
// apply-time policy check, makes the difference (reconcile) and stores what it did.
func (r *groupResource) apply(ctx context.Context, plan *groupModel, state *tfsdk.State, diags *diag.Diagnostics,
	gate func(framework.Facts) diag.Diagnostics, create bool) {
	in, known, d := plan.input(ctx)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	if !known {
		diags.AddError("Security group not known at apply", "A value of the group is still unknown at apply time; this is a bug in the vmgmt provider.")
		return
	}
	c := r.Client.VSphere
	rec, err := readRecord(ctx, c, in.Name)
	if err != nil {
		framework.AddVSphereError(diags, "Cannot read the security group's definition", err)
		return
	}
	if create && !adoptable(ctx, c, in, rec, diags) {
		return
	}
	if rec == nil {
		rec = &groupRecord{Name: in.Name, Request: in.request().Token}
	}
	// The members the plan showed; when it could not know them (VMs were still to be made), the
	// selection is resolved now.
	var fixed []string
	if !plan.MemberIDs.IsUnknown() {
		diags.Append(plan.MemberIDs.ElementsAs(ctx, &fixed, false)...)
		if fixed == nil {
			fixed = []string{}
		}
	}
	want, err := resolve(ctx, c, in, rec, fixed)
	if err != nil {
		addResolveError(diags, err)
		return
	}
	inv, err := r.inventory(ctx, in, want)
	if err != nil {
		framework.AddVSphereError(diags, "Cannot read the members' tags for the policy gate", err)
		return
	}
	if diags.Append(gate(framework.Facts{Inventory: inv})...); diags.HasError() {
		return
	}
	out, err := reconcile(ctx, c, in, rec, want)
	if rec.Role.Name != "" {
		// Store what was done even when something failed: the record in vCenter says what is the
		// group's, and state must not lose track of it.
		plan.ID = types.StringValue(in.Name)
		if plan.MemberIDs.IsUnknown() {
			plan.fillPlanned(in, want)
		}
		plan.RoleID = types.Int64Value(int64(rec.Role.ID))
		plan.PermissionCount = types.Int64Value(int64(rec.grantCount()))
		diags.Append(state.Set(ctx, plan)...)
	}
	addOutcome(diags, in.Name, out)
	if err != nil {
		framework.AddVSphereError(diags, "Cannot apply security group "+in.Name, err)
	}
}

func addOutcome(diags *diag.Diagnostics, name string, out *outcome) {
	if out == nil {
		return
	}
	for _, w := range out.warnings {
		diags.AddWarning("Security group "+name, capitalize(w)+".")
	}
	if len(out.failures) > 0 {
		diags.AddError(fmt.Sprintf("Security group %s: %d change(s) failed", name, len(out.failures)),
			"The other changes were made and are recorded; apply again to retry these:\n  "+strings.Join(out.failures, "\n  "))
	}
}

func (r *groupResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var state groupModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := r.Client.VSphere
	name := state.Name.ValueString()
	rec, err := readRecord(ctx, c, name)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot read security group "+name, err)
		return
	}
	if rec == nil {
		framework.RemoveGone(ctx, &resp.State, &resp.Diagnostics, "security group", name, name)
		return
	}
	if state.Members == nil { // an import: the declared attributes come from vCenter
		state.fromRecord(rec)
	}
	in, _, d := state.input(ctx)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	obs, err := observe(ctx, c, in, rec)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot read security group "+name, err)
		return
	}
	state.fillObserved(rec, obs)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *groupResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var state groupModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if resp.Diagnostics.Append(r.GateDelete(ctx, req, framework.Facts{})...); resp.Diagnostics.HasError() {
		return
	}
	c := r.Client.VSphere
	name := state.Name.ValueString()
	rec, err := readRecord(ctx, c, name)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot read security group "+name, err)
		return
	}
	if rec == nil {
		return // gone already: nothing of the group is left
	}
	out, err := destroy(ctx, c, rec)
	addOutcome(&resp.Diagnostics, name, out)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot destroy security group "+name, err)
	}
}

// ImportState takes the group's name: its definition is read from vCenter.
func (r *groupResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	name := strings.TrimSpace(req.ID)
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	rec, err := readRecord(ctx, r.Client.VSphere, name)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot import security group "+name, err)
		return
	}
	if rec == nil {
		resp.Diagnostics.AddError("Cannot import security group",
			fmt.Sprintf("No security group named %q is defined in vCenter (custom attribute %s%s on the datacenter). Give the "+
				"name of a group vmgmt created; permissions and roles made elsewhere are not a group.", name, recordPrefix, name))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
}

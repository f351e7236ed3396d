// Package baseline is the Configuration Management function: configuration baselines that the
// VMs in a live selection must keep, audited or enforced, with drift shown in the plan and
// attributed to who changed it. It reaches vCenter only through internal/vsphere.
package baseline

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

var (
	_ resource.ResourceWithConfigure      = (*baselineResource)(nil)
	_ resource.ResourceWithImportState    = (*baselineResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*baselineResource)(nil)
	_ resource.ResourceWithValidateConfig = (*baselineResource)(nil)
)

// remediationConcurrency bounds the reconfigurations in flight during an enforcing apply.
const remediationConcurrency = 8

// NewBaselineResource is the vmgmt_config_baseline resource.
func NewBaselineResource() resource.Resource {
	return &baselineResource{ResourceBase: framework.ResourceBase{TypeSuffix: "config_baseline"}}
}

type baselineResource struct {
	framework.ResourceBase
}

// Resources lists the resources this package contributes to the provider.
func Resources() []func() resource.Resource {
	return []func() resource.Resource{NewBaselineResource}
}

// ValidateConfig checks what spans attributes (validateRules).
func (r *baselineResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m baselineModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	validateRules("baseline", m.Settings, m.Packs, &m.flagsModel, &resp.Diagnostics)
	validateTarget(m.Target, m.Scope != nil, m.Hosts != nil, m.Packs, &m.flagsModel, &resp.Diagnostics)
	if m.Target.ValueString() == TargetHost && m.AllowPowerCycle.ValueBool() {
		resp.Diagnostics.AddAttributeError(path.Root("allow_power_cycle"), "allow_power_cycle on a host baseline",
			"A host baseline changes advanced options, which need no power cycle: remove allow_power_cycle.")
	}
}

// input converts the model; known is false while a value is unknown.
func (m *baselineModel) input(ctx context.Context) (*input, bool, diag.Diagnostics) {
	var diags diag.Diagnostics
	in := &input{Name: m.Name.ValueString(), Description: m.Description.ValueString(), Mode: Mode(m.Mode.ValueString()),
		Target: m.Target.ValueString(), AllowPowerCycle: m.AllowPowerCycle.ValueBool()}
	known := !m.Name.IsUnknown() && !m.Mode.IsUnknown() && !m.Packs.IsUnknown() && !m.AllowPowerCycle.IsUnknown() && !m.Target.IsUnknown()
	if in.hostTarget() {
		scope, scopeKnown, d := m.Hosts.ToHostScope(ctx, path.Root("hosts"))
		diags.Append(d...)
		in.Hosts, known = scope, known && scopeKnown
	} else {
		sel, selKnown, d := m.Scope.ToSelection(ctx, path.Root("scope"))
		diags.Append(d...)
		in.Scope, known = sel, known && selKnown
	}
	if !m.Packs.IsNull() && !m.Packs.IsUnknown() {
		diags.Append(m.Packs.ElementsAs(ctx, &in.Packs, false)...)
	}
	in.Settings = settingsInput(m.Settings, &known)
	in.Flags = m.flags(&known)
	return in, known, diags
}

// ModifyPlan judges every VM in scope now: the plan shows the drift (and, for enforce, what the
// apply will leave), who changed each setting, the settings that relax a pack, and fails on a key
// another baseline sets differently on the same VM.
func (r *baselineResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if !r.Configured() {
		return
	}
	if req.Plan.Raw.IsNull() {
		resp.Diagnostics.Append(r.GatePlan(ctx, req, req.Plan.Raw, false, framework.Facts{})...)
		return
	}
	var plan baselineModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	exists := !req.State.Raw.IsNull()
	if resp.Diagnostics.HasError() {
		return
	}
	in, known, d := plan.input(ctx)
	if resp.Diagnostics.Append(d...); resp.Diagnostics.HasError() {
		return
	}
	if !plan.Name.IsUnknown() && !plan.Mode.IsUnknown() {
		// A catalog VM planned after this baseline (its item names it) sees that it will hold it.
		r.Client.NotePlanned(framework.PlannedBaseline, in.Name, in.Mode)
	}
	if !known || (!in.hostTarget() && r.Client.PlannedAny(framework.PlannedVM)) {
		// Values unknown until apply, or VMs this run creates may join the scope.
		plan.unknownComputed()
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		resp.Diagnostics.Append(r.GatePlan(ctx, req, resp.Plan.Raw, false, framework.Facts{Unknown: []string{"scope"}})...)
		return
	}
	c := r.Client.VSphere
	others, err := readRecords(ctx, c)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot read the baselines' definitions", err)
		return
	}
	if !exists && !adoptable(in, others[in.Name], &resp.Diagnostics) {
		return
	}
	rs := in.rules()
	ev, err := evaluate(ctx, c, in, rs, others)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot judge the baseline's scope", err)
		return
	}
	if addConflicts(in, ev, &resp.Diagnostics); resp.Diagnostics.HasError() {
		return
	}
	warnRelaxed(in, rs, &resp.Diagnostics)
	warnDrift(in, ev, &resp.Diagnostics)
	left := ev.planned(in)
	plan.fill(in, rs, ev, left)
	if len(left) > 0 {
		// Drift the apply will not remove (an audit, a power cycle not allowed, manual work) still
		// shows as a change, so that `plan -detailed-exitcode` exits 2 while any VM drifts: the
		// apply records what it finds then.
		plan.Compliance = types.ListUnknown(types.ObjectType{AttrTypes: vmComplianceAttrTypes})
		plan.HostCompliance = types.ListUnknown(types.ObjectType{AttrTypes: hostComplianceAttrTypes})
		plan.CompliantCount, plan.DriftedCount, plan.lists = types.Int64Unknown(), types.Int64Unknown(), nil
	}
	resp.Diagnostics.Append(plan.setPlan(ctx, &resp.Plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	inv, err := r.inventory(ctx, rs, ev)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot read the tags of the baseline's VMs for the policy gate", err)
		return
	}
	resp.Diagnostics.Append(r.GatePlan(ctx, req, resp.Plan.Raw, false, framework.Facts{Inventory: inv})...)
}

// adoptable: a record of this name made by this same request is adopted (an interrupted create);
// another fails the plan with the import command.
func adoptable(in *input, rec *record, diags *diag.Diagnostics) bool {
	if rec == nil {
		return true
	}
	if rec.Request != in.request().Token {
		diags.AddAttributeError(path.Root("name"), "Configuration baseline already exists",
			fmt.Sprintf("A baseline named %q is already defined in vCenter (datacenter custom attribute %s), by another configuration "+
				"or with another mode or packs. Choose another name, or, if this resource is meant to manage it, bring it under "+
				"Terraform with:\n\n  terraform import <address> %s\n\nwhere <address> is this resource's address "+
				"(e.g. vmgmt_config_baseline.tier1).", in.Name, recordsAttribute, in.Name))
		return false
	}
	diags.AddAttributeWarning(path.Root("name"), "Configuration baseline will be adopted",
		fmt.Sprintf("Baseline %s is defined in vCenter already: an earlier apply of this same configuration created it and was "+
			"interrupted before Terraform recorded it. Apply adopts it.", in.Name))
	return true
}

func addConflicts(in *input, ev *evaluation, diags *diag.Diagnostics) {
	for i, cf := range ev.conflicts {
		if i == 10 {
			diags.AddError("More conflicting baselines", fmt.Sprintf("… and %d more conflicts.", len(ev.conflicts)-10))
			return
		}
		noun, fix := "VM", "leave that VM out of one scope (scope.exclude)"
		if in.hostTarget() {
			noun, fix = "host", "leave that host out of one baseline's hosts"
		}
		diags.AddError("Conflicting baselines",
			fmt.Sprintf("Baselines %s and %s both hold %s %s (%s) and set %s differently: %s wants %s, %s wants %s. A %s can comply "+
				"with only one: change one of the rules, or %s.",
				in.Name, cf.Other, noun, cf.VMName, cf.VMID, cf.Key, in.Name, cf.Value, cf.Other, cf.OtherValue, noun, fix))
	}
}

func warnRelaxed(in *input, rs ruleSet, diags *diag.Diagnostics) {
	if len(rs.relaxed) == 0 {
		return
	}
	var lines []string
	for _, x := range rs.relaxed {
		lines = append(lines, fmt.Sprintf("  %s: pack %s requires %s, this baseline %s (control %s)", x.Key, x.Pack,
			describe(Setting{Value: x.PackValue, Match: x.PackMatch}), describe(Setting{Value: x.Value, Match: x.Match}), orNone(x.Control)))
	}
	diags.AddAttributeWarning(path.Root("settings"), fmt.Sprintf("Baseline %s relaxes %d pack setting(s)", in.Name, len(rs.relaxed)),
		"Explicit settings win over the packs:\n"+strings.Join(lines, "\n"))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// warnDrift names the drifted VMs and settings, with who changed them: what the plan is about.
func warnDrift(in *input, ev *evaluation, diags *diag.Diagnostics) {
	if len(ev.drifted) == 0 {
		return
	}
	var lines []string
	n := 0
	for _, vd := range ev.drifted {
		for _, d := range vd.Drift {
			n++
			if len(lines) == 15 {
				continue
			}
			who := ""
			if d.ChangedBy != "" {
				who = fmt.Sprintf(", changed by %s at %s", d.ChangedBy, d.ChangedAt)
			}
			note := ""
			switch {
			case d.Manual:
				note = " [manual]"
			case d.PowerCycle && !in.AllowPowerCycle:
				note = " [needs power cycle]"
			}
			lines = append(lines, fmt.Sprintf("  %s (%s): %s is %s, wants %s%s%s", vd.Name, vd.ID, d.Key, d.Actual, d.Expected, who, note))
		}
	}
	if n > len(lines) {
		lines = append(lines, fmt.Sprintf("  … and %d more (see compliance)", n-len(lines)))
	}
	action := "audit only: nothing is changed"
	if in.Mode == ModeEnforce {
		action = "apply remediates what it can"
	}
	attr, noun := "compliance", "VM(s)"
	if in.hostTarget() {
		attr, noun = "host_compliance", "host(s)"
	}
	diags.AddAttributeWarning(path.Root(attr), fmt.Sprintf("%d %s drifted from baseline %s", len(ev.drifted), noun, in.Name),
		fmt.Sprintf("%s:\n%s", action, strings.Join(lines, "\n")))
}

// inventory is what the policy gate sees of the baseline beside the change: for a VM baseline,
// the VMs in scope with their tags (one tag read for all, only when a policy is configured); for
// a host baseline, the hosts.
func (r *baselineResource) inventory(ctx context.Context, rs ruleSet, ev *evaluation) (map[string]any, error) {
	if r.Client.Policy == nil {
		return nil, nil
	}
	return factsOf(ctx, r.Client.VSphere, rs, ev)
}

func factsOf(ctx context.Context, c *vsphere.Client, rs ruleSet, ev *evaluation) (map[string]any, error) {
	relaxed := make([]any, 0, len(rs.relaxed))
	for _, x := range rs.relaxed {
		relaxed = append(relaxed, map[string]any{"key": x.Key, "pack": x.Pack, "pack_value": x.PackValue, "value": x.Value, "control": x.Control})
	}
	facts := map[string]any{"relaxed": relaxed, "drifted_count": len(ev.drifted)}
	if ev.target == TargetHost {
		hosts := make([]any, 0, len(ev.hosts))
		for _, h := range ev.hosts {
			hosts = append(hosts, map[string]any{"id": h.HostID, "name": h.HostName, "cluster": h.Cluster})
		}
		facts["hosts"] = hosts
		return facts, nil
	}
	vms := make([]framework.VMFact, len(ev.scope))
	for i, vm := range ev.scope {
		vms[i] = framework.VMFact{ID: vm.ID, Name: vm.Name}
	}
	scope, err := framework.TaggedVMFacts(ctx, c, vms)
	if err != nil {
		return nil, err
	}
	facts["scope"] = scope
	return facts, nil
}

func (r *baselineResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var plan baselineModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...); resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, &plan, &resp.State, &resp.Diagnostics, true)
}

func (r *baselineResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var plan baselineModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...); resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, &plan, &resp.State, &resp.Diagnostics, false)
}

// apply records the baseline in vCenter, remediates (enforce), judges the scope again and stores
// what it finds.
func (r *baselineResource) apply(ctx context.Context, plan *baselineModel, state *tfsdk.State, diags *diag.Diagnostics, create bool) {
	in, _, d := plan.input(ctx)
	if diags.Append(d...); diags.HasError() {
		return
	}
	c := r.Client.VSphere
	others, err := readRecords(ctx, c)
	if err != nil {
		framework.AddVSphereError(diags, "Cannot read the baselines' definitions", err)
		return
	}
	if create && !adoptable(in, others[in.Name], diags) {
		return
	}
	rs := in.rules()
	rec := &record{Name: in.Name, Description: in.Description, Request: in.request().Token, Mode: in.Mode, Scope: in.Scope,
		Target: recordTarget(in.Target), Hosts: hostsOf(in),
		Packs: in.Packs, Settings: in.Settings, Flags: in.Flags, AllowPowerCycle: in.AllowPowerCycle, Hash: rs.hash()}
	for _, s := range rs.settings {
		rec.Rules = append(rec.Rules, s.Setting)
	}
	err = putRecord(ctx, c, in.Name, rec)
	r.Client.DonePlanned(framework.PlannedBaseline, in.Name)
	if err != nil {
		framework.AddVSphereError(diags, "Cannot record the baseline in vCenter", err)
		return
	}
	plan.ID = types.StringValue(in.Name)
	ev, err := evaluate(ctx, c, in, rs, others)
	if err != nil {
		framework.AddVSphereError(diags, "Cannot judge the baseline's scope", err)
		diags.Append(state.SetAttribute(ctx, path.Root("id"), in.Name)...)
		return
	}
	if in.Mode == ModeEnforce && len(ev.drifted) > 0 {
		failed := remediate(ctx, c, in, ev, remediationConcurrency)
		addFailures(in, failed, diags)
		if ev, err = evaluate(ctx, c, in, rs, others); err != nil {
			framework.AddVSphereError(diags, "Cannot judge the baseline's scope after remediation", err)
			diags.Append(state.SetAttribute(ctx, path.Root("id"), in.Name)...)
			return
		}
	}
	plan.fill(in, rs, ev, ev.drifted)
	diags.Append(plan.setState(ctx, state)...)
}

func addFailures(in *input, failed map[string]error, diags *diag.Diagnostics) {
	if len(failed) == 0 {
		return
	}
	var lines []string
	for id, err := range failed {
		lines = append(lines, fmt.Sprintf("  %s: %v", id, err))
	}
	diags.AddError(fmt.Sprintf("Baseline %s: %d VM(s) could not be remediated", in.Name, len(failed)),
		"The other VMs were remediated; apply again to retry these:\n"+strings.Join(lines, "\n"))
}

func (r *baselineResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var state baselineModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return
	}
	c := r.Client.VSphere
	name := state.Name.ValueString()
	others, err := readRecords(ctx, c)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot read baseline "+name, err)
		return
	}
	rec := others[name]
	if rec == nil {
		framework.RemoveGone(ctx, &resp.State, &resp.Diagnostics, "configuration baseline", name, name)
		return
	}
	if state.Scope == nil && state.Hosts == nil { // an import: the declared attributes come from vCenter
		state.fromRecord(rec)
	}
	in, _, d := state.input(ctx)
	if resp.Diagnostics.Append(d...); resp.Diagnostics.HasError() {
		return
	}
	rs := in.rules()
	ev, err := evaluate(ctx, c, in, rs, others)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot judge baseline "+name, err)
		return
	}
	state.fill(in, rs, ev, ev.drifted)
	resp.Diagnostics.Append(state.setState(ctx, &resp.State)...)
}

func (r *baselineResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var state baselineModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return
	}
	if resp.Diagnostics.Append(r.GateDelete(ctx, req, framework.Facts{})...); resp.Diagnostics.HasError() {
		return
	}
	c := r.Client.VSphere
	name := state.Name.ValueString()
	in, _, _ := state.input(ctx)
	// Take the stamp off the VMs that carry it: a VM no longer says it keeps a baseline that is gone.
	// Whatever the mode now: a baseline that enforced before it was switched to audit stamped them.
	if in != nil && !in.hostTarget() {
		if vms, err := c.SelectConfigs(ctx, in.selection()); err == nil {
			var rs []vsphere.Remediation
			for _, vm := range vms {
				if _, ok := vm.ExtraConfig[stampPrefix+name]; ok {
					rs = append(rs, vsphere.Remediation{VMID: vm.ID, ExtraConfig: map[string]string{stampPrefix + name: ""}})
				}
			}
			for id, err := range c.Remediate(ctx, rs, remediationConcurrency) {
				resp.Diagnostics.AddWarning("Stamp left on "+id, fmt.Sprintf("The stamp %s%s could not be removed from %s: %v", stampPrefix, name, id, err))
			}
		}
	}
	if err := putRecord(ctx, c, name, nil); err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot remove baseline "+name+" from vCenter", err)
	}
}

// ImportState takes the baseline's name; its definition is read from vCenter.
func (r *baselineResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	name := strings.TrimSpace(req.ID)
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	recs, err := readRecords(ctx, r.Client.VSphere)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot import baseline "+name, err)
		return
	}
	if recs[name] == nil {
		resp.Diagnostics.AddError("Cannot import configuration baseline",
			fmt.Sprintf("No baseline named %q is defined in vCenter (datacenter custom attribute %s).", name, recordsAttribute))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
}

// recordTarget is the target a record holds: "" for a VM baseline, as records before host
// baselines were written.
func recordTarget(t string) string {
	if t == TargetHost {
		return TargetHost
	}
	return ""
}

func hostsOf(in *input) *vsphere.HostScope {
	if !in.hostTarget() {
		return nil
	}
	h := in.Hosts
	return &h
}

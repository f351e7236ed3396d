// Package backup is the Backup and Recovery function's Terraform side: the vmgmt_backup_job
// resource, which declares jobs and stores them in vCenter for the runner. The job definitions
// themselves (internal/backup/job), the repository (internal/backup/repo) and the runner import
// no Terraform package.
package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"golang.org/x/sync/errgroup"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/job"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
)

var (
	_ resource.ResourceWithConfigure      = (*jobResource)(nil)
	_ resource.ResourceWithImportState    = (*jobResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*jobResource)(nil)
	_ resource.ResourceWithValidateConfig = (*jobResource)(nil)
)

// NewJobResource is the vmgmt_backup_job resource.
func NewJobResource() resource.Resource {
	return &jobResource{ResourceBase: framework.ResourceBase{TypeSuffix: "backup_job"}}
}

type jobResource struct {
	framework.ResourceBase
}

// ValidateConfig checks what spans attributes: a retention that keeps nothing, a job that protects
// nothing.
func (r *jobResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m jobModel
	if resp.Diagnostics.Append(req.Config.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	if m.Selection == nil && m.Hosts == nil {
		resp.Diagnostics.AddAttributeError(path.Root("selection"), "Backup job protects nothing",
			"A backup job needs a selection block naming its VMs (tags, folders, pools or ids), a hosts block naming the hosts "+
				"whose configuration it backs up (clusters, tags or ids), or both.")
	}
	if rt := m.Retention; rt != nil {
		known := true
		ret := rt.retention(&known)
		var re *job.RetentionError
		if err := ret.Validate(); known && errors.As(err, &re) {
			resp.Diagnostics.AddAttributeError(path.Root("retention").AtName(re.Field), "Retention keeps nothing", capitalize(re.Reason)+".")
		}
	}
}

// ModifyPlan resolves the protected VMs and hosts from live inventory, so that the plan shows
// those entering and leaving protection, keeps next_run unless the schedule changes, refuses a
// create whose name another job holds, and puts the change through the policy gate.
func (r *jobResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if !r.Configured() {
		return
	}
	if req.Plan.Raw.IsNull() {
		r.gateDestroyPlan(ctx, req, resp)
		return
	}
	var plan jobModel
	var state *jobModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if !req.State.Raw.IsNull() {
		state = &jobModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	j, known, d := plan.input(ctx)
	if resp.Diagnostics.Append(d...); resp.Diagnostics.HasError() {
		return
	}
	plan.keepNextRun(state)
	if !known || r.Client.PlannedAny(framework.PlannedVM) {
		// Values unknown until apply, or VMs this run creates may join the selection.
		plan.unknownProtected(j)
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		facts := framework.Facts{Unknown: []string{"protected", "datastores"}}
		if rf := repositoryFact(j.Repository); !plan.Repository.IsUnknown() && rf != nil && r.Client.Policy != nil {
			facts.Inventory = map[string]any{"repository": rf}
		}
		resp.Diagnostics.Append(r.GatePlan(ctx, req, resp.Plan.Raw, false, facts)...)
		return
	}
	c := r.Client.VSphere
	jobs, err := job.ReadJobs(ctx, c, true)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot read the backup jobs' definitions", err)
		return
	}
	if state == nil && !adoptable(j, jobs[j.Name], &resp.Diagnostics) {
		return
	}
	p, err := resolve(ctx, c, j)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot resolve the VMs and hosts backup job "+j.Name+" protects", err)
		return
	}
	plan.fillProtected(p)
	if resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...); resp.Diagnostics.HasError() {
		return
	}
	inv, err := r.inventory(ctx, j, p, false)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot read the tags and datastores of the protected VMs for the policy gate", err)
		return
	}
	resp.Diagnostics.Append(r.GatePlan(ctx, req, resp.Plan.Raw, false, framework.Facts{Inventory: inv})...)
}

// gateDestroyPlan puts a destroy through the policy gate with the VMs the job protects now: a rule
// can refuse to leave a VM unprotected.
func (r *jobResource) gateDestroyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	var state jobModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return
	}
	facts, err := r.stateFacts(ctx, &state)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot resolve the VMs backup job "+state.Name.ValueString()+" protects for the policy gate", err)
		return
	}
	resp.Diagnostics.Append(r.GatePlan(ctx, req, req.Plan.Raw, false, facts)...)
}

// stateFacts are the policy facts of the job as state holds it (for a destroy).
func (r *jobResource) stateFacts(ctx context.Context, state *jobModel) (framework.Facts, error) {
	if r.Client.Policy == nil {
		return framework.Facts{}, nil
	}
	j, known, d := state.input(ctx)
	if !known || d.HasError() {
		return framework.Facts{Unknown: []string{"protected"}}, nil
	}
	p, err := resolve(ctx, r.Client.VSphere, j)
	if err != nil {
		return framework.Facts{}, err
	}
	inv, err := r.inventory(ctx, j, p, true)
	return framework.Facts{Inventory: inv}, err
}

// adoptable: a record of this name written by this same request is adopted (an interrupted
// create); another fails with the import command.
func adoptable(j *job.Job, rec *job.Job, diags *diag.Diagnostics) bool {
	if rec == nil {
		return true
	}
	if rec.Request != j.Request {
		diags.AddAttributeError(path.Root("name"), "Backup job already exists",
			fmt.Sprintf("A backup job named %q is already defined in vCenter (datacenter custom attribute %s), by another "+
				"configuration or with another repository. Choose another name, or, if this resource is meant to manage it, bring "+
				"it under Terraform with:\n\n  terraform import <address> %s\n\nwhere <address> is this resource's address "+
				"(e.g. vmgmt_backup_job.nightly).", j.Name, job.JobsAttribute, j.Name))
		return false
	}
	diags.AddAttributeWarning(path.Root("name"), "Backup job will be adopted",
		fmt.Sprintf("Backup job %s is defined in vCenter already: an earlier apply of this same configuration created it and was "+
			"interrupted before Terraform recorded it. Apply adopts it.", j.Name))
	return true
}

// inventory is what the policy gate sees beside the change: the protected VMs with their tags
// (one tag read for all) and their datastores (one read for all), the schedule's longest gap and
// the parsed repository; for a destroy, the other jobs that protect the same VMs. Gathered only
// when a policy is configured.
func (r *jobResource) inventory(ctx context.Context, j *job.Job, p *protection, destroy bool) (map[string]any, error) {
	if r.Client.Policy == nil {
		return nil, nil
	}
	c := r.Client.VSphere
	vms := make([]framework.VMFact, len(p.vms))
	for i, vm := range p.vms {
		vms[i] = framework.VMFact{ID: vm.ID, Name: vm.Name}
	}
	var protected, datastores, others []any
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { protected, err = framework.TaggedVMFacts(gctx, c, vms); return err })
	g.Go(func() (err error) { datastores, err = datastoreFacts(gctx, c, p.vms); return err })
	if destroy {
		g.Go(func() (err error) { others, err = otherJobFacts(gctx, c, j.Name, p.vms); return err })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	facts := map[string]any{"protected": protected, "datastores": datastores}
	if destroy {
		facts["other_jobs"] = others
	}
	if rf := repositoryFact(j.Repository); rf != nil {
		facts["repository"] = rf
	}
	if gap, err := j.Schedule.LongestGap(time.Now()); err == nil {
		facts["schedule"] = map[string]any{"longest_gap_minutes": int64(gap / time.Minute)}
	}
	return facts, nil
}

func (r *jobResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var plan jobModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...); resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, &plan, &resp.State, &resp.Diagnostics, func(f framework.Facts) diag.Diagnostics { return r.GateCreate(ctx, req, f) }, true)
}

func (r *jobResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var plan jobModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...); resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, &plan, &resp.State, &resp.Diagnostics, func(f framework.Facts) diag.Diagnostics { return r.GateUpdate(ctx, req, f) }, false)
}

// apply is Create and Update: it checks the name again, resolves what the plan could not, passes
// the apply-time policy check, stores the definition and fills what is computed.
func (r *jobResource) apply(ctx context.Context, plan *jobModel, state *tfsdk.State, diags *diag.Diagnostics,
	gate func(framework.Facts) diag.Diagnostics, create bool) {
	j, known, d := plan.input(ctx)
	if diags.Append(d...); diags.HasError() {
		return
	}
	if !known {
		diags.AddError("Backup job not known at apply", "A value of the job is still unknown at apply time; this is a bug in the vmgmt provider.")
		return
	}
	c := r.Client.VSphere
	jobs, err := job.ReadJobs(ctx, c, true)
	if err != nil {
		framework.AddVSphereError(diags, "Cannot read the backup jobs' definitions", err)
		return
	}
	if create && !adoptable(j, jobs[j.Name], diags) {
		return
	}
	p, err := resolve(ctx, c, j)
	if err != nil {
		framework.AddVSphereError(diags, "Cannot resolve the VMs and hosts backup job "+j.Name+" protects", err)
		return
	}
	inv, err := r.inventory(ctx, j, p, false)
	if err != nil {
		framework.AddVSphereError(diags, "Cannot read the tags and datastores of the protected VMs for the policy gate", err)
		return
	}
	if diags.Append(gate(framework.Facts{Inventory: inv})...); diags.HasError() {
		return
	}
	if err := job.PutJob(ctx, c, j); err != nil {
		framework.AddVSphereError(diags, "Cannot record backup job "+j.Name+" in vCenter", err)
		return
	}
	if plan.ProtectedVMIDs.IsUnknown() || plan.ProtectedHostIDs.IsUnknown() {
		plan.fillProtected(p)
	}
	if err := plan.fillComputed(ctx, c, j, time.Now()); err != nil {
		framework.AddVSphereError(diags, "Cannot read backup job "+j.Name+"'s last run", err)
	}
	diags.Append(state.Set(ctx, plan)...)
}

// Read refreshes what the job protects, its next run and its last run, and shows a definition
// changed in vCenter behind Terraform's back as drift, which apply restores.
func (r *jobResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var state jobModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return
	}
	c := r.Client.VSphere
	name := state.Name.ValueString()
	jobs, err := job.ReadJobs(ctx, c, true)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot read backup job "+name, err)
		return
	}
	rec := jobs[name]
	if rec == nil {
		framework.RemoveGone(ctx, &resp.State, &resp.Diagnostics, "backup job", name, name)
		return
	}
	if state.Schedule == nil { // an import: the declared attributes come from vCenter
		state.fromRecord(rec)
	} else if changed := definitionChanged(ctx, &state, rec); changed != "" {
		resp.Diagnostics.AddWarning("Backup job "+name+" changed in vCenter",
			fmt.Sprintf("The definition of backup job %s stored in vCenter (datacenter custom attribute %s) is not the one Terraform "+
				"applied (%s). The plan shows the difference; apply restores the configuration.", name, job.JobsAttribute, changed))
		state.fromRecord(rec)
	}
	j, _, d := state.input(ctx)
	if resp.Diagnostics.Append(d...); resp.Diagnostics.HasError() {
		return
	}
	p, err := resolve(ctx, c, j)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot resolve the VMs and hosts backup job "+name+" protects", err)
		return
	}
	state.fillProtected(p)
	state.NextRun, state.RestorePointCount = types.StringUnknown(), types.Int64Unknown()
	state.LastRun = types.ObjectUnknown(lastRunAttrTypes)
	if err := state.fillComputed(ctx, c, j, time.Now()); err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot read backup job "+name+"'s last run", err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// definitionChanged names the parts of the stored definition that differ from state's; "" when
// none does.
func definitionChanged(ctx context.Context, state *jobModel, rec *job.Job) string {
	j, known, d := state.input(ctx)
	if !known || d.HasError() {
		return ""
	}
	stored := *rec
	stored.Request = j.Request
	parts := map[string][2]any{
		"description": {j.Description, stored.Description}, "selection": {j.Selection, stored.Selection}, "hosts": {j.Hosts, stored.Hosts},
		"schedule": {j.Schedule, stored.Schedule}, "retention": {j.Retention, stored.Retention}, "consistency": {j.Consistency, stored.Consistency},
		"repository": {j.Repository, stored.Repository}, "enabled": {j.Enabled, stored.Enabled}, "restore_test": {j.RestoreTest, stored.RestoreTest},
	}
	var changed []string
	for _, name := range []string{"description", "selection", "hosts", "schedule", "retention", "consistency", "repository", "enabled", "restore_test"} {
		a, _ := json.Marshal(parts[name][0])
		b, _ := json.Marshal(parts[name][1])
		if string(a) != string(b) {
			changed = append(changed, name)
		}
	}
	return strings.Join(changed, ", ")
}

// Delete removes the job's definition (and its last run's record) from vCenter. Its restore points
// stay in the repository.
func (r *jobResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	var state jobModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return
	}
	facts, err := r.stateFacts(ctx, &state)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot resolve the VMs backup job "+state.Name.ValueString()+" protects for the policy gate", err)
		return
	}
	if resp.Diagnostics.Append(r.GateDelete(ctx, req, facts)...); resp.Diagnostics.HasError() {
		return
	}
	name := state.Name.ValueString()
	if err := job.RemoveJob(ctx, r.Client.VSphere, name); err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot remove backup job "+name+" from vCenter", err)
	}
}

// ImportState takes the job's name; its definition is read from vCenter.
func (r *jobResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	name := strings.TrimSpace(req.ID)
	if !framework.RequireClient(r.Client, &resp.Diagnostics) {
		return
	}
	jobs, err := job.ReadJobs(ctx, r.Client.VSphere, true)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot import backup job "+name, err)
		return
	}
	if jobs[name] == nil {
		resp.Diagnostics.AddError("Cannot import backup job",
			fmt.Sprintf("No backup job named %q is defined in vCenter (datacenter custom attribute %s).", name, job.JobsAttribute))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

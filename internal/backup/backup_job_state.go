package backup

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"golang.org/x/sync/errgroup"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/job"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// input converts the model into the job's definition; known is false while a value is unknown.
func (m *jobModel) input(ctx context.Context) (*job.Job, bool, diag.Diagnostics) {
	var diags diag.Diagnostics
	known := !m.Name.IsUnknown() && !m.Description.IsUnknown() && !m.Consistency.IsUnknown() && !m.Repository.IsUnknown() && !m.Enabled.IsUnknown()
	j := &job.Job{Name: m.Name.ValueString(), Description: m.Description.ValueString(), Consistency: job.Consistency(m.Consistency.ValueString()),
		Repository: m.Repository.ValueString(), Enabled: m.Enabled.ValueBool()}
	j.Request = job.NewRequest(j.Name, j.Repository).Token
	if m.Selection != nil {
		sel, selKnown, d := m.Selection.ToSelection(ctx, path.Root("selection"))
		diags.Append(d...)
		j.Selection, known = &sel, known && selKnown
	}
	if m.Hosts != nil {
		scope, scopeKnown, d := m.Hosts.ToHostScope(ctx, path.Root("hosts"))
		diags.Append(d...)
		j.Hosts, known = &scope, known && scopeKnown
	}
	if m.Schedule != nil {
		j.Schedule = job.Schedule{Cron: m.Schedule.Cron.ValueString(), TimeZone: m.Schedule.TimeZone.ValueString()}
		known = known && !m.Schedule.Cron.IsUnknown() && !m.Schedule.TimeZone.IsUnknown()
	}
	if m.Retention != nil {
		j.Retention = m.Retention.retention(&known)
	}
	if t := m.RestoreTest; t != nil {
		j.RestoreTest = &job.RestoreTest{Schedule: job.Schedule{Cron: t.Cron.ValueString(), TimeZone: t.TimeZone.ValueString()},
			Sample: int(t.Sample.ValueInt64()), Folder: t.Folder.ValueString(), Network: t.Network.ValueString(),
			MaxRecoveryMinutes: int(t.MaxRecoveryMinutes.ValueInt64())}
		for _, v := range []attr.Value{t.Cron, t.TimeZone, t.Sample, t.Folder, t.Network, t.MaxRecoveryMinutes} {
			known = known && !v.IsUnknown()
		}
	}
	return j, known, diags
}

func (m *retentionModel) retention(known *bool) job.Retention {
	n := func(v types.Int64) int {
		if v.IsUnknown() {
			*known = false
		}
		return int(v.ValueInt64())
	}
	return job.Retention{KeepLast: n(m.KeepLast), KeepDays: n(m.KeepDays), Daily: n(m.Daily), Weekly: n(m.Weekly), Monthly: n(m.Monthly)}
}

// protection is what a job protects now.
type protection struct {
	vms   []protectedVM // sorted by ID
	hosts []string      // nil without a hosts block
}

type protectedVM struct {
	ID, Name string
	// Datastores are the IDs of the datastores the VM's files are on.
	Datastores []string
}

// resolve selects the job's VMs (its selection and its catalog VMs) and hosts, side by side.
func resolve(ctx context.Context, c *vsphere.Client, j *job.Job) (*protection, error) {
	p := &protection{}
	var selected []vsphere.SelectedVM
	var hosts []vsphere.HostRef
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		selected, err = c.Select(gctx, j.VMSelection(), []string{"name", "datastore"})
		return err
	})
	if j.Hosts != nil {
		g.Go(func() (err error) { hosts, err = c.SelectHosts(gctx, *j.Hosts); return err })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, vm := range selected {
		name, _ := vm.Props["name"].(string)
		p.vms = append(p.vms, protectedVM{ID: vm.ID, Name: name, Datastores: vsphere.RefIDs(vm.Props["datastore"])})
	}
	if j.Hosts != nil {
		p.hosts = make([]string, 0, len(hosts))
		for _, h := range hosts {
			p.hosts = append(p.hosts, h.ID)
		}
	}
	return p, nil
}

// keepNextRun keeps the next run state holds while the schedule and enabled stay as they are
// (apply and refresh compute it; a plan that recomputed it would change at every tick); else it is
// known after apply.
func (m *jobModel) keepNextRun(state *jobModel) {
	m.ID = types.StringValue(m.Name.ValueString())
	if m.Name.IsUnknown() {
		m.ID = types.StringUnknown()
	}
	m.NextRun = types.StringUnknown()
	if state == nil || state.Schedule == nil || m.Schedule == nil || state.NextRun.IsUnknown() {
		return
	}
	if m.Schedule.Cron.Equal(state.Schedule.Cron) && m.Schedule.TimeZone.Equal(state.Schedule.TimeZone) && m.Enabled.Equal(state.Enabled) {
		m.NextRun = state.NextRun
	}
}

// unknownProtected marks the protected VMs (and hosts) known after apply.
func (m *jobModel) unknownProtected(j *job.Job) {
	m.ProtectedVMIDs = types.SetUnknown(types.StringType)
	m.ProtectedHostIDs = types.SetUnknown(types.StringType)
	if m.Hosts == nil && j != nil {
		m.ProtectedHostIDs = types.SetNull(types.StringType)
	}
}

func (m *jobModel) fillProtected(p *protection) {
	ids := make([]string, len(p.vms))
	for i, vm := range p.vms {
		ids[i] = vm.ID
	}
	m.ProtectedVMIDs = stringSet(ids)
	m.ProtectedHostIDs = types.SetNull(types.StringType)
	if p.hosts != nil {
		m.ProtectedHostIDs = stringSet(p.hosts)
	}
}

// fillComputed sets what apply and refresh compute and the plan left unknown: the next run, and the
// last run and restore points from the runs record.
func (m *jobModel) fillComputed(ctx context.Context, c *vsphere.Client, j *job.Job, now time.Time) error {
	m.ID = types.StringValue(j.Name)
	if m.NextRun.IsUnknown() {
		m.NextRun = types.StringNull()
		if j.Enabled {
			next, err := j.Schedule.Next(now)
			if err != nil {
				return err
			}
			m.NextRun = types.StringValue(next.Format(time.RFC3339))
		}
	}
	if !m.LastRun.IsUnknown() && !m.RestorePointCount.IsUnknown() {
		return nil // as the plan showed them
	}
	runs, err := job.ReadRuns(ctx, c, true)
	if err != nil {
		m.LastRun, m.RestorePointCount = types.ObjectNull(lastRunAttrTypes), types.Int64Value(0)
		return err
	}
	m.LastRun, m.RestorePointCount = lastRunValue(runs[j.Name])
	return nil
}

func lastRunValue(run *job.LastRun) (types.Object, types.Int64) {
	if run == nil {
		return types.ObjectNull(lastRunAttrTypes), types.Int64Value(0)
	}
	return types.ObjectValueMust(lastRunAttrTypes, map[string]attr.Value{
		"started": types.StringValue(run.Started.Format(time.RFC3339)), "finished": types.StringValue(run.Finished.Format(time.RFC3339)),
		"status": types.StringValue(string(run.Status)), "vms": types.Int64Value(int64(run.VMs)), "failed": types.Int64Value(int64(run.Failed)),
		"hosts": types.Int64Value(int64(run.Hosts)), "bytes": types.Int64Value(run.Bytes), "restore_points": types.Int64Value(int64(run.RestorePoints)),
	}), types.Int64Value(int64(run.RestorePoints))
}

// fromRecord sets the declared attributes from the definition vCenter holds: what an import puts
// in state, and what a definition changed behind Terraform's back shows.
func (m *jobModel) fromRecord(rec *job.Job) {
	m.ID, m.Name, m.Description = types.StringValue(rec.Name), types.StringValue(rec.Name), types.StringValue(rec.Description)
	zone := rec.Schedule.TimeZone
	if zone == "" {
		zone = job.DefaultTimeZone
	}
	m.Schedule = &scheduleModel{Cron: types.StringValue(rec.Schedule.Cron), TimeZone: types.StringValue(zone)}
	rt := rec.Retention
	m.Retention = &retentionModel{KeepLast: types.Int64Value(int64(rt.KeepLast)), KeepDays: types.Int64Value(int64(rt.KeepDays)),
		Daily: types.Int64Value(int64(rt.Daily)), Weekly: types.Int64Value(int64(rt.Weekly)), Monthly: types.Int64Value(int64(rt.Monthly))}
	m.Consistency, m.Repository, m.Enabled = types.StringValue(string(rec.Consistency)), types.StringValue(rec.Repository), types.BoolValue(rec.Enabled)
	m.Selection, m.Hosts, m.RestoreTest = nil, nil, nil
	if t := rec.RestoreTest; t != nil {
		zone := t.Schedule.TimeZone
		if zone == "" {
			zone = job.DefaultTimeZone
		}
		m.RestoreTest = &restoreTestModel{Cron: types.StringValue(t.Schedule.Cron), TimeZone: types.StringValue(zone),
			Sample: types.Int64Value(int64(t.Sample)), Folder: types.StringValue(t.Folder), Network: types.StringValue(t.Network),
			MaxRecoveryMinutes: types.Int64Value(int64(t.MaxRecoveryMinutes))}
	}
	if rec.Selection != nil {
		m.Selection = framework.SelectionFromVSphere(*rec.Selection)
	}
	if rec.Hosts != nil {
		m.Hosts = framework.HostSelectionFromVSphere(*rec.Hosts)
	}
}

func stringSet(s []string) types.Set {
	elems := make([]attr.Value, len(s))
	for i, v := range s {
		elems[i] = types.StringValue(v)
	}
	return types.SetValueMust(types.StringType, elems)
}

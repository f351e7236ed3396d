package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/job"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/repo"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/retention"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// recoverJob removes what a run of the job that died left behind: the snapshots it took on the
// job's VMs (recognised by their name or description stamp) and its partial restore points. It
// runs under the job's lock, so no live run of the job is using them.
func recoverJob(ctx context.Context, c *vsphere.Client, r *repo.Repository, j *job.Job, vms []target, res *JobResult) error {
	for _, vm := range vms {
		snaps, err := c.Snapshots(ctx, vm.ID)
		if err != nil {
			if vsphere.IsNotFound(err) {
				continue // gone since it was selected: its backup reports that
			}
			return fmt.Errorf("job %s: reading the snapshots of %s to remove those a crashed run left: %w", j.Name, vm.Name, err)
		}
		for _, s := range snaps {
			if !ownSnapshot(s, j.Name) {
				continue
			}
			if err := c.RemoveSnapshot(ctx, vm.ID, s.ID); err != nil {
				return fmt.Errorf("job %s: removing snapshot %q of %s that a crashed run left: %w", j.Name, s.Name, vm.Name, err)
			}
			res.CleanedSnapshots++
		}
	}
	partial, err := r.PartialPoints(ctx, j.Name)
	if err != nil {
		return fmt.Errorf("job %s: %w", j.Name, err)
	}
	for _, p := range partial {
		if err := r.DeletePoint(ctx, p); err != nil {
			return fmt.Errorf("job %s: removing the partial restore point a crashed run left: %w", j.Name, err)
		}
		res.CleanedPoints++
	}
	return nil
}

// subject is one VM or host of the job whose points retention judges: vm or host is set.
type subject struct{ vm, host string }

func (s subject) String() string {
	if s.host != "" {
		return "host " + s.host
	}
	return s.vm
}

// points lists the subject's complete points, newest first.
func (s subject) points(ctx context.Context, r *repo.Repository, jobName string) ([]repo.Point, error) {
	if s.host != "" {
		return r.HostPoints(ctx, jobName, s.host)
	}
	return r.Points(ctx, jobName, s.vm)
}

// subjects are the job's VMs and hosts, for retention.
func subjects(vms []target, hosts []vsphere.HostRef) []subject {
	out := make([]subject, 0, len(vms)+len(hosts))
	for _, vm := range vms {
		out = append(out, subject{vm: vm.Name})
	}
	for _, h := range hosts {
		out = append(out, subject{host: h.Name})
	}
	return out
}

// prune applies the job's retention to each subject's (VM's or host's) complete points and
// deletes those it prunes. It returns the points kept (over all the subjects) and the points
// deleted.
func prune(ctx context.Context, r *repo.Repository, j *job.Job, subjects []subject, now time.Time) (kept, pruned int, err error) {
	loc, err := j.Schedule.Location()
	if err != nil {
		loc = time.UTC
	}
	policy := retention.Policy{KeepLast: j.Retention.KeepLast, KeepDays: j.Retention.KeepDays,
		Daily: j.Retention.Daily, Weekly: j.Retention.Weekly, Monthly: j.Retention.Monthly}
	for _, s := range subjects {
		points, err := s.points(ctx, r, j.Name)
		if err != nil {
			return kept, pruned, fmt.Errorf("job %s: pruning the restore points of %s: %w", j.Name, s, err)
		}
		byID := map[string]repo.Point{}
		in := make([]retention.Point, 0, len(points))
		for _, p := range points {
			byID[p.ID] = p
			in = append(in, retention.Point{ID: p.ID, Time: p.Time, Verified: verified(ctx, r, p)})
		}
		d := retention.Plan(in, policy, now, loc)
		kept += len(d.Keep)
		for _, p := range d.Prune {
			if err := r.DeletePoint(ctx, byID[p.ID]); err != nil {
				return kept, pruned, fmt.Errorf("job %s: pruning: %w", j.Name, err)
			}
			pruned++
		}
	}
	return kept, pruned, nil
}

// verified says whether a restore test proved the point good; a manifest that cannot be read
// counts as not verified, so it protects nothing.
func verified(ctx context.Context, r *repo.Repository, p repo.Point) bool {
	m, err := r.ReadManifest(ctx, p)
	return err == nil && m.Verified != nil && m.Verified.OK
}

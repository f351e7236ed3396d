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

// cleanup removes what a runner of the job that died left on the VM or host: the snapshots it
// took of a VM (recognised by their name or description stamp; an operator's own snapshots stay)
// and the partial restore points. It runs under the lease, so no live runner is using them. It
// returns the complete points, newest first.
func cleanup(ctx context.Context, c *vsphere.Client, r *repo.Repository, j *job.Job, u unit, res *VMResult) ([]repo.Point, error) {
	if u.vm != nil {
		snaps, err := c.Snapshots(ctx, u.vm.ID)
		if err != nil {
			return nil, fmt.Errorf("reading its snapshots to remove those a dead runner left: %w", err)
		}
		for _, s := range snaps {
			if !ownSnapshot(s, j.Name) {
				continue
			}
			if err := c.RemoveSnapshot(ctx, u.vm.ID, s.ID); err != nil {
				return nil, fmt.Errorf("removing snapshot %q that a dead runner left: %w", s.Name, err)
			}
			res.CleanedSnapshots++
		}
	}
	complete, partial, err := u.points(ctx, r, j.Name)
	if err != nil {
		return nil, err
	}
	for _, p := range partial {
		if err := r.DeletePoint(ctx, p); err != nil {
			return nil, fmt.Errorf("removing the partial restore point a dead runner left: %w", err)
		}
		res.CleanedPoints++
	}
	return complete, nil
}

// prune applies the job's retention to the complete points of one VM or host, right after its
// new point, under its lease, and deletes those it prunes.
func prune(ctx context.Context, r *repo.Repository, j *job.Job, u unit, now time.Time) (int, error) {
	loc, err := j.Schedule.Location()
	if err != nil {
		loc = time.UTC
	}
	policy := retention.Policy{KeepLast: j.Retention.KeepLast, KeepDays: j.Retention.KeepDays,
		Daily: j.Retention.Daily, Weekly: j.Retention.Weekly, Monthly: j.Retention.Monthly}
	points, _, err := u.points(ctx, r, j.Name)
	if err != nil {
		return 0, fmt.Errorf("job %s: pruning the restore points of %s: %w", j.Name, u.name(), err)
	}
	byID := map[string]repo.Point{}
	in := make([]retention.Point, 0, len(points))
	for _, p := range points {
		byID[p.ID] = p
		in = append(in, retention.Point{ID: p.ID, Time: p.Time, Verified: verified(ctx, r, p)})
	}
	pruned := 0
	for _, p := range retention.Plan(in, policy, now, loc).Prune {
		if err := r.DeletePoint(ctx, byID[p.ID]); err != nil {
			return pruned, fmt.Errorf("job %s: pruning the restore points of %s: %w", j.Name, u.name(), err)
		}
		pruned++
	}
	return pruned, nil
}

// verified says whether a restore test proved the point good; a manifest that cannot be read
// counts as not verified, so it protects nothing.
func verified(ctx context.Context, r *repo.Repository, p repo.Point) bool {
	m, err := r.ReadManifest(ctx, p)
	return err == nil && m.Verified != nil && m.Verified.OK
}

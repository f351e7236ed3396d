package restore

import (
	"context"
	"fmt"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/job"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/repo"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// OpenRepository opens the repository a job's points are in: the one repositoryURL names (a
// vCenter that never held the job restores from the repository alone), else the one the job's
// definition in vCenter names.
func OpenRepository(ctx context.Context, c *vsphere.Client, jobName, repositoryURL string) (*repo.Repository, error) {
	raw := repositoryURL
	if raw == "" {
		jobs, err := job.ReadJobs(ctx, c, true)
		if err != nil {
			return nil, fmt.Errorf("reading the backup jobs from vCenter (or give the repository's URL to restore from the repository alone): %w", err)
		}
		j, err := job.Lookup(jobs, jobName)
		if err != nil {
			return nil, fmt.Errorf("%w (give the repository's URL to restore a job this vCenter does not hold)", err)
		}
		raw = j.Repository
	}
	loc, err := repo.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("job %s: %w", jobName, err)
	}
	r, err := repo.Open(ctx, loc)
	if err != nil {
		return nil, fmt.Errorf("job %s: %w", jobName, err)
	}
	return r, nil
}

// FindPoint finds a complete point of the job by ID.
func FindPoint(ctx context.Context, r *repo.Repository, jobName, id string) (repo.Point, error) {
	points, err := r.JobPoints(ctx, jobName)
	if err != nil {
		return repo.Point{}, err
	}
	for _, p := range points {
		if p.ID == id {
			return p, nil
		}
	}
	return repo.Point{}, fmt.Errorf("job %s has no complete restore point %s in %s (see `backup list --job %s`)", jobName, id, r.Location(), jobName)
}

// Newest is the newest of a VM's points (given newest first) that passed a restore test, reading
// manifests newest first until one did; without wantVerified simply the newest. With
// wantVerified and none verified, the point is zero.
func Newest(ctx context.Context, r *repo.Repository, points []repo.Point, wantVerified bool) (repo.Point, bool, error) {
	for _, p := range points {
		m, err := r.ReadManifest(ctx, p)
		if err != nil {
			return repo.Point{}, false, err
		}
		if v := Verified(m); v || !wantVerified {
			return p, v, nil
		}
	}
	return repo.Point{}, false, nil
}

// PointOfVM is the point to restore a VM (by its name when it was backed up) from: its newest
// that passed a restore test, or with latest its newest. It says whether that point is verified.
func PointOfVM(ctx context.Context, r *repo.Repository, jobName, vm string, latest bool) (repo.Point, bool, error) {
	points, err := r.Points(ctx, jobName, vm)
	if err != nil {
		return repo.Point{}, false, err
	}
	if len(points) == 0 {
		return repo.Point{}, false, fmt.Errorf("job %s has no restore point of a VM named %s in %s (see `backup list --job %s`)", jobName, vm, r.Location(), jobName)
	}
	p, v, err := Newest(ctx, r, points, !latest)
	if err != nil {
		return p, v, err
	}
	if p.ID == "" {
		return p, v, fmt.Errorf("no restore point of %s in job %s has passed a restore test (run `backup verify --job %s`, or restore its newest point, %s, untested: --latest, or latest = true)", vm, jobName, jobName, points[0].ID)
	}
	return p, v, nil
}

// Verified says whether the point's latest restore test passed.
func Verified(m *repo.Manifest) bool { return m.Verified != nil && m.Verified.OK }

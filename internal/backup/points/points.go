// Package points lists a backup job's complete restore points from its repository, with the
// job definitions read from vCenter: what `backup list` prints and the vmgmt_restore_points data
// source returns. It imports no Terraform package.
package points

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/job"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/repo"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// ListOptions picks the restore points List reports.
type ListOptions struct {
	// Job, when set, lists only the job of this name; it must exist.
	Job string
	// VM, when set, lists only the points of the VM of this name (in every job, or in Job),
	// whether or not a job protects it now: the points of a deleted VM stay listable by name.
	VM string
}

// Listed is one complete restore point, as `backup list` shows it.
type Listed struct {
	Job string `json:"job"`
	// VM and VMID (its managed object ID when the point was taken) are set on a VM's point,
	// Host on a host configuration point.
	VM   string    `json:"vm,omitempty"`
	VMID string    `json:"vm_id,omitempty"`
	Host string    `json:"host,omitempty"`
	ID   string    `json:"point"`
	Time time.Time `json:"time"`
	// Bytes is the sum of the point's data files, as its manifest lists them.
	Bytes       int64  `json:"bytes"`
	Consistency string `json:"consistency,omitempty"`
	// Verified says whether the latest restore test of the point passed; VerifiedAt is when that
	// test ran, nil when the point was never tested.
	Verified   bool       `json:"verified"`
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
	// RecoverySeconds is the recovery time that test measured, nil when the point was never tested.
	RecoverySeconds *float64 `json:"recovery_seconds,omitempty"`
	Disks           int      `json:"disks"`
}

// Listing is what List found: the points, and for each job that could not be listed (its
// repository unavailable, a manifest unreadable) the error, so that one bad repository does not
// hide the others.
type Listing struct {
	Points []Listed
	Errs   []error
}

// List lists the complete restore points of the jobs vCenter holds, by job, then VM (by name),
// then host, each subject's points newest first. Without opts.VM a job's subjects are the VMs and
// hosts it protects now. The error is for what stops the listing as a whole: vCenter
// unreadable, no job of the name opts.Job.
func List(ctx context.Context, c *vsphere.Client, opts ListOptions) (Listing, error) {
	var out Listing
	jobs, err := job.ReadJobs(ctx, c, true)
	if err != nil {
		return out, fmt.Errorf("reading the backup jobs from vCenter: %w", err)
	}
	picked := job.Names(jobs)
	if opts.Job != "" {
		if _, err := job.Lookup(jobs, opts.Job); err != nil {
			return out, err
		}
		picked = []string{opts.Job}
	}
	for _, name := range picked {
		points, err := listJob(ctx, jobs[name], opts.VM)
		out.Points = append(out.Points, points...)
		if err != nil {
			out.Errs = append(out.Errs, err)
		}
	}
	return out, nil
}

// listJob lists one job's points: those of vm alone when it is set, else every point of the job
// (its VMs', also those it no longer protects, and its hosts'), from the repository alone.
func listJob(ctx context.Context, j *job.Job, vm string) ([]Listed, error) {
	loc, err := repo.ParseURL(j.Repository)
	if err != nil {
		return nil, fmt.Errorf("job %s: %w", j.Name, err)
	}
	r, err := repo.Open(ctx, loc)
	if err != nil {
		return nil, fmt.Errorf("job %s: %w", j.Name, err)
	}
	defer func() { _ = r.Close() }()
	// Without a VM: every complete point in one listing, whether or not the job protects the VM
	// now (the points of a VM that left protection, or was deleted, stay listable).
	points, err := r.JobPoints(ctx, j.Name)
	if vm != "" {
		points, err = r.Points(ctx, j.Name, vm)
	}
	if err != nil {
		return nil, fmt.Errorf("job %s: %w", j.Name, err)
	}
	sort.SliceStable(points, func(a, b int) bool {
		pa, pb := points[a], points[b]
		switch {
		case pa.IsHost() != pb.IsHost():
			return !pa.IsHost() // VMs first, then hosts
		case pa.VM != pb.VM:
			return pa.VM < pb.VM
		case pa.Host != pb.Host:
			return pa.Host < pb.Host
		}
		return pa.ID > pb.ID
	})
	out := make([]Listed, 0, len(points))
	for _, p := range points {
		m, err := r.ReadManifest(ctx, p)
		if err != nil {
			return out, fmt.Errorf("job %s: %w", j.Name, err)
		}
		out = append(out, listed(p, m))
	}
	return out, nil
}

// listed describes a point from its manifest.
func listed(p repo.Point, m *repo.Manifest) Listed {
	l := Listed{Job: p.Job, VM: p.VM, Host: p.Host, ID: p.ID, Time: p.Time, Consistency: string(m.Consistency), Disks: len(m.Disks)}
	if m.VM != nil {
		l.VMID = m.VM.ID
	}
	for _, f := range m.Files {
		l.Bytes += f.Bytes
	}
	if v := m.Verified; v != nil {
		at, rs := v.At, v.RecoverySeconds
		l.Verified, l.VerifiedAt, l.RecoverySeconds = v.OK, &at, &rs
	}
	return l
}

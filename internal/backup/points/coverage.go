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

// CoveredVM is one VM of a coverage report.
type CoveredVM struct {
	ID, Name string
	// Jobs are the enabled jobs that protect it, by name.
	Jobs []string
	// Newest is its newest complete point over those jobs (zero when it has none); Allowed the
	// longest its schedules allow between points (the shortest over its jobs), with the grace.
	Newest  time.Time
	Allowed time.Duration
}

// Coverage is how a scope of VMs stands against the enabled backup jobs.
type Coverage struct {
	// VMs is the number of VMs in the scope (templates left out).
	VMs int
	// Unprotected are the VMs no enabled job protects; Stale those whose newest point is older
	// than their schedule allows (or that have none); Unverified those with no verified point.
	// Each is sorted by VM ID.
	Unprotected, Stale, Unverified []CoveredVM
	// Unreadable are the jobs whose repository could not be read, with why: their points count
	// as none, so their VMs show as stale and unverified rather than as covered.
	Unreadable []error
}

// CoverageOf judges the VMs of scope at now: the scope and every enabled job's selection are
// resolved together (the cost of one selection), each job's repository listed once, and for each
// protected VM its manifests read newest first until one is verified. grace is added to a
// schedule's longest gap before a point counts as stale, for the time a run takes.
func CoverageOf(ctx context.Context, c *vsphere.Client, scope vsphere.Selection, now time.Time, grace time.Duration) (Coverage, error) {
	var out Coverage
	vms, protectedBy, enabled, err := resolveCoverage(ctx, c, scope)
	if err != nil {
		return out, err
	}
	out.VMs = len(vms)
	verified := map[string]bool{}
	for i, j := range enabled {
		if len(protectedBy[i]) == 0 {
			continue
		}
		if err := judgeJob(ctx, j, protectedBy[i], now, grace, verified); err != nil {
			out.Unreadable = append(out.Unreadable, err)
		}
	}
	for _, v := range vms {
		switch {
		case len(v.Jobs) == 0:
			out.Unprotected = append(out.Unprotected, *v)
			continue
		case v.Newest.IsZero() || now.Sub(v.Newest) > v.Allowed:
			out.Stale = append(out.Stale, *v)
		}
		if !verified[v.ID] {
			out.Unverified = append(out.Unverified, *v)
		}
	}
	for _, l := range [][]CoveredVM{out.Unprotected, out.Stale, out.Unverified} {
		sort.Slice(l, func(a, b int) bool { return l[a].ID < l[b].ID })
	}
	return out, nil
}

// resolveCoverage resolves the scope and every enabled job's selection in one go: the scope's VMs
// by ID, and for each enabled job (by name) the VMs of the scope it protects.
func resolveCoverage(ctx context.Context, c *vsphere.Client, scope vsphere.Selection) (map[string]*CoveredVM, [][]*CoveredVM, []*job.Job, error) {
	jobs, err := job.ReadJobs(ctx, c, true)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading the backup jobs from vCenter: %w", err)
	}
	var enabled []*job.Job
	for _, name := range job.Names(jobs) {
		if jobs[name].Enabled && jobs[name].Selection != nil {
			enabled = append(enabled, jobs[name])
		}
	}
	scope.Templates = vsphere.TemplatesExclude
	sels := []vsphere.Selection{scope}
	for _, j := range enabled {
		s := j.VMSelection()
		s.Templates = vsphere.TemplatesExclude
		sels = append(sels, s)
	}
	selected, errs, err := c.SelectEach(ctx, sels, []string{"name"})
	if err != nil {
		return nil, nil, nil, err
	}
	if errs[0] != nil {
		return nil, nil, nil, errs[0]
	}
	vms := map[string]*CoveredVM{}
	for _, vm := range selected[0] {
		name, _ := vm.Props["name"].(string)
		vms[vm.ID] = &CoveredVM{ID: vm.ID, Name: name}
	}
	protectedBy := make([][]*CoveredVM, len(enabled))
	for i, j := range enabled {
		if errs[i+1] != nil {
			return nil, nil, nil, fmt.Errorf("job %s: resolving its VMs: %w", j.Name, errs[i+1])
		}
		for _, vm := range selected[i+1] {
			if v := vms[vm.ID]; v != nil {
				protectedBy[i] = append(protectedBy[i], v)
			}
		}
	}
	return vms, protectedBy, enabled, nil
}

// judgeJob adds what job j says of the VMs it protects: the job itself, its allowed age, the
// newest point and whether one is verified. Its repository's failure is returned after the
// job is added to the VMs, whose points then count as none.
func judgeJob(ctx context.Context, j *job.Job, mine []*CoveredVM, now time.Time, grace time.Duration, verified map[string]bool) error {
	gap, err := j.Schedule.LongestGap(now)
	if err != nil {
		return fmt.Errorf("job %s: its schedule cannot be read: %w", j.Name, err)
	}
	for _, v := range mine {
		v.Jobs = append(v.Jobs, j.Name)
		if v.Allowed == 0 || gap+grace < v.Allowed {
			v.Allowed = gap + grace
		}
	}
	byVM, r, err := jobPoints(ctx, j)
	if err != nil {
		return err
	}
	defer func() { _ = r.Close() }()
	for _, v := range mine {
		points := byVM[v.Name]
		if len(points) > 0 && points[0].Time.After(v.Newest) {
			v.Newest = points[0].Time
		}
		if !verified[v.ID] {
			if verified[v.ID], err = anyVerified(ctx, r, points); err != nil {
				return fmt.Errorf("job %s: %w", j.Name, err)
			}
		}
	}
	return nil
}

// jobPoints lists a job's complete points in one listing, by VM name, newest first; the caller
// closes the repository.
func jobPoints(ctx context.Context, j *job.Job) (map[string][]repo.Point, *repo.Repository, error) {
	loc, err := repo.ParseURL(j.Repository)
	if err != nil {
		return nil, nil, fmt.Errorf("job %s: %w", j.Name, err)
	}
	r, err := repo.Open(ctx, loc)
	if err != nil {
		return nil, nil, fmt.Errorf("job %s: %w", j.Name, err)
	}
	all, err := r.JobPoints(ctx, j.Name)
	if err != nil {
		_ = r.Close()
		return nil, nil, fmt.Errorf("job %s: %w", j.Name, err)
	}
	byVM := map[string][]repo.Point{}
	for _, p := range all {
		if !p.IsHost() {
			byVM[p.VM] = append(byVM[p.VM], p) // JobPoints is newest first
		}
	}
	return byVM, r, nil
}

// anyVerified says whether a restore test proved one of the points good, reading their
// manifests newest first until one did.
func anyVerified(ctx context.Context, r *repo.Repository, points []repo.Point) (bool, error) {
	for _, p := range points {
		m, err := r.ReadManifest(ctx, p)
		if err != nil {
			return false, err
		}
		if m.Verified != nil && m.Verified.OK {
			return true, nil
		}
	}
	return false, nil
}

package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/job"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/repo"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/restore"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// BootOrderCategory is the tag category whose tag on a VM ("1", "2", ...) says when an
// application restore powers it on: lower first, each group once the one before it is powered
// on; VMs without it come last.
const BootOrderCategory = "vmgmt-boot-order"

// RestoreOptions say what `backup restore` restores, from where, and to where. Exactly one of
// Point, VM, App and All picks what.
type RestoreOptions struct {
	// Job is the backup job whose points are restored. Repository, when set, is the repository's
	// URL, so that a vCenter that never knew the job (another site's, after a disaster) restores
	// from the repository alone; otherwise the job's definition in vCenter names it.
	Job        string
	Repository string
	// Point restores the point of this ID (in Job, or in any job vCenter holds).
	Point string
	// VM restores the VM of this name: its newest verified point, or with Latest its newest.
	VM     string
	Latest bool
	// App restores every VM whose point carries this tag ("category/name"), all from the newest
	// run that backed one of them up, powered on in boot order (BootOrderCategory).
	App string
	// All restores every VM of the job: each one's newest verified point (its newest, with a
	// warning, when none was verified).
	All bool
	// Host restores the configuration of the host of this name (as backed up) from its newest
	// host point, or from Point; ToHost names the host it goes to (name or ID; default the
	// same name). Force applies a bundle made on another host; EnterMaintenance puts the host in
	// maintenance mode first (ESXi refuses a restore outside it).
	Host             string
	ToHost           string
	Force            bool
	EnterMaintenance bool
	// Target is where the VMs go. With App and All, PowerOn powers them on in boot order.
	Target restore.Target
	// Concurrency is how many VMs are restored at once (default 2).
	Concurrency int
	Output      Output
	Now         func() time.Time

	// wrapDisk, when set, wraps each disk's stream on its way to vCenter (tests).
	wrapDisk func(vm string, r io.Reader) io.Reader
	// progressEvery as in Options.
	progressEvery time.Duration
	// onPowerOn, when set, is told each VM the boot order powered on (tests).
	onPowerOn func(vm string)
}

// RestoreResult is what a restore did with one VM.
type RestoreResult struct {
	// VM is the VM's name when it was backed up; Name the restored VM's, ID its managed object ID.
	VM, Name, ID string
	Point        string
	// Verified says whether the point had passed a restore test.
	Verified bool
	Status   Status
	Bytes    int64
	// Duration is the recovery time of this VM: from the start of the whole restore to the VM
	// restored (and powered on, when asked), so that an application's last VM says how long the
	// application took.
	Duration time.Duration
	// BootGroup is the VM's boot order (0: none).
	BootGroup int
	Adopted   bool
	Discarded string
	Warnings  []string
	Err       error
}

// RestoreSummary is what a Restore did.
type RestoreSummary struct {
	Job      string
	Results  []RestoreResult
	Duration time.Duration
}

// Failed reports whether any VM failed to restore.
func (s RestoreSummary) Failed() bool {
	for _, r := range s.Results {
		if r.Status != VMOK {
			return true
		}
	}
	return false
}

// Restore restores what opts pick. Every VM is prepared before any is restored (point complete,
// checksums listed, target folder, pool, datastore and networks present, names free), so a
// restore that cannot succeed changes nothing. The error is for what stops the restore as a
// whole; one VM's failure is in its result.
func Restore(ctx context.Context, c *vsphere.Client, opts RestoreOptions) (RestoreSummary, error) {
	opts = opts.withDefaults()
	sum := RestoreSummary{Job: opts.Job}
	start := opts.Now()
	picks := 0
	for _, set := range []bool{opts.Point != "" && opts.Host == "", opts.VM != "", opts.App != "", opts.All, opts.Host != ""} {
		if set {
			picks++
		}
	}
	if picks != 1 {
		return sum, errors.New("give one of --point ID, --vm NAME, --app TAG, --all or --host NAME")
	}
	if opts.Job == "" && (opts.Point == "" || opts.Repository != "") {
		return sum, errors.New("give --job NAME: the job whose restore points are restored")
	}
	r, jobName, err := openRestoreRepo(ctx, c, opts)
	if err != nil {
		return sum, err
	}
	defer func() { _ = r.Close() }()
	sum.Job = jobName
	if opts.Host != "" {
		p, err := hostPoint(ctx, r, jobName, opts)
		if err != nil {
			return sum, err
		}
		res := restoreHost(ctx, c, r, jobName, p, opts)
		opts.Output.RestoreDone(jobName, res)
		sum.Results, sum.Duration = []RestoreResult{res}, opts.Now().Sub(start)
		return sum, nil
	}
	picked, err := pickPoints(ctx, r, jobName, opts)
	if err != nil {
		return sum, err
	}
	plans := make([]*restore.Plan, len(picked))
	var errs []error
	for i, pp := range picked {
		t := opts.Target
		if len(picked) > 1 {
			t.Name = "" // each VM keeps its name
			t.PowerOn = false
		}
		plans[i], err = restore.Prepare(ctx, c, r, pp.point, t)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return sum, fmt.Errorf("nothing was restored: %w", err)
	}
	results := make([]RestoreResult, len(plans))
	bounded(len(plans), opts.Concurrency, func(i int) {
		results[i] = restoreOne(ctx, c, r, jobName, plans[i], picked[i], opts)
		results[i].Duration = opts.Now().Sub(start)
	})
	if len(plans) > 1 && opts.Target.PowerOn {
		powerOnInOrder(ctx, c, results, opts, start)
	}
	for _, res := range results {
		opts.Output.RestoreDone(jobName, res)
	}
	sum.Results = results
	sum.Duration = opts.Now().Sub(start)
	return sum, nil
}

func (o RestoreOptions) withDefaults() RestoreOptions {
	setDefaults(&o.Concurrency, &o.Output, &o.Now, &o.progressEvery)
	return o
}

// bounded runs f(0) to f(n-1), at most concurrency at a time, and returns when all are done.
func bounded(n, concurrency int, f func(i int)) {
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(i)
		}()
	}
	wg.Wait()
}

// setDefaults fills the options every command of the runner shares: concurrency, output, clock
// and the progress events' spacing.
func setDefaults(concurrency *int, out *Output, now *func() time.Time, every *time.Duration) {
	if *concurrency <= 0 {
		*concurrency = DefaultConcurrency
	}
	if *out == nil {
		*out = discard{}
	}
	if *now == nil {
		*now = time.Now
	}
	if *every == 0 {
		*every = progressEvery
	}
}

// openRestoreRepo opens the repository the points are in: the one given, or the job's, read from
// vCenter. With only a point ID, the job is the one whose repository holds it.
func openRestoreRepo(ctx context.Context, c *vsphere.Client, opts RestoreOptions) (*repo.Repository, string, error) {
	if opts.Job != "" {
		r, err := restore.OpenRepository(ctx, c, opts.Job, opts.Repository)
		return r, opts.Job, err
	}
	jobs, err := job.ReadJobs(ctx, c, true)
	if err != nil {
		return nil, "", fmt.Errorf("reading the backup jobs from vCenter: %w", err)
	}
	for _, name := range job.Names(jobs) {
		r, err := restore.OpenRepository(ctx, c, name, jobs[name].Repository)
		if err != nil {
			return nil, "", err
		}
		if _, err := restore.FindPoint(ctx, r, name, opts.Point); err == nil {
			return r, name, nil
		}
		_ = r.Close()
	}
	return nil, "", fmt.Errorf("no job's repository holds restore point %s (see `backup list`)", opts.Point)
}

// pickedPoint is a point chosen for restore, and why.
type pickedPoint struct {
	point    repo.Point
	verified bool
	warning  string
	boot     int
}

// pickPoints chooses the points to restore.
func pickPoints(ctx context.Context, r *repo.Repository, jobName string, opts RestoreOptions) ([]pickedPoint, error) {
	switch {
	case opts.Point != "":
		p, err := restore.FindPoint(ctx, r, jobName, opts.Point)
		if err != nil {
			return nil, err
		}
		m, err := r.ReadManifest(ctx, p)
		if err != nil {
			return nil, err
		}
		return []pickedPoint{{point: p, verified: restore.Verified(m)}}, nil
	case opts.VM != "":
		p, v, err := restore.PointOfVM(ctx, r, jobName, opts.VM, opts.Latest)
		if err != nil {
			return nil, err
		}
		return []pickedPoint{{point: p, verified: v}}, nil
	case opts.App != "":
		return appPoints(ctx, r, jobName, opts.App)
	}
	return allPoints(ctx, r, jobName)
}

// newest is restore.Newest as a pickedPoint.
func newest(ctx context.Context, r *repo.Repository, points []repo.Point, wantVerified bool) (pickedPoint, error) {
	p, v, err := restore.Newest(ctx, r, points, wantVerified)
	return pickedPoint{point: p, verified: v}, err
}

// byVM groups a job's VM points (newest first) by VM name, the names sorted.
func byVM(points []repo.Point) ([]string, map[string][]repo.Point) {
	out := map[string][]repo.Point{}
	for _, p := range points {
		if !p.IsHost() {
			out[p.VM] = append(out[p.VM], p)
		}
	}
	names := make([]string, 0, len(out))
	for n := range out {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, out
}

// allPoints is each VM's newest verified point, or its newest with a warning.
func allPoints(ctx context.Context, r *repo.Repository, jobName string) ([]pickedPoint, error) {
	points, err := r.JobPoints(ctx, jobName)
	if err != nil {
		return nil, err
	}
	names, vms := byVM(points)
	if len(names) == 0 {
		return nil, fmt.Errorf("job %s has no restore point of any VM in %s", jobName, r.Location())
	}
	out := make([]pickedPoint, 0, len(names))
	for _, n := range names {
		pp, err := newest(ctx, r, vms[n], true)
		if err != nil {
			return nil, err
		}
		if pp.point.ID == "" {
			pp = pickedPoint{point: vms[n][0], warning: "no point of this VM passed a restore test: its newest point is restored, untested"}
		}
		m, err := r.ReadManifest(ctx, pp.point)
		if err != nil {
			return nil, err
		}
		pp.boot = bootGroup(m.Tags)
		out = append(out, pp)
	}
	return out, nil
}

// appPoints are the points of the VMs of an application, all of one run: the newest run that
// backed up a VM carrying the tag. A VM that carried the tag in its newest point but has no
// point of that run fails the whole restore: an application is restored consistent, or not.
func appPoints(ctx context.Context, r *repo.Repository, jobName, tag string) ([]pickedPoint, error) {
	if !strings.Contains(tag, "/") {
		return nil, fmt.Errorf("--app %q: give the application's tag as category/name", tag)
	}
	points, err := r.JobPoints(ctx, jobName)
	if err != nil {
		return nil, err
	}
	names, vms := byVM(points)
	type seen struct {
		point repo.Point
		m     *repo.Manifest
	}
	newest := map[string]seen{} // tagged VMs' newest points
	run, runTime := "", time.Time{}
	for _, n := range names {
		p := vms[n][0]
		m, err := r.ReadManifest(ctx, p)
		if err != nil {
			return nil, err
		}
		if !hasTag(m.Tags, tag) {
			continue
		}
		newest[n] = seen{p, m}
		if p.Time.After(runTime) {
			run, runTime = m.Run, p.Time
		}
	}
	if len(newest) == 0 {
		return nil, fmt.Errorf("no VM of job %s carries the tag %s in its newest restore point", jobName, tag)
	}
	var out []pickedPoint
	var missing []string
	for _, n := range names {
		s, ok := newest[n]
		if !ok {
			continue
		}
		found := false
		for _, p := range vms[n] {
			m := s.m
			if p != s.point {
				if m, err = r.ReadManifest(ctx, p); err != nil {
					return nil, err
				}
			}
			if run != "" && m.Run == run {
				out = append(out, pickedPoint{point: p, verified: restore.Verified(m), boot: bootGroup(m.Tags)})
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the application %s cannot be restored from one run: %s %s no restore point of run %s, the newest run that backed up the application (restore them one by one with --vm)",
			tag, strings.Join(missing, ", "), map[bool]string{true: "has", false: "have"}[len(missing) == 1], orUnknown(run))
	}
	return out, nil
}

func orUnknown(run string) string {
	if run == "" {
		return "(unrecorded)"
	}
	return run
}

func hasTag(tags []string, tag string) bool {
	for _, t := range tags {
		if strings.EqualFold(t, tag) {
			return true
		}
	}
	return false
}

// bootGroup is a VM's boot order from its tags: the number of its BootOrderCategory tag, 0 when
// it has none (or it is not a positive number).
func bootGroup(tags []string) int {
	for _, t := range tags {
		if cat, name, ok := strings.Cut(t, "/"); ok && cat == BootOrderCategory {
			if n, err := strconv.Atoi(name); err == nil && n > 0 {
				return n
			}
		}
	}
	return 0
}

// restoreOne runs one VM's prepared restore, reporting its disks' progress.
func restoreOne(ctx context.Context, c *vsphere.Client, r *repo.Repository, jobName string, plan *restore.Plan, pp pickedPoint, opts RestoreOptions) RestoreResult {
	res := RestoreResult{VM: plan.Manifest.VM.Name, Name: plan.Spec.Name, Point: pp.point.ID, Verified: pp.verified,
		BootGroup: pp.boot, Status: VMFailed, Warnings: plan.Warnings}
	if pp.warning != "" {
		res.Warnings = append(res.Warnings, pp.warning)
	}
	out := opts.Output
	out.RestoreStart(jobName, res.Name, res.Point)
	vm := res.Name
	ropts := restore.Options{
		Now:       opts.Now,
		DiskStart: func(disk string, size int64) { out.DiskStart(jobName, vm, disk, size) },
		DiskDone:  func(disk string, n int64, err error) { out.DiskDone(jobName, vm, disk, n, err) },
		Wrap: func(disk string, size int64, body io.Reader) io.Reader {
			if opts.wrapDisk != nil {
				body = opts.wrapDisk(vm, body)
			}
			return newDiskMeter(body, out, jobName, vm, disk, size, opts.progressEvery, time.Now)
		},
	}
	done, err := plan.Run(ctx, c, r, ropts)
	res.ID, res.Bytes, res.Adopted, res.Discarded = done.ID, done.Bytes, done.Adopted, done.Discarded
	if err != nil {
		res.Err = err
		return res
	}
	res.Status = VMOK
	return res
}

// powerOnInOrder powers the restored VMs on by boot group, lower first, VMs without one last; a
// group is powered on together, and the next once all of it is on. A VM's duration then ends
// when it is on.
func powerOnInOrder(ctx context.Context, c *vsphere.Client, results []RestoreResult, opts RestoreOptions, start time.Time) {
	groups := map[int][]int{}
	var order []int
	for i, res := range results {
		if res.Status != VMOK {
			continue
		}
		g := res.BootGroup
		if g == 0 {
			g = int(^uint(0) >> 1) // last
		}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], i)
	}
	sort.Ints(order)
	for _, g := range order {
		var wg sync.WaitGroup
		for _, i := range groups[g] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := c.SetPower(ctx, results[i].ID, true); err != nil {
					results[i].Status, results[i].Err = VMFailed, fmt.Errorf("restored, but powering it on failed: %w", err)
				} else if opts.onPowerOn != nil {
					opts.onPowerOn(results[i].VM)
				}
				results[i].Duration = opts.Now().Sub(start)
			}()
		}
		wg.Wait()
	}
}

package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/job"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/repo"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/restore"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// A restore test (`backup verify`) restores a point into an isolated folder and network under a
// temporary name, without the tags and vmgmt stamps that would make the copy a member of
// security groups, baselines or backup jobs, powers it on, waits for it to come up, records the
// measured recovery time and the outcome in the point's manifest, and removes the copy. The
// retention of the runner never deletes a VM's newest verified point.

// verifyPrefix starts the name of every restore-test copy: `vmgmt-verify-<vm>-<point suffix>`.
const verifyPrefix = "vmgmt-verify-"

// verifyStamp marks a restore-test copy (its value the point), so that a copy a killed test
// left is recognised and removed by the next test.
const verifyStamp = "vmgmt.restore.verify"

// DefaultBootTimeout is how long a copy has to come up.
const DefaultBootTimeout = 10 * time.Minute

// VerifyOptions say what `backup verify` tests. Job, or AllDue (every job whose restore_test is
// due), picks the jobs.
type VerifyOptions struct {
	Job    string
	AllDue bool
	// VM tests only the points of the VM of this name.
	VM string
	// Latest tests each VM's newest point (verified before or not); otherwise every point no
	// test has verified yet.
	Latest bool
	// Sample tests at most this many points (0: all), those of the VMs whose newest point was
	// verified longest ago first.
	Sample int
	// Folder, Network, Datastore and Pool are where the copies go; the job's restore_test gives
	// them when these are empty. Folder and Network are required one way or the other.
	Folder, Network, Datastore, Pool string
	// MaxRecovery fails a test whose recovery takes longer (0: the restore_test's, else none).
	MaxRecovery time.Duration
	// BootTimeout bounds the wait for a copy to come up (default DefaultBootTimeout).
	BootTimeout time.Duration
	Concurrency int
	Output      Output
	Now         func() time.Time
	// VMLock tunes the VM leases a test holds while it works on a VM's point (the backup
	// runner's, so that retention does not prune the point under it).
	VMLock vsphere.LockOptions

	// wrapDisk and progressEvery as in Options (tests).
	wrapDisk      func(vm string, r io.Reader) io.Reader
	progressEvery time.Duration
}

// VerifyResult is the outcome of one point's restore test.
type VerifyResult struct {
	Job, VM, Point string
	OK             bool
	// Recovery is the measured recovery time: from the start of the copy's restore to its
	// guest up.
	Recovery time.Duration
	Check    string
	Bytes    int64
	Err      error
}

// VerifySummary is what a Verify did, by job.
type VerifySummary struct {
	Results []VerifyResult
	// Skipped notes the jobs whose test is due but could not run (their repository unreachable,
	// another test of the job running), and why: the summary fails with them.
	Skipped []string
}

// Failed reports whether any test failed, or a due test could not run.
func (s VerifySummary) Failed() bool {
	if len(s.Skipped) > 0 {
		return true
	}
	for _, r := range s.Results {
		if !r.OK {
			return true
		}
	}
	return false
}

// Verify runs the restore tests opts pick. The error is for what stops it as a whole.
func Verify(ctx context.Context, c *vsphere.Client, opts VerifyOptions) (VerifySummary, error) {
	var sum VerifySummary
	if (opts.Job == "") == !opts.AllDue {
		return sum, errors.New("give either --job NAME (test that job's points now) or --all-due (every job whose restore_test is due)")
	}
	if opts.BootTimeout <= 0 {
		opts.BootTimeout = DefaultBootTimeout
	}
	setDefaults(&opts.Concurrency, &opts.Output, &opts.Now, &opts.progressEvery)
	jobs, err := job.ReadJobs(ctx, c, true)
	if err != nil {
		return sum, fmt.Errorf("reading the backup jobs from vCenter: %w", err)
	}
	picked, err := testsDue(ctx, c, jobs, opts, &sum)
	if err != nil {
		return sum, err
	}
	for _, j := range picked {
		res, err := verifyJob(ctx, c, j, opts)
		sum.Results = append(sum.Results, res...)
		if err != nil {
			if opts.Job != "" {
				return sum, err
			}
			sum.Skipped = append(sum.Skipped, fmt.Sprintf("job %s: %v", j.Name, err))
			opts.Output.Note(fmt.Sprintf("job %s: restore test not run: %v", j.Name, err))
		}
	}
	return sum, nil
}

// testsDue picks the jobs to test: the named one, or those whose restore_test's schedule has
// ticked since their last test.
func testsDue(ctx context.Context, c *vsphere.Client, jobs map[string]*job.Job, opts VerifyOptions, sum *VerifySummary) ([]*job.Job, error) {
	if opts.Job != "" {
		j, err := job.Lookup(jobs, opts.Job)
		if err != nil {
			return nil, err
		}
		return []*job.Job{j}, nil
	}
	last, err := job.ReadTests(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("reading the last restore tests from vCenter: %w", err)
	}
	now := opts.Now()
	var out []*job.Job
	for _, name := range job.Names(jobs) {
		j := jobs[name]
		if j.RestoreTest == nil || !j.Enabled {
			continue
		}
		if t := last[name]; t != nil {
			next, err := j.RestoreTest.Schedule.Next(t.Started)
			if err != nil {
				sum.Skipped = append(sum.Skipped, fmt.Sprintf("job %s: its restore_test schedule cannot be read: %v", name, err))
				continue
			}
			if next.After(now) {
				continue
			}
		}
		out = append(out, j)
	}
	if len(out) == 0 {
		opts.Output.Note("no restore test is due")
	}
	return out, nil
}

// verifyJob tests the job's points and records the test on the job in vCenter.
func verifyJob(ctx context.Context, c *vsphere.Client, j *job.Job, opts VerifyOptions) ([]VerifyResult, error) {
	started := opts.Now()
	t := j.RestoreTest
	if t == nil {
		t = &job.RestoreTest{}
	}
	folder, network := firstOf(opts.Folder, t.Folder), firstOf(opts.Network, t.Network)
	if folder == "" || network == "" {
		return nil, fmt.Errorf("job %s: a restore test needs an isolated folder and network (--folder and --network, or the job's restore_test)", j.Name)
	}
	maxRecovery := opts.MaxRecovery
	if maxRecovery == 0 && t.MaxRecoveryMinutes > 0 {
		maxRecovery = time.Duration(t.MaxRecoveryMinutes) * time.Minute
	}
	sample := opts.Sample
	if sample == 0 {
		sample = t.Sample
	}
	// A declared restore test (--all-due) tests each VM's newest point, the VMs tested longest
	// ago first, so that every VM is tested in turn and a point that failed is tested again.
	latest := opts.Latest || opts.AllDue
	// One test of a job at a time: a test removes the copies a killed one left, which must not be
	// those of a test still running.
	lock, err := c.Lock(ctx, "backup.verify."+j.Name, vsphere.LockOptions{Wait: time.Nanosecond, TTL: opts.VMLock.TTL})
	if err != nil {
		return nil, fmt.Errorf("another restore test of job %s is running (its lock is held): %w", j.Name, err)
	}
	defer func() { _ = lock.Release(context.WithoutCancel(ctx)) }()
	r, err := restore.OpenRepository(ctx, c, j.Name, "")
	if err != nil {
		return nil, err
	}
	defer func() { _ = r.Close() }()
	removeLeftCopies(ctx, c, j.Name, opts.Output)
	points, err := pointsToTest(ctx, r, j.Name, opts.VM, latest, sample)
	if err != nil {
		return nil, err
	}
	target := restore.Target{Folder: folder, Pool: firstOf(opts.Pool, t.Pool), Datastore: firstOf(opts.Datastore, t.Datastore),
		PowerOn: true, SkipTags: true, SkipStamps: true, NewMACs: true}
	results := make([]VerifyResult, len(points))
	bounded(len(points), opts.Concurrency, func(i int) {
		results[i] = verifyPoint(ctx, c, r, j, points[i], target, network, maxRecovery, opts)
		opts.Output.VerifyDone(j.Name, results[i])
	})
	rec := job.LastTest{Started: started, Finished: opts.Now(), Points: len(results)}
	for _, res := range results {
		if !res.OK {
			rec.Failed++
		}
		rec.SlowestSeconds = max(rec.SlowestSeconds, res.Recovery.Seconds())
	}
	if err := job.PutTest(context.WithoutCancel(ctx), c, j.Name, rec); err != nil {
		opts.Output.Note(fmt.Sprintf("job %s: the restore test could not be recorded in vCenter: %v", j.Name, err))
	}
	return results, nil
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// removeLeftCopies destroys the restore-test copies of the job's points that a killed test left.
func removeLeftCopies(ctx context.Context, c *vsphere.Client, jobName string, out Output) {
	c.InvalidateVMs()
	vms, err := c.VMs(ctx)
	if err != nil {
		return
	}
	for _, vm := range vms {
		if p := vm.ExtraConfig[verifyStamp]; strings.HasPrefix(p, jobName+"/") && strings.HasPrefix(vm.Name, verifyPrefix) {
			if err := c.DestroyVM(ctx, vm.ID); err != nil {
				out.Note(fmt.Sprintf("job %s: could not remove the restore-test copy %s a killed test left: %v", jobName, vm.Name, err))
			}
		}
	}
}

// pointsToTest chooses the points: every unverified point, or with latest each VM's newest; of
// one VM or all; at most sample (0: all), the VMs whose newest point was verified longest ago
// (never first) first, then by name.
func pointsToTest(ctx context.Context, r *repo.Repository, jobName, vm string, latest bool, sample int) ([]repo.Point, error) {
	all, err := r.JobPoints(ctx, jobName)
	if err != nil {
		return nil, err
	}
	names, vms := byVM(all)
	if vm != "" {
		if len(vms[vm]) == 0 {
			return nil, fmt.Errorf("job %s has no restore point of a VM named %s", jobName, vm)
		}
		names = []string{vm}
	}
	type cand struct {
		p    repo.Point
		last time.Time // when the VM's newest point was verified; zero: never
	}
	var cands []cand
	for _, n := range names {
		var last time.Time
		for i, p := range vms[n] {
			m, err := r.ReadManifest(ctx, p)
			if err != nil {
				return nil, err
			}
			if i == 0 && m.Verified != nil {
				last = m.Verified.At
			}
			if latest {
				cands = append(cands, cand{p, last})
				break
			}
			if m.Verified == nil {
				cands = append(cands, cand{p, last})
			}
		}
	}
	sort.SliceStable(cands, func(a, b int) bool { return cands[a].last.Before(cands[b].last) })
	if sample > 0 && len(cands) > sample {
		cands = cands[:sample]
	}
	out := make([]repo.Point, len(cands))
	for i, c := range cands {
		out[i] = c.p
	}
	return out, nil
}

// verifyPoint tests one point under the VM's lease: restore the copy, wait for it to come up,
// judge the recovery time, record the outcome in the manifest, and remove the copy.
func verifyPoint(ctx context.Context, c *vsphere.Client, r *repo.Repository, j *job.Job, p repo.Point,
	target restore.Target, network string, maxRecovery time.Duration, opts VerifyOptions) VerifyResult {
	res := VerifyResult{Job: j.Name, VM: p.VM, Point: p.ID}
	m, err := r.ReadManifest(ctx, p)
	if err != nil {
		res.Err = err
		return res
	}
	if m.VM != nil && m.VM.ID != "" {
		lopts := opts.VMLock
		if lopts.Wait <= 0 {
			lopts.Wait = time.Minute
		}
		lease, err := c.Lock(ctx, "backup.vm."+j.Name+"."+m.VM.ID, lopts)
		if err != nil {
			res.Err = fmt.Errorf("taking the VM's lease (a backup of it may be running): %w", err)
			return res
		}
		defer func() { _ = lease.Release(context.WithoutCancel(ctx)) }()
	}
	target.Name = verifyPrefix + p.VM + "-" + p.ID[len(p.ID)-6:]
	target.Networks = map[string]string{}
	for _, n := range m.Networks {
		target.Networks[n.Network] = network
	}
	target.ExtraConfig = map[string]string{verifyStamp: p.String()}
	opts.Output.RestoreStart(j.Name, target.Name, p.ID)
	start := opts.Now()
	plan, err := restore.Prepare(ctx, c, r, p, target)
	if err != nil && !errors.Is(err, repo.ErrCorrupt) {
		// The test could not be set up (the isolated folder or network missing, the name of a
		// copy taken): not the point's failure, so nothing is recorded on it.
		res.Err = fmt.Errorf("setting up the restore test: %w", err)
		return res
	}
	if err == nil {
		var done restore.Result
		done, err = plan.Run(ctx, c, r, restore.Options{
			Now:       opts.Now,
			DiskStart: func(disk string, size int64) { opts.Output.DiskStart(j.Name, target.Name, disk, size) },
			DiskDone:  func(disk string, n int64, err error) { opts.Output.DiskDone(j.Name, target.Name, disk, n, err) },
			Wrap: func(disk string, size int64, body io.Reader) io.Reader {
				if opts.wrapDisk != nil {
					body = opts.wrapDisk(p.VM, body)
				}
				return newDiskMeter(body, opts.Output, j.Name, target.Name, disk, size, opts.progressEvery, time.Now)
			},
		})
		res.Bytes = done.Bytes
		if err == nil {
			var up vsphere.GuestUp
			up, err = c.WaitGuestUp(ctx, done.ID, opts.BootTimeout)
			res.Check = up.Proof
		}
		res.Recovery = opts.Now().Sub(start)
		if done.ID != "" {
			if derr := c.DestroyVM(context.WithoutCancel(ctx), done.ID); derr != nil {
				err = errors.Join(err, fmt.Errorf("the copy %s could not be removed (the next test removes it): %w", target.Name, derr))
			}
		}
	}
	if err == nil && maxRecovery > 0 && res.Recovery > maxRecovery {
		err = fmt.Errorf("recovery took %s, longer than the %s allowed", res.Recovery.Round(time.Millisecond), maxRecovery)
	}
	res.OK, res.Err = err == nil, err
	v := repo.Verification{At: opts.Now().UTC(), RecoverySeconds: res.Recovery.Round(time.Millisecond).Seconds(), OK: res.OK,
		Check: res.Check, MaxRecoverySeconds: maxRecovery.Seconds()}
	if err != nil {
		v.Error = err.Error()
	}
	if rerr := r.SetVerified(context.WithoutCancel(ctx), p, v); rerr != nil {
		res.Err = errors.Join(res.Err, rerr)
		res.OK = false
	}
	return res
}

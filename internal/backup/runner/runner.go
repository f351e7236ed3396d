// Package runner runs backup jobs: `terraform-provider-vmgmt backup run`. It reads the jobs'
// definitions from vCenter (internal/backup/job), takes each job's lock, cleans up what a crashed
// run left, backs up each VM of the job (snapshot -> export through the NFC lease -> repository,
// streamed, with a manifest written last -> snapshot removed -> retention pruned), and records the
// run on the job and as a vCenter event. It imports no Terraform package and reaches vCenter only
// through internal/vsphere.
package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/job"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/repo"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// Options say which jobs to run and how.
type Options struct {
	// Job runs the named job, due or not; AllDue runs every enabled job that is due. One of the
	// two is required.
	Job    string
	AllDue bool
	// DryRun reports the jobs and VMs a run would back up, and changes nothing.
	DryRun bool
	// Concurrency is how many VMs of a job are backed up at once (default 2).
	Concurrency int
	// Output receives the run's progress and results; nil prints nothing.
	Output Output
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// JobLock tunes the per-job lock, which a runner holds while it starts or joins the job's
	// run: its wait is how long a runner waits for another to do so (default 30 s).
	JobLock vsphere.LockOptions
	// VMLock tunes the per-VM lease. A runner first goes through the job's VMs with this wait
	// (default: one attempt), leaving a VM another runner holds; then it comes back to those it left and
	// waits up to PeerWait for each, so that a VM whose runner died is still backed up in the run.
	VMLock vsphere.LockOptions
	// PeerWait bounds the wait for a VM another runner of the run holds (default 12 h; the
	// context may end it sooner).
	PeerWait time.Duration

	// beforeSnapshot, when set, runs before each VM's snapshot: tests change vCenter there.
	beforeSnapshot func(ctx context.Context, vmID string)
	// beforeHost, when set, runs before each host's bundle is asked for (under its lease).
	beforeHost func(ctx context.Context, hostID string)
	// wrapDisk, when set, wraps each disk's stream on its way to the repository: tests inject
	// failures there.
	wrapDisk func(vm string, r io.Reader) io.Reader
	// progressEvery is the least time between two progress events of a disk (progressEvery when
	// zero; negative: no time bound, tests count the 1% steps alone).
	progressEvery time.Duration
}

// Defaults of Options.
const (
	DefaultConcurrency = 2
	DefaultPeerWait    = 12 * time.Hour
	defaultJobLockWait = 30 * time.Second
	// tryOnce is the first pass's wait for a VM's lease: one attempt, so that a runner moves on
	// to the VMs no one holds instead of queueing behind another runner.
	tryOnce = time.Nanosecond
)

// Status of one VM in a run.
type Status string

// The statuses of a VM.
const (
	VMOK      Status = "ok"
	VMFailed  Status = "failed"
	VMSkipped Status = "skipped" // another runner held its lease for the whole wait
	VMPlanned Status = "planned" // dry run: would be backed up
	// VMByPeer: another runner of the same run has backed the VM up, or failed to.
	VMByPeer Status = "by-peer"
)

// VMResult is what the run did with one VM.
type VMResult struct {
	ID, Name string
	Status   Status
	Bytes    int64
	Duration time.Duration
	Point    string // the restore point's ID, when one was made
	Err      error
	// pruneErr is a failure of retention after the VM's point was made: the job's, not the VM's.
	pruneErr error
	// CleanedSnapshots and CleanedPoints count what a dead runner left on the VM and removed;
	// Pruned the VM's points retention deleted after its new one.
	CleanedSnapshots, CleanedPoints, Pruned int
}

// JobResult is what the run did with one job.
type JobResult struct {
	Job string
	// RunID is the run this runner took part in; Joined says another runner started it.
	RunID  string
	Joined bool
	// Skipped says why the job was not run (its lock is held, or its run of this schedule slot
	// is complete); empty when it ran.
	Skipped string
	// Err is a failure of the whole job (repository unavailable, VMs not resolvable).
	Err      error
	Started  time.Time
	Finished time.Time
	Status   job.RunStatus
	VMs      []VMResult
	// Cleaned counts what crash recovery removed: snapshots and partial restore points.
	CleanedSnapshots, CleanedPoints int
	// RestorePoints is the job's complete restore points after pruning; Pruned those deleted.
	RestorePoints, Pruned int
	Bytes                 int64
	// Hosts are the results of the job's host configuration backups (host.go).
	Hosts []VMResult
}

// Summary is what a Run did.
type Summary struct {
	Jobs []JobResult
}

// Failed reports whether any job or VM failed: the command then exits non-zero.
func (s Summary) Failed() bool {
	for _, j := range s.Jobs {
		if j.Err != nil {
			return true
		}
		for _, v := range j.results() {
			if v.Status == VMFailed {
				return true
			}
		}
	}
	return false
}

// Run runs the jobs the options pick. The error is for what stops the run as a whole: no job of
// that name, the job's lock held (with Job), vCenter unreadable. Failures of a job or a VM are in
// the summary (Summary.Failed).
func Run(ctx context.Context, c *vsphere.Client, opts Options) (Summary, error) {
	opts = opts.withDefaults()
	var sum Summary
	if (opts.Job == "") == !opts.AllDue {
		return sum, errors.New("give either --job NAME (run that job now) or --all-due (run every enabled job that is due)")
	}
	jobs, err := job.ReadJobs(ctx, c, true)
	if err != nil {
		return sum, fmt.Errorf("reading the backup jobs from vCenter: %w", err)
	}
	picked, err := pick(ctx, c, jobs, opts)
	if err != nil {
		return sum, err
	}
	if len(picked) == 0 {
		opts.Output.Note("no backup job is due")
	}
	for _, j := range picked {
		res := runJob(ctx, c, j, opts)
		sum.Jobs = append(sum.Jobs, res)
		if res.Skipped != "" && opts.Job != "" {
			return sum, errors.New(res.Skipped)
		}
	}
	return sum, nil
}

func (o Options) withDefaults() Options {
	setDefaults(&o.Concurrency, &o.Output, &o.Now, &o.progressEvery)
	if o.JobLock.Wait <= 0 {
		o.JobLock.Wait = defaultJobLockWait
	}
	if o.VMLock.Wait <= 0 {
		o.VMLock.Wait = tryOnce
	}
	if o.PeerWait <= 0 {
		o.PeerWait = DefaultPeerWait
	}
	return o
}

// pick chooses the jobs to run: the named one, or the enabled ones that are due, by name.
func pick(ctx context.Context, c *vsphere.Client, jobs map[string]*job.Job, opts Options) ([]*job.Job, error) {
	if opts.Job != "" {
		j, err := job.Lookup(jobs, opts.Job)
		if err != nil {
			return nil, err
		}
		return []*job.Job{j}, nil
	}
	runs, err := job.ReadRuns(ctx, c, true)
	if err != nil {
		return nil, fmt.Errorf("reading the backup jobs' last runs from vCenter: %w", err)
	}
	now := opts.Now()
	var out []*job.Job
	for _, name := range job.Names(jobs) {
		j := jobs[name]
		if !j.Enabled {
			continue
		}
		last := runs[name]
		if last == nil {
			out = append(out, j) // never run: due now
			continue
		}
		same, err := sameSlot(j, last.Started, now)
		if err != nil {
			opts.Output.Note(fmt.Sprintf("job %s: skipped, its schedule cannot be read: %v", name, err))
			continue
		}
		// Due when no run started since the schedule's last tick, or when that run is still
		// going (the runner joins it) or was left by a runner that died (the runner resumes it).
		if !same || last.Open() {
			out = append(out, j)
		}
	}
	return out, nil
}

// sameSlot says whether a run started at started belongs to the schedule slot of now: the
// schedule has not ticked since it started.
func sameSlot(j *job.Job, started, now time.Time) (bool, error) {
	next, err := j.Schedule.Next(started)
	if err != nil {
		return false, err
	}
	return next.After(now), nil
}

// newRunID is a short random ID that stamps a run's snapshots and restore points.
func newRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// snapshotPrefix starts the name of every snapshot a run of the job takes: crash recovery
// recognises the job's leftovers by it.
func snapshotPrefix(jobName string) string { return "vmgmt-backup " + jobName + " " }

// snapshotStamp is the description of a run's snapshot.
func snapshotStamp(jobName, runID string) string {
	return fmt.Sprintf("vmgmt-backup job=%s run=%s", jobName, runID)
}

// ownSnapshot says whether a snapshot was taken by a run of the job.
func ownSnapshot(s vsphere.VMSnapshot, jobName string) bool {
	return strings.HasPrefix(s.Name, snapshotPrefix(jobName)) ||
		strings.HasPrefix(s.Description, "vmgmt-backup job="+jobName+" ")
}

// runJob starts or joins the job's run, backs up the VMs no other runner of the run has, and
// records this runner's part of the run.
func runJob(ctx context.Context, c *vsphere.Client, j *job.Job, opts Options) JobResult {
	res := JobResult{Job: j.Name, Started: opts.Now()}
	out := opts.Output
	if opts.DryRun {
		vms, err := resolveVMs(ctx, c, j)
		res.Err = err
		for _, vm := range vms {
			res.VMs = append(res.VMs, VMResult{ID: vm.ID, Name: vm.Name, Status: VMPlanned})
		}
		var herr error
		res.Hosts, herr = planHosts(ctx, c, j)
		res.Err = errors.Join(res.Err, herr)
		res.Finished = opts.Now()
		out.JobDone(res)
		return res
	}
	runID, joined, skip, err := startRun(ctx, c, j, opts)
	switch {
	case err != nil:
		res.Err, res.Status, res.Finished = err, job.RunFailed, opts.Now()
		out.JobDone(res)
		return res
	case skip != "":
		res.Skipped = skip
		out.Note(skip)
		return res
	}
	res.RunID, res.Joined = runID, joined
	out.JobStart(j.Name)

	seen, points, err := backupJob(ctx, c, j, runID, opts, &res)
	res.Err = err
	res.Finished = opts.Now()
	res.Status = status(res)
	record(ctx, c, j, &res, seen, points, out)
	out.JobDone(res)
	return res
}

// jobLockName is the vCenter lock a runner holds while it starts or joins the job's run.
func jobLockName(jobName string) string { return "backup.job." + jobName }

// startRun joins the job's run of the current schedule slot when it is still open, and starts a
// new one otherwise, under the job's lock. With --all-due, a run of this slot that is complete
// is not run again (skip says so).
func startRun(ctx context.Context, c *vsphere.Client, j *job.Job, opts Options) (runID string, joined bool, skip string, err error) {
	lock, err := c.Lock(ctx, jobLockName(j.Name), opts.JobLock)
	if err != nil {
		var held *vsphere.LockHeldError
		if errors.As(err, &held) {
			return "", false, fmt.Sprintf("job %s: skipped, another runner holds its lock (%s)", j.Name, held.Holder), nil
		}
		return "", false, "", fmt.Errorf("taking the lock of job %s: %w", j.Name, err)
	}
	defer func() { _ = lock.Release(context.WithoutCancel(ctx)) }()
	now := opts.Now()
	err = job.ChangeRun(ctx, c, j.Name, func(run *job.LastRun) (bool, error) {
		if run.ID != "" {
			same, err := sameSlot(j, run.Started, now)
			switch {
			case err != nil:
				return false, fmt.Errorf("job %s: its schedule cannot be read: %w", j.Name, err)
			case same && run.Open():
				runID, joined = run.ID, true
				return false, nil
			case same && opts.AllDue:
				skip = fmt.Sprintf("job %s: skipped, its run %s of this schedule slot is complete", j.Name, run.ID)
				return false, nil
			}
		}
		runID = newRunID()
		*run = job.LastRun{ID: runID, Started: now, Status: job.RunRunning}
		return true, nil
	})
	if err != nil {
		return "", false, "", fmt.Errorf("job %s: starting its run in vCenter: %w", j.Name, err)
	}
	return runID, joined, skip, nil
}

// backupJob opens the repository and backs up every VM of the job that no other runner of the
// run has. It reports whether this runner saw every VM through (none left to a runner that held
// it past PeerWait), and the job's complete restore points afterwards (-1 when not counted).
func backupJob(ctx context.Context, c *vsphere.Client, j *job.Job, runID string, opts Options, res *JobResult) (seen bool, points int, err error) {
	loc, err := repo.ParseURL(j.Repository)
	if err != nil {
		return true, -1, fmt.Errorf("job %s: %w", j.Name, err)
	}
	r, err := repo.Open(ctx, loc)
	if err != nil {
		return true, -1, fmt.Errorf("job %s: %w; no VM was backed up", j.Name, err)
	}
	defer func() { _ = r.Close() }()
	vms, err := resolveVMs(ctx, c, j)
	if err != nil {
		return true, -1, err
	}
	// The hosts' failure to resolve is the job's, and the VMs are backed up all the same.
	hosts, hostErr := resolveHosts(ctx, c, j)
	units := make([]unit, 0, len(vms)+len(hosts))
	for i := range vms {
		units = append(units, unit{vm: &vms[i]})
	}
	for i := range hosts {
		units = append(units, unit{host: &hosts[i]})
	}
	results := seeAllThrough(ctx, c, r, j, units, runID, opts)
	res.VMs, res.Hosts = results[:len(vms)], results[len(vms):]
	seen = true
	errs := []error{hostErr}
	for _, v := range results {
		res.Bytes += v.Bytes
		res.CleanedSnapshots += v.CleanedSnapshots
		res.CleanedPoints += v.CleanedPoints
		res.Pruned += v.Pruned
		seen = seen && v.Status != VMSkipped
		if v.pruneErr != nil {
			errs = append(errs, v.pruneErr)
		}
	}
	all, err := r.JobPoints(ctx, j.Name)
	if err != nil {
		return seen, -1, errors.Join(append(errs, fmt.Errorf("job %s: counting its restore points: %w", j.Name, err))...)
	}
	res.RestorePoints = len(all)
	return seen, len(all), errors.Join(errs...)
}

// target is one VM a job protects, with the facts of it that its manifest records.
type target struct {
	ID, Name        string
	Firmware        string
	GuestID         string
	HardwareVersion int
	ExtraConfig     map[string]string
	// Tags are "category/name".
	Tags []string
}

// resolveVMs resolves the job's selection (its own and the catalog VMs tagged for it), templates
// left out: a template does not change, and a snapshot of one is refused.
func resolveVMs(ctx context.Context, c *vsphere.Client, j *job.Job) ([]target, error) {
	if j.Selection == nil {
		return nil, nil
	}
	sel := j.VMSelection()
	sel.Templates = vsphere.TemplatesExclude
	found, err := c.SelectConfigs(ctx, sel)
	if err != nil {
		return nil, fmt.Errorf("job %s: resolving its VMs: %w", j.Name, err)
	}
	ids := make([]string, len(found))
	for i, vm := range found {
		ids[i] = vm.ID
	}
	tags, err := c.AttachedTags(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("job %s: reading the tags of its VMs: %w", j.Name, err)
	}
	out := make([]target, 0, len(found))
	for _, vm := range found {
		t := target{ID: vm.ID, Name: vm.Name, Firmware: vm.Firmware, GuestID: vm.GuestID, HardwareVersion: vm.HardwareVersion, ExtraConfig: vm.ExtraConfig}
		for _, tag := range tags[vm.ID] {
			t.Tags = append(t.Tags, tag.String())
		}
		out = append(out, t)
	}
	return out, nil
}

// seeAllThrough sees the job's VMs and hosts through, opts.Concurrency at a time, in the order
// given: first leaving those another runner holds, then coming back to them with the longer
// PeerWait, so that each of them is seen through by some runner of the run, also when the runner
// that held it died.
func seeAllThrough(ctx context.Context, c *vsphere.Client, r *repo.Repository, j *job.Job, units []unit, runID string, opts Options) []VMResult {
	results := make([]VMResult, len(units))
	pass := func(idx []int, wait time.Duration, last bool) {
		bounded(len(idx), opts.Concurrency, func(k int) {
			i := idx[k]
			results[i] = seeThroughLeased(ctx, c, r, j, units[i], runID, opts, wait)
			if last || results[i].Status != VMSkipped {
				units[i].done(opts.Output, j.Name, results[i])
			}
		})
	}
	all := make([]int, len(units))
	for i := range all {
		all[i] = i
	}
	pass(all, opts.VMLock.Wait, false)
	var held []int
	for i, res := range results {
		if res.Status == VMSkipped {
			held = append(held, i)
		}
	}
	if len(held) > 0 {
		pass(held, opts.PeerWait, true)
	}
	return results
}

// status is how the job's run ended.
func status(res JobResult) job.RunStatus {
	ok, failed := count(res.results())
	switch {
	case res.Err != nil && ok == 0, failed > 0 && ok == 0:
		return job.RunFailed
	case res.Err != nil, failed > 0:
		return job.RunPartial
	}
	return job.RunOK
}

// record ends this runner's part of the job's run in vCenter (each VM's outcome is already
// counted there, see noteOutcome): a failure of the whole part, and the run's result once a
// runner has seen every VM through (seen). It posts this runner's part as a vCenter event. A
// failure to record is reported, and does not change the run's outcome.
func record(ctx context.Context, c *vsphere.Client, j *job.Job, res *JobResult, seen bool, points int, out Output) {
	ctx = context.WithoutCancel(ctx)
	ok, failed := count(res.VMs)
	hosts, failedHosts := count(res.Hosts)
	failed += failedHosts
	err := job.ChangeRun(ctx, c, j.Name, func(run *job.LastRun) (bool, error) {
		if run.ID != res.RunID {
			return false, fmt.Errorf("a newer run %s of the job has started since", run.ID)
		}
		if res.Err != nil {
			run.Error = res.Err.Error()
		}
		if seen {
			run.Finished = res.Finished
			if points >= 0 {
				run.RestorePoints = points
			}
			run.Status = runStatus(run)
		}
		return true, nil
	})
	if err != nil {
		out.Note(fmt.Sprintf("job %s: the run's result could not be recorded in vCenter: %v", j.Name, err))
	}
	msg := fmt.Sprintf("vmgmt backup job %s, run %s: %s, %d VMs%s backed up, %d failed, %d bytes, %d restore points",
		j.Name, res.RunID, res.Status, ok, andHosts(j, hosts), failed, res.Bytes, res.RestorePoints)
	if res.Err != nil {
		msg += ": " + res.Err.Error()
	}
	if err := c.PostEvent(ctx, msg); err != nil {
		out.Note(fmt.Sprintf("job %s: the run's vCenter event could not be posted: %v", j.Name, err))
	}
}

// count counts the results backed up and those failed.
func count(results []VMResult) (ok, failed int) {
	for _, v := range results {
		switch v.Status {
		case VMOK:
			ok++
		case VMFailed:
			failed++
		}
	}
	return ok, failed
}

// runStatus is how a run ended, from what all its runners recorded.
func runStatus(run *job.LastRun) job.RunStatus {
	done := run.VMs + run.Hosts
	switch {
	case done == 0 && (run.Failed > 0 || run.Error != ""):
		return job.RunFailed
	case run.Failed > 0 || run.Error != "":
		return job.RunPartial
	}
	return job.RunOK
}

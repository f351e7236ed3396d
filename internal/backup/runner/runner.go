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
	"sort"
	"strings"
	"sync"
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
	// JobLock tunes the per-job lock: its wait is how long a runner waits for another runner of
	// the same job before it skips it (default 2 s).
	JobLock vsphere.LockOptions
	// VMLock tunes the per-VM lease; a VM whose lease another runner holds past the wait is left
	// to that runner (default wait 1 s).
	VMLock vsphere.LockOptions

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
	defaultJobLockWait = 2 * time.Second
	defaultVMLockWait  = time.Second
)

// Status of one VM in a run.
type Status string

// The statuses of a VM.
const (
	VMOK      Status = "ok"
	VMFailed  Status = "failed"
	VMSkipped Status = "skipped" // another runner holds its lease
	VMPlanned Status = "planned" // dry run: would be backed up
)

// VMResult is what the run did with one VM.
type VMResult struct {
	ID, Name string
	Status   Status
	Bytes    int64
	Duration time.Duration
	Point    string // the restore point's ID, when one was made
	Err      error
}

// JobResult is what the run did with one job.
type JobResult struct {
	Job string
	// Skipped says why the job was not run (its lock is held); empty when it ran.
	Skipped string
	// Err is a failure of the whole job (repository unavailable, VMs not resolvable).
	Err      error
	Started  time.Time
	Finished time.Time
	Status   job.RunStatus
	VMs      []VMResult
	// Hosts are the results of the job's host configuration backups (host.go).
	Hosts []VMResult
	// Cleaned counts what crash recovery removed: snapshots and partial restore points.
	CleanedSnapshots, CleanedPoints int
	// RestorePoints is the job's complete restore points after pruning; Pruned those deleted.
	RestorePoints, Pruned int
	Bytes                 int64
}

// Summary is what a Run did.
type Summary struct {
	RunID string
	Jobs  []JobResult
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
	sum := Summary{RunID: newRunID()}
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
		res := runJob(ctx, c, j, sum.RunID, opts)
		sum.Jobs = append(sum.Jobs, res)
		if res.Skipped != "" && opts.Job != "" {
			return sum, errors.New(res.Skipped)
		}
	}
	return sum, nil
}

func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Output == nil {
		o.Output = discard{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.JobLock.Wait <= 0 {
		o.JobLock.Wait = defaultJobLockWait
	}
	if o.VMLock.Wait <= 0 {
		o.VMLock.Wait = defaultVMLockWait
	}
	if o.progressEvery == 0 {
		o.progressEvery = progressEvery
	}
	return o
}

// pick chooses the jobs to run: the named one, or the enabled ones that are due, by name.
func pick(ctx context.Context, c *vsphere.Client, jobs map[string]*job.Job, opts Options) ([]*job.Job, error) {
	if opts.Job != "" {
		j := jobs[opts.Job]
		if j == nil {
			return nil, fmt.Errorf("no backup job %q in vCenter (jobs: %s): declare it with a vmgmt_backup_job resource, or check the name",
				opts.Job, names(jobs))
		}
		return []*job.Job{j}, nil
	}
	runs, err := job.ReadRuns(ctx, c, true)
	if err != nil {
		return nil, fmt.Errorf("reading the backup jobs' last runs from vCenter: %w", err)
	}
	now := opts.Now()
	var out []*job.Job
	for _, name := range sortedNames(jobs) {
		j := jobs[name]
		if !j.Enabled {
			continue
		}
		last := runs[name]
		if last == nil {
			out = append(out, j) // never run: due now
			continue
		}
		next, err := j.Schedule.Next(last.Started)
		if err != nil {
			opts.Output.Note(fmt.Sprintf("job %s: skipped, its schedule cannot be read: %v", name, err))
			continue
		}
		if !next.After(now) {
			out = append(out, j)
		}
	}
	return out, nil
}

func sortedNames(jobs map[string]*job.Job) []string {
	out := make([]string, 0, len(jobs))
	for n := range jobs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func names(jobs map[string]*job.Job) string {
	if len(jobs) == 0 {
		return "none"
	}
	return strings.Join(sortedNames(jobs), ", ")
}

// newRunID is a short random ID that stamps a run's snapshots.
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

// runJob runs one job under its lock and records the result.
func runJob(ctx context.Context, c *vsphere.Client, j *job.Job, runID string, opts Options) JobResult {
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
	lock, err := c.Lock(ctx, "backup.job."+j.Name, opts.JobLock)
	if err != nil {
		var held *vsphere.LockHeldError
		if errors.As(err, &held) {
			res.Skipped = fmt.Sprintf("job %s: skipped, another runner is running it (%s)", j.Name, held.Holder)
			out.Note(res.Skipped)
			return res
		}
		res.Err = fmt.Errorf("taking the lock of job %s: %w", j.Name, err)
		res.Status = job.RunFailed
		out.JobDone(res)
		return res
	}
	defer func() { _ = lock.Release(context.WithoutCancel(ctx)) }()
	out.JobStart(j.Name)

	res.Err = backupJob(ctx, c, j, runID, opts, &res)
	res.Finished = opts.Now()
	res.Status = status(res)
	record(ctx, c, j, &res, out)
	out.JobDone(res)
	return res
}

// backupJob opens the repository, cleans up after a crashed run and backs up every VM.
func backupJob(ctx context.Context, c *vsphere.Client, j *job.Job, runID string, opts Options, res *JobResult) error {
	loc, err := repo.ParseURL(j.Repository)
	if err != nil {
		return fmt.Errorf("job %s: %w", j.Name, err)
	}
	r, err := repo.Open(ctx, loc)
	if err != nil {
		return fmt.Errorf("job %s: %w; no VM was backed up", j.Name, err)
	}
	defer func() { _ = r.Close() }()
	vms, err := resolveVMs(ctx, c, j)
	if err != nil {
		return err
	}
	if err := recoverJob(ctx, c, r, j, vms, res); err != nil {
		return err
	}
	res.VMs = backupVMs(ctx, c, r, j, vms, runID, opts)
	hosts, hostErr := backupHosts(ctx, c, r, j, runID, opts, res)
	for _, v := range res.results() {
		res.Bytes += v.Bytes
	}
	points, pruned, err := prune(ctx, r, j, subjects(vms, hosts), opts.Now())
	res.RestorePoints, res.Pruned = points, pruned
	return errors.Join(hostErr, err)
}

// target is one VM a job protects, with the facts of it that its manifest records.
type target struct {
	ID, Name        string
	Firmware        string
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
		t := target{ID: vm.ID, Name: vm.Name, Firmware: vm.Firmware, HardwareVersion: vm.HardwareVersion, ExtraConfig: vm.ExtraConfig}
		for _, tag := range tags[vm.ID] {
			t.Tags = append(t.Tags, tag.String())
		}
		out = append(out, t)
	}
	return out, nil
}

// backupVMs backs up the VMs, opts.Concurrency at a time, in the order given.
func backupVMs(ctx context.Context, c *vsphere.Client, r *repo.Repository, j *job.Job, vms []target, runID string, opts Options) []VMResult {
	results := make([]VMResult, len(vms))
	sem := make(chan struct{}, opts.Concurrency)
	var wg sync.WaitGroup
	for i, vm := range vms {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			opts.Output.VMStart(j.Name, vm.Name)
			results[i] = backupVMLeased(ctx, c, r, j, vm, runID, opts)
			opts.Output.VMDone(j.Name, results[i])
		}()
	}
	wg.Wait()
	return results
}

// status is how the job's run ended.
func status(res JobResult) job.RunStatus {
	ok, failed := 0, 0
	for _, v := range res.results() {
		switch v.Status {
		case VMOK:
			ok++
		case VMFailed:
			failed++
		}
	}
	switch {
	case res.Err != nil && ok == 0, failed > 0 && ok == 0:
		return job.RunFailed
	case res.Err != nil, failed > 0:
		return job.RunPartial
	}
	return job.RunOK
}

// record writes the run's result on the job in vCenter and as a vCenter event; a failure to do
// so is reported, and does not change the run's outcome.
func record(ctx context.Context, c *vsphere.Client, j *job.Job, res *JobResult, out Output) {
	ctx = context.WithoutCancel(ctx)
	run := job.LastRun{Started: res.Started, Finished: res.Finished, Status: res.Status, Bytes: res.Bytes, RestorePoints: res.RestorePoints}
	for _, v := range res.VMs {
		switch v.Status {
		case VMOK:
			run.VMs++
		case VMFailed:
			run.Failed++
		}
	}
	run.Hosts, run.Failed = countHosts(res.Hosts, run.Failed)
	if err := job.PutRun(ctx, c, j.Name, run); err != nil {
		out.Note(fmt.Sprintf("job %s: the run's result could not be recorded in vCenter: %v", j.Name, err))
	}
	msg := fmt.Sprintf("vmgmt backup job %s: %s, %d VMs%s backed up, %d failed, %d bytes, %d restore points",
		j.Name, res.Status, run.VMs, andHosts(j, run.Hosts), run.Failed, run.Bytes, run.RestorePoints)
	if res.Err != nil {
		msg += ": " + res.Err.Error()
	}
	if err := c.PostEvent(ctx, msg); err != nil {
		out.Note(fmt.Sprintf("job %s: the run's vCenter event could not be posted: %v", j.Name, err))
	}
}

package job

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// RunStatus is how a run ended.
type RunStatus string

const (
	// RunOK: every VM and host was backed up.
	RunOK RunStatus = "ok"
	// RunPartial: some were, some failed.
	RunPartial RunStatus = "partial"
	// RunFailed: none was.
	RunFailed RunStatus = "failed"
	// RunRunning: runners are still at work on it (or one died and the next runner of the same
	// schedule slot resumes it).
	RunRunning RunStatus = "running"
)

// MaxFailedVMs bounds the IDs a run record lists in FailedVMs; the count in Failed goes on.
const MaxFailedVMs = 200

// LastRun is what the runner records of a job's latest run, for the resource to show.
//
// Several runners may share one run (scale-out): the first starts it and writes ID and Started;
// each adds what it backed up when it leaves, and records a VM that failed at once, so that no
// other runner of the run tries it again. A runner that leaves with every VM of the job done sets
// Finished and the Status.
type LastRun struct {
	// ID is the run's ID: it stamps the run's snapshots and restore points.
	ID       string    `json:"id,omitempty"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Status   RunStatus `json:"status"`
	// VMs and Hosts are what the run backed up; Failed is the VMs and hosts it could not.
	VMs    int `json:"vms"`
	Failed int `json:"failed"`
	Hosts  int `json:"hosts"`
	// Bytes is what the run wrote to the repository.
	Bytes int64 `json:"bytes"`
	// RestorePoints is how many complete restore points the job has in its repository after the
	// run (and its pruning).
	RestorePoints int `json:"restore_points"`
	// Error is the last failure of a whole runner's part (repository unavailable, VMs not
	// resolvable).
	Error string `json:"error,omitempty"`
	// FailedVMs are the IDs of the VMs and hosts that failed in this run (at most MaxFailedVMs).
	FailedVMs []string `json:"failed_vms,omitempty"`
}

// Open says whether the run is still going (or was left by a runner that died).
func (r *LastRun) Open() bool { return r.Finished.IsZero() }

// HasFailed says whether the run recorded id (a VM or host ID) as failed.
func (r *LastRun) HasFailed(id string) bool {
	for _, f := range r.FailedVMs {
		if f == id {
			return true
		}
	}
	return false
}

// AddFailed records id as failed in the run, once.
func (r *LastRun) AddFailed(id string) {
	if r.HasFailed(id) {
		return
	}
	r.Failed++
	if len(r.FailedVMs) < MaxFailedVMs {
		r.FailedVMs = append(r.FailedVMs, id)
	}
}

// ReadRuns reads every job's last run, by job name: from the client's snapshot, or read now
// (fresh).
func ReadRuns(ctx context.Context, c *vsphere.Client, fresh bool) (map[string]*LastRun, error) {
	return readRecords[LastRun](ctx, c, RunsAttribute, fresh)
}

// PutRun records a job's last run.
func PutRun(ctx context.Context, c *vsphere.Client, name string, run LastRun) error {
	return ChangeRun(ctx, c, name, func(r *LastRun) (bool, error) {
		*r = run
		return true, nil
	})
}

// ChangeRun changes a job's last run under the records' lock: change gets the record read fresh
// (zero when there is none) and says whether to write it back (nothing is written otherwise).
// Runners sharing a run change it this way, so none overwrites another's part.
func ChangeRun(ctx context.Context, c *vsphere.Client, name string, change func(*LastRun) (bool, error)) error {
	return changeRecord(ctx, c, RunsAttribute, name, change)
}

// LastTest is what `backup verify` records of a job's latest restore test.
type LastTest struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Points is how many points were restored and checked; Failed how many of them failed.
	Points int `json:"points"`
	Failed int `json:"failed"`
	// SlowestSeconds is the longest recovery time measured.
	SlowestSeconds float64 `json:"slowest_seconds"`
	Error          string  `json:"error,omitempty"`
}

// ReadTests reads every job's last restore test, by job name, read now.
func ReadTests(ctx context.Context, c *vsphere.Client) (map[string]*LastTest, error) {
	return readRecords[LastTest](ctx, c, TestsAttribute, true)
}

// PutTest records a job's last restore test.
func PutTest(ctx context.Context, c *vsphere.Client, name string, t LastTest) error {
	return changeRecord(ctx, c, TestsAttribute, name, func(r *LastTest) (bool, error) {
		*r = t
		return true, nil
	})
}

// readRecords reads the per-job records of a datacenter attribute.
func readRecords[T any](ctx context.Context, c *vsphere.Client, attr string, fresh bool) (map[string]*T, error) {
	raw, err := c.DatacenterRecords(ctx, attr, fresh)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*T, len(raw))
	for name, r := range raw {
		var v T
		if err := json.Unmarshal(r, &v); err != nil {
			return nil, fmt.Errorf("the datacenter's custom attribute %s holds a record %q that cannot be read (fix or clear it in vCenter): %w",
				attr, name, err)
		}
		out[name] = &v
	}
	return out, nil
}

// changeRecord changes one job's record of a datacenter attribute under the records' lock.
func changeRecord[T any](ctx context.Context, c *vsphere.Client, attr, name string, change func(*T) (bool, error)) error {
	return c.ChangeDatacenterRecords(ctx, attr, recordFormat, func(m map[string]json.RawMessage) error {
		var v T
		if raw, ok := m[name]; ok {
			if err := json.Unmarshal(raw, &v); err != nil {
				return fmt.Errorf("the datacenter's custom attribute %s holds a record %q that cannot be read (fix or clear it in vCenter): %w",
					attr, name, err)
			}
		}
		write, err := change(&v)
		if err != nil {
			return err
		}
		if !write {
			return vsphere.ErrUnchanged
		}
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		m[name] = b
		return nil
	})
}

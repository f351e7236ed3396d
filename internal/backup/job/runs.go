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
)

// LastRun is what the runner records of a job's latest run, for the resource to show.
type LastRun struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Status   RunStatus `json:"status"`
	// VMs and Hosts are what the run backed up; Failed is the VMs and hosts it could not.
	VMs    int `json:"vms"`
	Failed int `json:"failed"`
	Hosts  int `json:"hosts"`
	// Bytes is what the run wrote to the repository.
	Bytes int64 `json:"bytes"`
	// RestorePoints is how many verified restore points the job has in its repository after the
	// run (and its pruning).
	RestorePoints int `json:"restore_points"`
}

// ReadRuns reads every job's last run, by job name: from the client's snapshot, or read now
// (fresh).
func ReadRuns(ctx context.Context, c *vsphere.Client, fresh bool) (map[string]*LastRun, error) {
	raw, err := c.DatacenterRecords(ctx, RunsAttribute, fresh)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*LastRun, len(raw))
	for name, r := range raw {
		var run LastRun
		if err := json.Unmarshal(r, &run); err != nil {
			return nil, fmt.Errorf("the datacenter's custom attribute %s holds a record %q that cannot be read (fix or clear it in vCenter): %w",
				RunsAttribute, name, err)
		}
		out[name] = &run
	}
	return out, nil
}

// PutRun records a job's last run.
func PutRun(ctx context.Context, c *vsphere.Client, name string, run LastRun) error {
	b, err := json.Marshal(run)
	if err != nil {
		return err
	}
	return c.ChangeDatacenterRecords(ctx, RunsAttribute, recordFormat, func(m map[string]json.RawMessage) error {
		m[name] = b
		return nil
	})
}

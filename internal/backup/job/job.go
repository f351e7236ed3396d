// Package job is a backup job's definition as vCenter keeps it, and what the runner records of
// its runs: the vmgmt_backup_job resource writes the definitions, the runner
// (`terraform-provider-vmgmt backup run`) reads them and writes the runs, so that the runner needs
// nothing but vCenter's and the repository's credentials. It imports no Terraform package.
package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/repo"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// Both record sets are keyed records on the datacenter (vsphere.ChangeDatacenterRecords), one
// record per job name, each changed under the record store's lock.
const (
	// JobsAttribute is the datacenter custom attribute holding every job's definition.
	JobsAttribute = "vmgmt.backup-jobs"
	// RunsAttribute holds, per job, what its last run did (written by the runner).
	RunsAttribute = "vmgmt.backup-runs"
	// TestsAttribute holds, per job, what its last restore test did (written by `backup verify`).
	TestsAttribute = "vmgmt.backup-restore-tests"
	// recordFormat is the format of the records written now.
	recordFormat = 1
)

// CompositionCategory is the tag category of catalog VMs whose item names a backup job: a VM
// tagged vmgmt-backup-job:<name> is protected by that job though its selection does not name it.
const CompositionCategory = "vmgmt-backup-job"

// Consistency is how a VM's snapshot is taken.
type Consistency string

const (
	// Crash takes the snapshot as the disks are: what a power failure would leave.
	Crash Consistency = "crash"
	// Quiesced asks VMware Tools to flush the guest's file systems (and VSS writers) first.
	Quiesced Consistency = "quiesced"
)

// Consistencies are the valid consistencies, for validators and docs.
func Consistencies() []string { return []string{string(Crash), string(Quiesced)} }

// Retention is which restore points a job keeps: a point is kept when any rule keeps it.
type Retention struct {
	// KeepLast keeps the newest N points (at least 1: the newest verified point is never pruned).
	KeepLast int `json:"keep_last"`
	// KeepDays keeps every point younger than N days.
	KeepDays int `json:"keep_days,omitempty"`
	// Daily, Weekly and Monthly keep the newest point of each of the last N days, ISO weeks and
	// months.
	Daily   int `json:"daily,omitempty"`
	Weekly  int `json:"weekly,omitempty"`
	Monthly int `json:"monthly,omitempty"`
}

// RetentionError is a retention rule that cannot hold, with the field to blame.
type RetentionError struct {
	Field  string
	Reason string
}

func (e *RetentionError) Error() string { return e.Reason }

// Validate refuses a retention that keeps nothing, and negative counts.
func (r Retention) Validate() error {
	if r.KeepLast < 1 {
		return &RetentionError{Field: "keep_last", Reason: fmt.Sprintf("keep_last = %d keeps no restore point: a job keeps at "+
			"least its newest one (keep_last = 1), and the other rules (keep_days, daily, weekly, monthly) keep more", r.KeepLast)}
	}
	for _, f := range []struct {
		name string
		n    int
	}{{"keep_days", r.KeepDays}, {"daily", r.Daily}, {"weekly", r.Weekly}, {"monthly", r.Monthly}} {
		if f.n < 0 {
			return &RetentionError{Field: f.name, Reason: fmt.Sprintf("%s = %d is negative: give 0 (the rule keeps nothing more) or a count", f.name, f.n)}
		}
	}
	return nil
}

// Job is a backup job's definition.
type Job struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Request is the stamp of the create that wrote the record (crash-safe creates).
	Request string `json:"request"`
	// Selection names the VMs the job protects; nil when it protects hosts only. Catalog VMs
	// whose item names the job are protected either way (VMSelection).
	Selection *vsphere.Selection `json:"selection,omitempty"`
	// Hosts names the hosts whose configuration the job backs up; nil for none.
	Hosts       *vsphere.HostScope `json:"hosts,omitempty"`
	Schedule    Schedule           `json:"schedule"`
	Retention   Retention          `json:"retention"`
	Consistency Consistency        `json:"consistency"`
	// Repository is the repository's URL as the user gave it (repo.ParseURL); it never holds
	// credentials.
	Repository string `json:"repository"`
	Enabled    bool   `json:"enabled"`
	// RestoreTest is the job's declared restore test; nil for none.
	RestoreTest *RestoreTest `json:"restore_test,omitempty"`
}

// RestoreTest is a job's declared restore test: when `backup verify --all-due` restores its
// points into an isolated folder and network, how many VMs each time, and how fast a recovery
// must be to pass.
type RestoreTest struct {
	Schedule Schedule `json:"schedule"`
	// Sample is how many VMs each test restores (those whose newest point was verified longest
	// ago first, so that every VM is tested in turn); 0 restores every VM.
	Sample int `json:"sample,omitempty"`
	// Folder and Network are where the copies go: an isolated VM folder and a network with no
	// route to production. Every NIC of a copy is on Network.
	Folder  string `json:"folder"`
	Network string `json:"network"`
	// Datastore and Pool place the copies (empty: as a restore places them).
	Datastore string `json:"datastore,omitempty"`
	Pool      string `json:"pool,omitempty"`
	// MaxRecoveryMinutes fails a test whose recovery takes longer (0: no bound).
	MaxRecoveryMinutes int `json:"max_recovery_minutes,omitempty"`
}

// Validate reports what makes a restore test unusable.
func (t *RestoreTest) Validate() error {
	if err := t.Schedule.Validate(); err != nil {
		return fmt.Errorf("restore_test: %w", err)
	}
	switch {
	case t.Sample < 0:
		return fmt.Errorf("restore_test: sample %d is negative (0 tests every VM)", t.Sample)
	case strings.TrimSpace(t.Folder) == "":
		return errors.New("restore_test: an isolated folder is required: the copies must not land among production VMs")
	case strings.TrimSpace(t.Network) == "":
		return errors.New("restore_test: an isolated network is required: a copy powered on on a production network would clash with the VM it copies")
	case t.MaxRecoveryMinutes < 0:
		return fmt.Errorf("restore_test: max_recovery_minutes %d is negative (0: no bound)", t.MaxRecoveryMinutes)
	}
	return nil
}

// NewRequest is the request of a job's create: its name and repository identify it.
func NewRequest(name, repository string) vsphere.Request {
	return vsphere.NewRequest("vmgmt_backup_job", name, strings.TrimSpace(repository))
}

// VMSelection is the selection of the VMs the job protects: its own, plus the catalog VMs tagged
// vmgmt-backup-job:<name>.
func (j *Job) VMSelection() vsphere.Selection {
	var sel vsphere.Selection
	if j.Selection != nil {
		sel = *j.Selection
	}
	sel.Also = append(append([]vsphere.TagRef(nil), sel.Also...), vsphere.TagRef{Category: CompositionCategory, Name: j.Name})
	return sel
}

// Validate reports what makes the definition unusable.
func (j *Job) Validate() error {
	if strings.TrimSpace(j.Name) == "" {
		return errors.New("a backup job needs a name")
	}
	if j.Selection == nil && j.Hosts == nil {
		return errors.New("the job protects nothing: give a selection of VMs, hosts, or both")
	}
	if j.Selection != nil {
		if err := j.Selection.Validate(); err != nil {
			return fmt.Errorf("selection: %w", err)
		}
	}
	if j.Hosts != nil {
		if err := j.Hosts.Validate(); err != nil {
			return fmt.Errorf("hosts: %w", err)
		}
	}
	if err := j.Schedule.Validate(); err != nil {
		return err
	}
	if err := j.Retention.Validate(); err != nil {
		return err
	}
	if j.Consistency != Crash && j.Consistency != Quiesced {
		return fmt.Errorf("consistency %q is not one of %s", j.Consistency, strings.Join(Consistencies(), ", "))
	}
	if _, err := repo.ParseURL(j.Repository); err != nil {
		return err
	}
	if j.RestoreTest != nil {
		return j.RestoreTest.Validate()
	}
	return nil
}

// ReadJobs reads every job's definition: from the client's snapshot, or read now (fresh) before
// a change.
func ReadJobs(ctx context.Context, c *vsphere.Client, fresh bool) (map[string]*Job, error) {
	raw, err := c.DatacenterRecords(ctx, JobsAttribute, fresh)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*Job, len(raw))
	for name, r := range raw {
		var j Job
		if err := json.Unmarshal(r, &j); err != nil {
			return nil, fmt.Errorf("the datacenter's custom attribute %s holds a record %q that cannot be read (fix or clear it in vCenter): %w",
				JobsAttribute, name, err)
		}
		out[name] = &j
	}
	return out, nil
}

// Names are the jobs' names, sorted.
func Names(jobs map[string]*Job) []string {
	out := make([]string, 0, len(jobs))
	for n := range jobs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup is the job of the name, or an error that names the jobs there are.
func Lookup(jobs map[string]*Job, name string) (*Job, error) {
	if j := jobs[name]; j != nil {
		return j, nil
	}
	there := "none"
	if len(jobs) > 0 {
		there = strings.Join(Names(jobs), ", ")
	}
	return nil, fmt.Errorf("no backup job %q in vCenter (jobs: %s): declare it with a vmgmt_backup_job resource, or check the name", name, there)
}

// PutJob stores a job's definition under its name.
func PutJob(ctx context.Context, c *vsphere.Client, j *Job) error {
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return c.ChangeDatacenterRecords(ctx, JobsAttribute, recordFormat, func(m map[string]json.RawMessage) error {
		m[j.Name] = b
		return nil
	})
}

// RemoveJob removes what vCenter keeps of a job: its definition, then its last run's record
// (nothing when there is none). Its restore points stay in the repository: they outlive the job
// that made them.
func RemoveJob(ctx context.Context, c *vsphere.Client, name string) error {
	for _, attr := range []string{JobsAttribute, RunsAttribute, TestsAttribute} {
		if err := c.ChangeDatacenterRecords(ctx, attr, recordFormat, func(m map[string]json.RawMessage) error {
			if _, ok := m[name]; !ok {
				return vsphere.ErrUnchanged
			}
			delete(m, name)
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

package job

import (
	"strings"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

func validJob() *Job {
	return &Job{Name: "nightly", Selection: &vsphere.Selection{Include: vsphere.Criteria{Folders: []string{"workloads"}}},
		Schedule: Schedule{Cron: "0 2 * * *"}, Retention: Retention{KeepLast: 1}, Consistency: Crash, Repository: "file:///backups", Enabled: true}
}

func TestJobValidate(t *testing.T) {
	if err := validJob().Validate(); err != nil {
		t.Fatal(err)
	}
	hostsOnly := validJob()
	hostsOnly.Selection, hostsOnly.Hosts = nil, &vsphere.HostScope{Clusters: []string{"prod"}}
	if err := hostsOnly.Validate(); err != nil {
		t.Fatalf("a job of hosts only: %v", err)
	}
	cases := []struct {
		name   string
		change func(*Job)
		want   string
	}{
		{"no name", func(j *Job) { j.Name = " " }, "needs a name"},
		{"nothing protected", func(j *Job) { j.Selection = nil }, "protects nothing"},
		{"keep_last 0", func(j *Job) { j.Retention.KeepLast = 0 }, "keep_last = 0 keeps no restore point"},
		{"negative daily", func(j *Job) { j.Retention.Daily = -1 }, "daily = -1 is negative"},
		{"negative keep_days", func(j *Job) { j.Retention.KeepDays = -3 }, "keep_days = -3 is negative"},
		{"bad consistency", func(j *Job) { j.Consistency = "app" }, `consistency "app" is not one of crash, quiesced`},
		{"bad cron", func(j *Job) { j.Schedule.Cron = "0 25 * * *" }, "hour field"},
		{"credentials in the repository", func(j *Job) { j.Repository = "s3://key:secret@bucket/p" }, "carries credentials"},
		{"bad repository scheme", func(j *Job) { j.Repository = "ftp://host/p" }, `scheme "ftp"`},
		{"bad selection", func(j *Job) { j.Selection = &vsphere.Selection{} }, "selection: "},
		{"bad hosts", func(j *Job) { j.Hosts = &vsphere.HostScope{} }, "hosts: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := validJob()
			tc.change(j)
			if err := j.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

// The VMs a job protects include the catalog VMs whose item names it, with or without a selection.
func TestJobVMSelection(t *testing.T) {
	j := validJob()
	sel := j.VMSelection()
	if len(sel.Also) != 1 || sel.Also[0] != (vsphere.TagRef{Category: CompositionCategory, Name: "nightly"}) {
		t.Fatalf("Also = %v", sel.Also)
	}
	if len(j.Selection.Also) != 0 {
		t.Fatal("VMSelection changed the job's own selection")
	}
	j.Selection = nil
	if sel := j.VMSelection(); sel.Validate() != nil || len(sel.Also) != 1 {
		t.Fatalf("a job without a selection still protects its catalog VMs: %+v", sel)
	}
	if CompositionCategory != "vmgmt-backup-job" {
		t.Fatal("the catalog tags its VMs vmgmt-backup-job:<name>")
	}
}

// The request identifies a create by name and repository.
func TestNewRequest(t *testing.T) {
	a, b := NewRequest("n", "file:///a"), NewRequest("n", " file:///a ")
	if a != b || a == NewRequest("n", "file:///b") || a == NewRequest("m", "file:///a") {
		t.Fatal("the request is not name and repository")
	}
}

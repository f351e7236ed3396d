package cli_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/job"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/cli"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// `backup run --job` reaches vCenter through the provider's environment variables, backs up the
// job's VMs, prints one line per VM and exits 0; a job whose repository is unavailable exits 1
// and says why; without credentials it exits 2.
func TestBackupRunJob(t *testing.T) {
	sim, put := backupSim(t, 1)
	put("nightly", "file://"+filepath.Join(t.TempDir(), "repo"))
	put("broken", "file://"+filepath.Join(t.TempDir(), "unmounted", "repo"))

	for k := range sim.Env() {
		t.Setenv(k, "")
	}
	if code, _, stderr := run(t, "backup", "run", "--job", "nightly"); code != cli.ExitUsage || !strings.Contains(stderr, "VSPHERE_PASSWORD, VSPHERE_SERVER, VSPHERE_USER") {
		t.Fatalf("without credentials: exit %d, stderr %q", code, stderr)
	}
	for k, v := range sim.Env() {
		t.Setenv(k, v)
	}
	code, stdout, stderr := run(t, "backup", "run", "--job", "nightly", "--output", "plain")
	if code != cli.ExitOK {
		t.Fatalf("backup run --job nightly: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, vm := range simulator.Workloads {
		if !strings.Contains(stdout, "  "+vm+" ") {
			t.Errorf("no summary line for %s:\n%s", vm, stdout)
		}
	}
	if !strings.Contains(stdout, "job nightly: ok, 3 VMs") {
		t.Errorf("no job summary:\n%s", stdout)
	}
	code, stdout, _ = run(t, "backup", "run", "--job", "broken", "--output", "plain")
	if code != cli.ExitFail || !strings.Contains(stdout, "backup repository unavailable") {
		t.Fatalf("backup run --job broken: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := run(t, "backup", "run", "--job", "missing"); code != cli.ExitUsage || !strings.Contains(stderr, `no backup job "missing"`) {
		t.Fatalf("unknown job: exit %d, %q", code, stderr)
	}
	if code, _, _ := run(t, "backup", "run"); code != cli.ExitUsage {
		t.Fatalf("no --job nor --all-due: exit %d", code)
	}
	code, stdout, _ = run(t, "backup", "run", "--job", "nightly", "--dry-run", "--output", "plain")
	if code != cli.ExitOK || !strings.Contains(stdout, "planned") {
		t.Fatalf("dry run: exit %d\n%s", code, stdout)
	}
}

// `backup run` on an output that is not a terminal writes JSON lines (auto and --output json):
// every line one event, job_done last with the per-VM results; --output nope is a usage error.
func TestBackupRunOutput(t *testing.T) {
	_, put := backupSim(t, 2)
	put("nightly", "file://"+filepath.Join(t.TempDir(), "repo"))
	if code, _, stderr := run(t, "backup", "run", "--job", "nightly", "--output", "nope"); code != cli.ExitUsage || !strings.Contains(stderr, "want auto, bars, json or plain") {
		t.Fatalf("--output nope: exit %d, stderr %q", code, stderr)
	}
	for _, args := range [][]string{{"--output", "json"}, nil} {
		code, stdout, stderr := run(t, append([]string{"backup", "run", "--job", "nightly"}, args...)...)
		if code != cli.ExitOK {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, stdout, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		events := map[string]int{}
		var last struct {
			Event, Status string
			Results       []struct{ VM, Status string }
		}
		for _, line := range lines {
			if err := json.Unmarshal([]byte(line), &last); err != nil || last.Event == "" {
				t.Fatalf("%v: line %q is not an event: %v", args, line, err)
			}
			events[last.Event]++
		}
		if last.Event != "job_done" || last.Status != "ok" || len(last.Results) != len(simulator.Workloads) {
			t.Fatalf("%v: last event %+v", args, last)
		}
		if events["disk_start"] != 3 || events["disk_done"] != 3 || events["vm_done"] != 3 || events["job_start"] != 1 {
			t.Fatalf("%v: events %v", args, events)
		}
	}
}

// backupSim starts a simulator whose erp-db01 has a 4 MiB disk, points the provider's
// environment variables at it, and returns it and put, which records a job over the workloads folder
// keeping keepLast points in the repository given.
func backupSim(t *testing.T, keepLast int) (sim *simulator.Sim, put func(name, repository string)) {
	t.Helper()
	ctx := context.Background()
	sim, err := simulator.Start(ctx, simulator.Options{BigDiskSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	c, err := vsphere.Connect(ctx, vsphere.Config{Server: sim.URL.Host, User: sim.User, Password: sim.Password, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	for k, v := range sim.Env() {
		t.Setenv(k, v)
	}
	return sim, func(name, repository string) {
		t.Helper()
		err := job.PutJob(ctx, c, &job.Job{
			Name:        name,
			Selection:   &vsphere.Selection{Include: vsphere.Criteria{Folders: []string{simulator.WorkloadFolder}}},
			Schedule:    job.Schedule{Cron: "0 2 * * *"},
			Retention:   job.Retention{KeepLast: keepLast},
			Consistency: job.Crash,
			Repository:  repository,
			Enabled:     true,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

package runner

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/job"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/repo"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// isolatedNetwork is a network of the simulator that no workload is on.
const isolatedNetwork = "VM Network"

func (e *env) verifyOpts(folder string) VerifyOptions {
	return VerifyOptions{Job: e.job.Name, Folder: folder, Network: isolatedNetwork, Concurrency: 3, BootTimeout: 30 * time.Second}
}

// copiesLeft lists the restore-test copies in the inventory.
func copiesLeft(t *testing.T, c *vsphere.Client) []string {
	t.Helper()
	c.InvalidateVMs()
	vms, err := c.VMs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, vm := range vms {
		if strings.HasPrefix(vm.Name, verifyPrefix) || vsphere.IsPendingName(vm.Name) {
			out = append(out, vm.Name)
		}
	}
	return out
}

func manifestOf(t *testing.T, r *repo.Repository, p repo.Point) *repo.Manifest {
	t.Helper()
	m, err := r.ReadManifest(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A restore test restores each VM's point into the isolated folder, sees it come up, records
// the measured recovery time in the manifest and removes the copy; the VM's point is then a
// verified one, which a restore without --latest takes.
func TestVerifyRecordsRecoveryTime(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	backUpTagged(t, e)
	folder := makeFolder(t, e.c, "restore-tests")
	var out strings.Builder
	opts := e.verifyOpts(folder)
	opts.Output = &Plain{W: &out}
	sum, err := Verify(ctx, e.c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Results) != len(simulator.Workloads) || sum.Failed() {
		t.Fatalf("verify: %+v, want every VM's point verified", sum.Results)
	}
	r := e.repo(t)
	for _, vm := range simulator.Workloads {
		m := manifestOf(t, r, e.points(t, r, vm)[0])
		v := m.Verified
		if v == nil || !v.OK || v.RecoverySeconds <= 0 || !strings.Contains(v.Check, "powered on") {
			t.Errorf("%s: verification %+v, want ok with a recovery time and a check", vm, v)
		}
	}
	if left := copiesLeft(t, e.c); len(left) != 0 {
		t.Errorf("copies left after the test: %v", left)
	}
	if !strings.Contains(out.String(), "verified, recovery time") {
		t.Errorf("plain output:\n%s", out.String())
	}
	tests, err := job.ReadTests(ctx, e.c)
	if err != nil {
		t.Fatal(err)
	}
	if lt := tests[e.job.Name]; lt == nil || lt.Points != 3 || lt.Failed != 0 || lt.SlowestSeconds <= 0 {
		t.Errorf("the test's record: %+v", lt)
	}

	// The verified point is what a restore without --latest takes now.
	ropts := e.restoreOpts()
	ropts.VM = "web01"
	ropts.Target.Folder = folder
	rsum, err := Restore(ctx, e.c, ropts)
	if err != nil {
		t.Fatal(err)
	}
	if res := restoreResult(t, rsum, "web01"); res.Status != VMOK || !res.Verified {
		t.Errorf("restore of the verified point: %+v", res)
	}

	// Nothing is left unverified: a second test without --latest has nothing to do; with
	// --latest --sample 1 it tests one VM's newest point again.
	if sum, err := Verify(ctx, e.c, opts); err != nil || len(sum.Results) != 0 {
		t.Errorf("second test: %+v %v, want nothing to test", sum.Results, err)
	}
	opts.Latest, opts.Sample = true, 1
	if sum, err := Verify(ctx, e.c, opts); err != nil || len(sum.Results) != 1 || sum.Failed() {
		t.Errorf("--latest --sample 1: %+v %v, want one point verified", sum.Results, err)
	}
}

// A recovery slower than the maximum is a failed test, recorded as such with the bound; the
// copy is removed all the same.
func TestVerifyExceedsMaxRecovery(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	backUpTagged(t, e)
	opts := e.verifyOpts(makeFolder(t, e.c, "restore-tests"))
	opts.VM = "erp-app01"
	opts.MaxRecovery = time.Millisecond
	sum, err := Verify(ctx, e.c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Results) != 1 || sum.Results[0].OK || !strings.Contains(sum.Results[0].Err.Error(), "longer than the 1ms allowed") {
		t.Fatalf("verify with a 1 ms bound: %+v", sum.Results)
	}
	r := e.repo(t)
	v := manifestOf(t, r, e.points(t, r, "erp-app01")[0]).Verified
	if v == nil || v.OK || v.MaxRecoverySeconds != 0.001 || !strings.Contains(v.Error, "longer than") {
		t.Errorf("recorded verification %+v, want a failure with the bound", v)
	}
	if left := copiesLeft(t, e.c); len(left) != 0 {
		t.Errorf("copies left: %v", left)
	}
	// A failed test leaves the point unverified for a restore.
	ropts := e.restoreOpts()
	ropts.VM = "erp-app01"
	if _, err := Restore(ctx, e.c, ropts); err == nil || !strings.Contains(err.Error(), "passed a restore test") {
		t.Errorf("restore of a point whose test failed, without --latest: %v", err)
	}
}

// A checksum mismatch is a failed test, reported and recorded; no copy is left.
func TestVerifyChecksumMismatch(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	backUpTagged(t, e)
	r := e.repo(t)
	p := e.points(t, r, simulator.BigDiskVM)[0]
	e.flipStoredByte(t, p, 12345)
	opts := e.verifyOpts(makeFolder(t, e.c, "restore-tests"))
	opts.VM = simulator.BigDiskVM
	var out strings.Builder
	opts.Output = NewJSONLines(&out)
	sum, err := Verify(ctx, e.c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Results) != 1 || sum.Results[0].OK || !errors.Is(sum.Results[0].Err, repo.ErrCorrupt) {
		t.Fatalf("verify of a corrupt point: %+v", sum.Results)
	}
	if v := manifestOf(t, r, p).Verified; v == nil || v.OK || !strings.Contains(v.Error, "SHA-256") {
		t.Errorf("recorded verification %+v, want the checksum failure", v)
	}
	if !strings.Contains(out.String(), `"event":"verify_done"`) || !strings.Contains(out.String(), `"status":"failed"`) {
		t.Errorf("JSON lines:\n%s", out.String())
	}
	if left := copiesLeft(t, e.c); len(left) != 0 {
		t.Errorf("copies left: %v", left)
	}
}

// The job's restore_test runs when due (--all-due): one VM per test (sample 1), the one whose
// newest point was verified longest ago first, so that the VMs are tested in turn, and again once
// all were; a test run again before the schedule ticks finds nothing due.
func TestVerifyAllDueRestoreTest(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	folder := makeFolder(t, e.c, "restore-tests")
	e.job.RestoreTest = &job.RestoreTest{Schedule: job.Schedule{Cron: "0 6 * * *"}, Sample: 1, Folder: folder, Network: isolatedNetwork, MaxRecoveryMinutes: 30}
	e.put(t)
	backUpTagged(t, e)
	at := time.Date(2026, 3, 2, 6, 30, 0, 0, time.UTC)
	verify := func(now time.Time) VerifySummary {
		t.Helper()
		sum, err := Verify(ctx, e.c, VerifyOptions{AllDue: true, BootTimeout: 30 * time.Second, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	first := verify(at)
	if len(first.Results) != 1 || first.Failed() {
		t.Fatalf("first due test: %+v", first.Results)
	}
	if again := verify(at.Add(time.Hour)); len(again.Results) != 0 {
		t.Errorf("a test before the schedule ticks again: %+v, want nothing", again.Results)
	}
	seen := map[string]bool{first.Results[0].VM: true}
	for day := 1; day <= 2; day++ {
		sum := verify(at.Add(time.Duration(day) * 24 * time.Hour))
		if len(sum.Results) != 1 || sum.Failed() {
			t.Fatalf("day %d: %+v", day, sum.Results)
		}
		seen[sum.Results[0].VM] = true
	}
	if len(seen) != 3 {
		t.Errorf("three daily tests of one VM each tested %v, want each of the 3 VMs once", seen)
	}
	// Every VM's newest point is verified now: the fourth day tests again the VM tested longest
	// ago, the first one (a declared test tests newest points, not only those never tested).
	if sum := verify(at.Add(3 * 24 * time.Hour)); len(sum.Results) != 1 || sum.Results[0].VM != first.Results[0].VM {
		t.Errorf("fourth day: %+v, want %s tested again", sum.Results, first.Results[0].VM)
	}
}

// One restore test of a job at a time: a second, while the first holds the job's test lock, is
// refused (it would remove the copies the first is using); with --all-due the due job is then
// reported skipped, and the summary fails.
func TestVerifyOneTestOfAJobAtATime(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	folder := makeFolder(t, e.c, "restore-tests")
	e.job.RestoreTest = &job.RestoreTest{Schedule: job.Schedule{Cron: "0 6 * * *"}, Folder: folder, Network: isolatedNetwork}
	e.put(t)
	held, err := e.c.Lock(ctx, "backup.verify."+e.job.Name, vsphere.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = held.Release(ctx) }()
	if _, err := Verify(ctx, e.c, e.verifyOpts(folder)); err == nil || !strings.Contains(err.Error(), "another restore test") {
		t.Errorf("a second test of the job: %v, want it refused", err)
	}
	sum, err := Verify(ctx, e.c, VerifyOptions{AllDue: true, BootTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Skipped) != 1 || !sum.Failed() {
		t.Errorf("--all-due with the job's test running: %+v, want it skipped and the summary failed", sum)
	}
}

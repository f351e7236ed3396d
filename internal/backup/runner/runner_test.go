package runner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/vmware/govmomi/event"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/job"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/repo"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/testutil/tmpfs"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// testDisk is the size of erp-db01's disk in these tests: small, with real data in 4 places.
const testDisk = 8 << 20

// env is a simulator, a client of it, and a job over the workload folder's three VMs that backs
// up into a file repository.
type env struct {
	sim  *simulator.Sim
	c    *vsphere.Client
	job  *job.Job
	dir  string // the file repository's directory
	vms  map[string]string
	now  time.Time
	tick atomic.Int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	e := newEnvWithoutJob(t)
	e.dir, e.vms, e.now = filepath.Join(t.TempDir(), "repo"), map[string]string{}, time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	for _, name := range simulator.Workloads {
		vm, err := e.c.FindVM(ctx, simulator.WorkloadFolder+"/"+name)
		if err != nil {
			t.Fatal(err)
		}
		e.vms[name] = vm.ID
	}
	e.job = &job.Job{
		Name:        "nightly",
		Selection:   &vsphere.Selection{Include: vsphere.Criteria{Folders: []string{simulator.WorkloadFolder}}},
		Schedule:    job.Schedule{Cron: "0 2 * * *"},
		Retention:   job.Retention{KeepLast: 2},
		Consistency: job.Quiesced,
		Repository:  "file://" + e.dir,
		Enabled:     true,
	}
	e.put(t)
	return e
}

func (e *env) put(t *testing.T) {
	t.Helper()
	if err := job.PutJob(context.Background(), e.c, e.job); err != nil {
		t.Fatal(err)
	}
}

// opts runs the env's job, on a clock that moves an hour at every reading, so that each run's
// points are apart in time.
func (e *env) opts() Options {
	return Options{
		Job: e.job.Name,
		Now: func() time.Time {
			return e.now.Add(time.Duration(e.tick.Add(1)) * time.Hour)
		},
		JobLock: vsphere.LockOptions{Wait: 200 * time.Millisecond},
		VMLock:  vsphere.LockOptions{Wait: 200 * time.Millisecond},
		// A held VM is waited for again, briefly, before it is reported skipped.
		PeerWait: 300 * time.Millisecond,
	}
}

func (e *env) run(t *testing.T, opts Options) (Summary, JobResult) {
	t.Helper()
	sum, err := Run(context.Background(), e.c, opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(sum.Jobs) != 1 {
		t.Fatalf("Run ran %d jobs, want 1: %+v", len(sum.Jobs), sum.Jobs)
	}
	return sum, sum.Jobs[0]
}

func (e *env) repo(t *testing.T) *repo.Repository {
	t.Helper()
	loc, err := repo.ParseURL(e.job.Repository)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func (e *env) points(t *testing.T, r *repo.Repository, vm string) []repo.Point {
	t.Helper()
	p, err := r.Points(context.Background(), e.job.Name, vm)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) snapshots(t *testing.T, vm string) []vsphere.VMSnapshot {
	t.Helper()
	s, err := e.c.Snapshots(context.Background(), e.vms[vm])
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *env) lastRun(t *testing.T) *job.LastRun {
	t.Helper()
	runs, err := job.ReadRuns(context.Background(), e.c, true)
	if err != nil {
		t.Fatal(err)
	}
	return runs[e.job.Name]
}

func fileSHA(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func vmResult(t *testing.T, res JobResult, name string) VMResult {
	t.Helper()
	for _, v := range res.VMs {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no result for %s in %+v", name, res.VMs)
	return VMResult{}
}

// A run backs up every VM of the job: erp-db01's disk in the repository has the datastore file's
// bytes, the manifest holds the VM's facts, the snapshot is gone, and the run is recorded as ok
// with its counts, and as a vCenter event.
func TestRunBacksUpTheJobsVMs(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	db := e.vms[simulator.BigDiskVM]
	if err := e.c.SetTags(ctx, db, map[string]string{"tier": "tier-1", "backup-policy": "gold"}, true); err != nil {
		t.Fatal(err)
	}
	stamps := map[string]string{"vmgmt.catalog.item": "erp-database", "vmgmt.baseline.tier1": "3f2a", "vmgmt.security-group.db": "sg-1"}
	if err := e.c.ReconfigureVM(ctx, db, vsphere.ReconfigSpec{ExtraConfig: stamps}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	opts := e.opts()
	opts.Output = &Plain{W: &out}
	start := time.Now()
	sum, res := e.run(t, opts)
	elapsed := time.Since(start)
	if sum.Failed() || res.Err != nil || res.Status != job.RunOK {
		t.Fatalf("run failed: %+v\n%s", res, out.String())
	}
	if len(res.VMs) != len(simulator.Workloads) {
		t.Fatalf("backed up %d VMs, want %d: %+v", len(res.VMs), len(simulator.Workloads), res.VMs)
	}
	r := e.repo(t)
	points := e.points(t, r, simulator.BigDiskVM)
	if len(points) != 1 {
		t.Fatalf("%s has %d points, want 1", simulator.BigDiskVM, len(points))
	}
	m, err := r.ReadManifest(ctx, points[0])
	if err != nil {
		t.Fatal(err)
	}
	files, err := e.sim.DiskFiles(simulator.BigDiskVM)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Disks) != len(files) || len(files) != 1 {
		t.Fatalf("manifest disks %+v; the datastore has %v", m.Disks, files)
	}
	want := fileSHA(t, files[0])
	stored := filepath.Join(e.dir, "nightly", simulator.BigDiskVM, points[0].ID, m.Disks[0].File)
	if got := fileSHA(t, stored); got != want || m.Disks[0].SHA256 != want || m.Disks[0].Bytes != testDisk {
		t.Fatalf("stored disk: sha %s (manifest %s, %d bytes); the datastore file's is %s", got, m.Disks[0].SHA256, m.Disks[0].Bytes, want)
	}
	checkDiskPlacement(t, e, simulator.BigDiskVM, m.Disks[0])
	if want := guestID(t, e, simulator.BigDiskVM); m.Hardware == nil || m.Hardware.GuestID != want || want == "" {
		t.Errorf("manifest hardware %+v, the VM's guest ID is %q", m.Hardware, want)
	}
	if m.Disks[0].Format != formatFlat {
		t.Errorf("the simulator's export is the flat extent, the manifest says %q", m.Disks[0].Format)
	}
	if err := r.Verify(ctx, points[0]); err != nil {
		t.Fatal(err)
	}
	if m.VM == nil || m.VM.ID != e.vms[simulator.BigDiskVM] || m.VM.Name != simulator.BigDiskVM || m.VM.UUID == "" ||
		m.Hardware == nil || m.Hardware.CPUs < 1 || m.Hardware.MemoryMB < 1 || m.Hardware.HardwareVersion != simulator.HardwareVersion ||
		m.Consistency != repo.Quiesced || m.ExtraConfig["govcsim"] == "" || len(m.Networks) != 1 || m.Networks[0].Network != "pg-db" {
		t.Fatalf("manifest lacks the VM's facts: %+v %+v %+v", m.VM, m.Hardware, m)
	}
	if strings.Join(m.Tags, ",") != "backup-policy/gold,tier/tier-1" || m.CatalogItem != "erp-database" ||
		m.Baseline["vmgmt.baseline.tier1"] != "3f2a" || m.SecurityGroups["vmgmt.security-group.db"] != "sg-1" || m.ExtraConfig["vmgmt.catalog.item"] != "erp-database" {
		t.Fatalf("manifest lacks the VM's tags and stamps: tags %v, item %q, baseline %v, groups %v", m.Tags, m.CatalogItem, m.Baseline, m.SecurityGroups)
	}
	for _, name := range simulator.Workloads {
		if s := e.snapshots(t, name); len(s) != 0 {
			t.Errorf("%s still has snapshots: %+v", name, s)
		}
		if v := vmResult(t, res, name); v.Status != VMOK || v.Err != nil {
			t.Errorf("%s: %+v", name, v)
		}
	}
	run := e.lastRun(t)
	if run == nil || run.ID != res.RunID || res.RunID == "" || res.Joined || run.Open() || run.Status != job.RunOK ||
		run.VMs != 3 || run.Failed != 0 || run.RestorePoints != 3 || run.Bytes != res.Bytes || run.Bytes < testDisk {
		t.Fatalf("recorded run %+v; result %+v", run, res)
	}
	if !strings.Contains(out.String(), simulator.BigDiskVM) || !strings.Contains(out.String(), "job nightly: ok") {
		t.Errorf("output lacks the summary:\n%s", out.String())
	}
	assertEvent(t, e, "vmgmt backup job nightly, run "+res.RunID+": ok, 3 VMs backed up")
	t.Logf("one run: %d bytes in %s = %.1f MB/s", res.Bytes, elapsed.Round(time.Millisecond), float64(res.Bytes)/1e6/elapsed.Seconds())
}

// assertEvent checks that vCenter's event log holds a GeneralEvent starting with prefix.
func assertEvent(t *testing.T, e *env, prefix string) {
	t.Helper()
	ctx := context.Background()
	gc, err := e.sim.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = gc.Logout(ctx) }()
	events, err := event.NewManager(gc.Client).QueryEvents(ctx, types.EventFilterSpec{EventTypeId: []string{"GeneralEvent"}})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, ev := range events {
		if g, ok := ev.(*types.GeneralEvent); ok {
			if strings.HasPrefix(g.Message, prefix) {
				return
			}
			seen = append(seen, g.Message)
		}
	}
	t.Fatalf("no vCenter event %q; events: %q", prefix, seen)
}

// With keep_last 2, three runs leave each VM two points: the oldest is pruned.
func TestRetentionPrunesAcrossRuns(t *testing.T) {
	e := newEnv(t)
	var ids [][]repo.Point
	r := e.repo(t)
	for i := 0; i < 3; i++ {
		_, res := e.run(t, e.opts())
		if res.Status != job.RunOK {
			t.Fatalf("run %d: %+v", i, res)
		}
		ids = append(ids, e.points(t, r, "web01"))
	}
	got := ids[2]
	if len(got) != 2 || got[1].ID != ids[1][0].ID || got[0].ID == ids[1][0].ID {
		t.Fatalf("after 3 runs web01 has points %+v; want the newest two (runs 2 and 3) of %+v", got, ids)
	}
	if run := e.lastRun(t); run.RestorePoints != 6 {
		t.Fatalf("recorded %d restore points, want 6 (2 x 3 VMs)", run.RestorePoints)
	}
}

// Retention across its tiers, through real runs: a nightly job with keep_last 1, daily 3 and
// weekly 2 run every night for three weeks keeps the last three nights' points and the newest of
// the week before (Sunday 15 March), and nothing else.
func TestRetentionTiersAcrossRuns(t *testing.T) {
	e := newEnv(t)
	e.job.Selection = &vsphere.Selection{Include: vsphere.Criteria{IDs: []string{e.vms["web01"]}}}
	e.job.Retention = job.Retention{KeepLast: 1, Daily: 3, Weekly: 2}
	e.put(t)
	r := e.repo(t)
	first := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC) // a Sunday
	for day := 0; day < 21; day++ {
		at := first.AddDate(0, 0, day)
		opts := e.opts()
		opts.Now = func() time.Time { return at }
		if _, res := e.run(t, opts); res.Status != job.RunOK {
			t.Fatalf("night %d: %+v", day, res)
		}
	}
	var got []string
	for _, p := range e.points(t, r, "web01") {
		got = append(got, p.Time.Format("01-02"))
	}
	if want := "03-21,03-20,03-19,03-15"; strings.Join(got, ",") != want {
		t.Fatalf("after 21 nights web01 keeps %v, want %s", got, want)
	}
	if run := e.lastRun(t); run.RestorePoints != 4 {
		t.Fatalf("recorded %d restore points, want 4", run.RestorePoints)
	}
}

// A job whose lock another runner holds is skipped: an error for --job, a note for --all-due;
// nothing is snapshotted or written.
func TestHeldJobLockSkipsTheJob(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	l, err := e.c.Lock(ctx, "backup.job."+e.job.Name, vsphere.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Release(ctx) }()
	if _, err := Run(ctx, e.c, e.opts()); err == nil || !strings.Contains(err.Error(), "another runner holds its lock") {
		t.Fatalf("--job with the lock held: err = %v, want the job skipped as an error", err)
	}
	opts := e.opts()
	opts.Job, opts.AllDue = "", true
	var out bytes.Buffer
	opts.Output = &Plain{W: &out}
	sum, err := Run(ctx, e.c, opts)
	if err != nil || len(sum.Jobs) != 1 || sum.Jobs[0].Skipped == "" || sum.Failed() {
		t.Fatalf("--all-due with the lock held: err %v, %+v", err, sum)
	}
	if !strings.Contains(out.String(), "skipped, another runner") {
		t.Errorf("output does not say why the job was skipped:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(e.dir, "nightly")); !os.IsNotExist(err) {
		t.Errorf("the skipped job wrote to the repository: %v", err)
	}
	if e.lastRun(t) != nil {
		t.Error("a skipped run was recorded")
	}
}

// --all-due runs a job never run and a job whose next tick has passed, not one that is not due
// or is disabled.
func TestAllDuePicksDueJobs(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	mk := func(name string, enabled bool) {
		j := *e.job
		j.Name, j.Enabled = name, enabled
		if err := job.PutJob(ctx, e.c, &j); err != nil {
			t.Fatal(err)
		}
	}
	mk("due", true)
	mk("fresh", true)
	mk("going", true)
	mk("off", false)
	// nightly has never run; due last ran before today's 02:00; fresh ran after it, and so did
	// going, whose run is still open (its runners are at work, or one died): it is picked to be
	// joined or resumed.
	for name, started := range map[string]time.Time{"due": now.Add(-11 * time.Hour), "fresh": now.Add(-9 * time.Hour), "going": now.Add(-9 * time.Hour)} {
		run := job.LastRun{ID: "r-" + name, Started: started, Finished: started.Add(time.Hour), Status: job.RunOK}
		if name == "going" {
			run.Finished, run.Status = time.Time{}, job.RunRunning
		}
		if err := job.PutRun(ctx, e.c, name, run); err != nil {
			t.Fatal(err)
		}
	}
	jobs, err := job.ReadJobs(ctx, e.c, true)
	if err != nil {
		t.Fatal(err)
	}
	picked, err := pick(ctx, e.c, jobs, Options{AllDue: true, Now: func() time.Time { return now }, Output: discard{}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, j := range picked {
		got = append(got, j.Name)
	}
	if strings.Join(got, ",") != "due,going,nightly" {
		t.Fatalf("--all-due picked %v, want [due going nightly]", got)
	}
	// due's next tick is 02:00 today: due exactly then, not a minute before.
	at := func(h, m int) []string {
		picked, err := pick(ctx, e.c, jobs, Options{AllDue: true, Now: func() time.Time { return time.Date(2026, 3, 2, h, m, 0, 0, time.UTC) }, Output: discard{}})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, j := range picked {
			got = append(got, j.Name)
		}
		return got
	}
	if got := at(2, 0); strings.Join(got, ",") != "due,going,nightly" {
		t.Fatalf("at 02:00 --all-due picked %v, want [due going nightly]", got)
	}
	if got := at(1, 59); strings.Join(got, ",") != "going,nightly" {
		t.Fatalf("at 01:59 --all-due picked %v, want [going nightly]", got)
	}
}

// What a crashed run left, its snapshot and its partial restore point, is removed by the next
// run; a snapshot that is not the job's stays.
func TestCrashLeftoversAreCleanedUp(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	vm := e.vms["erp-app01"]
	// One leftover recognised by its name, one by its description alone (renamed by someone).
	if _, err := e.c.CreateSnapshot(ctx, vm, snapshotPrefix(e.job.Name)+"dead0001", "", false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.CreateSnapshot(ctx, e.vms["web01"], "renamed", snapshotStamp(e.job.Name, "dead0001"), false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.CreateSnapshot(ctx, vm, "before-upgrade", "taken by an operator", false); err != nil {
		t.Fatal(err)
	}
	r := e.repo(t)
	w, err := r.BeginPoint(ctx, e.job.Name, "erp-app01", e.now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteFile(ctx, "disk-0.vmdk", strings.NewReader("half a disk")); err != nil {
		t.Fatal(err)
	}
	if p, _ := r.PartialPoints(ctx, e.job.Name); len(p) != 1 {
		t.Fatalf("setup: %d partial points, want 1", len(p))
	}
	_, res := e.run(t, e.opts())
	if res.Status != job.RunOK || res.CleanedSnapshots != 2 || res.CleanedPoints != 1 {
		t.Fatalf("run: %+v", res)
	}
	if s := e.snapshots(t, "erp-app01"); len(s) != 1 || s[0].Name != "before-upgrade" {
		t.Fatalf("erp-app01's snapshots after the run: %+v; want only the operator's", s)
	}
	if s := e.snapshots(t, "web01"); len(s) != 0 {
		t.Fatalf("web01's snapshots after the run: %+v", s)
	}
	if p, err := r.PartialPoints(ctx, e.job.Name); err != nil || len(p) != 0 {
		t.Fatalf("partial points after the run: %+v %v", p, err)
	}
	if p := e.points(t, r, "erp-app01"); len(p) != 1 {
		t.Fatalf("erp-app01 has %d points, want the run's 1", len(p))
	}
}

// A job over templates backs up nothing: templates are left out of every job.
func TestTemplatesAreNotBackedUp(t *testing.T) {
	e := newEnv(t)
	e.job.Selection = &vsphere.Selection{Include: vsphere.Criteria{Folders: []string{simulator.TemplateFolder}}}
	vms, err := resolveVMs(context.Background(), e.c, e.job)
	if err != nil || len(vms) != 0 {
		t.Fatalf("a job over the templates folder resolves %+v (%v); want none", vms, err)
	}
}

// A repository that cannot be opened fails the job with ErrUnavailable before any snapshot: none
// is left, no point is made, and the run is recorded as failed.
func TestRepositoryUnavailable(t *testing.T) {
	e := newEnv(t)
	e.job.Repository = "file://" + filepath.Join(t.TempDir(), "unmounted", "repo")
	e.put(t)
	sum, res := e.run(t, e.opts())
	if !errors.Is(res.Err, repo.ErrUnavailable) || res.Status != job.RunFailed || !sum.Failed() || len(res.VMs) != 0 {
		t.Fatalf("run: %+v", res)
	}
	if !strings.Contains(res.Err.Error(), "does not exist") {
		t.Errorf("the error does not say what to fix: %v", res.Err)
	}
	for _, name := range simulator.Workloads {
		if s := e.snapshots(t, name); len(s) != 0 {
			t.Errorf("%s has snapshots: %+v", name, s)
		}
	}
	if run := e.lastRun(t); run == nil || run.Status != job.RunFailed || run.VMs != 0 {
		t.Fatalf("recorded run %+v", run)
	}
}

// A repository that fills up during a disk (a real full file system: a 4 MiB tmpfs in a private
// mount namespace, where the test runs again as a child) fails that VM with an error that says
// the repository is full: its snapshot is removed and nothing of the point is left, complete or
// partial; the VMs whose disks fit are backed up, and the run is partial.
func TestRepositoryFull(t *testing.T) {
	dir := tmpfs.Dir(t, 4)
	if dir == "" {
		return
	}
	e := newEnv(t)
	e.job.Repository = "file://" + filepath.Join(dir, "repo")
	e.put(t)
	sum, res := e.run(t, e.opts())
	big := vmResult(t, res, simulator.BigDiskVM)
	if big.Status != VMFailed || !errors.Is(big.Err, repo.ErrFull) || !strings.Contains(big.Err.Error(), "full") {
		t.Fatalf("%s on a full repository: %+v", simulator.BigDiskVM, big)
	}
	t.Log(big.Err)
	if res.Status != job.RunPartial || !sum.Failed() {
		t.Fatalf("run %s, failed %v: %+v", res.Status, sum.Failed(), res)
	}
	r := e.repo(t)
	complete, partial, err := r.SubjectPoints(context.Background(), e.job.Name, simulator.BigDiskVM, "")
	if err != nil || len(complete) != 0 || len(partial) != 0 {
		t.Fatalf("%s left %d complete and %d partial points (%v)", simulator.BigDiskVM, len(complete), len(partial), err)
	}
	for _, name := range simulator.Workloads {
		if s := e.snapshots(t, name); len(s) != 0 {
			t.Errorf("%s has snapshots: %+v", name, s)
		}
		if name != simulator.BigDiskVM {
			if v := vmResult(t, res, name); v.Status != VMOK {
				t.Errorf("%s: %+v", name, v)
			}
		}
	}
	if run := e.lastRun(t); run == nil || run.Status != job.RunPartial || run.Failed != 1 || !run.HasFailed(e.vms[simulator.BigDiskVM]) {
		t.Fatalf("recorded run %+v", run)
	}
}

// failingReader fails after n bytes, as a repository or export that dies mid-disk.
type failingReader struct {
	r io.Reader
	n int64
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("connection reset by peer")
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

// A disk stream that fails mid-way fails that VM only: its point is aborted (not listed, not
// partial), its snapshot removed; the others are backed up, the run is partial and fails.
func TestFailureMidDiskFailsOnlyThatVM(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	opts := e.opts()
	opts.wrapDisk = func(vm string, r io.Reader) io.Reader {
		if vm == simulator.BigDiskVM {
			return &failingReader{r: r, n: 3 << 20}
		}
		return r
	}
	sum, res := e.run(t, opts)
	if res.Status != job.RunPartial || !sum.Failed() {
		t.Fatalf("run: %+v", res)
	}
	if v := vmResult(t, res, simulator.BigDiskVM); v.Status != VMFailed || v.Err == nil || !strings.Contains(v.Err.Error(), "connection reset") {
		t.Fatalf("%s: %+v", simulator.BigDiskVM, v)
	}
	r := e.repo(t)
	if p := e.points(t, r, simulator.BigDiskVM); len(p) != 0 {
		t.Fatalf("the failed VM has points: %+v", p)
	}
	if p, _ := r.PartialPoints(ctx, e.job.Name); len(p) != 0 {
		t.Fatalf("the failed point was left partial: %+v", p)
	}
	for _, name := range simulator.Workloads {
		if s := e.snapshots(t, name); len(s) != 0 {
			t.Errorf("%s has snapshots: %+v", name, s)
		}
	}
	if p := e.points(t, r, "web01"); len(p) != 1 {
		t.Fatalf("web01 has %d points, want 1", len(p))
	}
	if run := e.lastRun(t); run.Status != job.RunPartial || run.VMs != 2 || run.Failed != 1 {
		t.Fatalf("recorded run %+v", run)
	}
}

// A VM destroyed between the job's selection and its snapshot fails; the others are backed up.
func TestVMDestroyedMidRun(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	gc, err := e.sim.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = gc.Logout(ctx) }()
	opts := e.opts()
	opts.beforeSnapshot = func(ctx context.Context, vmID string) {
		if vmID != e.vms["web01"] {
			return
		}
		vm := object.NewVirtualMachine(gc.Client, types.ManagedObjectReference{Type: "VirtualMachine", Value: vmID})
		if task, err := vm.PowerOff(ctx); err == nil {
			_ = task.Wait(ctx)
		}
		task, err := vm.Destroy(ctx)
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil {
			t.Errorf("destroying web01: %v", err)
		}
	}
	sum, res := e.run(t, opts)
	if res.Status != job.RunPartial || !sum.Failed() {
		t.Fatalf("run: %+v", res)
	}
	if v := vmResult(t, res, "web01"); v.Status != VMFailed || v.Err == nil {
		t.Fatalf("web01: %+v", v)
	}
	r := e.repo(t)
	for _, name := range []string{"erp-db01", "erp-app01"} {
		if v := vmResult(t, res, name); v.Status != VMOK {
			t.Errorf("%s: %+v", name, v)
		}
		if p := e.points(t, r, name); len(p) != 1 {
			t.Errorf("%s has %d points, want 1", name, len(p))
		}
	}
	if run := e.lastRun(t); run.Status != job.RunPartial || run.Failed != 1 || run.VMs != 2 {
		t.Fatalf("recorded run %+v", run)
	}
}

// A VM whose per-VM lease another runner holds is left to it; the rest are backed up.
func TestHeldVMLeaseSkipsTheVM(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	l, err := e.c.Lock(ctx, "backup.vm."+e.job.Name+"."+e.vms["erp-app01"], vsphere.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Release(ctx) }()
	sum, res := e.run(t, e.opts())
	if sum.Failed() || res.Status != job.RunOK {
		t.Fatalf("run: %+v", res)
	}
	if v := vmResult(t, res, "erp-app01"); v.Status != VMSkipped {
		t.Fatalf("erp-app01: %+v, want skipped", v)
	}
	if p := e.points(t, e.repo(t), "erp-app01"); len(p) != 0 {
		t.Fatalf("erp-app01 was backed up though another runner holds it: %+v", p)
	}
	if run := e.lastRun(t); run.VMs != 2 {
		t.Fatalf("recorded run %+v, want 2 VMs", run)
	}
}

// The same run into an S3 repository (gofakes3 on plain HTTP) stores the same bytes.
func TestRunIntoS3(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	be := s3mem.New()
	if err := be.CreateBucket("bk"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "vmgmt-test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "vmgmt-test-secret")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	e.job.Repository = fmt.Sprintf("s3://bk/vmgmt?endpoint=%s&region=us-east-1", srv.URL)
	e.put(t)
	start := time.Now()
	_, res := e.run(t, e.opts())
	elapsed := time.Since(start)
	if res.Status != job.RunOK {
		t.Fatalf("run: %+v", res)
	}
	r := e.repo(t)
	p := e.points(t, r, simulator.BigDiskVM)
	if len(p) != 1 {
		t.Fatalf("%d points", len(p))
	}
	m, err := r.ReadManifest(ctx, p[0])
	if err != nil {
		t.Fatal(err)
	}
	files, _ := e.sim.DiskFiles(simulator.BigDiskVM)
	if want := fileSHA(t, files[0]); m.Disks[0].SHA256 != want {
		t.Fatalf("S3 disk sha %s, datastore %s", m.Disks[0].SHA256, want)
	}
	if err := r.Verify(ctx, p[0]); err != nil {
		t.Fatal(err)
	}
	t.Logf("S3 run: %d bytes in %s = %.1f MB/s", res.Bytes, elapsed.Round(time.Millisecond), float64(res.Bytes)/1e6/elapsed.Seconds())
}

// terminateSession ends the runner client's vCenter session server-side, as an administrator or
// vCenter's idle timeout would.
func (e *env) terminateSession(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	us, err := session.NewManager(e.c.Vim()).UserSession(ctx)
	if err != nil || us == nil {
		t.Errorf("reading the runner's session: %v", err)
		return
	}
	admin, err := e.sim.Connect(ctx)
	if err != nil {
		t.Errorf("admin connect: %v", err)
		return
	}
	defer func() { _ = admin.Logout(ctx) }()
	if err := session.NewManager(admin.Client).TerminateSession(ctx, []string{us.Key}); err != nil {
		t.Errorf("terminating session %s: %v", us.Key, err)
	}
}

// The runner's vCenter session ends during the run, once before a VM's snapshot and once in the
// middle of a disk's stream: the client logs in again and the run goes on; every VM is backed up,
// no snapshot is left, and the run is recorded.
func TestSessionLostMidRun(t *testing.T) {
	e := newEnv(t)
	opts := e.opts()
	opts.Concurrency = 1
	var beforeDone, midDone atomic.Bool
	opts.beforeSnapshot = func(ctx context.Context, vmID string) {
		if vmID == e.vms["erp-app01"] && beforeDone.CompareAndSwap(false, true) {
			e.terminateSession(t)
		}
	}
	opts.wrapDisk = func(vm string, r io.Reader) io.Reader {
		if vm != simulator.BigDiskVM {
			return r
		}
		return &afterBytes{r: r, n: 1 << 20, fn: func() {
			if midDone.CompareAndSwap(false, true) {
				e.terminateSession(t)
			}
		}}
	}
	before := e.c.Stats().Relogins()
	_, res := e.run(t, opts)
	if !beforeDone.Load() || !midDone.Load() {
		t.Fatalf("the session was not ended twice (before a snapshot %v, mid-disk %v)", beforeDone.Load(), midDone.Load())
	}
	if n := e.c.Stats().Relogins() - before; n < 2 {
		t.Errorf("the client logged in again %d times, want at least 2 (one per lost session)", n)
	}
	if res.Status != job.RunOK {
		t.Fatalf("run %s: %+v", res.Status, res)
	}
	r := e.repo(t)
	for _, name := range simulator.Workloads {
		if v := vmResult(t, res, name); v.Status != VMOK {
			t.Errorf("%s: %+v", name, v)
		}
		if p := e.points(t, r, name); len(p) != 1 {
			t.Errorf("%s has %d restore points, want 1", name, len(p))
		}
		if s := e.snapshots(t, name); len(s) != 0 {
			t.Errorf("%s still has snapshots: %+v", name, s)
		}
	}
	if run := e.lastRun(t); run == nil || run.Open() || run.VMs != 3 {
		t.Fatalf("recorded run %+v", run)
	}
}

// afterBytes calls fn once n bytes have been read through it.
type afterBytes struct {
	r    io.Reader
	n    int64
	read int64
	fn   func()
}

func (a *afterBytes) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	before := a.read
	a.read += int64(n)
	if before < a.n && a.read >= a.n {
		a.fn()
	}
	return n, err
}

// checkDiskPlacement checks that a manifest's disk names the VM's disk device: its key, label,
// controller kind, bus and unit, capacity and descriptor, as vCenter lists the VM's devices.
func checkDiskPlacement(t *testing.T, e *env, vmName string, d repo.Disk) {
	t.Helper()
	ctx := context.Background()
	gc, err := e.sim.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = gc.Logout(ctx) }()
	vm := object.NewVirtualMachine(gc.Client, types.ManagedObjectReference{Type: "VirtualMachine", Value: e.vms[vmName]})
	devices, err := vm.Device(ctx)
	if err != nil {
		t.Fatal(err)
	}
	disks := devices.SelectByType((*types.VirtualDisk)(nil))
	if len(disks) != 1 {
		t.Fatalf("%s has %d disks, want 1", vmName, len(disks))
	}
	disk := disks[0].(*types.VirtualDisk)
	ctl, ok := devices.FindByKey(disk.ControllerKey).(types.BaseVirtualController)
	if !ok {
		t.Fatalf("%s's disk has no controller", vmName)
	}
	kind := map[string]string{"lsilogic": "lsilogic", "lsilogic-sas": "lsilogic-sas", "pvscsi": "pvscsi", "buslogic": "buslogic",
		"nvme": "nvme", "ahci": "sata", "ide": "ide"}[devices.Type(ctl.(types.BaseVirtualDevice))]
	source := disk.Backing.(types.BaseVirtualDeviceFileBackingInfo).GetVirtualDeviceFileBackingInfo().FileName
	if d.Key != disk.Key || d.Label != disk.DeviceInfo.GetDescription().Label || d.Controller != kind || kind == "" ||
		d.Bus == nil || *d.Bus != ctl.GetVirtualController().BusNumber || d.Unit == nil || *d.Unit != *disk.UnitNumber ||
		d.CapacityBytes != disk.CapacityInBytes || d.Source != source {
		t.Fatalf("manifest disk %+v (bus %v, unit %v); the VM's disk: key %d, label %q, controller %s bus %d unit %d, %d bytes, %s",
			d, d.Bus, d.Unit, disk.Key, disk.DeviceInfo.GetDescription().Label, kind, ctl.GetVirtualController().BusNumber,
			*disk.UnitNumber, disk.CapacityInBytes, source)
	}
}

// guestID is the VM's config.guestId, read with govmomi.
func guestID(t *testing.T, e *env, vmName string) string {
	t.Helper()
	ctx := context.Background()
	gc, err := e.sim.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = gc.Logout(ctx) }()
	var o mo.VirtualMachine
	ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: e.vms[vmName]}
	if err := object.NewVirtualMachine(gc.Client, ref).Properties(ctx, ref, []string{"config.guestId"}, &o); err != nil || o.Config == nil {
		t.Fatalf("reading %s's guest ID: %v", vmName, err)
	}
	return o.Config.GuestId
}

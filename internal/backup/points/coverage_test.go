package points

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/job"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/repo"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// A VM's newest point is fresh up to exactly its schedule's longest gap plus the grace, and stale
// a millisecond later; a VM two enabled jobs protect is judged by the job that allows the least.
func TestCoverageStaleBoundary(t *testing.T) {
	ctx := context.Background()
	sim, err := simulator.Start(ctx, simulator.Options{BigDiskSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	c, err := vsphere.Connect(ctx, vsphere.Config{Server: sim.URL.Host, User: sim.User, Password: sim.Password, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	web, err := c.FindVM(ctx, simulator.WorkloadFolder+"/web01")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "repo")
	put := func(name, cron string) {
		t.Helper()
		if err := job.PutJob(ctx, c, &job.Job{Name: name, Enabled: true, Schedule: job.Schedule{Cron: cron},
			Retention: job.Retention{KeepLast: 1}, Repository: "file://" + dir, Consistency: job.Crash,
			Selection: &vsphere.Selection{Include: vsphere.Criteria{IDs: []string{web.ID}}}}); err != nil {
			t.Fatal(err)
		}
	}
	put("daily", "0 2 * * *")
	taken := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
	loc, err := repo.ParseURL("file://" + dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w, err := r.BeginPoint(ctx, "daily", "web01", taken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, repo.Manifest{VM: &repo.VMInfo{ID: web.ID, Name: "web01"}}); err != nil {
		t.Fatal(err)
	}
	scope := vsphere.Selection{Include: vsphere.Criteria{IDs: []string{web.ID}}}
	stale := func(now time.Time) string {
		t.Helper()
		cov, err := CoverageOf(ctx, c, scope, now, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if cov.VMs != 1 || len(cov.Unprotected) != 0 || len(cov.Unverified) != 1 {
			t.Fatalf("coverage %+v", cov)
		}
		var out []string
		for _, v := range cov.Stale {
			out = append(out, v.Name+"@"+v.Allowed.String())
		}
		return strings.Join(out, ",")
	}
	limit := taken.Add(25 * time.Hour) // the daily gap and the hour's grace
	if got := stale(limit); got != "" {
		t.Fatalf("at exactly the allowed age: stale %q, want fresh", got)
	}
	if got := stale(limit.Add(time.Millisecond)); got != "web01@25h0m0s" {
		t.Fatalf("a millisecond past the allowed age: stale %q, want web01@25h0m0s", got)
	}
	// A second, hourly job over web01 with no point of its own: the VM's newest point is still
	// the daily one, now judged against the hourly schedule's 1 h (+ grace).
	put("hourly", "0 * * * *")
	if got := stale(taken.Add(2*time.Hour + time.Millisecond)); got != "web01@2h0m0s" {
		t.Fatalf("with an hourly job too: stale %q, want web01@2h0m0s", got)
	}
	if got := stale(taken.Add(2 * time.Hour)); got != "" {
		t.Fatalf("with an hourly job, at 2 h: stale %q, want fresh", got)
	}
	// A job whose repository cannot be read is reported, and its VMs still count as protected
	// by it (with no points of it).
	if err := job.PutJob(ctx, c, &job.Job{Name: "lost", Enabled: true, Schedule: job.Schedule{Cron: "0 2 * * *"},
		Retention: job.Retention{KeepLast: 1}, Repository: "file://" + filepath.Join(t.TempDir(), "unmounted", "repo"),
		Consistency: job.Crash, Selection: &scope}); err != nil {
		t.Fatal(err)
	}
	cov, err := CoverageOf(ctx, c, scope, taken.Add(time.Hour), time.Hour)
	if err != nil || len(cov.Unreadable) != 1 || !strings.Contains(cov.Unreadable[0].Error(), "job lost") ||
		len(cov.Unprotected) != 0 || len(cov.Stale) != 0 {
		t.Fatalf("with an unreadable repository: %+v, %v", cov, err)
	}
}

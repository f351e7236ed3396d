package backup_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/runner"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// vmgmt_protection_coverage over the workload folder, with a nightly job over erp-app01 and web01
// and a disabled job over erp-db01: erp-db01 is unprotected throughout; before any run both
// protected VMs are stale (no point) and unverified; after a run neither is stale; a point a
// restore test proved good takes web01 off the unverified list (and vmgmt_restore_points shows its
// recovery time); a newest point three days old, for a daily schedule, makes web01 stale again.
func TestAccProtectionCoverage(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	admin := acctest.NewAdmin(t, sim)
	db, app, web := admin.VM("erp-db01").Value, admin.VM("erp-app01").Value, admin.VM("web01").Value
	c := connect(t, sim)
	repoDir := t.TempDir()
	cfg := sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_backup_job" "nightly" {
  name       = "nightly"
  schedule   = { cron = "0 2 * * *" }
  retention  = { keep_last = 7 }
  repository = %[1]q
  selection {
    ids = [%[2]q, %[3]q]
  }
}

resource "vmgmt_backup_job" "off" {
  name       = "off"
  enabled    = false
  schedule   = { cron = "0 2 * * *" }
  retention  = { keep_last = 7 }
  repository = %[1]q
  selection {
    ids = [%[4]q]
  }
}

data "vmgmt_protection_coverage" "workloads" {
  scope {
    folders = [%[5]q]
  }
  depends_on = [vmgmt_backup_job.nightly, vmgmt_backup_job.off]
}

data "vmgmt_restore_points" "web" {
  job = vmgmt_backup_job.nightly.name
  vm  = "web01"
}
`, "file://"+repoDir, app, web, db, simulator.WorkloadFolder)
	const ds = "data.vmgmt_protection_coverage.workloads"
	vmIDs := func(ids ...string) knownvalue.Check {
		checks := make([]knownvalue.Check, len(ids))
		for i, id := range ids {
			checks[i] = knownvalue.ObjectPartial(map[string]knownvalue.Check{"vm_id": knownvalue.StringExact(id)})
		}
		return knownvalue.ListExact(checks)
	}
	sorted := func(a, b string) []string {
		if a < b {
			return []string{a, b}
		}
		return []string{b, a}
	}
	both := sorted(app, web)
	// webPoint is web01's newest point directory in the repository.
	webPoint := func() string {
		dirs, err := filepath.Glob(filepath.Join(repoDir, "nightly", "web01", "*"))
		if err != nil || len(dirs) != 1 {
			t.Fatalf("web01's points: %v %v", dirs, err)
		}
		return dirs[0]
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("scope_count"), knownvalue.Int64Exact(3)),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("unprotected"), vmIDs(db)),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("unprotected").AtSliceIndex(0).AtMapKey("jobs"), knownvalue.ListExact(nil)),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("stale"), vmIDs(both...)),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("stale").AtSliceIndex(0).AtMapKey("newest_point"), knownvalue.Null()),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("stale").AtSliceIndex(0).AtMapKey("allowed_minutes"), knownvalue.Int64Exact(24*60+60)),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("stale").AtSliceIndex(0).AtMapKey("jobs"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("nightly")})),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("unverified"), vmIDs(both...)),
				},
			},
			{
				PreConfig: func() {
					if sum, err := runner.Run(context.Background(), c, runner.Options{Job: "nightly"}); err != nil || sum.Failed() {
						t.Fatalf("backup run: %v %+v", err, sum)
					}
				},
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("unprotected_count"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("stale_count"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("unverified"), vmIDs(both...)),
				},
			},
			{
				// A restore test proved web01's point good (what `backup verify` records).
				PreConfig: func() { markVerified(t, filepath.Join(webPoint(), "manifest.json"), 3.5) },
				Config:    cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("unverified"), vmIDs(app)),
					statecheck.ExpectKnownValue("data.vmgmt_restore_points.web", tfjsonpath.New("restore_points").AtSliceIndex(0).AtMapKey("verified"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("data.vmgmt_restore_points.web", tfjsonpath.New("restore_points").AtSliceIndex(0).AtMapKey("recovery_seconds"), knownvalue.Float64Exact(3.5)),
				},
			},
			{
				// web01's only point is three days old: older than a daily schedule allows.
				PreConfig: func() {
					dir := webPoint()
					old := filepath.Join(filepath.Dir(dir), time.Now().UTC().Add(-72*time.Hour).Format("20060102T150405.000Z")+"-abcdef")
					if err := os.Rename(dir, old); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("stale"), vmIDs(web)),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("stale").AtSliceIndex(0).AtMapKey("newest_point"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("unverified"), vmIDs(app)),
				},
			},
		},
	})
}

// markVerified records a passed restore test in a point's manifest, as the restore commands do.
func markVerified(t *testing.T, manifest string, seconds float64) {
	t.Helper()
	raw, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["verified"] = map[string]any{"at": time.Now().UTC().Format(time.RFC3339), "ok": true, "recovery_seconds": seconds}
	raw, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifest, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// With the backup pack on, a coverage read whose scope holds a tier-1 VM no enabled job protects
// fails the plan, naming it; once a job protects it, the plan passes (the VM has no point yet:
// critical_stale only warns).
func TestAccProtectionCoverage_backupPack(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	admin := acctest.NewAdmin(t, sim)
	admin.Tag("erp-db01", "tier", "tier-1")
	db := admin.VM("erp-db01").Value
	// The test's destroy of the only job of erp-db01 goes with an exemption (backup.only_protection).
	exempt := acctest.WriteFiles(t, map[string]string{"exemptions.json": fmt.Sprintf(`{"vmgmt": {"exemptions": [{
		"policy": "backup.only_protection",
		"selector": {"type": "vmgmt_backup_job", "name": "tier1"},
		"reason": "the test's cleanup",
		"expires": %q}]}}`, time.Now().AddDate(0, 1, 0).Format("2006-01-02"))})
	cfg := backupPolicy(sim, exempt) + fmt.Sprintf(`
data "vmgmt_protection_coverage" "tier1" {
  scope {
    tags = [{ category = "tier", name = "tier-1" }]
  }
%[1]s
}
`, "%[1]s")
	job := fmt.Sprintf(`
resource "vmgmt_backup_job" "tier1" {
  name       = "tier1"
  schedule   = { cron = "0 2 * * *" }
  retention  = { keep_last = 7 }
  repository = %q
  selection {
    ids = [%q]
  }
}
`, "file://"+t.TempDir(), db)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      fmt.Sprintf(cfg, ""),
				ExpectError: regexp.MustCompile(`(?s)backup\.critical_unprotected.*the business-critical VMs erp-db01 \(tags\s+tier/tier-1\) are protected\s+by no enabled backup job`),
			},
			{
				Config: fmt.Sprintf(cfg, "  depends_on = [vmgmt_backup_job.tier1]") + job,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.vmgmt_protection_coverage.tier1", tfjsonpath.New("unprotected_count"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue("data.vmgmt_protection_coverage.tier1", tfjsonpath.New("stale_count"), knownvalue.Int64Exact(1)),
				},
			},
		},
	})
}

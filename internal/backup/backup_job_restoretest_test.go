package backup_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/job"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/runner"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// A job's restore_test is stored with its definition (defaults: sample 1, UTC, no bound), runs
// when due through `backup verify --all-due`, whose measured recovery time vmgmt_restore_points
// then shows; a restore_test changed in vCenter shows as drift; a bad cron is refused at plan
// time.
func TestAccBackupJob_restoreTest(t *testing.T) {
	acctest.PreCheck(t)
	sim, _, c, db := restoreSim(t)
	withTest := func(rt string) string {
		return dbJob(sim, "file://"+t.TempDir(), db, rt) + `
data "vmgmt_restore_points" "db" {
  job        = vmgmt_backup_job.nightly.name
  vm         = "erp-db01"
  depends_on = [vmgmt_backup_job.nightly]
}
`
	}
	cfg := withTest(`  restore_test = {
    cron    = "0 6 * * 0"
    folder  = "` + simulator.WorkloadFolder + `"
    network = "VM Network"
  }`)
	const addr = "vmgmt_backup_job.nightly"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: withTest(`  restore_test = {
    cron    = "61 6 * * 0"
    folder  = "x"
    network = "y"
  }`),
				ExpectError: regexp.MustCompile(`Invalid cron expression`),
			},
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("restore_test").AtMapKey("sample"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("restore_test").AtMapKey("time_zone"), knownvalue.StringExact("UTC")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("restore_test").AtMapKey("max_recovery_minutes"), knownvalue.Int64Exact(0)),
				},
				Check: func(*terraform.State) error {
					j := storedJob(t, c)
					want := job.RestoreTest{Schedule: job.Schedule{Cron: "0 6 * * 0", TimeZone: "UTC"}, Sample: 1, Folder: simulator.WorkloadFolder, Network: "VM Network"}
					if j == nil || j.RestoreTest == nil || *j.RestoreTest != want {
						return fmt.Errorf("stored restore test %+v, want %+v", j, want)
					}
					return nil
				},
			},
			{
				// A backup, then the due restore test: the point shows verified with its recovery time.
				PreConfig: func() {
					backUp(t, c)
					sum, err := runner.Verify(context.Background(), c, runner.VerifyOptions{AllDue: true, Latest: true, BootTimeout: 30 * time.Second})
					if err != nil || len(sum.Results) != 1 || sum.Failed() {
						t.Fatalf("verify --all-due: %v %+v", err, sum.Results)
					}
				},
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.vmgmt_restore_points.db", tfjsonpath.New("restore_points").AtSliceIndex(0).AtMapKey("verified"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("data.vmgmt_restore_points.db", tfjsonpath.New("restore_points").AtSliceIndex(0).AtMapKey("recovery_seconds"), knownvalue.NotNull()),
				},
			},
			{
				// Changed in vCenter: the plan restores it.
				PreConfig: func() {
					j := storedJob(t, c)
					j.RestoreTest.Sample = 5
					if err := job.PutJob(context.Background(), c, j); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					if j := storedJob(t, c); j.RestoreTest.Sample != 1 {
						return fmt.Errorf("apply left sample %d", j.RestoreTest.Sample)
					}
					return nil
				},
			},
			{ResourceName: addr, ImportState: true, ImportStateId: "nightly", ImportStateVerify: true,
				ImportStateVerifyIgnore: []string{"last_run", "next_run", "restore_point_count"}},
		},
	})
}

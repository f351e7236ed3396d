package backup_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/runner"
)

// vmgmt_restore_points lists what the runner made: nothing before a run; after two runs, the
// job's four points (two VMs, newest first by VM), or a VM's two; an unknown job is an error
// that names the jobs there are.
func TestAccRestorePoints(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	admin := acctest.NewAdmin(t, sim)
	app, web := admin.VM("erp-app01").Value, admin.VM("web01").Value
	c := connect(t, sim)
	repoURL := "file://" + t.TempDir()
	job := jobConfig(sim, repoURL, fmt.Sprintf(`selection {
    ids = [%q, %q]
  }`, app, web), "")
	points := func(extra string) string {
		return job + `
data "vmgmt_restore_points" "job" {
  job = vmgmt_backup_job.nightly.name
}
data "vmgmt_restore_points" "web" {
  vm = "web01"
  depends_on = [vmgmt_backup_job.nightly]
}
` + extra
	}
	var ran []string
	run := func() {
		sum, err := runner.Run(context.Background(), c, runner.Options{Job: "nightly"})
		if err != nil || sum.Failed() {
			t.Fatalf("backup run: %v %+v", err, sum)
		}
		for _, v := range sum.Jobs[0].VMs {
			if v.Name == "web01" {
				ran = append(ran, v.Point)
			}
		}
	}
	const jobDS, webDS = "data.vmgmt_restore_points.job", "data.vmgmt_restore_points.web"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: points(""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(jobDS, tfjsonpath.New("point_count"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue(jobDS, tfjsonpath.New("restore_points"), knownvalue.ListExact(nil)),
				},
			},
			{
				PreConfig: func() { run(); run() },
				Config:    points(""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(jobDS, tfjsonpath.New("point_count"), knownvalue.Int64Exact(4)),
					statecheck.ExpectKnownValue(jobDS, tfjsonpath.New("restore_points").AtSliceIndex(0).AtMapKey("vm"), knownvalue.StringExact("erp-app01")),
					statecheck.ExpectKnownValue(jobDS, tfjsonpath.New("restore_points").AtSliceIndex(0).AtMapKey("vm_id"), knownvalue.StringExact(app)),
					statecheck.ExpectKnownValue(jobDS, tfjsonpath.New("restore_points").AtSliceIndex(0).AtMapKey("consistency"), knownvalue.StringExact("quiesced")),
					statecheck.ExpectKnownValue(jobDS, tfjsonpath.New("restore_points").AtSliceIndex(0).AtMapKey("disks"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(jobDS, tfjsonpath.New("restore_points").AtSliceIndex(0).AtMapKey("verified"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(jobDS, tfjsonpath.New("restore_points").AtSliceIndex(0).AtMapKey("verified_at"), knownvalue.Null()),
					statecheck.ExpectKnownValue(jobDS, tfjsonpath.New("restore_points").AtSliceIndex(0).AtMapKey("recovery_seconds"), knownvalue.Null()),
					statecheck.ExpectKnownValue(jobDS, tfjsonpath.New("restore_points").AtSliceIndex(3).AtMapKey("vm"), knownvalue.StringExact("web01")),
					statecheck.ExpectKnownValue(webDS, tfjsonpath.New("point_count"), knownvalue.Int64Exact(2)),
				},
				Check: func(s *terraform.State) error {
					// The VM's points, newest first: the second run's, then the first's.
					rs := s.RootModule().Resources[webDS]
					if rs == nil || len(ran) != 2 {
						return fmt.Errorf("no %s in state, or %d runs of web01", webDS, len(ran))
					}
					for i, want := range []string{ran[1], ran[0]} {
						if got := rs.Primary.Attributes[fmt.Sprintf("restore_points.%d.id", i)]; got != want {
							return fmt.Errorf("web01's point %d is %s, want %s (runs %v)", i, got, want, ran)
						}
					}
					if job := rs.Primary.Attributes["restore_points.0.job"]; job != "nightly" {
						return fmt.Errorf("web01's point is of job %q", job)
					}
					return nil
				},
			},
			{
				Config:      points(`data "vmgmt_restore_points" "nope" { job = "nope" }`),
				ExpectError: regexp.MustCompile(`(?s)no backup job "nope" in vCenter \(jobs: nightly\)`),
			},
		},
	})
}

package backup_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
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
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

const addr = "vmgmt_backup_job.nightly"

// connect is a vmgmt vSphere client to the test's simulator, for reading and changing what the
// provider wrote as someone outside Terraform (or the runner) would.
func connect(t *testing.T, sim *acctest.Sim) *vsphere.Client {
	t.Helper()
	ctx := context.Background()
	c, err := vsphere.Connect(ctx, vsphere.Config{Server: sim.URL.Host, User: sim.User, Password: sim.Password, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// storedJob is job nightly's record in vCenter, read fresh; nil when there is none.
func storedJob(t *testing.T, c *vsphere.Client) *job.Job {
	t.Helper()
	c.Refresh()
	jobs, err := job.ReadJobs(context.Background(), c, true)
	if err != nil {
		t.Fatal(err)
	}
	return jobs["nightly"]
}

// jobConfig is a job named nightly with this selection block (and any extra lines).
func jobConfig(sim *acctest.Sim, repoURL, selection, extra string) string {
	return sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_backup_job" "nightly" {
  name        = "nightly"
  description = "tier-1 every night"
  schedule    = { cron = "0 2 1 1 *", time_zone = "Europe/Berlin" }
  retention   = { keep_last = 7, daily = 7, weekly = 4 }
  consistency = "quiesced"
  repository  = %q
%s
  %s
}
`, repoURL, extra, selection)
}

const tier1 = `selection {
    tags = [{ category = "tier", name = "tier-1" }]
  }`

func ids(vms ...string) []knownvalue.Check {
	out := make([]knownvalue.Check, len(vms))
	for i, v := range vms {
		out[i] = knownvalue.StringExact(v)
	}
	return out
}

// The job's definition is recorded in vCenter; protected_vm_ids is the selection's VMs, and a VM
// tagged into scope shows at refresh; next_run is the schedule's next tick in its zone; the last
// run the runner records shows at refresh; a selection change shows in the plan; a definition
// changed in vCenter shows as drift and apply restores it; import; destroy removes the records
// and leaves the repository alone.
func TestAccBackupJob_lifecycle(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	admin := acctest.NewAdmin(t, sim)
	admin.Tag("erp-db01", "tier", "tier-1")
	db, web, app := admin.VM("erp-db01").Value, admin.VM("web01").Value, admin.VM("erp-app01").Value
	c := connect(t, sim)
	ctx := context.Background()
	repoDir := t.TempDir()
	point := filepath.Join(repoDir, "nightly", "erp-db01", "20260101T020000Z", "manifest.json")
	if err := os.MkdirAll(filepath.Dir(point), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(point, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	repoURL := "file://" + repoDir
	run := job.LastRun{Started: time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC), Finished: time.Date(2026, 1, 1, 1, 5, 0, 0, time.UTC),
		Status: job.RunPartial, VMs: 2, Failed: 1, Hosts: 0, Bytes: 1 << 30, RestorePoints: 3}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if j := storedJob(t, c); j != nil {
				return fmt.Errorf("destroy left the job's record: %+v", j)
			}
			runs, err := job.ReadRuns(ctx, c, true)
			if err != nil || runs["nightly"] != nil {
				return fmt.Errorf("destroy left the job's last run (%v)", err)
			}
			if _, err := os.Stat(point); err != nil {
				return fmt.Errorf("destroy touched the repository: %v", err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: jobConfig(sim, repoURL, tier1, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("protected_vm_ids"), knownvalue.SetExact(ids(db))),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("protected_host_ids"), knownvalue.Null()),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("last_run"), knownvalue.Null()),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("restore_point_count"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("enabled"), knownvalue.Bool(true)),
				},
				Check: func(s *terraform.State) error {
					// 02:00 on 1 January in Berlin (CET, +01:00): this year's if it is still ahead, else next year's.
					berlin, _ := time.LoadLocation("Europe/Berlin")
					now := time.Now().In(berlin)
					want := time.Date(now.Year(), 1, 1, 2, 0, 0, 0, berlin)
					if !want.After(now) {
						want = want.AddDate(1, 0, 0)
					}
					if got := s.RootModule().Resources[addr].Primary.Attributes["next_run"]; got != want.Format(time.RFC3339) {
						return fmt.Errorf("next_run = %q, want %q", got, want.Format(time.RFC3339))
					}
					j := storedJob(t, c)
					if j == nil {
						return fmt.Errorf("no record of job nightly in vCenter")
					}
					wantRet := job.Retention{KeepLast: 7, Daily: 7, Weekly: 4}
					if j.Schedule != (job.Schedule{Cron: "0 2 1 1 *", TimeZone: "Europe/Berlin"}) || j.Retention != wantRet ||
						j.Consistency != job.Quiesced || j.Repository != repoURL || !j.Enabled || j.Request == "" || j.Description != "tier-1 every night" ||
						j.Selection == nil || len(j.Selection.Include.Tags) != 1 || j.Hosts != nil {
						return fmt.Errorf("the record is %+v", j)
					}
					return nil
				},
			},
			{
				Config:           jobConfig(sim, repoURL, tier1, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// A VM tagged into scope behind Terraform's back: refresh shows it protected, and the plan is empty.
				PreConfig:    func() { admin.Tag("web01", "tier", "tier-1") },
				RefreshState: true,
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttr(addr, "protected_vm_ids.#", "2"),
					resource.TestCheckTypeSetElemAttr(addr, "protected_vm_ids.*", db),
					resource.TestCheckTypeSetElemAttr(addr, "protected_vm_ids.*", web),
				),
			},
			{
				// The runner records a run: refresh shows it.
				PreConfig: func() {
					if err := job.PutRun(ctx, c, "nightly", run); err != nil {
						t.Fatal(err)
					}
				},
				RefreshState: true,
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttr(addr, "last_run.started", "2026-01-01T01:00:00Z"),
					resource.TestCheckResourceAttr(addr, "last_run.finished", "2026-01-01T01:05:00Z"),
					resource.TestCheckResourceAttr(addr, "last_run.status", "partial"),
					resource.TestCheckResourceAttr(addr, "last_run.vms", "2"),
					resource.TestCheckResourceAttr(addr, "last_run.failed", "1"),
					resource.TestCheckResourceAttr(addr, "last_run.hosts", "0"),
					resource.TestCheckResourceAttr(addr, "last_run.bytes", fmt.Sprint(1<<30)),
					resource.TestCheckResourceAttr(addr, "last_run.restore_points", "3"),
					resource.TestCheckResourceAttr(addr, "restore_point_count", "3"),
				),
			},
			{
				// A selection change: the plan shows the VMs entering protection.
				Config: jobConfig(sim, repoURL, fmt.Sprintf("selection {\n    folders = [%q]\n  }", simulator.WorkloadFolder), ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("protected_vm_ids"), knownvalue.SetExact(ids(db, app, web))),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("restore_point_count"), knownvalue.Int64Exact(3)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("protected_vm_ids"), knownvalue.SetExact(ids(db, app, web))),
				},
			},
			{
				Config: jobConfig(sim, repoURL, tier1, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("protected_vm_ids"), knownvalue.SetExact(ids(db, web))),
				}},
			},
			{
				// Someone edits the stored definition: refresh shows it, and the plan is not empty.
				PreConfig: func() {
					j := storedJob(t, c)
					j.Retention.KeepLast, j.Enabled, j.Schedule.Cron = 1, false, "0 3 * * *"
					if err := job.PutJob(ctx, c, j); err != nil {
						t.Fatal(err)
					}
				},
				RefreshState:       true,
				ExpectNonEmptyPlan: true,
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttr(addr, "retention.keep_last", "1"),
					resource.TestCheckResourceAttr(addr, "schedule.cron", "0 3 * * *"),
					resource.TestCheckResourceAttr(addr, "enabled", "false"),
					resource.TestCheckNoResourceAttr(addr, "next_run"),
				),
			},
			{
				// Apply restores the configuration in vCenter.
				Config: jobConfig(sim, repoURL, tier1, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					j := storedJob(t, c)
					if j == nil || j.Retention.KeepLast != 7 || !j.Enabled || j.Schedule.Cron != "0 2 1 1 *" {
						return fmt.Errorf("apply did not restore the definition: %+v", j)
					}
					return nil
				},
			},
			{
				Config:           jobConfig(sim, repoURL, tier1, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				ResourceName:      addr,
				ImportState:       true,
				ImportStateId:     "nightly",
				ImportStateVerify: true,
			},
		},
	})
}

// A catalog VM whose item names the job (tag vmgmt-backup-job:<name>) is protected though the
// selection does not name it; a hosts block protects the cluster's hosts.
func TestAccBackupJob_catalogCompositionAndHosts(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	admin := acctest.NewAdmin(t, sim)
	admin.Tag("erp-db01", "tier", "tier-1")
	admin.CreateTag(job.CompositionCategory, "nightly")
	admin.Tag("web01", job.CompositionCategory, "nightly")
	db, web := admin.VM("erp-db01").Value, admin.VM("web01").Value
	c := connect(t, sim)
	hosts, err := c.SelectHosts(context.Background(), vsphere.HostScope{Clusters: []string{simulator.Cluster}})
	if err != nil || len(hosts) == 0 {
		t.Fatalf("the cluster's hosts: %v %v", hosts, err)
	}
	var hostIDs []string
	for _, h := range hosts {
		hostIDs = append(hostIDs, h.ID)
	}
	sort.Strings(hostIDs)
	hostsBlock := fmt.Sprintf("hosts {\n    clusters = [%q]\n  }", simulator.Cluster)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: jobConfig(sim, "file:///var/backups/vmgmt", tier1, "  "+hostsBlock),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("protected_vm_ids"), knownvalue.SetExact(ids(db, web))),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("protected_host_ids"), knownvalue.SetExact(ids(hostIDs...))),
				},
			},
			{
				// Hosts only: the catalog VM is still protected.
				Config: jobConfig(sim, "file:///var/backups/vmgmt", hostsBlock, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("protected_vm_ids"), knownvalue.SetExact(ids(web))),
				},
			},
			{ResourceName: addr, ImportState: true, ImportStateId: "nightly", ImportStateVerify: true},
		},
	})
}

// A job of the same name that another configuration made fails the plan with the import command;
// the record is left as it was.
func TestAccBackupJob_nameTaken(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	c := connect(t, sim)
	other := &job.Job{Name: "nightly", Request: "someone-else", Selection: &vsphere.Selection{Include: vsphere.Criteria{Folders: []string{"workloads"}}},
		Schedule: job.Schedule{Cron: "0 1 * * *"}, Retention: job.Retention{KeepLast: 1}, Consistency: job.Crash, Repository: "file:///other", Enabled: true}
	if err := job.PutJob(context.Background(), c, other); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      jobConfig(sim, "file:///var/backups/vmgmt", tier1, ""),
			PlanOnly:    true, // the plan fails, before any apply
			ExpectError: regexp.MustCompile(`(?s)Backup job already exists.*terraform import <address> nightly`),
		}},
	})
	if j := storedJob(t, c); j == nil || j.Repository != "file:///other" {
		t.Fatalf("the other job's record was changed: %+v", j)
	}
}

// An interrupted create of the same request (its record written, state lost) is adopted.
func TestAccBackupJob_adoptsInterruptedCreate(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	c := connect(t, sim)
	mine := &job.Job{Name: "nightly", Request: job.NewRequest("nightly", "file:///var/backups/vmgmt").Token,
		Selection: &vsphere.Selection{Include: vsphere.Criteria{Folders: []string{"workloads"}}},
		Schedule:  job.Schedule{Cron: "0 1 * * *"}, Retention: job.Retention{KeepLast: 1}, Consistency: job.Crash, Repository: "file:///var/backups/vmgmt"}
	if err := job.PutJob(context.Background(), c, mine); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: jobConfig(sim, "file:///var/backups/vmgmt", tier1, ""),
			Check: func(*terraform.State) error {
				if j := storedJob(t, c); j == nil || j.Schedule.Cron != "0 2 1 1 *" || !strings.Contains(j.Repository, "vmgmt") {
					return fmt.Errorf("the adopted record is %+v", j)
				}
				return nil
			},
		}},
	})
}

// Catalog VMs created in the same apply as a job whose name their item gives join it in that
// apply: while VMs are planned, protected_vm_ids is known after apply, resolved once the VMs
// exist; the next plan is empty.
func TestAccBackupJob_catalogVMsOfTheSameApply(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	admin := acctest.NewAdmin(t, sim)
	cfg := sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_catalog_item" "app" {
  name            = "app-server"
  version         = "1.0.0"
  template        = %q
  sizes           = { small = { cpus = 2, memory_mb = 4096, disk_gb = 40 } }
  entitled_groups = ["erp-ops"]
  allowed_folders = [%q]
  lease           = { default_days = 30, max_days = 90, grace_days = 7 }
  backup_job      = "nightly"
}

resource "vmgmt_catalog_vm" "app" {
  count        = 2
  name         = "app0${count.index}"
  catalog_item = vmgmt_catalog_item.app.name
  size         = "small"
  owner        = "jane.doe"
  job_function = "erp-ops"
}

resource "vmgmt_backup_job" "nightly" {
  name       = "nightly"
  schedule   = { cron = "0 2 * * *" }
  retention  = { keep_last = 3 }
  repository = "file:///var/backups/vmgmt"
  selection {
    ids = [%q]
  }
  depends_on = [vmgmt_catalog_vm.app]
}
`, "/"+simulator.Datacenter+"/vm/"+simulator.TemplateFolder+"/"+simulator.Templates[0], simulator.WorkloadFolder, admin.VM("web01").Value)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue(addr, tfjsonpath.New("protected_vm_ids")),
				}},
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttr(addr, "protected_vm_ids.#", "3"),
					resource.TestCheckTypeSetElemAttrPair(addr, "protected_vm_ids.*", "vmgmt_catalog_vm.app.0", "id"),
					resource.TestCheckTypeSetElemAttrPair(addr, "protected_vm_ids.*", "vmgmt_catalog_vm.app.1", "id"),
				),
			},
			{
				Config:           cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

package backup_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/job"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// backupPolicy is the provider block with the backup pack and, optionally, policy data sources.
func backupPolicy(sim *acctest.Sim, sources ...string) string {
	src := ""
	if len(sources) > 0 {
		src = fmt.Sprintf("\n    sources = [%q]", strings.Join(sources, `", "`))
	}
	return sim.ProviderConfigWith("  policy {\n    packs = [\"backup\"]" + src + "\n  }")
}

// dailyJob is a job over tier 1 that the pack's schedule and retention rules accept.
func dailyJob(name, repoURL string, enabled bool) string {
	return dailyJobOf(name, repoURL, enabled, `tags = [{ category = "tier", name = "tier-1" }]`)
}

// dailyJobOf is dailyJob with this selection.
func dailyJobOf(name, repoURL string, enabled bool, selection string) string {
	return fmt.Sprintf(`
resource "vmgmt_backup_job" %[1]q {
  name       = %[1]q
  schedule   = { cron = "0 2 * * *" }
  retention  = { keep_last = 7 }
  repository = %[2]q
  enabled    = %[3]t
  selection {
    %[4]s
  }
}
`, name, repoURL, enabled, selection)
}

// A file repository under the directory of the datastore that holds the protected VM is refused
// at plan time, naming the datastore and the VM; beside it, the job is created. (The VM is not
// tier 1, so that the test's destroy is not refused.)
func TestAccBackupJob_policyRepositoryOnDatastore(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	admin := acctest.NewAdmin(t, sim)
	c := connect(t, sim)
	ctx := context.Background()
	vms, err := c.Select(ctx, vsphere.Selection{Include: vsphere.Criteria{IDs: []string{admin.VM("erp-db01").Value}}}, []string{"datastore"})
	if err != nil || len(vms) != 1 {
		t.Fatalf("erp-db01: %v %v", vms, err)
	}
	dss, err := c.DatastoresByID(ctx, vsphere.RefIDs(vms[0].Props["datastore"]))
	if err != nil || len(dss) != 1 || dss[0].URL == "" {
		t.Fatalf("erp-db01's datastore: %+v %v", dss, err)
	}
	ds := dss[0]
	onDatastore := "file://" + strings.TrimSuffix(ds.URL, "/") + "/vmgmt-backups"
	db := fmt.Sprintf("ids = [%q]", admin.VM("erp-db01").Value)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:   backupPolicy(sim) + dailyJobOf("nightly", onDatastore, true, db),
				PlanOnly: true,
				ExpectError: regexp.MustCompile(`(?s)Policy violation: backup.repository_on_datastore.*` +
					regexp.QuoteMeta(fmt.Sprintf("datastore %q", ds.Name)) + `.*erp-db01`),
			},
			{
				Config: backupPolicy(sim) + dailyJobOf("nightly", "file://"+t.TempDir(), true, db),
				Check:  resource.TestCheckResourceAttr("vmgmt_backup_job.nightly", "protected_vm_ids.#", "1"),
			},
		},
	})
}

// Destroying the only job of a tier-1 VM is refused at plan time, and so it is while the second
// job is disabled; with a second enabled job covering the VM, the destroy goes through; the last
// job goes with an exemption.
func TestAccBackupJob_policyOnlyProtection(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	admin := acctest.NewAdmin(t, sim)
	admin.Tag("erp-db01", "tier", "tier-1")
	c := connect(t, sim)
	repoURL := "file://" + t.TempDir()
	exempt := acctest.WriteFiles(t, map[string]string{"exemptions.json": fmt.Sprintf(`{"vmgmt": {"exemptions": [{
		"policy": "backup.only_protection",
		"selector": {"type": "vmgmt_backup_job", "name": "weekly"},
		"reason": "erp-db01 is decommissioned, CHG-4711",
		"expires": %q}]}}`, time.Now().AddDate(0, 1, 0).Format("2006-01-02"))})
	refused := regexp.MustCompile(`(?s)Policy violation: backup.only_protection.*destroying backup job "(nightly|weekly)" would leave the\s+business-critical\s+VMs\s+erp-db01`)
	gone := func(name string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			c.Refresh()
			jobs, err := job.ReadJobs(context.Background(), c, true)
			if err != nil || jobs[name] != nil {
				return fmt.Errorf("job %s is still in vCenter (%v)", name, err)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: backupPolicy(sim) + dailyJob("nightly", repoURL, true)},
			{
				// The destroy plan (ModifyPlan with a null plan) goes through the gate.
				Config:      backupPolicy(sim),
				PlanOnly:    true,
				ExpectError: refused,
			},
			{Config: backupPolicy(sim) + dailyJob("nightly", repoURL, true) + dailyJob("weekly", repoURL, false)},
			{
				// A disabled second job protects nothing.
				Config:      backupPolicy(sim) + dailyJob("weekly", repoURL, false),
				PlanOnly:    true,
				ExpectError: refused,
			},
			{Config: backupPolicy(sim) + dailyJob("nightly", repoURL, true) + dailyJob("weekly", repoURL, true)},
			{Config: backupPolicy(sim) + dailyJob("weekly", repoURL, true), Check: gone("nightly")},
			{
				Config:      backupPolicy(sim),
				PlanOnly:    true,
				ExpectError: refused,
			},
			{Config: backupPolicy(sim, exempt), Check: gone("weekly")},
		},
	})
}

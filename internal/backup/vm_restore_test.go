package backup_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/repo"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/restore"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/runner"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// restoreDisk is BigDiskVM's disk size in the restore tests: small, with data in four places.
const restoreDisk = 8 << 20

// restoreSim is a simulator whose erp-db01 disk is restoreDisk bytes, its admin, a client of it,
// and erp-db01's managed object ID.
func restoreSim(t *testing.T) (*acctest.Sim, *acctest.Admin, *vsphere.Client, string) {
	t.Helper()
	sim := acctest.NewSimWith(t, simulator.Options{BigDiskSize: restoreDisk})
	admin := acctest.NewAdmin(t, sim)
	return sim, admin, connect(t, sim), admin.VM(simulator.BigDiskVM).Value
}

// dbJob is the configuration of job nightly, backing erp-db01 (db) up into repoURL, with extra in
// its block.
func dbJob(sim *acctest.Sim, repoURL, db, extra string) string {
	return jobConfig(sim, repoURL, fmt.Sprintf(`selection {
    ids = [%q]
  }`, db), extra)
}

// backUp runs job nightly once and returns erp-db01's new point.
func backUp(t *testing.T, c *vsphere.Client) string {
	t.Helper()
	sum, err := runner.Run(context.Background(), c, runner.Options{Job: "nightly"})
	if err != nil || sum.Failed() {
		t.Fatalf("backup run: %v %+v", err, sum)
	}
	for _, v := range sum.Jobs[0].VMs {
		if v.Name == simulator.BigDiskVM {
			return v.Point
		}
	}
	t.Fatalf("the run did not back up %s: %+v", simulator.BigDiskVM, sum.Jobs[0].VMs)
	return ""
}

// vmgmt_vm_restore through the real CLI: the plan refuses an untested point without latest;
// with latest the VM is made from the newest point (its disk's bytes, stamps, powered on) and
// reports the bytes and a measured recovery time; import by ID; a VM powered off behind
// Terraform's back is powered on again; a newer backup does not replace the VM; a name taken is
// refused at plan time; destroy removes the VM and keeps the point.
func TestAccVMRestore(t *testing.T) {
	acctest.PreCheck(t)
	sim, admin, c, db := restoreSim(t)
	admin.Tag(simulator.BigDiskVM, "tier", "tier-1")
	repoURL := "file://" + t.TempDir()
	tagsOf := func(id string) []string {
		tags, err := c.AttachedTags(context.Background(), []string{id})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tag := range tags[id] {
			out = append(out, tag.String())
		}
		return out
	}
	job := dbJob(sim, repoURL, db, "")
	restoreCfg := func(extra string) string {
		return job + `
resource "vmgmt_vm_restore" "db" {
  job  = vmgmt_backup_job.nightly.name
  vm   = "erp-db01"
  name = "erp-db01-copy"
  ` + extra + `
}
`
	}
	var point, id string
	const res = "vmgmt_vm_restore.db"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			c.Refresh()
			if _, err := c.GetVM(context.Background(), id); !vsphere.IsNotFound(err) {
				return fmt.Errorf("restored VM %s still there after destroy: %v", id, err)
			}
			loc, _ := repo.ParseURL(repoURL)
			r, err := repo.Open(context.Background(), loc)
			if err != nil {
				return err
			}
			defer r.Close()
			points, err := r.Points(context.Background(), "nightly", simulator.BigDiskVM)
			if err != nil || len(points) != 2 {
				return fmt.Errorf("after destroy erp-db01 has %d points (%v), want both kept", len(points), err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{Config: job},
			{
				PreConfig:   func() { point = backUp(t, c) },
				Config:      restoreCfg(""),
				ExpectError: regexp.MustCompile(`(?s)has passed a restore test.*latest`),
			},
			{
				Config: restoreCfg("latest = true"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("source_vm"), knownvalue.StringExact(simulator.BigDiskVM)),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("bytes"), knownvalue.Int64Exact(restoreDisk)),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("point_verified"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("power_on"), knownvalue.Bool(true)),
				},
				Check: func(s *terraform.State) error {
					a := s.RootModule().Resources[res].Primary.Attributes
					id = a["id"]
					if a["restored_point"] != point {
						return fmt.Errorf("restored_point %s, want the run's %s", a["restored_point"], point)
					}
					if secs, err := strconv.ParseFloat(a["recovery_seconds"], 64); err != nil || secs <= 0 {
						return fmt.Errorf("recovery_seconds %q, want a positive measurement", a["recovery_seconds"])
					}
					c.Refresh()
					vm, err := c.GetVM(context.Background(), id)
					if err != nil {
						return err
					}
					if vm.Name != "erp-db01-copy" || vm.PowerState != vsphere.PoweredOn || vm.ExtraConfig["vmgmt.restore.point"] != "nightly/erp-db01/"+point {
						return fmt.Errorf("restored VM %+v", vm)
					}
					if tags := tagsOf(id); fmt.Sprint(tags) != "[tier/tier-1]" {
						return fmt.Errorf("restored VM's tags %v, want erp-db01's [tier/tier-1]", tags)
					}
					return nil
				},
			},
			{
				ResourceName:            res,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"vm", "latest", "point", "bytes", "recovery_seconds", "point_time", "point_verified"},
			},
			{
				// Powered off behind Terraform's back: the plan powers it on again, in place.
				PreConfig: func() {
					if err := c.SetPower(context.Background(), id, false); err != nil {
						t.Fatal(err)
					}
				},
				Config: restoreCfg("latest = true"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("power_on"), knownvalue.Bool(true)),
				},
			},
			{
				// A newer backup: the VM stays the one made from its point.
				PreConfig: func() { backUp(t, c) },
				Config:    restoreCfg("latest = true"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
			},
			{
				// A copy beside the original: without the point's tags.
				Config: restoreCfg("latest = true") + `
resource "vmgmt_vm_restore" "copy" {
  job           = vmgmt_backup_job.nightly.name
  vm            = "erp-db01"
  latest        = true
  name          = "erp-db01-inspect"
  keep_identity = false
}
`,
				Check: func(s *terraform.State) error {
					copyID := s.RootModule().Resources["vmgmt_vm_restore.copy"].Primary.ID
					if tags := tagsOf(copyID); len(tags) != 0 {
						return fmt.Errorf("the keep_identity = false copy has tags %v, want none", tags)
					}
					return nil
				},
			},
			{
				Config: restoreCfg("latest = true") + fmt.Sprintf(`
resource "vmgmt_vm_restore" "clash" {
  job    = vmgmt_backup_job.nightly.name
  vm     = "erp-db01"
  latest = true
  name   = "erp-db01"
  folder = %q
}
`, simulator.WorkloadFolder),
				ExpectError: regexp.MustCompile(`(?s)with vmgmt_vm_restore\.clash.*name\s+=\s+"erp-db01".*already exists`),
			},
		},
	})
}

// A restore point whose disk no longer matches its manifest fails the apply with the point
// named corrupt, and leaves no VM.
func TestAccVMRestore_corruptPoint(t *testing.T) {
	acctest.PreCheck(t)
	sim, _, c, db := restoreSim(t)
	dir := t.TempDir()
	job := dbJob(sim, "file://"+dir, db, "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: job},
			{
				PreConfig: func() {
					p := backUp(t, c)
					file := filepath.Join(dir, "nightly", simulator.BigDiskVM, p, "disk-0.vmdk")
					f, err := os.OpenFile(file, os.O_RDWR, 0)
					if err != nil {
						t.Fatal(err)
					}
					defer f.Close()
					if _, err := f.WriteAt([]byte("corrupt"), 4096); err != nil {
						t.Fatal(err)
					}
				},
				Config: job + `
resource "vmgmt_vm_restore" "db" {
  job    = vmgmt_backup_job.nightly.name
  vm     = "erp-db01"
  latest = true
  name   = "erp-db01-copy"
}
`,
				ExpectError: regexp.MustCompile(`(?s)Restore point is corrupt.*SHA-256`),
			},
			{
				Config: job,
				Check: func(*terraform.State) error {
					c.InvalidateVMs()
					vms, err := c.VMs(context.Background())
					if err != nil {
						return err
					}
					for _, vm := range vms {
						if vm.Name == "erp-db01-copy" || vsphere.IsPendingName(vm.Name) {
							return fmt.Errorf("VM %s (%s) left by the failed restore", vm.Name, vm.ID)
						}
					}
					return nil
				},
			},
		},
	})
}

// An apply interrupted after the VM was restored (here: the same restore made by `backup
// restore`, the same point, name and folder, which is the same request) is finished by the next
// one: the VM is adopted with a warning, nothing is uploaded again, and there is one VM.
func TestAccVMRestore_adoptsInterruptedRestore(t *testing.T) {
	acctest.PreCheck(t)
	sim, _, c, db := restoreSim(t)
	job := dbJob(sim, "file://"+t.TempDir(), db, "")
	var id string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: job},
			{
				PreConfig: func() {
					backUp(t, c)
					sum, err := runner.Restore(context.Background(), c, runner.RestoreOptions{Job: "nightly", VM: simulator.BigDiskVM, Latest: true,
						Target: restore.Target{Name: "erp-db01-copy", Folder: simulator.RecoveryFolder, PowerOn: true}})
					if err != nil || sum.Failed() {
						t.Fatalf("restore: %v %+v", err, sum.Results)
					}
					id = sum.Results[0].ID
				},
				Config: job + `
resource "vmgmt_vm_restore" "db" {
  job    = vmgmt_backup_job.nightly.name
  vm     = "erp-db01"
  latest = true
  name   = "erp-db01-copy"
  folder = "` + simulator.RecoveryFolder + `"
}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vmgmt_vm_restore.db", tfjsonpath.New("bytes"), knownvalue.Int64Exact(0)),
				},
				Check: func(s *terraform.State) error {
					if got := s.RootModule().Resources["vmgmt_vm_restore.db"].Primary.ID; got != id {
						return fmt.Errorf("the resource holds %s, want the restore's VM %s adopted", got, id)
					}
					c.InvalidateVMs()
					vms, err := c.VMs(context.Background())
					if err != nil {
						return err
					}
					n := 0
					for _, vm := range vms {
						if vm.Name == "erp-db01-copy" || vsphere.IsPendingName(vm.Name) {
							n++
						}
					}
					if n != 1 {
						return fmt.Errorf("%d VMs named erp-db01-copy (or pending), want 1", n)
					}
					return nil
				},
			},
		},
	})
}

package backup_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// A restored VM is moved, not made again: a new folder moves it in place, and a VM moved out of
// its folder behind Terraform's back is moved back; a pool and datastore it is on already change
// nothing but the state. A copy forgotten by Terraform and imported again (its keep_identity =
// false read from the VM) plans an update, not a replacement, with a configuration that picks
// its point by vm and latest. A network map it is on keeps it; one onto another network makes it
// again under its name. Destroy removes it.
func TestAccVMRestore_moveAndImport(t *testing.T) {
	acctest.PreCheck(t)
	sim, _, c, db := restoreSim(t)
	job := dbJob(sim, "file://"+t.TempDir(), db, "")
	copyCfg := func(extra string) string {
		return job + `
resource "vmgmt_vm_restore" "copy" {
  job           = vmgmt_backup_job.nightly.name
  vm            = "erp-db01"
  latest        = true
  name          = "erp-db01-inspect"
  keep_identity = false
  ` + extra + `
}
`
	}
	const res = "vmgmt_vm_restore.copy"
	var id string
	vmOf := func() (*vsphere.VM, error) {
		c.Refresh()
		return c.GetVM(context.Background(), id)
	}
	inRecovery := func(*terraform.State) error {
		vm, err := vmOf()
		if err != nil {
			return err
		}
		if want := "/" + simulator.Datacenter + "/vm/" + simulator.RecoveryFolder; vm.FolderPath != want {
			return fmt.Errorf("the VM is in %s, want %s", vm.FolderPath, want)
		}
		return nil
	}
	placed := `folder    = "` + simulator.RecoveryFolder + `"`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if _, err := vmOf(); !vsphere.IsNotFound(err) {
				return fmt.Errorf("restored VM %s still there after destroy: %v", id, err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{Config: job},
			{
				PreConfig: func() { backUp(t, c) },
				Config:    copyCfg(""),
				Check: func(s *terraform.State) error {
					id = s.RootModule().Resources[res].Primary.ID
					return nil
				},
			},
			{
				Config: copyCfg(placed),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeTestCheckFunc(resource.TestCheckResourceAttrPtr(res, "id", &id), inRecovery),
			},
			{
				// Moved out behind Terraform's back: moved back.
				PreConfig: func() {
					f, err := c.ResolveFolder(context.Background(), simulator.WorkloadFolder)
					if err != nil {
						t.Fatal(err)
					}
					if err := c.MoveVM(context.Background(), id, f.Reference().Value); err != nil {
						t.Fatal(err)
					}
				},
				Config: copyCfg(placed),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeTestCheckFunc(resource.TestCheckResourceAttrPtr(res, "id", &id), inRecovery),
			},
			{
				// Where it is already: the state takes the values, nothing moves.
				Config: copyCfg(placed + "\n  pool      = \"" + simulator.ClusterPath + "\"\n  datastore = \"LocalDS_0\""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeTestCheckFunc(resource.TestCheckResourceAttrPtr(res, "id", &id), inRecovery),
			},
			{
				Config: job + `
removed {
  from = vmgmt_vm_restore.copy
  lifecycle {
    destroy = false
  }
}
`,
			},
			{
				// Imported again by path: an update (the placement the import cannot read), no replacement.
				Config: copyCfg(placed) + `
import {
  to = vmgmt_vm_restore.copy
  id = "` + simulator.RecoveryFolder + `/erp-db01-inspect"
}
`,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttrPtr(res, "id", &id),
					resource.TestCheckResourceAttr(res, "keep_identity", "false"),
					inRecovery),
			},
			{
				// A network map that names the networks the VM is on: no replacement.
				Config: copyCfg(placed + "\n  network_map = { (\"" + simulator.PortGroups[1] + "\") = \"" + simulator.PortGroups[1] + "\" }"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
				}},
				Check: resource.TestCheckResourceAttrPtr(res, "id", &id),
			},
			{
				// Onto another network: the VM is made again under the same name, the old one
				// destroyed first (its name does not clash with its replacement's plan).
				Config: copyCfg(placed + "\n  network_map = { (\"" + simulator.PortGroups[1] + "\") = \"" + simulator.IsolatedPortGroup + "\" }"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: func(s *terraform.State) error {
					old := id
					id = s.RootModule().Resources[res].Primary.ID
					if id == old {
						return fmt.Errorf("the VM %s was kept, want it made again", id)
					}
					vm, err := vmOf()
					if err != nil {
						return err
					}
					if len(vm.Networks) != 1 || vm.Networks[0] != simulator.IsolatedPortGroup {
						return fmt.Errorf("the new VM is on %v, want %s", vm.Networks, simulator.IsolatedPortGroup)
					}
					return inRecovery(s)
				},
			},
		},
	})
}

package security_test

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
)

const dbAdmins = `VSPHERE.LOCAL\db-admins`

// groupConfig is a group of the db-admins on the VMs tagged tier/tier-1, with an owned role.
func groupConfig(sim *acctest.Sim) string {
	tier, privileges := "tier-1", powerPrivs
	return sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_security_group" "db" {
  name        = "db-admins"
  description = "DB admins on the database tier"
  privileges  = [%s]
  principals = [{ name = %q, is_group = true }]
  trusted_principals = ["root", "admin"]
  members {
    tags = [{ category = "tier", name = %q }]
  }
}
`, privileges, dbAdmins, tier)
}

const powerPrivs = `"VirtualMachine.Interact.PowerOn", "VirtualMachine.Interact.PowerOff"`

func TestAccSecurityGroup_tagMembership(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	vc := sgConnect(t, sim)
	vc.Tag("erp-db01", "tier", "tier-1")
	addr := "vmgmt_security_group.db"
	dbID := vc.VM("erp-db01").Value
	appID := vc.VM("erp-app01").Value
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: groupConfig(sim),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("member_ids"), knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact(dbID)})),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("member_count"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("permission_count"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("foreign_grants"), knownvalue.ListExact(nil)),
				},
				Check: func(*terraform.State) error {
					role := vc.role("vmgmt-sg-db-admins")
					if role == nil {
						return fmt.Errorf("the owned role was not created")
					}
					p, ok := vc.permissions("erp-db01")[dbAdmins]
					if !ok || p.RoleId != role.RoleId || !p.Group {
						return fmt.Errorf("db-admins' permission on erp-db01: %+v (role %d)", p, role.RoleId)
					}
					if _, ok := vc.permissions("erp-app01")[dbAdmins]; ok {
						return fmt.Errorf("erp-app01 is not a member but got a permission")
					}
					return nil
				},
			},
			{
				Config:           groupConfig(sim),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// Out of band: erp-app01 joins the tier. The plan shows it joining with no change in HCL.
				PreConfig: func() { vc.Tag("erp-app01", "tier", "tier-1") },
				Config:    groupConfig(sim),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("member_count"), knownvalue.Int64Exact(2)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("member_ids"), knownvalue.SetExact([]knownvalue.Check{
						knownvalue.StringExact(dbID), knownvalue.StringExact(appID)})),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("permission_count"), knownvalue.Int64Exact(2)),
				},
				Check: func(*terraform.State) error {
					if _, ok := vc.permissions("erp-app01")[dbAdmins]; !ok {
						return fmt.Errorf("erp-app01 joined but got no permission")
					}
					return nil
				},
			},
			{
				// Out of band: erp-db01 leaves the tier: apply revokes exactly its permission.
				PreConfig: func() { vc.Untag("erp-db01", "tier", "tier-1") },
				Config:    groupConfig(sim),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("member_count"), knownvalue.Int64Exact(1)),
				}},
				Check: func(*terraform.State) error {
					if _, ok := vc.permissions("erp-db01")[dbAdmins]; ok {
						return fmt.Errorf("erp-db01 left but keeps the group's permission")
					}
					if _, ok := vc.permissions("erp-app01")[dbAdmins]; !ok {
						return fmt.Errorf("erp-app01 lost its permission")
					}
					return nil
				},
			},
			{
				ResourceName:      addr,
				ImportState:       true,
				ImportStateId:     "db-admins",
				ImportStateVerify: true,
			},
		},
		CheckDestroy: func(*terraform.State) error {
			if _, ok := vc.permissions("erp-app01")[dbAdmins]; ok {
				return fmt.Errorf("destroy left the group's permission on erp-app01")
			}
			if vc.role("vmgmt-sg-db-admins") != nil {
				return fmt.Errorf("destroy left the owned role")
			}
			return nil
		},
	})
}

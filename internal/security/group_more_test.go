package security_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/security"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

const (
	alice   = `VSPHERE.LOCAL\alice`
	mallory = `VSPHERE.LOCAL\mallory`
	sgAddr  = "vmgmt_security_group.g"
)

// sgConfig is the provider block (with extra provider arguments) and one group with body.
func sgConfig(sim *acctest.Sim, providerExtra, body string) string {
	return sim.ProviderConfigWith(providerExtra) + fmt.Sprintf(`
resource "vmgmt_security_group" "g" {
%s
}
`, body)
}

// tier1DBAdmins is the body of group db-admins: the db-admins group on the VMs tagged
// tier/tier-1, with an owned role of privileges (HCL list elements) and extra attributes.
func tier1DBAdmins(privileges, extra string) string {
	return fmt.Sprintf(`
  name       = "db-admins"
  privileges = [%s]
  principals = [{ name = %q, is_group = true }]
  trusted_principals = ["root", "admin"]
  members {
    tags = [{ category = "tier", name = "tier-1" }]
  }
%s`, privileges, dbAdmins, extra)
}

const powerResetPrivs = `"VirtualMachine.Interact.PowerOn", "VirtualMachine.Interact.Reset"`

// checkPermission fails unless principal's permission defined on the VM has the role (nil: no
// permission at all).
func (v *sgVC) checkPermission(vmName, principal string, role *types.AuthorizationRole) error {
	p, ok := v.permissions(vmName)[principal]
	switch {
	case role == nil && ok:
		return fmt.Errorf("%s holds role %d on %s, want no permission", principal, p.RoleId, vmName)
	case role == nil:
		return nil
	case !ok:
		return fmt.Errorf("%s holds no permission on %s, want role %s", principal, vmName, role.Name)
	case p.RoleId != role.RoleId:
		return fmt.Errorf("%s holds role %d on %s, want %s (%d)", principal, p.RoleId, vmName, role.Name, role.RoleId)
	}
	return nil
}

func all(checks ...func() error) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for _, c := range checks {
			if err := c(); err != nil {
				return err
			}
		}
		return nil
	}
}

// Permissions someone else set on the members survive create, update and destroy: alice's on
// erp-db01, and db-admins' own on erp-app01 (which the group leaves alone, warns of and does
// not count).
func TestAccSecurityGroup_nonAuthoritative(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	vc := sgConnect(t, sim)
	vc.Tag("erp-db01", "tier", "tier-1")
	vc.Tag("erp-app01", "tier", "tier-1")
	vc.grantForeign("erp-db01", alice, false, "ReadOnly")
	vc.grantForeign("erp-app01", dbAdmins, true, "ReadOnly")
	readOnly := vc.role("ReadOnly")
	var w planWarnings
	foreignSurvives := func() error {
		if err := vc.checkPermission("erp-db01", alice, readOnly); err != nil {
			return err
		}
		return vc.checkPermission("erp-app01", dbAdmins, readOnly)
	}
	ownedOnDB := func() error { return vc.checkPermission("erp-db01", dbAdmins, vc.role("vmgmt-sg-db-admins")) }
	counts := []statecheck.StateCheck{
		statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("member_count"), knownvalue.Int64Exact(2)),
		statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("permission_count"), knownvalue.Int64Exact(1)),
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: w.factories(),
		Steps: []resource.TestStep{
			{
				Config: sgConfig(sim, "", tier1DBAdmins(powerPrivs, "")),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue(sgAddr, tfjsonpath.New("permission_count"), knownvalue.Int64Exact(1)),
				}},
				ConfigStateChecks: counts,
				Check: all(foreignSurvives, ownedOnDB, func() error {
					return w.expect(`(?s)Permissions set by someone else are left as they are.*db-admins already holds ReadOnly on erp-app01`)
				}),
			},
			{
				Config:            sgConfig(sim, "", tier1DBAdmins(powerResetPrivs, "")),
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(sgAddr, plancheck.ResourceActionUpdate)}},
				ConfigStateChecks: counts,
				Check:             all(foreignSurvives, ownedOnDB),
			},
		},
		CheckDestroy: all(foreignSurvives, func() error {
			if vc.role("vmgmt-sg-db-admins") != nil {
				return fmt.Errorf("destroy left the owned role")
			}
			return nil
		}),
	})
}

// A privilege change updates the owned role in place (same role, an update not a replace); a
// privilege added to the role outside Terraform shows as drift, and apply takes it out again.
func TestAccSecurityGroup_privilegeChangeInPlace(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	vc := sgConnect(t, sim)
	vc.Tag("erp-db01", "tier", "tier-1")
	var roleID int64
	rolePrivileges := func(want ...string) func() error {
		return func() error {
			r := vc.role("vmgmt-sg-db-admins")
			if r == nil {
				return fmt.Errorf("no owned role")
			}
			if int64(r.RoleId) != roleID {
				return fmt.Errorf("the owned role is %d, want %d (the same role, updated in place)", r.RoleId, roleID)
			}
			have := map[string]bool{}
			for _, p := range r.Privilege {
				have[p] = true
			}
			for _, p := range want {
				if !have[p] {
					return fmt.Errorf("the owned role's privileges %v lack %s", r.Privilege, p)
				}
			}
			for _, p := range []string{"VirtualMachine.Interact.PowerOff", "VirtualMachine.Interact.ConsoleInteract"} {
				if have[p] && !contains(want, p) {
					return fmt.Errorf("the owned role's privileges %v still hold %s", r.Privilege, p)
				}
			}
			return nil
		}
	}
	sameRoleID := statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("role_id"), knownvalue.Int64Func(func(v int64) error {
		if v != roleID {
			return fmt.Errorf("role_id %d, want %d", v, roleID)
		}
		return nil
	}))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: sgConfig(sim, "", tier1DBAdmins(powerPrivs, "")),
				Check: func(s *terraform.State) error {
					r := vc.role("vmgmt-sg-db-admins")
					if r == nil {
						return fmt.Errorf("no owned role")
					}
					roleID = int64(r.RoleId)
					return rolePrivileges("VirtualMachine.Interact.PowerOn", "VirtualMachine.Interact.PowerOff")()
				},
			},
			{
				// PowerOff out, Reset in.
				Config: sgConfig(sim, "", tier1DBAdmins(powerResetPrivs, "")),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(sgAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{sameRoleID},
				Check:             all(rolePrivileges("VirtualMachine.Interact.PowerOn", "VirtualMachine.Interact.Reset")),
			},
			{
				// Someone adds a privilege to the group's role in the vSphere Client.
				PreConfig: func() {
					vc.updateRole("vmgmt-sg-db-admins", "VirtualMachine.Interact.PowerOn", "VirtualMachine.Interact.Reset",
						"VirtualMachine.Interact.ConsoleInteract")
				},
				Config: sgConfig(sim, "", tier1DBAdmins(powerResetPrivs, "")),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(sgAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{sameRoleID},
				Check:             all(rolePrivileges("VirtualMachine.Interact.PowerOn", "VirtualMachine.Interact.Reset")),
			},
		},
	})
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// An existing role by name: the principals get it, and destroy leaves the role.
func TestAccSecurityGroup_existingRole(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	vc := sgConnect(t, sim)
	vc.Tag("erp-db01", "tier", "tier-1")
	readOnly := vc.role("ReadOnly")
	auditors := `VSPHERE.LOCAL\auditors`
	body := fmt.Sprintf(`
  name       = "auditors"
  role       = "ReadOnly"
  principals = [{ name = %q, is_group = true, propagate = false }]
  members {
    tags = [{ category = "tier", name = "tier-1" }]
  }`, auditors)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: sgConfig(sim, "", body),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("role_id"), knownvalue.Int64Exact(int64(readOnly.RoleId))),
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("permission_count"), knownvalue.Int64Exact(1)),
				},
				Check: all(func() error {
					if err := vc.checkPermission("erp-db01", auditors, readOnly); err != nil {
						return err
					}
					if p := vc.permissions("erp-db01")[auditors]; p.Propagate {
						return fmt.Errorf("propagate = false, but the permission propagates")
					}
					if vc.role("vmgmt-sg-auditors") != nil {
						return fmt.Errorf("a group with an existing role made a role of its own")
					}
					return nil
				}),
			},
			{ResourceName: sgAddr, ImportState: true, ImportStateId: "auditors", ImportStateVerify: true},
		},
		CheckDestroy: all(func() error {
			if vc.role("ReadOnly") == nil {
				return fmt.Errorf("destroy deleted the existing role ReadOnly")
			}
			return vc.checkPermission("erp-db01", auditors, nil)
		}),
	})
}

// The network policy is applied to the members' port group, a change made outside Terraform
// shows as drift and is put right, a listed port group shared with another VM counts it, and a
// port group the group leaves (or destroy) gets back the policy it had before.
func TestAccSecurityGroup_networkPolicy(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	vc := sgConnect(t, sim)
	vc.Tag("erp-db01", "tier", "tier-1")
	// What was there before the group: everything allowed on pg-db, two flags on pg-app.
	dbBefore := secFlags{bp(true), bp(true), bp(true)}
	appBefore := secFlags{promiscuous: bp(true), forged: bp(true)}
	vc.setPortGroupSecurity("pg-db", dbBefore)
	vc.setPortGroupSecurity("pg-app", appBefore)
	pgDB, pgApp := vc.portGroup("pg-db").Self.Value, vc.portGroup("pg-app").Self.Value
	// pg-app carries erp-app01 and the templates, none of them members.
	onApp := int64(vc.vmsOn(pgApp))
	if onApp < 2 {
		t.Fatalf("pg-app carries %d VMs, want erp-app01 and the templates", onApp)
	}
	var w planWarnings
	policy := `
  network_policy {
    allow_promiscuous      = false
    allow_forged_transmits = false
    %s
  }`
	onMembers := fmt.Sprintf(policy, "")
	listed := fmt.Sprintf(policy, `port_groups = ["pg-app"]`)
	flags := func(name string, want secFlags) func() error {
		return func() error {
			if got := vc.portGroupSecurity(name); got.String() != want.String() {
				return fmt.Errorf("port group %s: %s, want %s", name, got, want)
			}
			return nil
		}
	}
	locked := secFlags{bp(false), bp(true), bp(false)}
	lockedApp := secFlags{promiscuous: bp(false), forged: bp(false)}
	pgCheck := func(id, name string, mac knownvalue.Check, others int64) statecheck.StateCheck {
		return statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("port_groups"), knownvalue.ListExact([]knownvalue.Check{
			knownvalue.ObjectExact(map[string]knownvalue.Check{
				"id": knownvalue.StringExact(id), "name": knownvalue.StringExact(name),
				"allow_promiscuous": knownvalue.Bool(false), "allow_forged_transmits": knownvalue.Bool(false),
				"allow_mac_changes": mac, "other_vm_count": knownvalue.Int64Exact(others),
			}),
		}))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: w.factories(),
		Steps: []resource.TestStep{
			{
				Config:            sgConfig(sim, "", tier1DBAdmins(powerPrivs, onMembers)),
				ConfigStateChecks: []statecheck.StateCheck{pgCheck(pgDB, "pg-db", knownvalue.Bool(true), 0)},
				Check:             all(flags("pg-db", locked), flags("pg-app", appBefore)),
			},
			{
				// Someone allows promiscuous mode again on pg-db.
				PreConfig: func() { vc.setPortGroupSecurity("pg-db", secFlags{promiscuous: bp(true)}) },
				Config:    sgConfig(sim, "", tier1DBAdmins(powerPrivs, onMembers)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(sgAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{pgCheck(pgDB, "pg-db", knownvalue.Bool(true), 0)},
				Check:             all(flags("pg-db", locked)),
			},
			{
				// pg-app instead, which carries erp-app01, not a member: pg-db gets back what it had.
				PreConfig:         w.reset,
				Config:            sgConfig(sim, "", tier1DBAdmins(powerPrivs, listed)),
				ConfigStateChecks: []statecheck.StateCheck{pgCheck(pgApp, "pg-app", knownvalue.Null(), onApp)},
				Check: all(flags("pg-app", lockedApp), flags("pg-db", dbBefore), func() error {
					return w.expect(`Port group shared with VMs outside the group: Port group pg-app \(` + pgApp + `\) carries 0 member\(s\) of group db-admins and ` + fmt.Sprint(onApp) + ` other VM\(s\)`)
				}),
			},
		},
		CheckDestroy: all(flags("pg-app", appBefore), flags("pg-db", dbBefore)),
	})
}

// Permissions on members beyond the group's role that the group did not grant are listed in
// foreign_grants, defined on the VM itself or inherited from a folder; trusted principals are not.
func TestAccSecurityGroup_foreignGrants(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	vc := sgConnect(t, sim)
	vc.Tag("erp-db01", "tier", "tier-1")
	dbID := vc.VM("erp-db01").Value
	workloads := vc.folder("workloads")
	vc.grantForeign("erp-db01", mallory, false, "Admin")
	var w planWarnings
	members := knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(dbID)})
	grant := func(definedOn, definedOnName string) knownvalue.Check {
		return knownvalue.ObjectPartial(map[string]knownvalue.Check{
			"vm_ids":    members,
			"principal": knownvalue.StringExact(mallory), "is_group": knownvalue.Bool(false),
			"role": knownvalue.StringExact("Admin"), "defined_on": knownvalue.StringExact(definedOn),
			"defined_on_name": knownvalue.StringExact(definedOnName),
		})
	}
	rootGrant := func(principal string, group bool) knownvalue.Check {
		return knownvalue.ObjectPartial(map[string]knownvalue.Check{
			"vm_ids": members, "principal": knownvalue.StringExact(principal), "is_group": knownvalue.Bool(group),
			"role": knownvalue.StringExact("Admin"), "defined_on": knownvalue.StringExact(vc.c.ServiceContent.RootFolder.Value),
		})
	}
	untrusted := fmt.Sprintf(`
  name       = "db-admins"
  privileges = [%s]
  principals = [{ name = %q, is_group = true }]
  members {
    tags = [{ category = "tier", name = "tier-1" }]
  }`, powerPrivs, dbAdmins)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: w.factories(),
		Steps: []resource.TestStep{
			{
				Config: sgConfig(sim, "", tier1DBAdmins(powerPrivs, "")),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("foreign_grants"), knownvalue.ListExact([]knownvalue.Check{grant(dbID, "erp-db01")})),
				},
				Check: all(func() error {
					return w.expect(`(?s)1 new foreign grant\(s\) on members of db-admins.*VSPHERE.LOCAL\\mallory holds role Admin, defined on erp-db01 \(vm-\d+\), on erp-db01`)
				}),
			},
			{
				// Mallory's Admin moves to the folder the VM is in: inherited, from the folder.
				PreConfig: func() {
					vc.revokeForeign("erp-db01", mallory, false)
					vc.grantForeignOn(workloads, mallory, false, "Admin")
				},
				Config: sgConfig(sim, "", tier1DBAdmins(powerPrivs, "")),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("foreign_grants"), knownvalue.ListExact([]knownvalue.Check{grant(workloads.Value, "workloads")})),
				},
			},
			{
				// Without trusted_principals, vCenter's own administrators (vcsim: admin, and root as a user
				// and as a group, Admin on the root folder) count too; the warning names only the new ones.
				PreConfig: w.reset,
				Config:    sgConfig(sim, "", untrusted),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("foreign_grants"), knownvalue.ListExact([]knownvalue.Check{
						rootGrant("root", true), rootGrant("admin", false), rootGrant("root", false), grant(workloads.Value, "workloads"),
					})),
				},
				Check: all(func() error {
					return w.expect(`^3 new foreign grant\(s\) on members of db-admins`)
				}),
			},
		},
	})
}

// A VM tagged vmgmt-security-group:<name> (a catalog VM whose item names the group) is a member
// without the selection naming it, and leaves when the tag goes.
func TestAccSecurityGroup_catalogComposition(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	vc := sgConnect(t, sim)
	vc.Tag("erp-db01", "tier", "tier-1")
	vc.CreateTag(security.CompositionCategory, "db-admins")
	vc.CreateTag(security.CompositionCategory, "someone-else")
	vc.Tag("web01", security.CompositionCategory, "db-admins")
	vc.Tag("erp-app01", security.CompositionCategory, "someone-else")
	dbID, webID := vc.VM("erp-db01").Value, vc.VM("web01").Value
	owned := func() *types.AuthorizationRole { return vc.role("vmgmt-sg-db-admins") }
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: sgConfig(sim, "", tier1DBAdmins(powerPrivs, "")),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("member_ids"), knownvalue.SetExact([]knownvalue.Check{
						knownvalue.StringExact(dbID), knownvalue.StringExact(webID)})),
				},
				Check: all(
					func() error { return vc.checkPermission("web01", dbAdmins, owned()) },
					func() error { return vc.checkPermission("erp-app01", dbAdmins, nil) },
				),
			},
			{
				PreConfig: func() { vc.Untag("web01", security.CompositionCategory, "db-admins") },
				Config:    sgConfig(sim, "", tier1DBAdmins(powerPrivs, "")),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue(sgAddr, tfjsonpath.New("member_count"), knownvalue.Int64Exact(1)),
				}},
				Check: all(func() error { return vc.checkPermission("web01", dbAdmins, nil) }),
			},
		},
	})
}

// The security pack's privilege ceiling fails the plan of a group that grants Global.Settings;
// one within the ceiling passes.
func TestAccSecurityGroup_policyCeiling(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	vc := sgConnect(t, sim)
	vc.Tag("erp-db01", "tier", "tier-1")
	pack := "  policy {\n    packs = [\"security\"]\n  }"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      sgConfig(sim, pack, tier1DBAdmins(`"VirtualMachine.Interact.PowerOn", "Global.Settings"`, "")),
				ExpectError: regexp.MustCompile(`(?s)Error running pre-apply plan.*security\.ceiling.*Global\.Settings`),
			},
			{
				Config: sgConfig(sim, pack, tier1DBAdmins(powerPrivs, "")),
				Check: all(func() error {
					if vc.role("vmgmt-sg-db-admins") == nil {
						return fmt.Errorf("the group within the ceiling was not created")
					}
					return nil
				}),
			},
		},
	})
}

// A group of the same name that another configuration made fails the plan with the import
// command; a record an interrupted create of this same configuration left (with its role still
// under the pending name) is adopted: its role is renamed, not made again.
func TestAccSecurityGroup_crashSafety(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	vc := sgConnect(t, sim)
	vc.Tag("erp-db01", "tier", "tier-1")
	ctx := context.Background()
	c, err := vsphere.Connect(ctx, vsphere.Config{Server: sim.URL.Host, User: sim.User, Password: sim.Password, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	put := func(name string, rec map[string]any) {
		if err := c.PutDatacenterRecord(ctx, "vmgmt.security-group."+name, 1, rec); err != nil {
			t.Fatal(err)
		}
	}
	// Another configuration's group "other" (other principals).
	otherToken, _ := security.RequestFor("other", []string{"VirtualMachine.Interact.PowerOn"}, `VSPHERE.LOCAL\auditors`)
	put("other", map[string]any{"name": "other", "request": otherToken, "principals": []any{}})
	otherBody := fmt.Sprintf(`
  name       = "other"
  privileges = ["VirtualMachine.Interact.PowerOn"]
  principals = [{ name = %q, is_group = true }]
  members {
    tags = [{ category = "tier", name = "tier-1" }]
  }`, dbAdmins)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      sgConfig(sim, "", otherBody),
			ExpectError: regexp.MustCompile(`(?s)Error running pre-apply plan.*Security group already exists.*terraform\s+import\s+<address>\s+other`),
		}},
	})

	// This configuration's interrupted create: the role made under its pending name and recorded.
	privs := []string{"VirtualMachine.Interact.PowerOff", "VirtualMachine.Interact.PowerOn"}
	token, pending := security.RequestFor("db-admins", privs, dbAdmins)
	pendingID, err := c.CreateRole(ctx, pending, privs)
	if err != nil {
		t.Fatal(err)
	}
	put("db-admins", map[string]any{
		"name": "db-admins", "request": token,
		"role":       map[string]any{"id": pendingID, "name": pending, "owned": true},
		"principals": []any{map[string]any{"name": dbAdmins, "is_group": true, "propagate": true}},
	})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: sgConfig(sim, "", tier1DBAdmins(powerPrivs, "")),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("role_id"), knownvalue.Int64Exact(int64(pendingID))),
			},
			Check: all(func() error {
				r := vc.role("vmgmt-sg-db-admins")
				if r == nil || r.RoleId != pendingID {
					return fmt.Errorf("the owned role is %+v, want the pending role %d renamed", r, pendingID)
				}
				if vc.role(pending) != nil {
					return fmt.Errorf("the pending role %s is left", pending)
				}
				return vc.checkPermission("erp-db01", dbAdmins, r)
			}),
		}},
	})

	// Interrupted earlier, right after the role was made under its pending name and before any
	// record: the rerun finds the role by that name and adopts it.
	opsPrivs := []string{"VirtualMachine.Interact.PowerOn"}
	_, opsPending := security.RequestFor("db-ops", opsPrivs, dbAdmins)
	opsID, err := c.CreateRole(ctx, opsPending, opsPrivs)
	if err != nil {
		t.Fatal(err)
	}
	opsBody := strings.Replace(otherBody, `name       = "other"`, `name       = "db-ops"`, 1)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: sgConfig(sim, "", opsBody),
			Check: all(func() error {
				r := vc.role("vmgmt-sg-db-ops")
				if r == nil || r.RoleId != opsID {
					return fmt.Errorf("the owned role is %+v, want the pending role %d renamed", r, opsID)
				}
				if vc.role(opsPending) != nil {
					return fmt.Errorf("the pending role %s is left", opsPending)
				}
				return nil
			}),
		}},
	})
}

// A principal of the group with a broader role inherited from a folder is not a foreign grant on
// a member: the group's own permission on the VM overrides it once granted. The plan of the create
// must already say so, or the next plan would show foreign_grants changing; and it warns that the
// principal's access on the VM narrows.
func TestAccSecurityGroup_inheritedOverriddenByOwn(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	vc := sgConnect(t, sim)
	vc.Tag("erp-db01", "tier", "tier-1")
	vc.grantForeignOn(vc.folder("workloads"), dbAdmins, true, "Admin")
	var w planWarnings
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: w.factories(),
		Steps: []resource.TestStep{
			{
				Config: sgConfig(sim, "", tier1DBAdmins(powerPrivs, "")),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue(sgAddr, tfjsonpath.New("foreign_grants"), knownvalue.ListExact(nil)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("foreign_grants"), knownvalue.ListExact(nil)),
				},
				Check: all(func() error {
					return w.expect(`(?s)The group's permission narrows an inherited role.*VSPHERE.LOCAL\\db-admins inherits Admin on erp-db01`)
				}),
			},
			{
				Config:           sgConfig(sim, "", tier1DBAdmins(powerPrivs, "")),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// Catalog VMs created in the same apply as a group that depends on them join it in that apply:
// while VMs are planned, the members are known after apply, resolved once the VMs exist; the
// next plan is empty. The catalog item names the group, so its VMs join through their tag.
func TestAccSecurityGroup_catalogVMsOfTheSameApply(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	vc := sgConnect(t, sim)
	cfg := sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_catalog_item" "app" {
  name            = "app-server"
  version         = "1.0.0"
  template        = %q
  sizes           = { small = { cpus = 2, memory_mb = 4096, disk_gb = 40 } }
  entitled_groups = ["erp-ops"]
  allowed_folders = [%q]
  lease           = { default_days = 30, max_days = 90, grace_days = 7 }
  security_group  = "app-ops"
}

resource "vmgmt_catalog_vm" "app" {
  count        = 2
  name         = "app0${count.index}"
  catalog_item = vmgmt_catalog_item.app.name
  size         = "small"
  owner        = "jane.doe"
  job_function = "erp-ops"
}

resource "vmgmt_security_group" "g" {
  name       = "app-ops"
  privileges = [%s]
  principals = [{ name = "VSPHERE.LOCAL\\app-operators", is_group = true }]
  members {
    ids = [%q]
  }
  depends_on = [vmgmt_catalog_vm.app]
}
`, "/"+simulator.Datacenter+"/vm/"+simulator.TemplateFolder+"/"+simulator.Templates[0], simulator.WorkloadFolder, powerPrivs, vc.VM("web01").Value)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue(sgAddr, tfjsonpath.New("member_ids")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("member_count"), knownvalue.Int64Exact(3)),
					statecheck.ExpectKnownValue(sgAddr, tfjsonpath.New("permission_count"), knownvalue.Int64Exact(3)),
				},
				Check: func(*terraform.State) error {
					for _, vm := range []string{"app00", "app01", "web01"} {
						if _, ok := vc.permissions(vm)[`VSPHERE.LOCAL\app-operators`]; !ok {
							return fmt.Errorf("%s got no permission from the group", vm)
						}
					}
					return nil
				},
			},
			{
				Config:           cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

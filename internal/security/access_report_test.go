package security_test

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// reportRoleName is a role the access report test creates, so that its privileges are known.
const reportRoleName = "report-dba"

// The privileges of reportRoleName: the two it is created with, and the System.* ones vCenter
// adds to every role.
var reportRolePrivileges = []string{
	"System.Anonymous", "System.Read", "System.View", "VirtualMachine.Interact.PowerOff", "VirtualMachine.Interact.PowerOn",
}

// reportFixture is the simulator's inventory as the access report test arranges it.
type reportFixture struct {
	sim              *acctest.Sim
	gc               *govmomi.Client
	am               *object.AuthorizationManager
	roleID           int32
	root, dc, folder string // managed object IDs of the root folder, dc1 and the workloads folder
	db, app, web     string // the workload VMs
	dbRef            types.ManagedObjectReference
}

// reportArrange sets, as someone other than vmgmt would:
//   - on dc1: DBAs ReadOnly and operators ReadOnly, propagating;
//   - on the workloads folder: DBAs the test role, propagating (nearer than dc1's, so it wins),
//     and an auditor ReadOnly without propagation (it reaches no VM);
//   - on erp-db01 itself: admin ReadOnly, overriding the Admin inherited from the root folder;
//
// and tags web01 tier-1. The root folder keeps vcsim's Admin permissions for root (user and
// group) and admin.
func reportArrange(t *testing.T) *reportFixture {
	t.Helper()
	ctx := context.Background()
	fx := &reportFixture{sim: acctest.NewSim(t)}
	c, err := vsphere.Connect(ctx, vsphere.Config{Server: fx.sim.URL.Host, User: fx.sim.User, Password: fx.sim.Password, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(ctx) })
	if fx.gc, err = fx.sim.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fx.gc.Logout(ctx) })
	fx.am = object.NewAuthorizationManager(fx.gc.Client)

	if _, err := c.CreateRole(ctx, reportRoleName, []string{"VirtualMachine.Interact.PowerOn", "VirtualMachine.Interact.PowerOff"}); err != nil {
		t.Fatal(err)
	}
	role, err := c.RoleByName(ctx, reportRoleName)
	if err != nil {
		t.Fatal(err)
	}
	fx.roleID = role.ID
	fx.root = fx.gc.ServiceContent.RootFolder.Value
	f := find.NewFinder(fx.gc.Client, false)
	dc, err := f.Datacenter(ctx, simulator.Datacenter)
	if err != nil {
		t.Fatal(err)
	}
	fx.dc = dc.Reference().Value
	folder, err := c.ResolveFolder(ctx, simulator.WorkloadFolder)
	if err != nil {
		t.Fatal(err)
	}
	fx.folder = folder.Reference().Value
	ids := map[string]*string{"erp-db01": &fx.db, "erp-app01": &fx.app, "web01": &fx.web}
	for name, id := range ids {
		vm, err := c.FindVM(ctx, simulator.WorkloadFolder+"/"+name)
		if err != nil {
			t.Fatal(err)
		}
		*id = vm.ID
	}
	fx.dbRef = types.ManagedObjectReference{Type: "VirtualMachine", Value: fx.db}

	readOnly := int32(-2)
	fx.set(t, types.ManagedObjectReference{Type: "Datacenter", Value: fx.dc}, []types.Permission{
		{Principal: `VSPHERE.LOCAL\dba`, Group: true, RoleId: readOnly, Propagate: true},
		{Principal: `VSPHERE.LOCAL\ops`, Group: true, RoleId: readOnly, Propagate: true},
	})
	fx.set(t, folder.Reference(), []types.Permission{
		{Principal: `VSPHERE.LOCAL\dba`, Group: true, RoleId: fx.roleID, Propagate: true},
		{Principal: `VSPHERE.LOCAL\auditor`, Group: false, RoleId: readOnly, Propagate: false},
	})
	fx.set(t, fx.dbRef, []types.Permission{{Principal: "admin", Group: false, RoleId: readOnly, Propagate: false}})
	if err := c.SetTags(ctx, fx.web, map[string]string{"tier": "tier-1"}, true); err != nil {
		t.Fatal(err)
	}
	return fx
}

func (fx *reportFixture) set(t *testing.T, ref types.ManagedObjectReference, perms []types.Permission) {
	t.Helper()
	for i := range perms {
		perms[i].Entity = &ref
	}
	if err := fx.am.SetEntityPermissions(context.Background(), ref, perms); err != nil {
		t.Fatalf("setting permissions on %s: %v", ref, err)
	}
}

// reportInherited is the check of one inherited entry of a VM's access.
func reportInherited(principal string, group bool, role string, roleID int32, privileges knownvalue.Check, on, onName string) knownvalue.Check {
	return knownvalue.ObjectExact(map[string]knownvalue.Check{
		"principal":       knownvalue.StringExact(principal),
		"is_group":        knownvalue.Bool(group),
		"role":            knownvalue.StringExact(role),
		"role_id":         knownvalue.Int64Exact(int64(roleID)),
		"privileges":      privileges,
		"defined_on":      knownvalue.StringExact(on),
		"defined_on_name": knownvalue.StringExact(onName),
		"inherited":       knownvalue.Bool(true),
		// An inherited permission propagates, or it would not reach the VM.
		"propagate": knownvalue.Bool(true),
	})
}

func reportStrings(list ...string) knownvalue.Check {
	checks := make([]knownvalue.Check, 0, len(list))
	for _, s := range list {
		checks = append(checks, knownvalue.StringExact(s))
	}
	return knownvalue.ListExact(checks)
}

func TestAccAccessReportDataSource(t *testing.T) {
	acctest.PreCheck(t)
	fx := reportArrange(t)
	cfg := fx.sim.ProviderConfig() + fmt.Sprintf(`
data "vmgmt_access_report" "db" {
  selection {
    ids = [%q]
  }
}

data "vmgmt_access_report" "workloads" {
  selection {
    folders = [%q]
  }
}

data "vmgmt_access_report" "tier1" {
  selection {
    tags = [{ category = "tier", name = "tier-1" }]
  }
}
`, fx.db, simulator.WorkloadFolder)

	// Admin's privileges are the simulator's long list: checked by their number.
	adminPrivs := knownvalue.ListSizeExact(len(reportAdminPrivileges(t, fx)))
	dba := reportInherited(`VSPHERE.LOCAL\dba`, true, reportRoleName, fx.roleID, reportStrings(reportRolePrivileges...), fx.folder, simulator.WorkloadFolder)
	ops := reportInherited(`VSPHERE.LOCAL\ops`, true, "ReadOnly", -2, reportStrings("System.Anonymous", "System.Read", "System.View"), fx.dc, simulator.Datacenter)
	rootUser := reportInherited("root", false, "Admin", -1, adminPrivs, fx.root, "Datacenters")
	rootGroup := reportInherited("root", true, "Admin", -1, adminPrivs, fx.root, "Datacenters")
	inheritedAdmin := reportInherited("admin", false, "Admin", -1, adminPrivs, fx.root, "Datacenters")
	// Sorted by principal: upper-case domains first.
	inheritedOnly := knownvalue.ListExact([]knownvalue.Check{dba, ops, inheritedAdmin, rootUser, rootGroup})
	vm := func(id, name string, access knownvalue.Check) knownvalue.Check {
		return knownvalue.ObjectExact(map[string]knownvalue.Check{
			"id": knownvalue.StringExact(id), "name": knownvalue.StringExact(name), "access": access,
		})
	}
	db, workloads, tier1 := "data.vmgmt_access_report.db", "data.vmgmt_access_report.workloads", "data.vmgmt_access_report.tier1"
	principals := reportStrings(`VSPHERE.LOCAL\dba`, `VSPHERE.LOCAL\ops`, "admin", "root")

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(db, tfjsonpath.New("vms"), knownvalue.ListExact([]knownvalue.Check{
						vm(fx.db, "erp-db01", knownvalue.ListExact([]knownvalue.Check{
							dba, ops,
							// Set on the VM by someone else: it overrides admin's Admin from the root folder.
							knownvalue.ObjectExact(map[string]knownvalue.Check{
								"principal": knownvalue.StringExact("admin"), "is_group": knownvalue.Bool(false),
								"role": knownvalue.StringExact("ReadOnly"), "role_id": knownvalue.Int64Exact(-2),
								"privileges": reportStrings("System.Anonymous", "System.Read", "System.View"),
								"defined_on": knownvalue.StringExact(fx.db), "defined_on_name": knownvalue.StringExact("erp-db01"),
								"inherited": knownvalue.Bool(false), "propagate": knownvalue.Bool(false),
							}),
							rootUser, rootGroup,
						})),
					})),
					statecheck.ExpectKnownValue(db, tfjsonpath.New("vm_count"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(db, tfjsonpath.New("principals"), principals),

					// The auditor's folder permission does not propagate: it reaches none of the VMs.
					statecheck.ExpectKnownValue(workloads, tfjsonpath.New("vm_count"), knownvalue.Int64Exact(3)),
					statecheck.ExpectKnownValue(workloads, tfjsonpath.New("principals"), principals),
					statecheck.ExpectKnownValue(workloads, tfjsonpath.New("vms"), knownvalue.ListExact(reportSortedVMs(
						map[string]knownvalue.Check{
							fx.db:  knownvalue.ObjectPartial(map[string]knownvalue.Check{"id": knownvalue.StringExact(fx.db), "access": knownvalue.ListSizeExact(5)}),
							fx.app: vm(fx.app, "erp-app01", inheritedOnly),
							fx.web: vm(fx.web, "web01", inheritedOnly),
						}))),

					statecheck.ExpectKnownValue(tier1, tfjsonpath.New("vms"), knownvalue.ListExact([]knownvalue.Check{vm(fx.web, "web01", inheritedOnly)})),
					statecheck.ExpectKnownValue(tier1, tfjsonpath.New("vm_count"), knownvalue.Int64Exact(1)),
				},
			},
			{
				// Removed behind Terraform's back, the VM's own permission gives way to the inherited one.
				PreConfig: func() {
					if err := fx.am.RemoveEntityPermission(context.Background(), fx.dbRef, "admin", false); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(db, tfjsonpath.New("vms"), knownvalue.ListExact([]knownvalue.Check{vm(fx.db, "erp-db01", inheritedOnly)})),
				},
			},
		},
	})
}

// reportAdminPrivileges reads the Admin role's privileges from the simulator.
func reportAdminPrivileges(t *testing.T, fx *reportFixture) []string {
	t.Helper()
	roles, err := fx.am.RoleList(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	admin := roles.ByName("Admin")
	if admin == nil || len(admin.Privilege) < 10 {
		t.Fatalf("the simulator's Admin role: %+v", admin)
	}
	return admin.Privilege
}

// reportSortedVMs orders checks by VM ID, as the report sorts its VMs.
func reportSortedVMs(byID map[string]knownvalue.Check) []knownvalue.Check {
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]knownvalue.Check, 0, len(ids))
	for _, id := range ids {
		out = append(out, byID[id])
	}
	return out
}

func TestAccAccessReportDataSource_badSelection(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	ds := func(sel string) string {
		return sim.ProviderConfig() + "data \"vmgmt_access_report\" \"x\" {\n  selection {\n" + sel + "\n  }\n}\n"
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      ds(`folders = ["no-such-folder"]`),
				ExpectError: regexp.MustCompile(`(?s)Selection names an object that does not exist.*with data.vmgmt_access_report.x.*selection.*folder "no-such-folder" not found`),
			},
			{
				// The data source's block has the resource block's validators.
				Config:      ds(`ids = ["web01"]`),
				ExpectError: regexp.MustCompile(`(?s)selection.ids\[0\] must be a VM's managed object ID, such as vm-42`),
			},
			{
				Config:      ds(`match = "all"`),
				ExpectError: regexp.MustCompile(`(?s)Missing selection criteria.*Attribute selection names no VM`),
			},
		},
	})
}

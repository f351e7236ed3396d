package capacity_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

func reservationConfig(sim *acctest.Sim, name string, cpuRes, memRes int64, extra string) string {
	return sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_capacity_reservation" "test" {
  name   = %q
  parent = %q
  cpu = {
    reservation = %d
    limit       = -1
    expandable  = false
    shares_level = "high"
  }
  memory = {
    reservation = %d
    %s
  }
}
`, name, simulator.ClusterPath, cpuRes, memRes, extra)
}

func TestAccCapacityReservation_basic(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	addr := "vmgmt_capacity_reservation.test"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: reservationConfig(sim, "tier-1", 8000, 16384, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("path"), knownvalue.StringExact(simulator.RootPoolPath+"/tier-1")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("cpu").AtMapKey("reservation"), knownvalue.Int64Exact(8000)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("memory").AtMapKey("limit"), knownvalue.Int64Exact(-1)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("unreserved_cpu_mhz"), knownvalue.Int64Exact(8000)),
				},
			},
			{
				Config: reservationConfig(sim, "tier-1", 8000, 16384, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				ResourceName:      addr,
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				Config: reservationConfig(sim, "tier-1-renamed", 9000, 20000, `limit = 40000
    shares_level = "custom"
    shares = 12345`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("memory").AtMapKey("shares"), knownvalue.Int64Exact(12345)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("memory").AtMapKey("limit"), knownvalue.Int64Exact(40000)),
				},
			},
		},
	})
}

func TestAccCapacityReservation_admission(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      reservationConfig(sim, "too-big", simulator.ClusterCPUMHz+1, 1024, ""),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`CPU reservation of 332801 MHz does not fit(?s:.*)leaving(?:\s+)332800(?:\s+)MHz(?:\s+)unreserved`),
			},
		},
	})
}

// govmomiPool returns a handle on a pool of the simulator, for changes behind Terraform's back.
func updatePoolBehindTerraform(t *testing.T, sim *acctest.Sim, id *string, f func(*types.ResourceConfigSpec)) {
	t.Helper()
	ctx := context.Background()
	c, err := sim.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Logout(ctx) }()
	ref := types.ManagedObjectReference{Type: "ResourcePool", Value: *id}
	var rp mo.ResourcePool
	if err := c.PropertyCollector().RetrieveOne(ctx, ref, []string{"config"}, &rp); err != nil {
		t.Fatal(err)
	}
	spec := types.ResourceConfigSpec{CpuAllocation: rp.Config.CpuAllocation, MemoryAllocation: rp.Config.MemoryAllocation}
	f(&spec)
	if err := object.NewResourcePool(c.Client, ref).UpdateConfig(ctx, "", &spec); err != nil {
		t.Fatal(err)
	}
}

func destroyPoolBehindTerraform(t *testing.T, sim *acctest.Sim, id string) {
	t.Helper()
	ctx := context.Background()
	c, err := sim.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Logout(ctx) }()
	task, err := object.NewResourcePool(c.Client, types.ManagedObjectReference{Type: "ResourcePool", Value: id}).Destroy(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func captureID(addr string, id *string) resource.TestCheckFunc {
	return resource.TestCheckResourceAttrWith(addr, "id", func(v string) error {
		*id = v
		return nil
	})
}

func TestAccCapacityReservation_drift(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	addr := "vmgmt_capacity_reservation.test"
	var id string
	cfg := reservationConfig(sim, "drifty", 4000, 8192, "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg, Check: captureID(addr, &id)},
			{
				// Someone halves the CPU reservation and makes memory expandable in the vSphere client.
				PreConfig: func() {
					updatePoolBehindTerraform(t, sim, &id, func(s *types.ResourceConfigSpec) {
						s.CpuAllocation.Reservation = types.NewInt64(2000)
						s.MemoryAllocation.ExpandableReservation = types.NewBool(false)
						s.CpuAllocation.Shares = &types.SharesInfo{Level: types.SharesLevelLow}
					})
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(addr, tfjsonpath.New("cpu").AtMapKey("reservation"), knownvalue.Int64Exact(4000)),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("cpu").AtMapKey("reservation"), knownvalue.Int64Exact(4000)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("cpu").AtMapKey("shares_level"), knownvalue.StringExact("high")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("memory").AtMapKey("expandable"), knownvalue.Bool(true)),
				},
				Check: func(*terraform.State) error {
					// The fix reached vCenter, not only the state.
					p := readPool(t, sim, id)
					if r := *p.Config.CpuAllocation.Reservation; r != 4000 {
						return fmt.Errorf("vCenter reservation after apply = %d, want 4000", r)
					}
					if !*p.Config.MemoryAllocation.ExpandableReservation {
						return fmt.Errorf("memory expandable not restored in vCenter")
					}
					return nil
				},
			},
			{
				// Deleted behind Terraform's back: the next plan recreates it.
				PreConfig: func() { destroyPoolBehindTerraform(t, sim, id) },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate)},
				},
				Check: resource.TestCheckResourceAttrWith(addr, "id", func(v string) error {
					if v == id {
						return fmt.Errorf("id %s not replaced after out-of-band deletion", v)
					}
					return nil
				}),
			},
		},
	})
}

func readPool(t *testing.T, sim *acctest.Sim, id string) mo.ResourcePool {
	t.Helper()
	ctx := context.Background()
	c, err := sim.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Logout(ctx) }()
	var rp mo.ResourcePool
	if err := c.PropertyCollector().RetrieveOne(ctx, types.ManagedObjectReference{Type: "ResourcePool", Value: id}, []string{"name", "config"}, &rp); err != nil {
		t.Fatal(err)
	}
	return rp
}

// Nested reservations, import by inventory path, and the parent written as an ID then as a path
// (same pool: no replacement).
func TestAccCapacityReservation_nestedImportByPath(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	cfg := func(childParent string) string {
		return sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_capacity_reservation" "tier1" {
  name   = "tier-1"
  parent = %q
  cpu    = { reservation = 100000, expandable = false }
  memory = { reservation = 524288, expandable = false }
}

resource "vmgmt_capacity_reservation" "erp" {
  name   = "erp"
  parent = %s
  cpu    = { reservation = 60000 }
  memory = { reservation = 262144 }
}
`, simulator.ClusterPath, childParent)
	}
	var tier1ID string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg("vmgmt_capacity_reservation.tier1.id"),
				Check:  captureID("vmgmt_capacity_reservation.tier1", &tier1ID),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vmgmt_capacity_reservation.erp", tfjsonpath.New("path"), knownvalue.StringExact(simulator.RootPoolPath+"/tier-1/erp")),
					statecheck.CompareValuePairs("vmgmt_capacity_reservation.erp", tfjsonpath.New("parent_id"),
						"vmgmt_capacity_reservation.tier1", tfjsonpath.New("id"), compare.ValuesSame()),
				},
			},
			{
				ResourceName:      "vmgmt_capacity_reservation.erp",
				ImportState:       true,
				ImportStateId:     simulator.RootPoolPath + "/tier-1/erp",
				ImportStateVerify: true,
				// Imported by path, the parent reads back as a path where the config wrote an ID.
				ImportStateVerifyIgnore: []string{"parent"},
			},
			{
				// Same parent written as a path: an in-place update of the attribute, not a replacement.
				Config: cfg(fmt.Sprintf("%q", simulator.RootPoolPath+"/tier-1")),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("vmgmt_capacity_reservation.erp", plancheck.ResourceActionUpdate)},
				},
				// Refreshed: tier-1's headroom is what erp left of it.
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vmgmt_capacity_reservation.tier1", tfjsonpath.New("unreserved_cpu_mhz"), knownvalue.Int64Exact(40000)),
					statecheck.ExpectKnownValue("vmgmt_capacity_reservation.tier1", tfjsonpath.New("unreserved_memory_mb"), knownvalue.Int64Exact(262144)),
				},
			},
			{
				// A child asking for more than the non-expandable tier-1 has left fails the plan.
				Config:      strings.Replace(cfg(fmt.Sprintf("%q", simulator.RootPoolPath+"/tier-1")), "reservation = 60000", "reservation = 100001", 1),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`CPU reservation of 100001 MHz does not fit pool(?s:.*)100000 MHz of(?:\s+)capacity(?s:.*)already(?:\s+)holds(?:\s+)60000(?s:.*)at(?:\s+)most(?:\s+)100000`),
			},
		},
	})
}

func TestAccCapacityReservation_badInput(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	pc := sim.ProviderConfig()
	res := func(body string) string {
		return pc + "resource \"vmgmt_capacity_reservation\" \"bad\" {\n" + body + "\n}\n"
	}
	cases := []struct {
		name, body string
		want       string
	}{
		{"negative reservation", `name = "x"
  parent = "` + simulator.ClusterPath + `"
  cpu = { reservation = -5 }`, `(?s)cpu\.reservation must be a whole number from 0`},
		{"limit below -1", `name = "x"
  parent = "` + simulator.ClusterPath + `"
  memory = { limit = -2 }`, `(?s)memory\.limit must be a whole number from -1`},
		{"unknown shares level", `name = "x"
  parent = "` + simulator.ClusterPath + `"
  cpu = { shares_level = "urgent" }`, `(?s)shares_level.*value must be one of`},
		{"reservation above limit", `name = "x"
  parent = "` + simulator.ClusterPath + `"
  memory = { reservation = 2048, limit = 1024 }`, `(?s)Reservation above limit.*reservation \(2048 MB\) is greater than limit \(1024 MB\)`},
		{"custom shares without count", `name = "x"
  parent = "` + simulator.ClusterPath + `"
  cpu = { shares_level = "custom" }`, `(?s)Missing shares.*shares_level = "custom" needs a number of shares`},
		{"shares without custom", `name = "x"
  parent = "` + simulator.ClusterPath + `"
  cpu = { shares = 100 }`, `(?s)shares can only be set with shares_level = "custom"`},
		{"unknown parent", `name = "x"
  parent = "/dc1/host/no-such-cluster"`, `(?s)Parent not found.*no-such-cluster`},
		{"slash in name", `name = "a/b"
  parent = "` + simulator.ClusterPath + `"`, `(?s)Invalid name.*contains '/'`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      res(tc.body),
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
		})
	}
}

// A pool that already exists under that name is reported with the import command.
func TestAccCapacityReservation_nameCollision(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	ctx := context.Background()
	c, err := sim.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	root, err := find.NewFinder(c.Client).ResourcePool(ctx, simulator.RootPoolPath)
	if err != nil {
		t.Fatal(err)
	}
	spec := types.DefaultResourceConfigSpec()
	if _, err := root.Create(ctx, "taken", spec); err != nil {
		t.Fatal(err)
	}
	_ = c.Logout(ctx)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      reservationConfig(sim, "taken", 1000, 1024, ""),
			ExpectError: regexp.MustCompile(`(?s)already exists.*terraform import`),
		}},
	})
}

// Leaving cpu and memory out means vSphere's defaults, and re-plans are empty.
func TestAccCapacityReservation_defaults(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	addr := "vmgmt_capacity_reservation.test"
	cfg := sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_capacity_reservation" "test" {
  name   = "tier-3"
  parent = %q
}
`, simulator.ClusterPath)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("cpu").AtMapKey("reservation"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("cpu").AtMapKey("limit"), knownvalue.Int64Exact(-1)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("memory").AtMapKey("expandable"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("memory").AtMapKey("shares_level"), knownvalue.StringExact("normal")),
				},
			},
			{
				Config:           cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// Every allocation field changes in place, then the block is removed again: back to defaults.
				Config: strings.Replace(cfg, `parent = "`+simulator.ClusterPath+`"`, `parent = "`+simulator.ClusterPath+`"
  cpu = {
    reservation  = 1000
    limit        = 5000
    expandable   = false
    shares_level = "low"
  }`, 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("cpu").AtMapKey("limit"), knownvalue.Int64Exact(5000)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("cpu").AtMapKey("expandable"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("cpu").AtMapKey("shares_level"), knownvalue.StringExact("low")),
				},
			},
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("cpu").AtMapKey("limit"), knownvalue.Int64Exact(-1)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("cpu").AtMapKey("expandable"), knownvalue.Bool(true)),
				},
			},
			{
				Config:           cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

package capacity_test

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// These tests pin the admission arithmetic at its boundaries, through the terraform CLI against
// the simulator's cluster (332800 MHz, 2097152 MB, nothing reserved): a reservation that fits
// the parent's unreserved capacity exactly is admitted and one unit more is not; siblings planned
// in the same run are admitted together; the capacity pack's safety margin is rounded up.

func fixedPoolConfig(pc string, cpu, mem int64) string {
	return pc + fmt.Sprintf(`
resource "vmgmt_capacity_reservation" "test" {
  name   = "tier-1"
  parent = %q
  cpu    = { reservation = %d, expandable = false }
  memory = { reservation = %d, expandable = false }
}
`, simulator.ClusterPath, cpu, mem)
}

// A reservation of exactly the parent's unreserved CPU and memory fits; once it holds all of
// it, growing it by 1 MHz does not.
func TestAccCapacityReservation_exactFit(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	addr := "vmgmt_capacity_reservation.test"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: fixedPoolConfig(sim.ProviderConfig(), simulator.ClusterCPUMHz, simulator.ClusterMemMB),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("cpu").AtMapKey("reservation"), knownvalue.Int64Exact(simulator.ClusterCPUMHz)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("memory").AtMapKey("reservation"), knownvalue.Int64Exact(simulator.ClusterMemMB)),
				},
			},
			{
				Config:   fixedPoolConfig(sim.ProviderConfig(), simulator.ClusterCPUMHz+1, simulator.ClusterMemMB),
				PlanOnly: true,
				ExpectError: regexp.MustCompile(`(?s)CPU reservation of 332801 MHz does not fit.*leaving\s+0\s+MHz\s+unreserved.*already\s+holds\s+332800\s+MHz` +
					`.*at\s+most\s+332800\s+MHz`),
			},
		},
	})
}

func siblingsConfig(sim *acctest.Sim, cpuA, cpuB int64) string {
	return sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_capacity_reservation" "a" {
  name   = "tier-1"
  parent = %[1]q
  cpu    = { reservation = %[2]d, expandable = false }
  memory = { reservation = 1024, expandable = false }
}

resource "vmgmt_capacity_reservation" "b" {
  name   = "tier-2"
  parent = %[1]q
  cpu    = { reservation = %[3]d, expandable = false }
  memory = { reservation = 1024, expandable = false }
}
`, simulator.ClusterPath, cpuA, cpuB)
}

// Two reservations planned together under one parent: each fits alone, not both, so the plan
// fails and names the sibling; two that fill the parent exactly together are admitted.
func TestAccCapacityReservation_siblingsAdmittedTogether(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	half := int64(simulator.ClusterCPUMHz / 2) // 166400
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:   siblingsConfig(sim, half+1, half+1),
				PlanOnly: true,
				ExpectError: regexp.MustCompile(`(?s)CPU reservation of 166401 MHz does not fit.*sibling\(s\)\s+"tier-[12]"\s+planned\s+in\s+this\s+run\s+claim\s+166401\s+MHz\s+more` +
					`.*at\s+most\s+166399\s+MHz`),
			},
			{
				Config: siblingsConfig(sim, half+1, half-1),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vmgmt_capacity_reservation.a", tfjsonpath.New("cpu").AtMapKey("reservation"), knownvalue.Int64Exact(half+1)),
					statecheck.ExpectKnownValue("vmgmt_capacity_reservation.b", tfjsonpath.New("cpu").AtMapKey("reservation"), knownvalue.Int64Exact(half-1)),
				},
			},
		},
	})
}

// The capacity pack keeps ceil(10% of the parent's capacity) unreserved. The cluster's 2097152
// MB make a margin of 209715.2 MB, so 209716 MB must stay free: 1887436 MB is the most that
// passes. (The cluster's 332800 MHz divide evenly, so only memory tells the rounding apart.)
func TestAccPolicyGate_capacityMarginRoundsUp(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	pc := sim.ProviderConfigWith(`  policy {
    packs = ["capacity"]
  }`)
	const most = simulator.ClusterMemMB - 209716 // 1887436
	addr := "vmgmt_capacity_reservation.test"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:   fixedPoolConfig(pc, 1000, most+1),
				PlanOnly: true,
				ExpectError: regexp.MustCompile(`(?s)Policy violation: capacity.headroom.*memory\s+reservation\s+1887437\s+MB\s+leaves\s+less\s+than\s+the\s+10%\s+safety\s+margin\s+\(209716\s+MB\)` +
					`.*at\s+most\s+1887436\s+MB\s+fits`),
			},
			{
				// At the margin exactly: admitted at plan time and again by the apply-time gate.
				Config: fixedPoolConfig(pc, 1000, most),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("memory").AtMapKey("reservation"), knownvalue.Int64Exact(most)),
				},
			},
		},
	})
}

package capacity_test

import (
	"fmt"
	"regexp"
	"testing"

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
				ExpectError: regexp.MustCompile(`(?s)CPU reservation of 332801 MHz does not fit.*332800 MHz unreserved`),
			},
		},
	})
}

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
)

const centralRego = `package vmgmt.central

# The platform team's central rule, served by their OPA: no reservation above 20000 MHz.
deny contains msg if {
	input.type == "vmgmt_capacity_reservation"
	some action in input.change.actions
	action in {"create", "update"}
	input.change.after.cpu.reservation > 20000
	msg := sprintf("central policy: reservation %q asks %d MHz of CPU; at most 20000 MHz per reservation. Lower cpu.reservation or ask the platform team.", [input.change.after.name, input.change.after.cpu.reservation])
}
`

// The remote decision point, a real OPA server: it allows one reservation (apply succeeds),
// denies another (plan fails with its rule's message), and once stopped the plan fails closed.
func TestAccPolicyRemote_opaServer(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	opaURL, stopOPA := acctest.StartOPA(t, acctest.WriteFiles(t, map[string]string{"central.rego": centralRego}))
	remote := sim.ProviderConfigWith(fmt.Sprintf(`  policy {
    remote {
      url     = %q
      path    = "vmgmt"
      timeout = "2s"
    }
  }`, opaURL))
	addr := "vmgmt_capacity_reservation.test"

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// Allowed by the remote policy: applied.
				Config: remote + poolConfig("tier-1", 8000),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("cpu").AtMapKey("reservation"), knownvalue.Int64Exact(8000)),
				},
			},
			{
				// Denied by the remote policy: the plan fails with the remote rule's message.
				Config:      remote + poolConfig("tier-1", 30000),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Policy violation: central.*reservation "tier-1" asks 30000 MHz.*at\s+most\s+20000\s+MHz`),
			},
			{
				// The decision point is gone: the plan fails closed instead of passing.
				PreConfig:   stopOPA,
				Config:      remote + poolConfig("tier-1", 9000),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Policy could not be evaluated.*fail closed\): remote\s+OPA.*connection\s+refused`),
			},
			{
				// Without the policy block the reservation can change (and be destroyed at the end).
				Config: sim.ProviderConfig() + poolConfig("tier-1", 9000),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("cpu").AtMapKey("reservation"), knownvalue.Int64Exact(9000)),
				},
			},
		},
	})
}

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

func TestAccCapacityDataSource(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	cfg := sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_capacity_reservation" "tier1" {
  name   = "tier-1"
  parent = %q
  cpu    = { reservation = 50000, expandable = false }
  memory = { reservation = 131072, expandable = false }
}

resource "vmgmt_capacity_reservation" "tier2" {
  name   = "tier-2"
  parent = %q
  cpu    = { reservation = 20000 }
  memory = { reservation = 65536 }
}

data "vmgmt_capacity" "cluster" {
  path       = %q
  depends_on = [vmgmt_capacity_reservation.tier1, vmgmt_capacity_reservation.tier2]
}

data "vmgmt_capacity" "tier1" {
  id = vmgmt_capacity_reservation.tier1.id
}
`, simulator.ClusterPath, simulator.ClusterPath, simulator.ClusterPath)
	c := "data.vmgmt_capacity.cluster"
	p := "data.vmgmt_capacity.tier1"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(c, tfjsonpath.New("kind"), knownvalue.StringExact("cluster")),
					statecheck.ExpectKnownValue(c, tfjsonpath.New("name"), knownvalue.StringExact("Resources")),
					statecheck.ExpectKnownValue(c, tfjsonpath.New("cpu_capacity_mhz"), knownvalue.Int64Exact(simulator.ClusterCPUMHz)),
					statecheck.ExpectKnownValue(c, tfjsonpath.New("cpu_reserved_mhz"), knownvalue.Int64Exact(70000)),
					statecheck.ExpectKnownValue(c, tfjsonpath.New("cpu_unreserved_mhz"), knownvalue.Int64Exact(simulator.ClusterCPUMHz-70000)),
					statecheck.ExpectKnownValue(c, tfjsonpath.New("memory_capacity_mb"), knownvalue.Int64Exact(simulator.ClusterMemMB)),
					statecheck.ExpectKnownValue(c, tfjsonpath.New("memory_unreserved_mb"), knownvalue.Int64Exact(simulator.ClusterMemMB-196608)),
					statecheck.ExpectKnownValue(c, tfjsonpath.New("cpu_expandable"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(c, tfjsonpath.New("vm_count"), knownvalue.Int64Exact(int64(simulator.SeededVMs()))),
					statecheck.ExpectKnownValue(c, tfjsonpath.New("children"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectPartial(map[string]knownvalue.Check{"name": knownvalue.StringExact("tier-1"), "cpu_reservation_mhz": knownvalue.Int64Exact(50000)}),
						knownvalue.ObjectPartial(map[string]knownvalue.Check{"name": knownvalue.StringExact("tier-2"), "memory_reservation_mb": knownvalue.Int64Exact(65536)}),
					})),
					statecheck.ExpectKnownValue(p, tfjsonpath.New("kind"), knownvalue.StringExact("pool")),
					statecheck.ExpectKnownValue(p, tfjsonpath.New("cpu_capacity_mhz"), knownvalue.Int64Exact(50000)),
					statecheck.ExpectKnownValue(p, tfjsonpath.New("cpu_unreserved_mhz"), knownvalue.Int64Exact(50000)),
					statecheck.ExpectKnownValue(p, tfjsonpath.New("memory_expandable"), knownvalue.Bool(false)),
				},
			},
		},
	})
}

func TestAccCapacityDataSource_errors(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      sim.ProviderConfig() + `data "vmgmt_capacity" "x" {}`,
				ExpectError: regexp.MustCompile(`(?s)Exactly one of these attributes must be configured: \[path,id\]`),
			},
			{
				Config:      sim.ProviderConfig() + `data "vmgmt_capacity" "x" { path = "/dc1/host/nowhere" }`,
				ExpectError: regexp.MustCompile(`(?s)Cluster or resource pool not found.*nowhere`),
			},
			{
				Config:      sim.ProviderConfig() + `data "vmgmt_capacity" "x" { path = "/dc1/vm/workloads" }`,
				ExpectError: regexp.MustCompile(`is a Folder, not a cluster,\s+host\s+or\s+resource\s+pool`),
			},
		},
	})
}

# EXPECTED FAILURE. `make demo` copies examples/demo, adds this file, and runs
#
#   terraform plan -target=vmgmt_capacity_reservation.tier4_batch
#
# to show the policy gate refusing a plan before the real demo is applied. A new batch tier asks
# for 310000 of the cluster's 332800 MHz. vCenter could hold it (the simulator's cluster is still
# empty), so the provider's own admission check lets it through; but the built-in capacity pack
# keeps 10% of every parent unreserved (policy/params.json: safety_margin_pct), so the plan fails
# with policy capacity.headroom on cpu.reservation, and nothing changes in vCenter.
#
# -target plans this reservation alone: planned together with the demo's tiers, the provider's
# admission check (which counts siblings planned in the same run) would refuse it first.
resource "vmgmt_capacity_reservation" "tier4_batch" {
  name   = "tier-4-batch"
  parent = "/dc1/host/prod"

  cpu = {
    reservation = 310000 # MHz: 93% of the cluster
    expandable  = false
  }
  memory = {
    reservation = 65536
    expandable  = false
  }
}

# The reservations as vCenter now holds them. Only attributes that later changes elsewhere in the
# tree cannot move are shown here, so that a second plan reports no changes.
output "reservations" {
  description = "Each capacity reservation: inventory path, guaranteed CPU (MHz) and memory (MB), limits and shares level."
  value = {
    for r in [
      vmgmt_capacity_reservation.tier1,
      vmgmt_capacity_reservation.erp_prod,
      vmgmt_capacity_reservation.db_prod,
      vmgmt_capacity_reservation.tier2,
      vmgmt_capacity_reservation.tier3,
      ] : r.name => {
      path          = r.path
      id            = r.id
      cpu_mhz       = r.cpu.reservation
      cpu_limit_mhz = r.cpu.limit
      memory_mb     = r.memory.reservation
      memory_limit  = r.memory.limit
      shares        = r.cpu.shares_level
      expandable    = r.cpu.expandable
    }
  }
}

output "cluster_headroom" {
  description = "Capacity of the prod cluster, what the tiers reserve, and what is still free to reserve."
  value = {
    cpu_capacity_mhz     = data.vmgmt_capacity.cluster.cpu_capacity_mhz
    cpu_reserved_mhz     = data.vmgmt_capacity.cluster.cpu_reserved_mhz
    cpu_unreserved_mhz   = data.vmgmt_capacity.cluster.cpu_unreserved_mhz
    memory_capacity_mb   = data.vmgmt_capacity.cluster.memory_capacity_mb
    memory_reserved_mb   = data.vmgmt_capacity.cluster.memory_reserved_mb
    memory_unreserved_mb = data.vmgmt_capacity.cluster.memory_unreserved_mb
    cpu_reserved_pct     = floor(100 * data.vmgmt_capacity.cluster.cpu_reserved_mhz / data.vmgmt_capacity.cluster.cpu_capacity_mhz)
    memory_reserved_pct  = floor(100 * data.vmgmt_capacity.cluster.memory_reserved_mb / data.vmgmt_capacity.cluster.memory_capacity_mb)
    pools                = [for c in data.vmgmt_capacity.cluster.children : c.name]
  }
}

output "tier1_headroom" {
  description = "What tier 1 still has to give to a new business-critical application."
  value = {
    cpu_unreserved_mhz   = data.vmgmt_capacity.tier1.cpu_unreserved_mhz
    memory_unreserved_mb = data.vmgmt_capacity.tier1.memory_unreserved_mb
  }
}

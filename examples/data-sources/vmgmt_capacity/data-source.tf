# Headroom of a cluster: what is left to reserve once every pool and VM has its reservation.
data "vmgmt_capacity" "prod" {
  path = "/dc1/host/prod"
}

# Headroom inside a reservation, here by inventory path; `id` takes a managed object ID such as
# vmgmt_capacity_reservation.tier1.id.
data "vmgmt_capacity" "tier1" {
  path = "/dc1/host/prod/Resources/tier-1"
}

output "prod_headroom" {
  value = {
    cpu_unreserved_mhz   = data.vmgmt_capacity.prod.cpu_unreserved_mhz
    memory_unreserved_mb = data.vmgmt_capacity.prod.memory_unreserved_mb
    pools                = [for p in data.vmgmt_capacity.prod.children : p.name]
  }
}

# Warn in every plan and apply once the cluster has no room left for another tier-1 application.
# (A lifecycle postcondition on the data source would fail the plan instead.)
check "prod_headroom" {
  assert {
    condition     = data.vmgmt_capacity.prod.memory_unreserved_mb >= 262144
    error_message = "Less than 256 GiB of memory left to reserve in /dc1/host/prod."
  }
}

# What the ERP operations team may request, as vCenter holds the catalog.
data "vmgmt_catalog" "erp_ops" {
  group = "erp-ops"
}

output "erp_ops_can_request" {
  value = {
    for it in data.vmgmt_catalog.erp_ops.items : it.name => {
      version = it.version
      sizes   = { for s in it.sizes : s.name => "${s.cpus} vCPU, ${s.memory_mb} MB, ${s.disk_gb} GB" }
      lease   = "${it.lease_default_days} days by default, at most ${it.lease_max_days}"
    }
  }
}

# The whole catalog, and every VM made from it (also those created outside this configuration).
data "vmgmt_catalog" "all" {}

output "catalog_vms" {
  value = {
    for vm in data.vmgmt_catalog.all.vms : vm.name => {
      owner        = vm.owner
      job_function = vm.job_function
      item         = vm.catalog_item
      version      = vm.catalog_item_version
      lease_until  = vm.lease_expires_at
      expired      = vm.expired
    }
  }
}

# Warn in every plan while catalog VMs have an expired lease (their owners renew by raising
# lease_days, or destroy them).
check "expired_leases" {
  assert {
    condition     = length(data.vmgmt_catalog.all.expired_vms) == 0
    error_message = "Catalog VMs with an expired lease: ${join(", ", data.vmgmt_catalog.all.expired_vms)}."
  }
}

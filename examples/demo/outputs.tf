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

locals {
  # Capacity reservation ID -> name, to show which tier each catalog item's VMs run in.
  pool_names = {
    for r in [
      vmgmt_capacity_reservation.tier1,
      vmgmt_capacity_reservation.erp_prod,
      vmgmt_capacity_reservation.db_prod,
      vmgmt_capacity_reservation.tier2,
      vmgmt_capacity_reservation.tier3,
    ] : r.id => r.name
  }
}

output "catalog" {
  description = "The published catalog items: version, sizes on offer, who may request them, the longest lease and the capacity reservation their VMs run in."
  value = {
    for it in [
      vmgmt_catalog_item.db_server,
      vmgmt_catalog_item.app_server,
      vmgmt_catalog_item.web_frontend,
      vmgmt_catalog_item.sandbox,
      ] : it.name => {
      version              = it.version
      template             = it.template
      sizes                = { for n, s in it.sizes : n => "${s.cpus} vCPU, ${s.memory_mb / 1024} GiB, ${s.disk_gb} GB" }
      entitled_groups      = it.entitled_groups
      lease_max_days       = it.lease.max_days
      capacity_reservation = lookup(local.pool_names, it.capacity_reservation, it.capacity_reservation)
    }
  }
}

output "catalog_vms" {
  description = "The VMs requested through the published modules: item and version they were built from, size, the capacity reservation they run in, address and lease expiry."
  value = {
    for vm in concat([module.erp_db], values(module.erp_app), [module.web]) : vm.name => {
      item             = "${vm.catalog_item} ${vm.catalog_item_version}"
      size             = "${vm.size.name} (${vm.size.cpus} vCPU, ${vm.size.memory_mb / 1024} GiB, ${vm.size.disk_gb} GB)"
      runs_in          = lookup(local.pool_names, vm.pool, vm.pool)
      ip_address       = vm.ip_address
      lease_expires_at = vm.lease_expires_at
    }
  }
}

output "sandbox_vm" {
  description = "The sandbox deployed from the content library: item and version, size, where it runs and when its lease ends."
  value = {
    name             = vmgmt_catalog_vm.dev_sandbox.name
    item             = "${vmgmt_catalog_vm.dev_sandbox.catalog_item} ${vmgmt_catalog_vm.dev_sandbox.catalog_item_version} (${vmgmt_catalog_item.sandbox.template})"
    size             = "${vmgmt_catalog_vm.dev_sandbox.size} (${vmgmt_catalog_vm.dev_sandbox.cpus} vCPU, ${vmgmt_catalog_vm.dev_sandbox.memory_mb / 1024} GiB, ${vmgmt_catalog_vm.dev_sandbox.disk_gb} GB)"
    runs_in          = lookup(local.pool_names, vmgmt_catalog_vm.dev_sandbox.pool, vmgmt_catalog_vm.dev_sandbox.pool)
    lease_expires_at = vmgmt_catalog_vm.dev_sandbox.lease_expires_at
  }
}

output "erp_ops_catalog" {
  description = "What the erp-ops job function may request (read back from vCenter by the vmgmt_catalog data source), and the catalog VMs whose lease has ended."
  value = {
    may_request = {
      for it in data.vmgmt_catalog.erp_ops.items : it.name => "${it.version}: ${join(", ", [for s in it.sizes : s.name])}; lease up to ${it.lease_max_days} days"
    }
    expired_leases = data.vmgmt_catalog.erp_ops.expired_vms
  }
}

output "security_groups" {
  description = "Each security group: its role, principals, how many VMs it reaches and the permissions it holds."
  value = {
    for g in [vmgmt_security_group.db_admins, vmgmt_security_group.app_operators, vmgmt_security_group.auditors] : g.name => {
      role        = coalesce(g.role, "vmgmt-sg-${g.name}")
      principals  = [for p in g.principals : p.name]
      members     = g.member_count
      permissions = g.permission_count
      port_groups = [for pg in g.port_groups : "${pg.name}: promiscuous=${pg.allow_promiscuous}, mac_changes=${pg.allow_mac_changes}, forged_transmits=${pg.allow_forged_transmits}"]
    }
  }
}

output "who_can_touch_erp_db" {
  description = "Everyone with a role on the ERP database VM, and where the permission comes from."
  value = {
    for vm in data.vmgmt_access_report.erp_db.vms : vm.name => [
      for a in vm.access : "${a.principal}${a.is_group ? " (group)" : ""}: ${a.role} ${a.inherited ? "inherited from ${a.defined_on_name}" : "on the VM itself"}"
    ]
  }
}

output "compliance" {
  description = "Each configuration baseline: its mode, how many VMs of its tier there are, and how many of them comply with the scg-8 pack or drift from it (vmgmt_compliance, read after the apply)."
  value = {
    for name, b in {
      (vmgmt_config_baseline.tier1.name)   = { mode = vmgmt_config_baseline.tier1.mode, c = data.vmgmt_compliance.tier1 }
      (vmgmt_config_baseline.tier2.name)   = { mode = vmgmt_config_baseline.tier2.mode, c = data.vmgmt_compliance.tier2 }
      (vmgmt_config_baseline.devtest.name) = { mode = vmgmt_config_baseline.devtest.mode, c = data.vmgmt_compliance.devtest }
      } : name => {
      mode      = b.mode
      scope     = b.c.scope_count
      compliant = b.c.compliant_count
      drifted   = b.c.drifted_count
    }
  }
}

output "protection_coverage" {
  description = "Of the business-critical tier and the web frontend: the VMs no enabled backup job protects, those behind their schedule, and those no restore test has proved."
  value = {
    unprotected = [for vm in data.vmgmt_protection_coverage.tier1_and_web.unprotected : vm.vm_name]
    stale       = [for vm in data.vmgmt_protection_coverage.tier1_and_web.stale : vm.vm_name]
    unverified  = [for vm in data.vmgmt_protection_coverage.tier1_and_web.unverified : vm.vm_name]
  }
}

output "restored_vm" {
  description = "erp-db01 restored from the repository (once make demo has backed it up and verified the point): the VM, the point it was made from, the bytes read and the measured recovery time."
  value = [for r in vmgmt_vm_restore.erp_db : {
    id               = r.id
    name             = r.name
    restored_point   = r.restored_point
    point_verified   = r.point_verified
    bytes            = r.bytes
    recovery_seconds = r.recovery_seconds
  }]
}

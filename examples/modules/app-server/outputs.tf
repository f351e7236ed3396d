output "name" {
  description = "Name of the VM."
  value       = vmgmt_catalog_vm.this.name
}

output "id" {
  description = "Managed object ID of the VM, e.g. vm-42."
  value       = vmgmt_catalog_vm.this.id
}

output "uuid" {
  description = "BIOS UUID of the VM (what backup and monitoring tools key on)."
  value       = vmgmt_catalog_vm.this.uuid
}

output "ip_address" {
  description = "Guest IP address as VMware Tools reports it; empty until the guest has booted."
  value       = vmgmt_catalog_vm.this.ip_address
}

output "size" {
  description = "Size the VM runs, with its vCPUs and memory."
  value = {
    name      = vmgmt_catalog_vm.this.size
    cpus      = vmgmt_catalog_vm.this.cpus
    memory_mb = vmgmt_catalog_vm.this.memory_mb
    disk_gb   = vmgmt_catalog_vm.this.disk_gb
  }
}

output "pool" {
  description = "Managed object ID of the resource pool the VM runs in: the item's capacity reservation."
  value       = vmgmt_catalog_vm.this.pool
}

output "lease_expires_at" {
  description = "When the lease ends (RFC 3339). Renew it by raising lease_days."
  value       = vmgmt_catalog_vm.this.lease_expires_at
}

output "catalog_item" {
  description = "Catalog item the VM was requested from."
  value       = vmgmt_catalog_vm.this.catalog_item
}

output "catalog_item_version" {
  description = "Version of the catalog item the VM was built from. It stays when a newer version is published, until rebuild = true."
  value       = vmgmt_catalog_vm.this.catalog_item_version
}

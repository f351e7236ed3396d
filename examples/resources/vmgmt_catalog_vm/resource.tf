# A database server requested from the db-server catalog item: the item decides the template,
# the capacity reservation, the network and folder defaults, and what the sizes mean.
resource "vmgmt_catalog_vm" "erp_db" {
  name         = "erp-db-01"
  catalog_item = "db-server" # or vmgmt_catalog_item.db_server.name in the same configuration
  size         = "large"
  owner        = "maria.garcia"
  job_function = "dba"
  lease_days   = 365

  # Guest customization at birth (Linux). Without ipv4_address the NIC uses DHCP.
  customization = {
    domain       = "corp.example"
    ipv4_address = "10.0.30.11/24"
    ipv4_gateway = "10.0.30.1"
    dns_servers  = ["10.0.0.2", "10.0.0.3"]
  }

  # A resize that needs a power cycle (the VM has no CPU/memory hot add) is applied, with the VM
  # powered off and on again. Without it, such a plan fails and says why.
  allow_power_cycle = true
}

# An application server with the item's defaults: its first allowed folder and network, its
# capacity reservation, its default lease, DHCP.
resource "vmgmt_catalog_vm" "erp_app" {
  name         = "erp-app-01"
  catalog_item = "app-server"
  size         = "medium"
  owner        = "jane.doe"
  job_function = "erp-ops"
}

output "erp_db" {
  value = {
    id               = vmgmt_catalog_vm.erp_db.id
    version          = vmgmt_catalog_vm.erp_db.catalog_item_version
    lease_expires_at = vmgmt_catalog_vm.erp_db.lease_expires_at
  }
}

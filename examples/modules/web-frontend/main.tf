# A web front end from the service catalog: one vmgmt_catalog_vm, cloned from the web-frontend
# item's template into the item's tier-2 capacity reservation, on the item's web (DMZ-facing)
# network. The catalog user picks a size and a lease; the item (published by the platform team
# with vmgmt_catalog_item) decides the rest, and the provider's policy gate checks the request
# (entitlement, quota, lease) while planning.
resource "vmgmt_catalog_vm" "this" {
  name         = var.name
  catalog_item = var.catalog_item
  size         = var.size
  owner        = var.owner
  job_function = var.job_function
  lease_days   = var.lease_days
  folder       = var.folder

  customization = {
    domain       = var.domain
    ipv4_address = var.ipv4_address
    ipv4_gateway = var.ipv4_gateway
    dns_servers  = var.dns_servers
  }

  allow_power_cycle = var.allow_power_cycle
  rebuild           = var.rebuild

  lifecycle {
    precondition {
      condition     = var.ipv4_gateway == null || var.ipv4_address != null
      error_message = "ipv4_gateway is only used with a static ipv4_address; set ipv4_address too, or leave both unset for DHCP."
    }
  }
}

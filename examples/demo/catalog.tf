# Provisioning & Lifecycle — the service catalog. "New VMs are provisioned fast, according to job
# function and rules set for their intended use, through a self-service catalog."
#
# Two sides of the catalog are in this file:
#
#   the platform team publishes catalog items (vmgmt_catalog_item): a template, the sizes on
#   offer, who may request it (job functions) and how much of it (quota), how long a VM lives
#   (lease), and where its VMs run: the capacity reservation of their service tier, the network
#   and the folder. vCenter holds the definition, on the template;
#
#   catalog users call the published modules in ../modules with a name, a size and a lease. They
#   never see vSphere. The policy gate's catalog pack judges every request while planning against
#   the item as vCenter holds it: an entitled job function, a size on offer, room in the group's
#   quota (counted from the VMs that exist), a lease within the maximum, allowed folder and network.
#
# Each item keeps its definition on its own template, so the platform keeps one copy of its golden
# image per item: the simulator seeds rhel9-base, rhel9-app and rhel9-web, as a Packer build would
# publish them in a real vCenter.

locals {
  # Where catalog VMs go, and the guest settings every request in this demo shares.
  workloads   = "workloads"
  domain      = "corp.example"
  dns_servers = ["10.0.0.2", "10.0.0.3"]
}

# --- Platform side: the published items -----------------------------------------------------------

# Business-critical databases: the tier-1 database pool, the database network, long leases.
resource "vmgmt_catalog_item" "db_server" {
  name        = "db-server"
  version     = "1.2.0"
  description = "Business-critical database server (RHEL 9): tier-1 capacity, database network, up to a year per lease."
  template    = "templates/rhel9-base"

  sizes = {
    medium = { cpus = 8, memory_mb = 32768, disk_gb = 200 }
    large  = { cpus = 16, memory_mb = 65536, disk_gb = 500 }
    xlarge = { cpus = 32, memory_mb = 131072, disk_gb = 1000 }
  }
  allowed_folders  = [local.workloads]
  allowed_networks = ["pg-db"]
  entitled_groups  = ["dba", "erp-ops"]
  quota = {
    dba       = { instances = 10, cpus = 256, memory_mb = 1048576 }
    "erp-ops" = { instances = 2, cpus = 64 }
  }
  lease = { default_days = 90, max_days = 365, grace_days = 14 }

  capacity_reservation = vmgmt_capacity_reservation.db_prod.id
  # Every VM made from this item is tagged vmgmt-security-group:db-admins, which makes it a member
  # of that security group (security.tf) with no HCL of its own.
  security_group = "db-admins"
  # ... and vmgmt-baseline:tier-1-scg, which puts it in the scope of that enforcing baseline
  # (baseline.tf), wherever it runs.
  config_baseline = vmgmt_config_baseline.tier1.name
  # ... and vmgmt-backup-job:tier-1-nightly, which puts it under that nightly backup job
  # (backup.tf).
  backup_job = vmgmt_backup_job.tier1.name
}

# Application servers of production systems: standard production capacity (tier 2).
resource "vmgmt_catalog_item" "app_server" {
  name        = "app-server"
  version     = "2.0.1"
  description = "Application server (RHEL 9): tier-2 capacity, application network."
  template    = "templates/rhel9-app"

  sizes = {
    small  = { cpus = 2, memory_mb = 8192, disk_gb = 60 }
    medium = { cpus = 4, memory_mb = 16384, disk_gb = 80 }
    large  = { cpus = 8, memory_mb = 32768, disk_gb = 120 }
  }
  allowed_folders  = [local.workloads]
  allowed_networks = ["pg-app"]
  entitled_groups  = ["erp-ops", "app-dev"]
  quota = {
    "erp-ops" = { instances = 6, cpus = 48, memory_mb = 196608 }
    "app-dev" = { instances = 4, cpus = 16 }
  }
  lease = { default_days = 30, max_days = 180, grace_days = 7 }

  capacity_reservation = vmgmt_capacity_reservation.tier2.id
  config_baseline      = vmgmt_config_baseline.tier2.name
}

# Web front ends: standard production capacity, the web network, short leases.
resource "vmgmt_catalog_item" "web_frontend" {
  name        = "web-frontend"
  version     = "1.0.0"
  description = "Web front end (RHEL 9): tier-2 capacity, web network."
  template    = "templates/rhel9-web"

  sizes = {
    small  = { cpus = 2, memory_mb = 4096, disk_gb = 40 }
    medium = { cpus = 4, memory_mb = 8192, disk_gb = 40 }
  }
  allowed_folders  = [local.workloads]
  allowed_networks = ["pg-web"]
  entitled_groups  = ["web-ops", "erp-ops"]
  quota = {
    "web-ops" = { instances = 8 }
    "erp-ops" = { instances = 2 }
  }
  lease = { default_days = 30, max_days = 90, grace_days = 7 }

  capacity_reservation = vmgmt_capacity_reservation.tier2.id
  config_baseline      = vmgmt_config_baseline.tier2.name
}

# Developer sandboxes, deployed from the platform's content library instead of cloned from a
# template VM: the library item is the golden image an image pipeline publishes to every vCenter. A
# library item carries no custom attributes, so vCenter keeps this definition on the datacenter
# (custom attribute vmgmt.catalog.library-items). Tier 3: no guarantees, capped, short leases.
resource "vmgmt_catalog_item" "sandbox" {
  name        = "linux-sandbox"
  version     = "1.0.0"
  description = "Linux sandbox (RHEL 9) for developers: tier-3 capacity, application network, two weeks per lease."
  template    = "library:vmgmt-library/rhel9-base-vmtx"

  sizes = {
    small  = { cpus = 1, memory_mb = 2048, disk_gb = 40 }
    medium = { cpus = 2, memory_mb = 4096, disk_gb = 60 }
  }
  allowed_folders  = [local.workloads]
  allowed_networks = ["pg-app"]
  entitled_groups  = ["app-dev"]
  quota = {
    "app-dev" = { instances = 5 }
  }
  lease = { default_days = 14, max_days = 30, grace_days = 3 }

  capacity_reservation = vmgmt_capacity_reservation.tier3.id
}

# --- Catalog users: VMs requested through the published modules ------------------------------------
#
# catalog_item passes the item's name from the resource above, which also makes Terraform publish
# the item before requesting VMs from it. A catalog user in another configuration passes nothing
# (each module's default is the item's name) or the name as a string.

# The ERP system's database: the largest request, for a year.
module "erp_db" {
  source       = "../modules/db-server"
  catalog_item = vmgmt_catalog_item.db_server.name

  name         = "erp-db-01"
  size         = "large"
  owner        = "maria.garcia"
  job_function = "dba"
  lease_days   = 365

  domain       = local.domain
  ipv4_address = "10.0.30.11/24"
  ipv4_gateway = "10.0.30.1"
  dns_servers  = local.dns_servers
}

# Two ERP application servers from one module call.
module "erp_app" {
  source   = "../modules/app-server"
  for_each = { "erp-app-01" = "10.0.20.11/24", "erp-app-02" = "10.0.20.12/24" }

  catalog_item = vmgmt_catalog_item.app_server.name
  name         = each.key
  size         = "medium"
  owner        = "jane.doe"
  job_function = "erp-ops"
  lease_days   = 180

  domain       = local.domain
  ipv4_address = each.value
  ipv4_gateway = "10.0.20.1"
  dns_servers  = local.dns_servers
}

# The ERP system's web front end, on the item's default lease (30 days).
module "web" {
  source       = "../modules/web-frontend"
  catalog_item = vmgmt_catalog_item.web_frontend.name

  name         = "web-01"
  size         = "small"
  owner        = "li.wei"
  job_function = "web-ops"

  domain       = local.domain
  ipv4_address = "10.0.10.21/24"
  ipv4_gateway = "10.0.10.1"
  dns_servers  = local.dns_servers
}

# A developer's sandbox, requested with the resource itself (an item without a published module):
# DHCP, the item's default lease, folder and network.
resource "vmgmt_catalog_vm" "dev_sandbox" {
  name         = "dev-sandbox-01"
  catalog_item = vmgmt_catalog_item.sandbox.name
  size         = "small"
  owner        = "sam.okafor"
  job_function = "app-dev"

  customization = {
    domain      = local.domain
    dns_servers = local.dns_servers
  }
}

# --- The catalog as vCenter holds it ----------------------------------------------------------------
#
# What the ERP operations team may request, and every VM made from the catalog, read back from the
# templates and the VMs' stamps (so items and VMs of other configurations show too). depends_on
# makes Terraform read it once the items and VMs above are in place.
data "vmgmt_catalog" "erp_ops" {
  group = "erp-ops"

  depends_on = [module.erp_db, module.erp_app, module.web, vmgmt_catalog_vm.dev_sandbox]
}

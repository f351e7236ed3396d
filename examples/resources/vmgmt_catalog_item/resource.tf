# A business-critical database server, published for the DBAs and the ERP operations team. The
# definition is stored on the template in vCenter (custom attribute vmgmt.catalog.item).
resource "vmgmt_catalog_item" "db_server" {
  name        = "db-server"
  version     = "1.2.0"
  description = "Business-critical database server (RHEL 9)"
  template    = "/dc1/vm/templates/rhel9-base" # or relative: templates/rhel9-base, or a managed object ID

  sizes = {
    medium = { cpus = 8, memory_mb = 32768, disk_gb = 200 }
    large  = { cpus = 16, memory_mb = 65536, disk_gb = 500 }
    xlarge = { cpus = 32, memory_mb = 131072, disk_gb = 1000 }
  }

  # Where requests may place VMs; the first of each is the default.
  allowed_folders  = ["workloads"]
  allowed_networks = ["pg-db"]

  # Who may request it, and how much of it each group may hold.
  entitled_groups = ["dba", "erp-ops"]
  quota = {
    dba       = { instances = 10, cpus = 256, memory_mb = 1048576 }
    "erp-ops" = { instances = 2, cpus = 64 }
  }

  # VMs live 90 days unless the request says otherwise, at most a year; two weeks after expiry
  # their plans fail until the lease is renewed.
  lease = { default_days = 90, max_days = 365, grace_days = 14 }

  # Its VMs run in the tier-1 database pool.
  capacity_reservation = "/dc1/host/prod/Resources/tier-1/tier-1-db"
}

# A small item open to every group, in the cluster's default pool, with the default lease
# (30 days, at most 90, 7 days' grace). Its VMs are deployed from a content library item (a
# vm-template or OVF item; also library:<item ID>); vCenter keeps the definition on the datacenter.
resource "vmgmt_catalog_item" "sandbox" {
  name     = "linux-sandbox"
  version  = "1.0"
  template = "library:golden-images/rhel9-sandbox"

  sizes = {
    small = { cpus = 1, memory_mb = 2048, disk_gb = 40 }
  }
}

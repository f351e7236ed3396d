# Site B after site A was lost: the Terraform configuration that takes over what `backup restore`
# made. VSPHERE_SERVER, VSPHERE_USER and VSPHERE_PASSWORD point at site B's vCenter; the
# repository's credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) are in the environment.
terraform {
  required_providers {
    vmgmt = {
      source = "vmgmt/vmgmt"
    }
  }
}

provider "vmgmt" {
  datacenter = "dc-b"
}

locals {
  # The repository as site B reaches it.
  repository = "s3://backups-replica/vmgmt?endpoint=https://minio.site-b.example.com:9000&region=eu-central-1"

  # The VMs `backup restore --job tier1-nightly --all` made, each with the point it was made from
  # (the "vm" and "point" of its restore_done event).
  tier1_restored = {
    "erp-db01"  = "20261202T013000.123Z-1a2b3c"
    "erp-app01" = "20261202T013004.518Z-4d5e6f"
    "web01"     = "20261202T013007.902Z-7a8b9c"
  }
}

# The same job, point, name and folder as the restore: the plan passes (the name is held by a VM
# of this same restore), and the apply adopts each VM, with a warning, uploading nothing. The
# network map is the restore's too: the plan checks the networks again.
resource "vmgmt_vm_restore" "tier1" {
  for_each = local.tier1_restored

  job        = "tier1-nightly"
  repository = local.repository
  point      = each.value
  name       = each.key
  folder     = "/dc-b/vm/erp"

  network_map = {
    "prod-app" = "dr-app"
    "prod-db"  = "dr-db"
    "prod-web" = "dr-web"
  }
}

# The job's definition in site B's vCenter, so that `backup list`, vmgmt_restore_points and
# `backup verify --job tier1-nightly` work here. The restored VMs carry their tags, so the same
# selection finds them. Disabled: `backup run --all-due` leaves it alone until it is enabled (a job
# never run is due at once), and then writes site B's points beside site A's, under the same VM
# names, in the same repository.
resource "vmgmt_backup_job" "tier1" {
  name    = "tier1-nightly"
  enabled = false

  selection {
    tags = [{ category = "tier", name = "tier-1" }]
  }

  schedule   = { cron = "30 1 * * *", time_zone = "Europe/Berlin" }
  retention  = { keep_last = 7, daily = 14, weekly = 8, monthly = 12 }
  repository = local.repository

  restore_test = {
    cron    = "0 6 * * 0"
    folder  = "/dc-b/vm/restore-tests"
    network = "dr-isolated"
  }
}

# Recover the ERP database beside the original after a bad change: the newest restore point of
# erp-db01 that passed a restore test (`backup verify`), recreated as erp-db01-recovered in the
# recovery folder, its NICs moved from the production port group to the recovery one, left
# powered off for a look before it takes traffic. The plan shows the point it picked
# (restored_point, point_time); a newer backup later does not replace the VM.
resource "vmgmt_vm_restore" "erp_db" {
  job  = "tier1-nightly"
  vm   = "erp-db01" # the VM's name when it was backed up
  name = "erp-db01-recovered"

  folder = "/dc1/vm/recovery"
  pool   = "/dc1/host/prod"

  # Networks the VM was on (keys) -> networks of this vCenter (values). A network not listed
  # keeps its name and must exist.
  network_map = {
    "prod-db" = "recovery-db"
  }

  power_on = false
}

output "erp_db_restored_from" {
  value = "${vmgmt_vm_restore.erp_db.restored_point} (${vmgmt_vm_restore.erp_db.point_time}, verified: ${vmgmt_vm_restore.erp_db.point_verified})"
}

# After losing site A: one given restore point, read from the repository alone (site B's vCenter
# never held the job's definition), onto site B's vCenter. The repository's credentials come from
# the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), as for the runner.
variable "site_b_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

provider "vmgmt" {
  alias          = "site_b"
  vsphere_server = "vcenter.site-b.example.com"
  user           = "terraform@vsphere.local"
  password       = var.site_b_password
  datacenter     = "dc-b"
}

resource "vmgmt_vm_restore" "erp_app_site_b" {
  provider = vmgmt.site_b

  job        = "tier1-nightly"
  repository = "s3://backups-replica/vmgmt?endpoint=https://minio.site-b.example.com:9000&region=eu-central-1"
  point      = "20261202T013000.123Z-1a2b3c" # `backup restore`'s restore_done events and the repository's layout name it
  name       = "erp-app01"

  folder    = "/dc-b/vm/erp"
  pool      = "/dc-b/host/dr"
  datastore = "dr-ds01"

  network_map = {
    "prod-app" = "dr-app"
    "prod-db"  = "dr-db"
  }
}

# Backup & Recovery — "backing up the data in the virtual environment, in an environment that
# changes all the time". vSphere has no backup job: vmgmt declares it here and stores it in vCenter
# (datacenter custom attribute vmgmt.backup-jobs); the runner, `terraform-provider-vmgmt backup
# run`, started by cron or a Kubernetes CronJob, runs it with nothing but vCenter's and the
# repository's credentials: a snapshot of each VM, its disks streamed into the repository through
# the export lease, a manifest that holds what recreating the VM needs, then retention.
#
# The business-critical tier is backed up every night. Its VMs are resolved live at every plan, so
# a plan shows a VM entering or leaving protection: every VM in the tier-1 pools (the ERP and
# database pools are nested in it) or tagged tier-1, as for the tier's baseline (baseline.tf), and
# every VM made from a catalog item whose backup_job names the job (db-server, catalog.tf), wherever
# it runs. make demo runs the job once and lists its restore points with `backup list`.

variable "backup_repository" {
  description = "Where the nightly job's restore points go: a file:// directory (its parent must exist) or an s3:// URL. Defaults to the directory backups beside this configuration; make demo passes one in its scratch directory."
  type        = string
  default     = null
}

locals {
  backup_repository = coalesce(var.backup_repository, "file://${abspath(path.root)}/backups")
}

resource "vmgmt_backup_job" "tier1" {
  name        = "tier-1-nightly"
  description = "Business-critical tier, every night"

  selection {
    pools     = [vmgmt_capacity_reservation.tier1.id]
    tags      = [{ category = "tier", name = "tier-1" }]
    match     = "any"
    templates = "exclude"
  }

  # 02:00 UTC every day.
  schedule = { cron = "0 2 * * *" }

  # The newest 7 restore points, and the newest of each of the last 7 days.
  retention = {
    keep_last = 7
    daily     = 7
  }

  # Credentials of an s3:// repository come from the runner's environment, never from here.
  repository = local.backup_repository

  # A backup nobody has restored is a hope: every Sunday at 06:00 `backup verify --all-due`
  # restores each VM's newest point into the recovery folder, every NIC on the isolated port group,
  # powers it on, records the measured recovery time in the point's manifest and removes the copy.
  # A recovery slower than 15 minutes fails the test. make demo runs it once.
  restore_test = {
    cron                 = "0 6 * * 0"
    sample               = 0
    folder               = "recovery"
    network              = "pg-isolated"
    max_recovery_minutes = 15
  }
}

variable "restore_from_backup" {
  description = "Whether to restore erp-db01 from its newest verified restore point (vmgmt_vm_restore.erp_db). make demo sets it once the backup and its restore test have run."
  type        = bool
  default     = false
}

# Recovery: erp-db01 recreated from the repository alone, as erp-db01-restored in the recovery
# folder, its NIC moved from pg-db to the isolated port group: its hardware and its disk (SHA-256
# checked while it streams) come from the point's manifest. The point is its newest one a restore
# test verified, chosen when the VM is made and kept after (a newer backup does not replace it).
# The original still runs, so this is a copy beside it (keep_identity = false): without the
# point's tags and vmgmt's stamps it joins no security group, baseline or backup job. A VM that
# replaces one lost keeps them (the default). Destroying it removes the copy, never the point.
resource "vmgmt_vm_restore" "erp_db" {
  count       = var.restore_from_backup ? 1 : 0
  job         = vmgmt_backup_job.tier1.name
  vm          = "erp-db01"
  name        = "erp-db01-restored"
  folder      = "recovery"
  network_map = { "pg-db" = "pg-isolated" }

  keep_identity = false
}

# Protection coverage, computed at every plan: of the business-critical tier and the web
# frontend, which VMs no enabled job protects, which are behind their schedule, and which no
# restore test has proved. The web frontend (web-01, tier 2) is deliberately in no job; with the
# backup pack on, a business-critical VM in that list would fail the plan
# (backup.critical_unprotected).
data "vmgmt_protection_coverage" "tier1_and_web" {
  scope {
    pools = [vmgmt_capacity_reservation.tier1.id]
    tags  = [{ category = "tier", name = "tier-1" }]
    ids   = [module.web.id]
    match = "any"
  }
  depends_on = [vmgmt_backup_job.tier1, module.erp_app, module.erp_db]
}

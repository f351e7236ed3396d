# The business-critical tier is backed up every night at 01:30 Berlin time, quiesced, into an
# S3-compatible bucket; the catalog's tier-1 VMs join through their item (backup_job = "tier1-nightly").
resource "vmgmt_backup_job" "tier1" {
  name        = "tier1-nightly"
  description = "Business-critical VMs, nightly"

  selection {
    tags      = [{ category = "tier", name = "tier-1" }]
    templates = "exclude"
  }

  schedule = {
    cron      = "30 1 * * *"
    time_zone = "Europe/Berlin"
  }

  # The newest 7 points, and one per day for two weeks, per week for two months, per month for a year.
  retention = {
    keep_last = 7
    daily     = 14
    weekly    = 8
    monthly   = 12
  }

  consistency = "quiesced"

  # Credentials come from the runner's environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
  repository = "s3://backups/vmgmt?endpoint=https://minio.example.com:9000&region=eu-central-1"

  # Every Sunday at 06:00 `backup verify --all-due` tests two restore points never tested before
  # (of the VMs whose newest point was verified longest ago, or never, first): each is restored
  # into the isolated folder with every NIC on a network with no route to production, powered on
  # and waited for; the recovery time is recorded in the point's manifest and the copy removed. A
  # recovery slower than 30 minutes fails the test.
  restore_test = {
    cron                 = "0 6 * * 0"
    time_zone            = "Europe/Berlin"
    sample               = 2
    folder               = "/dc1/vm/restore-tests"
    network              = "isolated-restore-test"
    max_recovery_minutes = 30
  }
}

# The hosts' configuration bundles, weekly, into a mounted directory.
resource "vmgmt_backup_job" "esxi" {
  name = "esxi-config-weekly"

  hosts {
    clusters = ["prod"]
  }

  schedule   = { cron = "0 3 * * 0" }
  retention  = { keep_last = 4, monthly = 6 }
  repository = "file:///srv/backups/vmgmt"
}

output "tier1_protected" {
  value = vmgmt_backup_job.tier1.protected_vm_ids
}

output "tier1_next_run" {
  value = vmgmt_backup_job.tier1.next_run
}

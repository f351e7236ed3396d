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

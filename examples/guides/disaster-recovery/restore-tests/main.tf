# Restore tests as a standing practice: the job declares when and where its points are tested
# (`backup verify --all-due`, from cron or a CronJob, runs it when due), and every plan warns while
# a business-critical VM has no point a restore test proved good.
resource "vmgmt_backup_job" "tier1" {
  name = "tier1-nightly"

  selection {
    tags = [{ category = "tier", name = "tier-1" }]
  }

  schedule   = { cron = "30 1 * * *", time_zone = "Europe/Berlin" }
  retention  = { keep_last = 7, daily = 14 }
  repository = "s3://backups/vmgmt?endpoint=https://minio.example.com:9000&region=eu-central-1"

  restore_test = {
    cron                 = "0 6 * * *" # every day at 06:00
    time_zone            = "Europe/Berlin"
    sample               = 3
    folder               = "/dc1/vm/restore-tests"
    network              = "isolated-restore-test"
    max_recovery_minutes = 30
  }
}

data "vmgmt_protection_coverage" "tier1" {
  scope {
    tags = [{ category = "tier", name = "tier-1" }]
  }
}

check "tier1_restore_tested" {
  assert {
    condition     = data.vmgmt_protection_coverage.tier1.unverified_count == 0
    error_message = "Tier-1 VMs with no restore point a restore test proved good: ${join(", ", [for vm in data.vmgmt_protection_coverage.tier1.unverified : vm.vm_name])}."
  }
}

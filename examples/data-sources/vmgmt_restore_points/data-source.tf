# The restore points of the nightly job, read from its repository.
data "vmgmt_restore_points" "nightly" {
  job = "tier-1-nightly"
}

# One VM's points in every job, newest first.
data "vmgmt_restore_points" "erp_db" {
  vm = "erp-db-01"
}

output "erp_db_newest_point" {
  value = try(data.vmgmt_restore_points.erp_db.restore_points[0].id, "none yet")
}

# Fail the plan when a tier-1 VM's newest point is older than two days.
check "erp_db_recent_backup" {
  assert {
    condition     = data.vmgmt_restore_points.erp_db.point_count > 0 && timecmp(data.vmgmt_restore_points.erp_db.restore_points[0].time, timeadd(plantimestamp(), "-48h")) > 0
    error_message = "erp-db-01 has no restore point from the last 48 hours."
  }
}

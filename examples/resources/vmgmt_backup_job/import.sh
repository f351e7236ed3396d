# By the job's name: its definition is read from vCenter.
terraform import vmgmt_backup_job.tier1 tier1-nightly

package vmgmt.backup_test

import data.vmgmt.backup

ids(vs) := {v.id | some v in vs}

job(actions, after, protected, gap) := {
	"type": "vmgmt_backup_job",
	"name": "nightly",
	"change": {"actions": actions, "before": null, "after": after, "after_unknown": {}},
	"context": {"phase": "plan", "principal": "VSPHERE.LOCAL\\terraform"},
	"inventory": {"protected": protected, "schedule": {"longest_gap_minutes": gap}},
}

nightly(retention) := {
	"name": "nightly", "enabled": true, "repository": "file:///backups",
	"schedule": {"cron": "0 2 * * *", "time_zone": "UTC"}, "retention": retention,
}

weekdays := object.union(nightly({"keep_last": 7}), {"schedule": {"cron": "0 2 * * 1-5", "time_zone": "UTC"}})

critical := [{"id": "vm-1", "name": "erp-db01", "tags": ["tier/tier-1"]}, {"id": "vm-2", "name": "web01", "tags": ["tier/tier-2"]}]

plain := [{"id": "vm-2", "name": "web01", "tags": ["tier/tier-2"]}]

test_daily_job_with_a_week_of_points_passes if {
	count(backup.violation) == 0 with input as job(["create"], nightly({"keep_last": 7}), critical, 1440)
		with data.vmgmt.params.backup as {}
}

test_weekday_schedule_over_critical_is_refused if {
	v := backup.violation with input as job(["create"], weekdays, critical, 4320)
		with data.vmgmt.params.backup as {}
	ids(v) == {"backup.critical_schedule"}
	some x in v
	x.level == "mandatory"
	x.path == ["schedule", "cron"]
	contains(x.msg, `backup job "nightly" protects the business-critical VMs erp-db01 (tags tier/tier-1)`)
	contains(x.msg, `schedule "0 2 * * 1-5" leaves up to 72 h between two runs, longer than the 24 h`)
}

test_exactly_the_max_gap_passes if {
	count(backup.violation) == 0 with input as job(["update"], nightly({"keep_last": 7}), critical, 1440)
		with data.vmgmt.params.backup as {"max_gap_minutes": 1440}
}

test_a_minute_over_the_max_gap_is_refused if {
	ids(backup.violation) == {"backup.critical_schedule"} with input as job(["update"], nightly({"keep_last": 14}), critical, 1441)
		with data.vmgmt.params.backup as {}
}

test_weekday_schedule_over_plain_vms_passes if {
	count(backup.violation) == 0 with input as job(["create"], weekdays, plain, 4320)
		with data.vmgmt.params.backup as {}
}

test_short_retention_over_critical_is_refused if {
	v := backup.violation with input as job(["create"], nightly({"keep_last": 3}), critical, 1440)
		with data.vmgmt.params.backup as {}
	ids(v) == {"backup.critical_retention"}
	some x in v
	x.path == ["retention"]
	contains(x.msg, "keeps restore points for 3 days, fewer than the 7 days")
}

test_retention_rules_each_cover_days if {
	every r in [{"keep_last": 1, "keep_days": 7}, {"keep_last": 1, "daily": 7}, {"keep_last": 1, "weekly": 1}, {"keep_last": 1, "monthly": 1}] {
		count(backup.violation) == 0 with input as job(["create"], nightly(r), critical, 1440)
			with data.vmgmt.params.backup as {}
	}
}

test_six_days_is_one_short if {
	ids(backup.violation) == {"backup.critical_retention"} with input as job(["create"], nightly({"keep_last": 1, "daily": 6}), critical, 1440)
		with data.vmgmt.params.backup as {}
}

test_disabled_job_over_critical_warns if {
	v := backup.violation with input as job(["update"], object.union(nightly({"keep_last": 7}), {"enabled": false}), critical, 1440)
		with data.vmgmt.params.backup as {}
	ids(v) == {"backup.critical_disabled"}
	some x in v
	x.level == "advisory"
}

test_tags_any_case_and_params if {
	ids(backup.violation) == {"backup.critical_schedule"} with input as job(["create"], weekdays, [{"id": "vm-9", "name": "pay01", "tags": ["Tier/Tier-1"]}], 4320)
		with data.vmgmt.params.backup as {}
	count(backup.violation) == 0 with input as job(["create"], weekdays, critical, 4320)
		with data.vmgmt.params.backup as {"business_critical_tags": ["env/prod"]}
}

test_unknown_facts_decide_nothing if {
	count(backup.violation) == 0 with input as object.remove(job(["create"], weekdays, critical, 4320), ["inventory"])
		with data.vmgmt.params.backup as {}
}

test_delete_is_not_judged_here if {
	count(backup.violation) == 0 with input as job(["delete"], nightly({"keep_last": 1}), critical, 4320)
		with data.vmgmt.params.backup as {}
}

test_many_critical_vms_are_cut_at_five if {
	vms := [{"id": sprintf("vm-%d", [i]), "name": sprintf("db%02d", [i]), "tags": ["tier/tier-1"]} | some i in numbers.range(1, 8)]
	some x in backup.violation with input as job(["create"], weekdays, vms, 4320)
		with data.vmgmt.params.backup as {}
	contains(x.msg, "db01, db02, db03, db04, db05 and 3 more")
}

# --- backup.repository_on_datastore ---------------------------------------------------------

vmfs := {"id": "datastore-1", "name": "vmfs-prod-01", "type": "VMFS", "url": "ds:///vmfs/volumes/5f3a9c1e-77aa/", "remote_host": "", "remote_path": "", "vms": ["erp-db01", "web01"]}

nfs := {"id": "datastore-2", "name": "nfs-prod", "type": "NFS", "url": "ds:///vmfs/volumes/a1b2c3d4-nfs/", "remote_host": "NAS01.example.com", "remote_path": "/export/vm", "vms": ["erp-db01"]}

file_repo(p) := {"scheme": "file", "path": p, "bucket": "", "endpoint_host": ""}

s3_repo(host) := {"scheme": "s3", "path": "", "bucket": "backups", "endpoint_host": host}

stored(actions, repo, datastores) := object.union(job(actions, nightly({"keep_last": 7}), plain, 1440), {"inventory": {
	"protected": plain, "schedule": {"longest_gap_minutes": 1440},
	"datastores": datastores, "repository": repo,
}})

test_file_repository_under_a_datastore_name_is_refused if {
	v := backup.violation with input as stored(["create"], file_repo("/vmfs/volumes/vmfs-prod-01/backups"), [vmfs, nfs])
		with data.vmgmt.params.backup as {}
	ids(v) == {"backup.repository_on_datastore"}
	count(v) == 1
	some x in v
	x.level == "mandatory"
	x.path == ["repository"]
	contains(x.msg, `backup job "nightly" stores its restore points in file:///vmfs/volumes/vmfs-prod-01/backups, but its path /vmfs/volumes/vmfs-prod-01/backups is on the datastore (/vmfs/volumes/vmfs-prod-01), datastore "vmfs-prod-01" (VMFS), holds the VMs it protects: erp-db01, web01.`)
	contains(x.msg, "exempt the job from backup.repository_on_datastore")
}

test_file_repository_under_a_datastore_uuid_or_url_is_refused if {
	every p in ["/vmfs/volumes/5f3a9c1e-77aa", "/vmfs/volumes/5f3a9c1e-77aa/vmgmt", "/vmfs/volumes/a1b2c3d4-nfs/x"] {
		ids(backup.violation) == {"backup.repository_on_datastore"} with input as stored(["update"], file_repo(p), [vmfs, nfs])
			with data.vmgmt.params.backup as {}
	}
	# A simulator's datastore is a plain local directory.
	local := object.union(vmfs, {"url": "/tmp/govcsim-dc1-LocalDS_0-123/"})
	ids(backup.violation) == {"backup.repository_on_datastore"} with input as stored(["create"], file_repo("/tmp/govcsim-dc1-LocalDS_0-123/backups"), [local])
		with data.vmgmt.params.backup as {}
}

test_file_repository_beside_a_datastore_passes if {
	every p in ["/vmfs/volumes/vmfs-prod-01-backup", "/vmfs/volumes", "/backups/vmfs/volumes/vmfs-prod-01", "/vmfs/volumes/5f3a9c1e-77aab"] {
		count(backup.violation) == 0 with input as stored(["create"], file_repo(p), [vmfs, nfs])
			with data.vmgmt.params.backup as {}
	}
}

test_s3_on_the_nfs_server_of_a_datastore_is_refused if {
	v := backup.violation with input as stored(["create"], s3_repo("nas01.example.com"), [vmfs, nfs])
		with data.vmgmt.params.backup as {}
	ids(v) == {"backup.repository_on_datastore"}
	some x in v
	contains(x.msg, `stores its restore points in s3://backups (endpoint nas01.example.com), but its endpoint nas01.example.com is the NFS server that serves the datastore (NAS01.example.com:/export/vm), datastore "nfs-prod" (NFS), holds the VMs it protects: erp-db01.`)
}

test_s3_elsewhere_or_on_aws_passes if {
	every host in ["minio.example.com", ""] {
		count(backup.violation) == 0 with input as stored(["create"], s3_repo(host), [vmfs, nfs])
			with data.vmgmt.params.backup as {}
	}
}

test_a_vmfs_datastore_has_no_server if {
	# A VMFS datastore's empty remote host never matches an S3 repository on AWS (no endpoint).
	count(backup.violation) == 0 with input as stored(["create"], s3_repo(""), [vmfs])
		with data.vmgmt.params.backup as {}
}

test_repository_without_protected_vms_passes if {
	count(backup.violation) == 0 with input as stored(["create"], file_repo("/vmfs/volumes/vmfs-prod-01/backups"), [])
		with data.vmgmt.params.backup as {}
}

test_repository_rule_level_and_unknown_facts if {
	some x in backup.violation with input as stored(["create"], file_repo("/vmfs/volumes/vmfs-prod-01"), [vmfs])
		with data.vmgmt.params.backup as {"levels": {"repository_on_datastore": "advisory"}}
	x.level == "advisory"
	count(backup.violation) == 0 with input as object.remove(stored(["create"], file_repo("/vmfs/volumes/vmfs-prod-01"), [vmfs]), ["inventory"])
		with data.vmgmt.params.backup as {}
}

# --- backup.only_protection -----------------------------------------------------------------

critical_vms := [
	{"id": "vm-1", "name": "erp-db01", "tags": ["tier/tier-1"]},
	{"id": "vm-3", "name": "erp-app01", "tags": ["Tier/Tier-1", "env/prod"]},
	{"id": "vm-2", "name": "web01", "tags": ["tier/tier-2"]},
]

destroy(enabled, protected, others) := {
	"type": "vmgmt_backup_job",
	"name": "nightly",
	"change": {"actions": ["delete"], "before": object.union(nightly({"keep_last": 7}), {"enabled": enabled}), "after": null, "after_unknown": {}},
	"context": {"phase": "plan", "principal": "VSPHERE.LOCAL\\terraform"},
	"inventory": {"protected": protected, "other_jobs": others, "datastores": [], "schedule": {"longest_gap_minutes": 1440}},
}

test_destroying_the_only_job_of_tier1_vms_is_refused if {
	v := backup.violation with input as destroy(true, critical_vms, [])
		with data.vmgmt.params.backup as {}
	ids(v) == {"backup.only_protection"}
	some x in v
	x.level == "mandatory"
	not x.path
	contains(x.msg, `destroying backup job "nightly" would leave the business-critical VMs erp-app01, erp-db01 (tags tier/tier-1) without backups`)
	contains(x.msg, `add an exemption for backup.only_protection in data.vmgmt.exemptions (selector {type = "vmgmt_backup_job", name = "nightly"})`)
}

test_another_enabled_job_covering_them_lets_the_destroy_through if {
	count(backup.violation) == 0 with input as destroy(true, critical_vms, [{"name": "weekly", "enabled": true, "protects": ["vm-1", "vm-3"]}])
		with data.vmgmt.params.backup as {}
}

test_a_disabled_second_job_is_no_protection if {
	v := backup.violation with input as destroy(true, critical_vms, [{"name": "weekly", "enabled": false, "protects": ["vm-1", "vm-3"]}])
		with data.vmgmt.params.backup as {}
	some x in v
	x.id == "backup.only_protection"
	contains(x.msg, "the business-critical VMs erp-app01, erp-db01 (tags")
}

test_the_vms_left_are_named if {
	# weekly covers erp-db01 only, and web01 is not critical: erp-app01 is left.
	some x in backup.violation with input as destroy(true, critical_vms, [
		{"name": "weekly", "enabled": true, "protects": ["vm-1"]},
		{"name": "old", "enabled": false, "protects": ["vm-3"]},
	])
		with data.vmgmt.params.backup as {}
	contains(x.msg, "the business-critical VMs erp-app01 (tags")
}

test_destroying_a_job_without_critical_vms_passes if {
	count(backup.violation) == 0 with input as destroy(true, plain, [])
		with data.vmgmt.params.backup as {}
	count(backup.violation) == 0 with input as destroy(true, [], [])
		with data.vmgmt.params.backup as {}
}

test_destroying_a_disabled_job_changes_nothing if {
	count(backup.violation) == 0 with input as destroy(false, critical_vms, [])
		with data.vmgmt.params.backup as {}
}

test_only_protection_follows_the_critical_tags_and_facts if {
	count(backup.violation) == 0 with input as destroy(true, critical_vms, [])
		with data.vmgmt.params.backup as {"business_critical_tags": ["tier/tier-0"]}
	count(backup.violation) == 0 with input as object.remove(destroy(true, critical_vms, []), ["inventory"])
		with data.vmgmt.params.backup as {}
	count(backup.violation) == 0 with input as json.patch(destroy(true, critical_vms, []), [{"op": "remove", "path": "/inventory/other_jobs"}])
		with data.vmgmt.params.backup as {}
}

test_a_write_is_not_judged_as_a_destroy if {
	count(backup.violation) == 0 with input as object.union(job(["update"], nightly({"keep_last": 7}), critical, 1440), {"inventory": {"other_jobs": []}})
		with data.vmgmt.params.backup as {}
}

coverage(unprotected, stale) := {
	"type": "vmgmt_protection_coverage",
	"name": "tier1",
	"change": {"actions": ["read"], "before": null, "after": {"grace_minutes": null}, "after_unknown": {}},
	"context": {"phase": "plan", "principal": "VSPHERE.LOCAL\\terraform"},
	"inventory": {"unprotected": unprotected, "stale": stale, "unverified": []},
}

test_unprotected_critical_vms_fail_the_coverage_read if {
	v := backup.violation with input as coverage(critical, [])
		with data.vmgmt.params.backup as {}
	ids(v) == {"backup.critical_unprotected"}
	some x in v
	x.level == "mandatory"
	x.path == ["scope"]
	contains(x.msg, "the business-critical VMs erp-db01 (tags tier/tier-1) are protected by no enabled backup job")
}

test_stale_critical_vms_warn if {
	v := backup.violation with input as coverage([], critical)
		with data.vmgmt.params.backup as {}
	ids(v) == {"backup.critical_stale"}
	some x in v
	x.level == "advisory"
	contains(x.msg, "the business-critical VMs erp-db01 (tags tier/tier-1) have no restore point as recent")
}

test_coverage_of_only_other_vms_passes if {
	count(backup.violation) == 0 with input as coverage(plain, plain)
		with data.vmgmt.params.backup as {}
	count(backup.violation) == 0 with input as coverage([], [])
		with data.vmgmt.params.backup as {}
	count(backup.violation) == 0 with input as object.remove(coverage(critical, critical), ["inventory"])
		with data.vmgmt.params.backup as {}
	# The same facts on another type are not a coverage read.
	count(backup.violation) == 0 with input as object.union(coverage(critical, critical), {"type": "vmgmt_compliance"})
		with data.vmgmt.params.backup as {}
}

test_coverage_follows_the_critical_tags if {
	count(backup.violation) == 0 with input as coverage(critical, critical)
		with data.vmgmt.params.backup as {"business_critical_tags": ["tier/tier-0"]}
	# Tags match in any case.
	v := backup.violation with input as coverage([{"id": "vm-2", "name": "web01", "tags": ["Tier/Tier-2"]}], [])
		with data.vmgmt.params.backup as {"business_critical_tags": ["TIER/tier-2"]}
	ids(v) == {"backup.critical_unprotected"}
}

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

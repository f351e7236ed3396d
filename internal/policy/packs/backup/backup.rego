# METADATA
# title: backup
# description: |
#   Built-in pack for vmgmt_backup_job: a job that protects business-critical VMs must run at
#   least daily (judged on inventory.schedule.longest_gap_minutes, the longest time between two
#   runs over the next year, since cron cannot be read in Rego) and keep restore points for at
#   least a minimum number of days; a disabled job over business-critical VMs warns, since it
#   protects nothing.
#   Parameters (data.vmgmt.params.backup):
#   business_critical_tags (default ["tier/tier-1"]): "category/name" tags of business-critical
#   VMs, any case;
#   max_gap_minutes (default 1440): the longest a business-critical VM may go without a backup;
#   min_retention_days (default 7): how many days of restore points a job over business-critical
#   VMs keeps at least: the most any of its rules covers (keep_days; daily; weekly x 7; monthly
#   x 28; keep_last x the schedule's longest gap);
#   levels (default critical_schedule and critical_retention mandatory, critical_disabled
#   advisory): {<rule>: "mandatory" | "advisory"}.
#   The rules judge only the facts in inventory: a fact missing (unknown at plan) decides nothing.
# schemas:
#   - input: schema.input
package vmgmt.backup

default_params := {
	"business_critical_tags": ["tier/tier-1"],
	"max_gap_minutes": 1440,
	"min_retention_days": 7,
	"levels": {
		"critical_schedule": "mandatory",
		"critical_retention": "mandatory",
		"critical_disabled": "advisory",
	},
}

default user_params := {}

user_params := data.vmgmt.params.backup

params := object.union(default_params, user_params)

level(rule) := params.levels[rule]

writing if {
	input.type == "vmgmt_backup_job"
	some action in input.change.actions
	action in {"create", "update"}
}

default job_name := ""

job_name := input.change.after.name if is_string(input.change.after.name)

critical_tags := {lower(t) | some t in params.business_critical_tags}

critical_vms := {vm.name |
	some vm in input.inventory.protected
	some t in vm.tags
	lower(t) in critical_tags
}

first_names(names) := concat(", ", array.slice(sort(names), 0, 5)) if {
	count(names) <= 5
} else := sprintf("%s and %d more", [concat(", ", array.slice(sort(names), 0, 5)), count(names) - 5])

critical_text := sprintf("the business-critical VMs %s (tags %s)", [first_names(critical_vms), concat(", ", params.business_critical_tags)])

# --- backup.critical_schedule ---------------------------------------------------------------

gap := input.inventory.schedule.longest_gap_minutes

hours(minutes) := sprintf("%v h", [round((minutes * 10) / 60) / 10])

violation contains v if {
	writing
	count(critical_vms) > 0
	is_number(gap)
	gap > params.max_gap_minutes
	v := {
		"id": "backup.critical_schedule",
		"level": level("critical_schedule"),
		"path": ["schedule", "cron"],
		"msg": sprintf(
			"backup job %q protects %s, but its schedule %q leaves up to %s between two runs, longer than the %s a business-critical VM may go without a backup (data.vmgmt.params.backup.max_gap_minutes). Run it at least daily, e.g. cron = \"0 2 * * *\", or exempt the job from backup.critical_schedule.",
			[job_name, critical_text, object.get(input.change.after.schedule, "cron", ""), hours(gap), hours(params.max_gap_minutes)],
		),
	}
}

# --- backup.critical_retention --------------------------------------------------------------

retention := object.get(input.change.after, "retention", {})

num(x) := x if is_number(x)

else := 0

# The days of restore points each rule of the retention covers; the job keeps the most of them.
covered_days := max({
	num(object.get(retention, "keep_days", 0)),
	num(object.get(retention, "daily", 0)),
	num(object.get(retention, "weekly", 0)) * 7,
	num(object.get(retention, "monthly", 0)) * 28,
	(num(object.get(retention, "keep_last", 0)) * gap) / 1440,
})

violation contains v if {
	writing
	count(critical_vms) > 0
	is_number(gap)
	is_object(retention)
	covered_days < params.min_retention_days
	v := {
		"id": "backup.critical_retention",
		"level": level("critical_retention"),
		"path": ["retention"],
		"msg": sprintf(
			"backup job %q protects %s, but its retention keeps restore points for %v days, fewer than the %d days business-critical VMs keep (data.vmgmt.params.backup.min_retention_days). Keep more, e.g. retention { keep_last = 7, daily = %d }, or exempt the job from backup.critical_retention.",
			[job_name, critical_text, round(covered_days * 10) / 10, params.min_retention_days, params.min_retention_days],
		),
	}
}

# --- backup.critical_disabled ---------------------------------------------------------------

violation contains v if {
	writing
	count(critical_vms) > 0
	input.change.after.enabled == false
	v := {
		"id": "backup.critical_disabled",
		"level": level("critical_disabled"),
		"path": ["enabled"],
		"msg": sprintf(
			"backup job %q is disabled, and it is the job for %s: the runner skips it, so they get no new restore points. Enable it, or make sure another job protects them.",
			[job_name, critical_text],
		),
	}
}

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
#   levels (default critical_schedule, critical_retention, repository_on_datastore and
#   only_protection and critical_unprotected mandatory, critical_disabled and critical_stale
#   advisory): {<rule>: "mandatory" | "advisory"}.
#   repository_on_datastore: the repository must not live on storage the protected VMs use: a
#   file repository whose path is under /vmfs/volumes/<datastore name or uuid> or the datastore's
#   URL path, or a repository (an S3 endpoint) served by the NFS server of a protected VM's
#   datastore (judged on inventory.datastores and inventory.repository).
#   only_protection: destroying a job is refused while it is the only enabled job protecting a
#   business-critical VM (judged on inventory.other_jobs); destroying a disabled job changes
#   nothing and passes. An exemption (data.vmgmt.exemptions) lets a destroy through.
#   critical_unprotected: a vmgmt_protection_coverage read whose scope holds business-critical VMs
#   that no enabled job protects fails the plan, naming them; critical_stale warns about those
#   whose newest point is older than their schedule allows (judged on the data source's
#   inventory.unprotected and inventory.stale).
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
		"repository_on_datastore": "mandatory",
		"only_protection": "mandatory",
		"critical_unprotected": "mandatory",
		"critical_stale": "advisory",
	},
}

default user_params := {}

user_params := data.vmgmt.params.backup

params := object.union(default_params, user_params)

destroying if {
	input.type == "vmgmt_backup_job"
	"delete" in input.change.actions
	not "create" in input.change.actions
}

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

# --- backup.repository_on_datastore ---------------------------------------------------------

repository := input.inventory.repository

# The directory a datastore's URL names: ds:///vmfs/volumes/<uuid>/ -> /vmfs/volumes/<uuid>; a
# plain path as it is.
url_path(u) := trim_suffix(substring(u, count("ds://"), -1), "/") if startswith(u, "ds://")

else := trim_suffix(u, "/")

# The directories under which a file is on the datastore.
datastore_dirs(ds) := {d |
	some d in {concat("/", ["/vmfs/volumes", ds.name]), url_path(ds.url)}
	d != ""
	d != "/vmfs/volumes"
}

under(p, dir) if p == dir

under(p, dir) if startswith(p, concat("", [dir, "/"]))

# Why the repository is on the datastore, or served by its storage; nothing when it is not.
on_datastore(ds) := sprintf("its path %s is on the datastore (%s)", [repository.path, dir]) if {
	repository.scheme == "file"
	some dir in datastore_dirs(ds)
	under(repository.path, dir)
} else := sprintf("its endpoint %s is the NFS server that serves the datastore (%s:%s)", [repository.endpoint_host, ds.remote_host, ds.remote_path]) if {
	repository.endpoint_host != ""
	lower(repository.endpoint_host) == lower(ds.remote_host)
}

repository_text := sprintf("file://%s", [repository.path]) if repository.scheme == "file"

else := sprintf("s3://%s (endpoint %s)", [repository.bucket, repository.endpoint_host])

violation contains v if {
	writing
	is_object(repository)
	some ds in input.inventory.datastores
	why := on_datastore(ds)
	v := {
		"id": "backup.repository_on_datastore",
		"level": level("repository_on_datastore"),
		"path": ["repository"],
		"msg": sprintf(
			"backup job %q stores its restore points in %s, but %s, datastore %q (%s), holds the VMs it protects: %s. Losing that storage would lose the VMs and their backups together. Put the repository on storage no protected VM uses (another NFS server, an S3 bucket elsewhere), or exempt the job from backup.repository_on_datastore.",
			[job_name, repository_text, why, ds.name, ds.type, first_names({n | some n in ds.vms})],
		),
	}
}

# --- backup.only_protection -----------------------------------------------------------------

before_name := input.change.before.name

# Business-critical VMs of the job that no other enabled job protects.
left_unprotected := {vm.name |
	some vm in input.inventory.protected
	some t in vm.tags
	lower(t) in critical_tags
	not protected_elsewhere(vm.id)
}

protected_elsewhere(id) if {
	some other in input.inventory.other_jobs
	other.enabled == true
	id in other.protects
}

violation contains v if {
	destroying
	input.change.before.enabled != false
	is_array(input.inventory.other_jobs)
	count(left_unprotected) > 0
	v := {
		"id": "backup.only_protection",
		"level": level("only_protection"),
		"msg": sprintf(
			"destroying backup job %q would leave the business-critical VMs %s (tags %s) without backups: no other enabled backup job protects them. Protect them with another enabled job first, or, if they are to go unprotected, add an exemption for backup.only_protection in data.vmgmt.exemptions (selector {type = \"vmgmt_backup_job\", name = %q}) with its reason.",
			[before_name, first_names(left_unprotected), concat(", ", params.business_critical_tags), before_name],
		),
	}
}

# --- backup.critical_unprotected, backup.critical_stale (vmgmt_protection_coverage) -------------

coverage_read if {
	input.type == "vmgmt_protection_coverage"
	"read" in input.change.actions
}

critical_in(vms) := {vm.name |
	some vm in vms
	some t in vm.tags
	lower(t) in critical_tags
}

violation contains v if {
	coverage_read
	names := critical_in(input.inventory.unprotected)
	count(names) > 0
	v := {
		"id": "backup.critical_unprotected",
		"level": level("critical_unprotected"),
		"path": ["scope"],
		"msg": sprintf(
			"the business-critical VMs %s (tags %s) are protected by no enabled backup job. Add them to a vmgmt_backup_job's selection (or name a job in their catalog item), or exempt them from backup.critical_unprotected.",
			[first_names(names), concat(", ", params.business_critical_tags)],
		),
	}
}

violation contains v if {
	coverage_read
	names := critical_in(input.inventory.stale)
	count(names) > 0
	v := {
		"id": "backup.critical_stale",
		"level": level("critical_stale"),
		"path": ["scope"],
		"msg": sprintf(
			"the business-critical VMs %s (tags %s) have no restore point as recent as their backup schedule allows: check the runner's last runs (backup list, the jobs' last_run).",
			[first_names(names), concat(", ", params.business_critical_tags)],
		),
	}
}

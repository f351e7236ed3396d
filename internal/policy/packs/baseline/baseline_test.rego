package vmgmt.baseline_test

import data.vmgmt.baseline

ids(vs) := {v.id | some v in vs}

only(vs, id) := v if {
	ids(vs) == {id}
	count(vs) == 1
	some v in vs
}

# --- catalog VMs ----------------------------------------------------------------------------

vm_change(actions, baselines) := {
	"type": "vmgmt_catalog_vm",
	"name": "db01",
	"change": {
		"actions": actions,
		"before": null,
		"after": {"name": "db01", "catalog_item": "db-server", "size": "small", "job_function": "dba"},
		"after_unknown": {},
	},
	"context": {"phase": "plan", "principal": "VSPHERE.LOCAL\\terraform"},
	"inventory": {"item": {"name": "db-server"}, "usage": {}, "baselines": baselines},
}

test_catalog_vm_held_by_an_enforcing_baseline_passes if {
	count(baseline.violation) == 0 with input as vm_change(["create"], [{"name": "db-hardening", "mode": "enforce"}])
		with data.vmgmt.params.baseline as {}
}

test_catalog_vm_update_held_by_an_enforcing_baseline_passes if {
	count(baseline.violation) == 0 with input as vm_change(["update"], [{"name": "db-hardening", "mode": "enforce"}])
		with data.vmgmt.params.baseline as {}
}

test_catalog_vm_item_without_baseline_is_refused if {
	v := only(baseline.violation, "baseline.catalog_enforced") with input as vm_change(["create"], [])
		with data.vmgmt.params.baseline as {}
	v.level == "mandatory"
	v.path == ["catalog_item"]
	contains(v.msg, `catalog VM "db01"`)
	contains(v.msg, `catalog item "db-server" names no configuration baseline (config_baseline)`)
	contains(v.msg, `Name an enforcing baseline in the item's config_baseline`)
	contains(v.msg, `exempt the VM from baseline.catalog_enforced`)
}

test_catalog_vm_audit_baseline_is_refused if {
	v := only(baseline.violation, "baseline.catalog_enforced") with input as vm_change(["update"], [{"name": "db-hardening", "mode": "audit"}])
		with data.vmgmt.params.baseline as {}
	contains(v.msg, `names the configuration baseline "db-hardening", which is in audit mode`)
	contains(v.msg, `set that baseline's mode = "enforce"`)
}

test_catalog_vm_undefined_baseline_is_refused if {
	v := only(baseline.violation, "baseline.catalog_enforced") with input as vm_change(["create"], [{"name": "db-hardnening", "mode": ""}])
		with data.vmgmt.params.baseline as {}
	contains(v.msg, `"db-hardnening", which no configuration baseline of that name defines or plans`)
}

test_catalog_vm_level_from_params if {
	v := only(baseline.violation, "baseline.catalog_enforced") with input as vm_change(["create"], [])
		with data.vmgmt.params.baseline as {"levels": {"catalog_enforced": "advisory"}}
	v.level == "advisory"
}

test_catalog_vm_unknown_baselines_are_not_judged if {
	inp := json.remove(vm_change(["create"], []), ["inventory/baselines"])
	count(baseline.violation) == 0 with input as inp
		with data.vmgmt.params.baseline as {}
}

test_catalog_vm_delete_is_not_judged if {
	count(baseline.violation) == 0 with input as vm_change(["delete"], [])
		with data.vmgmt.params.baseline as {}
}

test_catalog_vm_noop_is_not_judged if {
	count(baseline.violation) == 0 with input as vm_change(["no-op"], [])
		with data.vmgmt.params.baseline as {}
}

test_other_types_ignored if {
	inp := json.patch(vm_change(["create"], []), [{"op": "replace", "path": "/type", "value": "vmgmt_catalog_item"}])
	count(baseline.violation) == 0 with input as inp
		with data.vmgmt.params.baseline as {}
}

# --- configuration baselines ----------------------------------------------------------------

relaxed_3d := {"key": "mks.enable3d", "pack": "scg-8", "pack_value": "FALSE", "value": "TRUE", "control": "VM-8.0-3d"}

db01 := {"id": "vm-1", "name": "db01", "tags": ["tier/tier-1", "app/db"]}

web01 := {"id": "vm-2", "name": "web01", "tags": ["tier/tier-2"]}

baseline_change(actions, after, inventory) := {
	"type": "vmgmt_config_baseline",
	"name": object.get(after, "name", ""),
	"change": {"actions": actions, "before": null, "after": after, "after_unknown": {}},
	"context": {"phase": "plan", "principal": "VSPHERE.LOCAL\\terraform"},
	"inventory": inventory,
}

vm_baseline(mode, relaxed, scope) := baseline_change(
	["create"],
	{"name": "db-hardening", "mode": mode, "target": "vm", "packs": ["scg-8"]},
	{"relaxed": relaxed, "scope": scope, "drifted_count": 0},
)

test_enforcing_baseline_without_relaxing_passes if {
	count(baseline.violation) == 0 with input as vm_baseline("enforce", [], [db01, web01])
		with data.vmgmt.params.baseline as {}
}

test_baseline_update_without_relaxing_passes if {
	inp := json.patch(vm_baseline("enforce", [], [db01]), [{"op": "replace", "path": "/change/actions", "value": ["update"]}])
	count(baseline.violation) == 0 with input as inp
		with data.vmgmt.params.baseline as {}
}

test_baseline_delete_is_not_judged if {
	inp := json.patch(vm_baseline("audit", [relaxed_3d], [db01]), [{"op": "replace", "path": "/change/actions", "value": ["delete"]}])
	count(baseline.violation) == 0 with input as inp
		with data.vmgmt.params.baseline as {}
}

# --- baseline.relax_critical ----------------------------------------------------------------

test_relax_on_critical_vm_is_refused if {
	relaxed_paste := {"key": "isolation.tools.paste.disable", "pack": "scg-8", "pack_value": "TRUE", "value": "FALSE", "control": "VM-8.0-paste"}
	v := only(baseline.violation, "baseline.relax_critical") with input as vm_baseline("enforce", [relaxed_3d, relaxed_paste], [db01, web01])
		with data.vmgmt.params.baseline as {}
	v.level == "mandatory"
	v.path == ["settings"]
	contains(v.msg, `configuration baseline "db-hardening"`)
	contains(v.msg, `on the business-critical VMs "db01", tagged "tier/tier-1" (data.vmgmt.params.baseline.business_critical_tags): `)
	not contains(v.msg, "web01")
	contains(v.msg, `isolation.tools.paste.disable (scg-8 VM-8.0-paste: "FALSE" instead of "TRUE"), mks.enable3d (scg-8 VM-8.0-3d: "TRUE" instead of "FALSE")`)
	contains(v.msg, "exemption for baseline.relax_critical in data.vmgmt.exemptions")
	contains(v.msg, "Remove the relaxed settings")
}

test_relax_tags_compare_in_any_case if {
	shouting := {"id": "vm-3", "name": "erp01", "tags": ["Tier/Tier-1"]}
	v := only(baseline.violation, "baseline.relax_critical") with input as vm_baseline("enforce", [relaxed_3d], [shouting])
		with data.vmgmt.params.baseline as {"business_critical_tags": ["TIER/tier-1"]}
	contains(v.msg, `"erp01"`)
}

test_relax_without_critical_vms_passes if {
	count(baseline.violation) == 0 with input as vm_baseline("enforce", [relaxed_3d], [web01])
		with data.vmgmt.params.baseline as {}
}

test_relax_of_unprotected_pack_passes if {
	count(baseline.violation) == 0 with input as vm_baseline("enforce", [relaxed_3d], [db01])
		with data.vmgmt.params.baseline as {"protected_packs": ["cis"]}
}

test_relax_names_the_first_few_critical_vms if {
	scope := [{"id": sprintf("vm-%d", [i]), "name": sprintf("db%02d", [i]), "tags": ["tier/tier-1"]} | some i in numbers.range(1, 8)]
	v := only(baseline.violation, "baseline.relax_critical") with input as vm_baseline("enforce", [relaxed_3d], scope)
		with data.vmgmt.params.baseline as {}
	contains(v.msg, `"db01", "db02", "db03", "db04", "db05" and 3 more`)
	not contains(v.msg, "db06")
}

test_relax_with_unknown_scope_is_not_judged if {
	inp := json.remove(vm_baseline("enforce", [relaxed_3d], [db01]), ["inventory/scope"])
	count(baseline.violation) == 0 with input as inp
		with data.vmgmt.params.baseline as {}
}

test_relax_level_from_params if {
	v := only(baseline.violation, "baseline.relax_critical") with input as vm_baseline("enforce", [relaxed_3d], [db01])
		with data.vmgmt.params.baseline as {"levels": {"relax_critical": "advisory"}}
	v.level == "advisory"
}

# --- baseline.audit_critical ----------------------------------------------------------------

test_audit_on_critical_vm_warns if {
	v := only(baseline.violation, "baseline.audit_critical") with input as vm_baseline("audit", [], [db01, web01])
		with data.vmgmt.params.baseline as {}
	v.level == "advisory"
	v.path == ["mode"]
	contains(v.msg, `configuration baseline "db-hardening" only audits the business-critical VMs "db01", tagged "tier/tier-1"`)
	contains(v.msg, `Set mode = "enforce"`)
	not contains(v.msg, "web01")
}

test_audit_without_critical_vms_passes if {
	count(baseline.violation) == 0 with input as vm_baseline("audit", [], [web01])
		with data.vmgmt.params.baseline as {}
}

test_audit_and_relax_on_critical_vm_gives_both if {
	ids(baseline.violation) == {"baseline.audit_critical", "baseline.relax_critical"} with input as vm_baseline("audit", [relaxed_3d], [db01])
		with data.vmgmt.params.baseline as {}
}

test_audit_level_from_params if {
	v := only(baseline.violation, "baseline.audit_critical") with input as vm_baseline("audit", [], [db01])
		with data.vmgmt.params.baseline as {"levels": {"audit_critical": "mandatory"}}
	v.level == "mandatory"
}

# --- host baselines -------------------------------------------------------------------------

relaxed_shell := {"key": "UserVars.ESXiShellTimeOut", "pack": "scg-8-host", "pack_value": "900", "value": "0", "control": "ESXi-8.0-shell-timeout"}

host_baseline(mode, relaxed) := baseline_change(
	["create"],
	{"name": "esxi-hardening", "mode": mode, "target": "host", "packs": ["scg-8-host"]},
	{
		"relaxed": relaxed,
		"hosts": [
			{"id": "host-1", "name": "esx01.corp", "cluster": "prod"},
			{"id": "host-2", "name": "esx02.corp", "cluster": "dev"},
		],
		"drifted_count": 0,
	},
)

test_host_baseline_without_critical_clusters_is_not_judged if {
	count(baseline.violation) == 0 with input as host_baseline("audit", [relaxed_shell])
		with data.vmgmt.params.baseline as {}
}

test_host_baseline_on_critical_cluster_relax_is_refused if {
	v := only(baseline.violation, "baseline.relax_critical") with input as host_baseline("enforce", [relaxed_shell])
		with data.vmgmt.params.baseline as {"business_critical_clusters": ["prod"]}
	contains(v.msg, `configuration baseline "esxi-hardening"`)
	contains(v.msg, `on the business-critical hosts "esx01.corp", in the clusters "prod" (data.vmgmt.params.baseline.business_critical_clusters): `)
	not contains(v.msg, "esx02.corp")
	contains(v.msg, `UserVars.ESXiShellTimeOut (scg-8-host ESXi-8.0-shell-timeout: "0" instead of "900")`)
}

test_host_baseline_on_critical_cluster_audit_warns if {
	v := only(baseline.violation, "baseline.audit_critical") with input as host_baseline("audit", [])
		with data.vmgmt.params.baseline as {"business_critical_clusters": ["prod"]}
	contains(v.msg, `"esx01.corp"`)
}

test_host_baseline_on_other_clusters_passes if {
	count(baseline.violation) == 0 with input as host_baseline("audit", [relaxed_shell])
		with data.vmgmt.params.baseline as {"business_critical_clusters": ["erp"]}
}

test_host_baseline_ignores_vm_tags if {
	# A host baseline's scope is its hosts: VM tags in the parameters make none critical.
	count(baseline.violation) == 0 with input as host_baseline("audit", [relaxed_shell])
		with data.vmgmt.params.baseline as {"business_critical_tags": ["tier/tier-1"]}
}

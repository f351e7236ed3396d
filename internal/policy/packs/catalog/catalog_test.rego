package vmgmt.catalog_test

import data.vmgmt.catalog

item := {
	"name": "db-server",
	"version": "1.0.0",
	"sizes": {
		"small": {"cpus": 4, "memory_mb": 16384, "disk_gb": 100},
		"large": {"cpus": 16, "memory_mb": 131072, "disk_gb": 500},
	},
	"allowed_folders": ["workloads/db"],
	"allowed_networks": ["pg-db"],
	"entitled_groups": ["dba", "erp-ops"],
	"quota": {"dba": {"instances": 3, "cpus": 32, "memory_mb": 262144}},
	"lease": {"default_days": 30, "max_days": 90, "grace_days": 7},
}

usage := {"dba": {"instances": 1, "cpus": 4, "memory_mb": 16384}}

vm(overrides) := object.union(
	{
		"name": "db01", "catalog_item": "db-server", "size": "small", "folder": "workloads/db",
		"network": "pg-db", "owner": "alice@corp.example", "job_function": "dba", "lease_days": 30,
		"power_on": true,
	},
	overrides,
)

change(actions, before, after) := {
	"type": "vmgmt_catalog_vm",
	"change": {"actions": actions, "before": before, "after": after, "after_unknown": {}},
	"context": {"phase": "plan", "principal": "VSPHERE.LOCAL\\terraform"},
	"inventory": {"item": item, "usage": usage},
}

create(overrides) := change(["create"], null, vm(overrides))

with_usage(inp, u) := json.patch(inp, [{"op": "replace", "path": "/inventory/usage", "value": u}])

with_item(inp, patch) := json.patch(inp, [{"op": p.op, "path": concat("", ["/inventory/item", p.path]), "value": object.get(p, "value", null)} | some p in patch])

ids(vs) := {v.id | some v in vs}

only(vs, id) := v if {
	ids(vs) == {id}
	count(vs) == 1
	some v in vs
}

# --- allowed ------------------------------------------------------------------------------

test_request_within_the_item_passes if {
	count(catalog.violation) == 0 with input as create({})
		with data.vmgmt.params.catalog as {}
}

test_largest_size_at_quota_passes if {
	# 1 + 1 instances <= 3; 4 + 16 vCPUs <= 32; 16384 + 131072 MB <= 262144
	count(catalog.violation) == 0 with input as create({"size": "large"})
		with data.vmgmt.params.catalog as {}
}

test_delete_is_not_judged if {
	inp := with_usage(change(["delete"], vm({"size": "huge", "job_function": "devs"}), null), {"dba": {"instances": 99}})
	count(catalog.violation) == 0 with input as inp
		with data.vmgmt.params.catalog as {}
}

test_other_types_ignored if {
	inp := json.patch(create({"size": "huge", "job_function": "devs"}), [{"op": "replace", "path": "/type", "value": "vmgmt_catalog_item"}])
	count(catalog.violation) == 0 with input as inp
		with data.vmgmt.params.catalog as {}
}

test_unknown_item_is_not_judged if {
	inp := json.patch(create({"size": "huge", "job_function": "devs"}), [{"op": "replace", "path": "/inventory", "value": {}}])
	count(catalog.violation) == 0 with input as inp
		with data.vmgmt.params.catalog as {}
}

test_unknown_size_and_lease_are_not_judged if {
	# Unknown at plan time: null in after (the engine defers the package).
	count(catalog.violation) == 0 with input as create({"size": null, "lease_days": null, "folder": null, "network": null})
		with data.vmgmt.params.catalog as {}
}

# --- catalog.entitlement ------------------------------------------------------------------

test_entitlement_fires_for_a_group_not_entitled if {
	v := only(catalog.violation, "catalog.entitlement") with input as create({"job_function": "devs"})
		with data.vmgmt.params.catalog as {}
	v.path == ["job_function"]
	v.level == "mandatory"
	contains(v.msg, `"dba", "erp-ops"`)
	contains(v.msg, `job_function is "devs"`)
}

test_entitlement_fires_without_job_function if {
	v := only(catalog.violation, "catalog.entitlement") with input as create({"job_function": null})
		with data.vmgmt.params.catalog as {}
	contains(v.msg, "job_function is not set")
}

test_entitlement_open_item_passes_any_group if {
	inp := with_item(create({"job_function": "devs"}), [{"op": "remove", "path": "/entitled_groups"}, {"op": "remove", "path": "/quota"}])
	count(catalog.violation) == 0 with input as inp
		with data.vmgmt.params.catalog as {}
}

test_entitlement_empty_list_is_open if {
	inp := with_item(create({"job_function": null}), [{"op": "replace", "path": "/entitled_groups", "value": []}])
	count(catalog.violation) == 0 with input as inp
		with data.vmgmt.params.catalog as {}
}

test_membership_owner_member_passes if {
	count(catalog.violation) == 0 with input as create({})
		with data.vmgmt.params.catalog as {"groups": {"dba": ["ALICE@corp.example", "bob@corp.example"]}}
}

test_membership_fires_for_owner_not_in_group if {
	v := only(catalog.violation, "catalog.entitlement") with input as create({})
		with data.vmgmt.params.catalog as {"groups": {"dba": ["bob@corp.example"], "erp-ops": ["alice@corp.example"]}}
	v.path == ["owner"]
	contains(v.msg, `owner "alice@corp.example" is not a member of job function "dba"`)
}

test_membership_fires_for_group_missing_from_data if {
	v := only(catalog.violation, "catalog.entitlement") with input as create({})
		with data.vmgmt.params.catalog as {"groups": {"erp-ops": ["alice@corp.example"]}}
	v.path == ["owner"]
}

test_membership_uses_session_user_without_owner if {
	# VSPHERE.LOCAL\terraform and terraform@vsphere.local are the same principal.
	count(catalog.violation) == 0 with input as create({"owner": null})
		with data.vmgmt.params.catalog as {"groups": {"dba": ["terraform@vsphere.local"]}}
	count(catalog.violation) == 0 with input as create({"owner": ""})
		with data.vmgmt.params.catalog as {"groups": {"dba": ["vsphere.local\\TERRAFORM"]}}
}

test_membership_fires_for_session_user_not_in_group if {
	v := only(catalog.violation, "catalog.entitlement") with input as create({"owner": null})
		with data.vmgmt.params.catalog as {"groups": {"dba": ["alice@corp.example"]}}
	v.path == ["job_function"]
	contains(v.msg, `the requester "VSPHERE.LOCAL\\terraform" (the vCenter session user`)
}

test_membership_not_checked_without_groups if {
	count(catalog.violation) == 0 with input as create({"owner": "mallory@corp.example"})
		with data.vmgmt.params.catalog as {}
}

test_entitlement_level_from_data if {
	v := only(catalog.violation, "catalog.entitlement") with input as create({"job_function": "devs"})
		with data.vmgmt.params.catalog as {"levels": {"entitlement": "advisory"}}
	v.level == "advisory"
}

# --- catalog.size -------------------------------------------------------------------------

test_size_fires_for_a_size_not_offered if {
	v := only(catalog.violation, "catalog.size") with input as create({"size": "huge"})
		with data.vmgmt.params.catalog as {}
	v.path == ["size"]
	v.level == "mandatory"
	contains(v.msg, `offers the sizes "large", "small", not "huge"`)
}

# --- catalog.quota ------------------------------------------------------------------------

test_quota_fires_on_instances if {
	inp := with_usage(create({}), {"dba": {"instances": 3, "cpus": 12, "memory_mb": 49152}})
	v := only(catalog.violation, "catalog.quota") with input as inp
		with data.vmgmt.params.catalog as {}
	v.path == ["job_function"]
	contains(v.msg, `job function "dba" would hold 4 VMs of catalog item "db-server" (3 in its other VMs, 1 in this one), above its quota of 3`)
	contains(v.msg, `quota["dba"].instances`)
}

test_quota_fires_on_cpus if {
	inp := with_usage(create({"size": "large"}), {"dba": {"instances": 1, "cpus": 20, "memory_mb": 0}})
	v := only(catalog.violation, "catalog.quota") with input as inp
		with data.vmgmt.params.catalog as {}
	v.path == ["size"]
	contains(v.msg, "would hold 36 vCPUs")
	contains(v.msg, "Choose a smaller size")
}

test_quota_fires_on_memory if {
	inp := with_usage(create({"size": "large"}), {"dba": {"instances": 0, "cpus": 0, "memory_mb": 200000}})
	v := only(catalog.violation, "catalog.quota") with input as inp
		with data.vmgmt.params.catalog as {}
	v.path == ["size"]
	contains(v.msg, "331072 MB of memory")
}

test_quota_fires_on_every_dimension_exceeded if {
	inp := with_usage(create({"size": "large"}), {"dba": {"instances": 3, "cpus": 32, "memory_mb": 262144}})
	vs := catalog.violation with input as inp
		with data.vmgmt.params.catalog as {}
	count(vs) == 3
	ids(vs) == {"catalog.quota"}
}

test_quota_missing_or_zero_is_no_limit if {
	inp := with_item(
		with_usage(create({"size": "large"}), {"dba": {"instances": 50, "cpus": 500, "memory_mb": 5000000}}),
		[{"op": "replace", "path": "/quota/dba", "value": {"instances": 0}}],
	)
	count(catalog.violation) == 0 with input as inp
		with data.vmgmt.params.catalog as {}
}

test_quota_other_group_without_quota_passes if {
	inp := with_usage(create({"job_function": "erp-ops"}), {"erp-ops": {"instances": 50}})
	count(catalog.violation) == 0 with input as inp
		with data.vmgmt.params.catalog as {}
}

test_quota_without_usage_counts_this_vm if {
	inp := with_item(with_usage(create({"size": "large"}), {}), [{"op": "replace", "path": "/quota/dba/cpus", "value": 15}])
	v := only(catalog.violation, "catalog.quota") with input as inp
		with data.vmgmt.params.catalog as {}
	contains(v.msg, "(0 in its other VMs, 16 in this one)")
}

test_quota_update_that_grows_fires if {
	inp := with_usage(change(["update"], vm({}), vm({"size": "large"})), {"dba": {"instances": 2, "cpus": 20, "memory_mb": 0}})
	v := only(catalog.violation, "catalog.quota") with input as inp
		with data.vmgmt.params.catalog as {}
	v.path == ["size"]
	contains(v.msg, "would hold 36 vCPUs")
}

test_quota_update_without_growth_passes_over_quota if {
	# The group is above a quota lowered since: changing the lease or shrinking is still allowed.
	over := {"dba": {"instances": 5, "cpus": 40, "memory_mb": 400000}}
	count(catalog.violation) == 0 with input as with_usage(change(["update"], vm({}), vm({"lease_days": 60})), over)
		with data.vmgmt.params.catalog as {}
	count(catalog.violation) == 0 with input as with_usage(change(["update"], vm({"size": "large"}), vm({})), over)
		with data.vmgmt.params.catalog as {}
}

test_quota_update_moving_group_counts_whole_vm if {
	inp := with_item(
		with_usage(change(["update"], vm({"job_function": "erp-ops"}), vm({})), {"dba": {"instances": 3, "cpus": 4, "memory_mb": 0}}),
		[{"op": "add", "path": "/quota/erp-ops", "value": {"instances": 10}}],
	)
	v := only(catalog.violation, "catalog.quota") with input as inp
		with data.vmgmt.params.catalog as {}
	v.path == ["job_function"]
	contains(v.msg, "would hold 4 VMs")
}

test_quota_level_from_data if {
	inp := with_usage(create({}), {"dba": {"instances": 3}})
	v := only(catalog.violation, "catalog.quota") with input as inp
		with data.vmgmt.params.catalog as {"levels": {"quota": "advisory"}}
	v.level == "advisory"
}

# --- catalog.lease ------------------------------------------------------------------------

test_lease_fires_beyond_max if {
	v := only(catalog.violation, "catalog.lease") with input as create({"lease_days": 91})
		with data.vmgmt.params.catalog as {}
	v.path == ["lease_days"]
	contains(v.msg, "lease_days 91 is longer than catalog item \"db-server\" allows (lease.max_days = 90)")
}

test_lease_at_max_passes if {
	count(catalog.violation) == 0 with input as create({"lease_days": 90})
		with data.vmgmt.params.catalog as {}
}

# --- catalog.placement --------------------------------------------------------------------

test_placement_fires_for_folder_not_allowed if {
	v := only(catalog.violation, "catalog.placement") with input as create({"folder": "workloads/web"})
		with data.vmgmt.params.catalog as {}
	v.path == ["folder"]
	contains(v.msg, `folder "workloads/web" is not one catalog item "db-server" may place VMs in: "workloads/db"`)
}

test_placement_fires_for_folder_sharing_a_prefix if {
	only(catalog.violation, "catalog.placement") with input as create({"folder": "workloads/db-old"})
		with data.vmgmt.params.catalog as {}
}

test_placement_allows_absolute_paths_and_subfolders if {
	count(catalog.violation) == 0 with input as create({"folder": "/dc1/vm/workloads/db"})
		with data.vmgmt.params.catalog as {}
	count(catalog.violation) == 0 with input as create({"folder": "workloads/db/erp/"})
		with data.vmgmt.params.catalog as {}
	inp := with_item(create({"folder": "workloads/db"}), [{"op": "replace", "path": "/allowed_folders", "value": ["/dc1/vm/workloads"]}])
	count(catalog.violation) == 0 with input as inp
		with data.vmgmt.params.catalog as {}
}

test_placement_fires_for_network_not_allowed if {
	v := only(catalog.violation, "catalog.placement") with input as create({"network": "pg-web"})
		with data.vmgmt.params.catalog as {}
	v.path == ["network"]
	contains(v.msg, `network "pg-web" is not one catalog item "db-server" may attach VMs to: "pg-db"`)
}

test_placement_network_by_path_passes if {
	count(catalog.violation) == 0 with input as create({"network": "/dc1/network/pg-db"})
		with data.vmgmt.params.catalog as {}
}

test_placement_unset_or_open_passes if {
	count(catalog.violation) == 0 with input as create({"folder": null, "network": ""})
		with data.vmgmt.params.catalog as {}
	inp := with_item(create({"folder": "anywhere", "network": "pg-web"}), [
		{"op": "remove", "path": "/allowed_folders"},
		{"op": "replace", "path": "/allowed_networks", "value": []},
	])
	count(catalog.violation) == 0 with input as inp
		with data.vmgmt.params.catalog as {}
}

# --- robustness ---------------------------------------------------------------------------

test_nulls_in_the_item_mean_no_restriction if {
	inp := with_usage(
		with_item(create({"job_function": "devs", "folder": "x", "network": "y", "lease_days": 500}), [
			{"op": "replace", "path": "/entitled_groups", "value": null},
			{"op": "replace", "path": "/allowed_folders", "value": null},
			{"op": "replace", "path": "/allowed_networks", "value": null},
			{"op": "replace", "path": "/quota", "value": null},
			{"op": "replace", "path": "/lease", "value": null},
		]),
		null,
	)
	count(catalog.violation) == 0 with input as inp
		with data.vmgmt.params.catalog as {}
}

test_quota_counts_without_a_usage_document if {
	inp := with_item(
		json.patch(create({"size": "large"}), [{"op": "remove", "path": "/inventory/usage"}]),
		[{"op": "replace", "path": "/quota/dba/cpus", "value": 15}],
	)
	v := only(catalog.violation, "catalog.quota") with input as inp
		with data.vmgmt.params.catalog as {}
	contains(v.msg, "would hold 16 vCPUs")
}

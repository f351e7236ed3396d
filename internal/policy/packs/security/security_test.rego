package vmgmt.security_test

import data.vmgmt.security

group(overrides) := object.union(
	{
		"name": "db-admins", "description": "DB admins on the database tier", "role": "DBAdmin",
		"privileges": null,
		"principals": [{"name": "CORP\\dba", "is_group": true, "propagate": true}],
		"network_policy": {
			"allow_promiscuous": false, "allow_mac_changes": null, "allow_forged_transmits": false,
			"port_groups": [],
		},
		"member_ids": ["vm-1", "vm-2"], "member_count": 2,
	},
	overrides,
)

inventory := {
	"role": {
		"name": "DBAdmin", "owned": false,
		"privileges": ["VirtualMachine.Interact.PowerOn", "VirtualMachine.Config.Memory", "Datastore.Browse"],
	},
	"members": [
		{"id": "vm-1", "name": "db01", "tags": ["tier/tier-1", "app/db"]},
		{"id": "vm-2", "name": "db02", "tags": ["tier/tier-2"]},
	],
	"port_groups": [
		{
			"id": "dvportgroup-1", "name": "pg-db", "allow_promiscuous": false, "allow_mac_changes": true,
			"allow_forged_transmits": false, "member_ids": ["vm-1", "vm-2"], "other_vm_count": 0,
		},
		# Promiscuous, but it carries no business-critical member.
		{
			"id": "dvportgroup-2", "name": "pg-app", "allow_promiscuous": true, "allow_mac_changes": true,
			"allow_forged_transmits": true, "member_ids": ["vm-2"], "other_vm_count": 5,
		},
	],
	"principals": [{"name": "CORP\\dba", "is_group": true, "domain": "CORP"}],
}

change(actions, before, after) := {
	"type": "vmgmt_security_group",
	"name": "db-admins",
	"change": {"actions": actions, "before": before, "after": after, "after_unknown": {}},
	"context": {"phase": "plan", "principal": "VSPHERE.LOCAL\\terraform"},
	"inventory": inventory,
}

create(overrides) := change(["create"], null, group(overrides))

# patch applies JSON patch operations below /inventory.
with_inventory(inp, patch) := json.patch(inp, [{"op": p.op, "path": concat("", ["/inventory", p.path]), "value": object.get(p, "value", null)} | some p in patch])

with_privileges(inp, privs) := with_inventory(inp, [{"op": "replace", "path": "/role/privileges", "value": privs}])

ids(vs) := {v.id | some v in vs}

of(vs, id) := {v | some v in vs; v.id == id}

only(vs, id) := v if {
	ids(vs) == {id}
	count(vs) == 1
	some v in vs
}

# --- allowed ------------------------------------------------------------------------------

test_group_within_the_rules_passes if {
	count(security.violation) == 0 with input as create({})
		with data.vmgmt.params.security as {}
}

test_update_within_the_rules_passes if {
	count(security.violation) == 0 with input as change(["update"], group({}), group({"description": "x"}))
		with data.vmgmt.params.security as {}
}

test_delete_is_not_judged if {
	inp := with_privileges(change(["delete"], group({"role": "Admin"}), null), ["Global.Settings"])
	count(security.violation) == 0 with input as inp
		with data.vmgmt.params.security as {}
}

test_other_types_ignored if {
	inp := json.patch(with_privileges(create({}), ["Global.Settings"]), [{"op": "replace", "path": "/type", "value": "vmgmt_catalog_vm"}])
	count(security.violation) == 0 with input as inp
		with data.vmgmt.params.security as {}
}

test_missing_inventory_is_not_judged if {
	# Facts unknown at plan time are missing (the engine defers the package).
	inp := json.patch(create({"member_count": null}), [{"op": "replace", "path": "/inventory", "value": {}}])
	count(security.violation) == 0 with input as inp
		with data.vmgmt.params.security as {"allowed_domains": ["corp"]}
}

# --- security.ceiling ---------------------------------------------------------------------

test_ceiling_denies_global_by_default if {
	inp := with_privileges(create({}), ["Datastore.Browse", "Global.Settings", "Global.Licenses"])
	v := only(security.violation, "security.ceiling") with input as inp
		with data.vmgmt.params.security as {}
	v.level == "mandatory"
	v.path == ["role"]
	contains(v.msg, `the privileges "Global.Licenses", "Global.Settings", which the privilege ceiling denies`)
	contains(v.msg, `role "DBAdmin"`)
	contains(v.msg, "Choose a role that does not grant them")
	not contains(v.msg, `"Datastore.Browse"`)
}

test_ceiling_denies_terminate_session_by_default if {
	inp := with_privileges(create({}), ["Sessions.TerminateSession"])
	v := only(security.violation, "security.ceiling") with input as inp
		with data.vmgmt.params.security as {}
	contains(v.msg, `"Sessions.TerminateSession"`)
}

test_ceiling_other_session_privilege_passes if {
	inp := with_privileges(create({}), ["Sessions.ValidateSession"])
	count(security.violation) == 0 with input as inp
		with data.vmgmt.params.security as {}
}

test_ceiling_trailing_star_matches_at_any_depth if {
	# "VirtualMachine.*" is a prefix: it reaches VirtualMachine.Interact.PowerOn, two levels down.
	v := only(security.violation, "security.ceiling") with input as create({})
		with data.vmgmt.params.security as {"denied_privileges": ["VirtualMachine.*"]}
	contains(v.msg, `the privileges "VirtualMachine.Config.Memory", "VirtualMachine.Interact.PowerOn", which`)
}

test_ceiling_trailing_star_needs_the_dot if {
	# "Virtual.*" is the prefix "Virtual.", which VirtualMachine.* does not start with.
	count(security.violation) == 0 with input as create({})
		with data.vmgmt.params.security as {"denied_privileges": ["Virtual.*"]}
}

test_ceiling_glob_star_stays_within_a_segment if {
	v := only(security.violation, "security.ceiling") with input as create({})
		with data.vmgmt.params.security as {"denied_privileges": ["VirtualMachine.*.PowerOn"]}
	contains(v.msg, `the privileges "VirtualMachine.Interact.PowerOn", which`)
	not contains(v.msg, "Config.Memory")
	count(security.violation) == 0 with input as create({})
		with data.vmgmt.params.security as {"denied_privileges": ["Virtual*"]}
}

test_ceiling_allowed_list_passes_what_it_covers if {
	count(security.violation) == 0 with input as create({})
		with data.vmgmt.params.security as {"allowed_privileges": ["VirtualMachine.*", "Datastore.Browse"]}
}

test_ceiling_fires_outside_the_allowed_list if {
	v := only(security.violation, "security.ceiling") with input as create({})
		with data.vmgmt.params.security as {"allowed_privileges": ["VirtualMachine.Interact.*", "Datastore.*"]}
	contains(v.msg, `the privileges "VirtualMachine.Config.Memory", which are outside the privilege ceiling`)
	contains(v.msg, `allowed_privileges: "Datastore.*", "VirtualMachine.Interact.*"`)
}

test_ceiling_owned_role_is_blamed_on_privileges if {
	privs := ["System.View", "Global.Settings"]
	inp := json.patch(create({"role": null, "privileges": privs}), [{"op": "replace", "path": "/inventory/role", "value": {"name": "vmgmt-db-admins", "owned": true, "privileges": privs}}])
	v := only(security.violation, "security.ceiling") with input as inp
		with data.vmgmt.params.security as {}
	v.path == ["privileges"]
	contains(v.msg, `the role "vmgmt-db-admins" the group owns`)
	contains(v.msg, "Remove them from privileges")
}

test_ceiling_judges_planned_privileges_without_a_role_in_inventory if {
	inp := with_inventory(create({"role": null, "privileges": ["Global.Settings"]}), [{"op": "remove", "path": "/role"}])
	v := only(security.violation, "security.ceiling") with input as inp
		with data.vmgmt.params.security as {}
	contains(v.msg, `"Global.Settings"`)
}

test_ceiling_level_from_params if {
	inp := with_privileges(create({}), ["Global.Settings"])
	v := only(security.violation, "security.ceiling") with input as inp
		with data.vmgmt.params.security as {"levels": {"ceiling": "advisory"}}
	v.level == "advisory"
}

# --- security.admin_on_critical -----------------------------------------------------------

admin(inp) := with_inventory(inp, [{"op": "replace", "path": "/role/name", "value": "Admin"}])

test_admin_on_critical_fires_and_names_the_vms if {
	v := only(security.violation, "security.admin_on_critical") with input as admin(create({"role": "Admin"}))
		with data.vmgmt.params.security as {}
	v.level == "mandatory"
	v.path == ["role"]
	contains(v.msg, `administrator role "Admin"`)
	contains(v.msg, `business-critical VMs "db01" (tags "tier/tier-1")`)
	not contains(v.msg, "db02")
}

test_admin_on_critical_role_name_case_insensitive if {
	inp := with_inventory(create({"role": "admin"}), [{"op": "replace", "path": "/role/name", "value": "admin"}])
	only(security.violation, "security.admin_on_critical") with input as inp
		with data.vmgmt.params.security as {}
}

test_admin_on_critical_joining_vm_is_blamed_on_members if {
	# The role stays; a tier-1 VM joined (a tag set out of band): the membership is what changed.
	before := group({"role": "Admin", "member_ids": ["vm-2"], "member_count": 1})
	v := only(security.violation, "security.admin_on_critical") with input as admin(change(["update"], before, group({"role": "Admin"})))
		with data.vmgmt.params.security as {}
	v.path == ["member_ids"]
}

test_admin_on_critical_role_change_is_blamed_on_role if {
	v := only(security.violation, "security.admin_on_critical") with input as admin(change(["update"], group({}), group({"role": "Admin"})))
		with data.vmgmt.params.security as {}
	v.path == ["role"]
}

test_admin_without_critical_members_passes if {
	inp := with_inventory(admin(create({"role": "Admin"})), [{"op": "replace", "path": "/members/0/tags", "value": ["tier/tier-2"]}])
	count(security.violation) == 0 with input as inp
		with data.vmgmt.params.security as {}
}

test_admin_roles_and_tags_from_params if {
	vs := security.violation with input as create({})
		with data.vmgmt.params.security as {"admin_roles": ["DBAdmin"], "business_critical_tags": ["tier/tier-2"]}
	v := only(of(vs, "security.admin_on_critical"), "security.admin_on_critical")
	contains(v.msg, `VMs "db02" (tags "tier/tier-2")`)
	not contains(v.msg, "db01")

	# db02 is now business-critical, and its port group pg-app is promiscuous.
	count(of(vs, "security.tier1_network")) == 2
}

# --- security.empty -----------------------------------------------------------------------

empty(inp) := with_inventory(
	json.patch(inp, [
		{"op": "replace", "path": "/change/after/member_ids", "value": []},
		{"op": "replace", "path": "/change/after/member_count", "value": 0},
	]),
	[{"op": "replace", "path": "/members", "value": []}, {"op": "replace", "path": "/port_groups", "value": []}],
)

test_empty_group_warns if {
	v := only(security.violation, "security.empty") with input as empty(create({}))
		with data.vmgmt.params.security as {}
	v.level == "advisory"
	v.path == ["member_count"]
	contains(v.msg, `security group "db-admins" has no members`)
}

test_empty_group_level_from_params if {
	v := only(security.violation, "security.empty") with input as empty(create({}))
		with data.vmgmt.params.security as {"levels": {"empty": "mandatory"}}
	v.level == "mandatory"
}

test_empty_unknown_count_is_not_judged if {
	inp := json.patch(empty(create({})), [{"op": "replace", "path": "/change/after/member_count", "value": null}])
	count(security.violation) == 0 with input as inp
		with data.vmgmt.params.security as {}
}

test_empty_needs_both_the_members_and_the_count if {
	# The inventory and member_count disagree only while a selection changes; warn only when
	# both say the group is empty.
	one_member := with_inventory(empty(create({})), [{"op": "replace", "path": "/members", "value": [inventory.members[1]]}])
	count(security.violation) == 0 with input as one_member
		with data.vmgmt.params.security as {}
	count_one := json.patch(empty(create({})), [{"op": "replace", "path": "/change/after/member_count", "value": 1}])
	count(security.violation) == 0 with input as count_one
		with data.vmgmt.params.security as {}
}

test_one_member_is_not_empty if {
	inp := with_inventory(create({"member_ids": ["vm-2"], "member_count": 1}), [{"op": "remove", "path": "/members/0"}])
	count(security.violation) == 0 with input as inp
		with data.vmgmt.params.security as {}
}

# --- security.tier1_network ---------------------------------------------------------------

test_tier1_network_fires_for_promiscuous if {
	inp := with_inventory(create({}), [{"op": "replace", "path": "/port_groups/0/allow_promiscuous", "value": true}])
	v := only(security.violation, "security.tier1_network") with input as inp
		with data.vmgmt.params.security as {}
	v.level == "mandatory"
	v.path == ["network_policy", "allow_promiscuous"]
	contains(v.msg, `port group "pg-db" carries the business-critical VMs "db01" of security group "db-admins", and its allow_promiscuous will be true`)
	contains(v.msg, "Set network_policy.allow_promiscuous = false")
	not contains(v.msg, "outside the group")
}

test_tier1_network_unknown_forged_transmits_fires if {
	inp := with_inventory(create({}), [
		{"op": "replace", "path": "/port_groups/0/allow_forged_transmits", "value": null},
		{"op": "replace", "path": "/port_groups/0/other_vm_count", "value": 3},
	])
	v := only(security.violation, "security.tier1_network") with input as inp
		with data.vmgmt.params.security as {}
	v.path == ["network_policy", "allow_forged_transmits"]
	contains(v.msg, "allow_forged_transmits will be unknown")
	contains(v.msg, "also carries 3 VMs outside the group")
}

test_tier1_network_both_flags_fire if {
	inp := with_inventory(create({}), [
		{"op": "replace", "path": "/port_groups/0/allow_promiscuous", "value": true},
		{"op": "replace", "path": "/port_groups/0/allow_forged_transmits", "value": true},
	])
	vs := security.violation with input as inp
		with data.vmgmt.params.security as {}
	{v.path | some v in vs} == {["network_policy", "allow_promiscuous"], ["network_policy", "allow_forged_transmits"]}
}

test_tier1_network_without_network_policy_is_blamed_on_the_block if {
	inp := with_inventory(create({"network_policy": null}), [{"op": "replace", "path": "/port_groups/0/allow_promiscuous", "value": true}])
	v := only(security.violation, "security.tier1_network") with input as inp
		with data.vmgmt.params.security as {}
	v.path == ["network_policy"]
}

test_tier1_network_other_port_groups_not_judged if {
	# pg-app is promiscuous in the fixture but carries only db02 (tier-2); with db01 off pg-db,
	# nothing tier-1 is on a judged port group either.
	inp := with_inventory(create({}), [
		{"op": "replace", "path": "/port_groups/0/allow_promiscuous", "value": true},
		{"op": "replace", "path": "/port_groups/0/member_ids", "value": ["vm-2"]},
	])
	count(security.violation) == 0 with input as inp
		with data.vmgmt.params.security as {}
}

# --- security.domains ---------------------------------------------------------------------

principals(inp, ps) := json.patch(inp, [
	{"op": "replace", "path": "/inventory/principals", "value": ps},
	{"op": "replace", "path": "/change/after/principals", "value": [{"name": p.name, "is_group": p.is_group, "propagate": true} | some p in ps]},
])

test_domains_off_by_default if {
	inp := principals(create({}), [{"name": "alice", "is_group": false, "domain": ""}])
	count(security.violation) == 0 with input as inp
		with data.vmgmt.params.security as {}
}

test_domains_allowed_case_insensitive if {
	count(security.violation) == 0 with input as create({})
		with data.vmgmt.params.security as {"allowed_domains": ["corp"]}
}

test_domains_fires_for_other_domain if {
	inp := principals(create({}), [
		{"name": "CORP\\dba", "is_group": true, "domain": "CORP"},
		{"name": "VSPHERE.LOCAL\\alice", "is_group": false, "domain": "VSPHERE.LOCAL"},
	])
	v := only(security.violation, "security.domains") with input as inp
		with data.vmgmt.params.security as {"allowed_domains": ["CORP"]}
	v.level == "mandatory"
	v.path == ["principals", 1]
	contains(v.msg, `principal "VSPHERE.LOCAL\\alice" of security group "db-admins" is from domain "VSPHERE.LOCAL", not one of the allowed domains "CORP"`)
}

test_domains_fires_for_principal_without_domain if {
	inp := principals(create({}), [{"name": "alice", "is_group": false, "domain": ""}])
	v := only(security.violation, "security.domains") with input as inp
		with data.vmgmt.params.security as {"allowed_domains": ["CORP"]}
	contains(v.msg, `principal "alice" of security group "db-admins" is from no domain`)
}

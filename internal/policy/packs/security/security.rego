# METADATA
# title: security
# description: |
#   Built-in pack for vmgmt_security_group: a group may not grant privileges outside a ceiling,
#   nor an administrator role on business-critical VMs; it should reach at least one VM; the port
#   groups of its business-critical members reject promiscuous mode and forged transmits; and its
#   principals come from allowed domains. The ceiling is judged on the role's own definition
#   (inventory.role), never by asking vCenter what a session may do.
#   Parameters (data.vmgmt.params.security):
#   allowed_privileges (default ["*"]) and denied_privileges (default ["Global.*",
#   "Sessions.TerminateSession"]): privilege ID patterns; "*" is any privilege, a trailing ".*"
#   anything below that prefix, otherwise a glob whose "*" stays within one dotted segment;
#   admin_roles (default ["Admin"]): role names that are administrator;
#   business_critical_tags (default ["tier/tier-1"]): "category/name" tags of business-critical VMs;
#   allowed_domains (default [], no check): directory domains principals may come from;
#   levels (default every rule mandatory but empty, which is advisory): {<rule>: "mandatory" |
#   "advisory"} for ceiling, admin_on_critical, empty, tier1_network and domains.
# schemas:
#   - input: schema.vmgmt_security_group
package vmgmt.security

default_params := {
	"allowed_privileges": ["*"],
	"denied_privileges": ["Global.*", "Sessions.TerminateSession"],
	"admin_roles": ["Admin"],
	"business_critical_tags": ["tier/tier-1"],
	"allowed_domains": [],
	"levels": {
		"ceiling": "mandatory",
		"admin_on_critical": "mandatory",
		"empty": "advisory",
		"tier1_network": "mandatory",
		"domains": "mandatory",
	},
}

default user_params := {}

user_params := data.vmgmt.params.security

params := object.union(default_params, user_params)

level(rule) := params.levels[rule]

security_group if input.type == "vmgmt_security_group"

writing if {
	security_group
	some action in input.change.actions
	action in {"create", "update"}
}

default group_name := ""

group_name := input.change.after.name if is_string(input.change.after.name)

# The group either names an existing role or defines one from privileges that it owns.
defines_privileges if is_array(input.change.after.privileges)

role_path := ["privileges"] if {
	defines_privileges
} else := ["role"]

role_known if is_object(input.inventory.role)

default role_name := ""

role_name := input.inventory.role.name if is_string(input.inventory.role.name)

role_text := sprintf("the role %q the group owns", [role_name]) if {
	input.inventory.role.owned == true
} else := sprintf("role %q", [role_name])

# What the role grants: its definition in vCenter (or, for a role the group will create, the
# privileges it will define).
granted := {p | some p in input.inventory.role.privileges; is_string(p)} if {
	role_known
} else := {p | some p in input.change.after.privileges; is_string(p)}

# --- security.ceiling ---------------------------------------------------------------------

denied_granted := {p | some p in granted; some pat in params.denied_privileges; privilege_matches(pat, p)}

not_allowed_granted := {p | some p in granted; not allowed(p)}

allowed(p) if {
	some pat in params.allowed_privileges
	privilege_matches(pat, p)
}

# "*" is every privilege; "Prefix.*" every privilege below Prefix, at any depth; anything else is
# a glob on the dotted privilege ID, whose "*" matches within one segment.
privilege_matches("*", _)

privilege_matches(pat, p) if {
	endswith(pat, ".*")
	startswith(p, trim_suffix(pat, "*"))
}

privilege_matches(pat, p) if glob.match(pat, ["."], p)

ceiling_fix := "Remove them from privileges" if {
	defines_privileges
} else := "Choose a role that does not grant them"

# The role may grant no privilege the denied patterns match.
violation contains v if {
	writing
	count(denied_granted) > 0
	v := {
		"id": "security.ceiling",
		"level": level("ceiling"),
		"path": role_path,
		"msg": sprintf(
			"security group %q grants, through %s, the privileges %s, which the privilege ceiling denies (data.vmgmt.params.security.denied_privileges: %s). %s, or exempt the group from security.ceiling in a reviewed policy change.",
			[group_name, role_text, list_text(denied_granted), list_text(params.denied_privileges), ceiling_fix],
		),
	}
}

# The role may grant only privileges the allowed patterns match.
violation contains v if {
	writing
	count(not_allowed_granted) > 0
	v := {
		"id": "security.ceiling",
		"level": level("ceiling"),
		"path": role_path,
		"msg": sprintf(
			"security group %q grants, through %s, the privileges %s, which are outside the privilege ceiling (data.vmgmt.params.security.allowed_privileges: %s). %s, or widen allowed_privileges in a reviewed policy change.",
			[group_name, role_text, list_text(not_allowed_granted), list_text(params.allowed_privileges), ceiling_fix],
		),
	}
}

# --- security.admin_on_critical -----------------------------------------------------------

critical_tags := {lower(t) | some t in params.business_critical_tags}

critical(m) if {
	some t in m.tags
	lower(t) in critical_tags
}

critical_members := {m.id: m.name | some m in input.inventory.members; critical(m)}

admin_role if {
	role_name != ""
	lower(role_name) in {lower(r) | some r in params.admin_roles}
}

# Blamed on the role when the change gives it; on the membership when the role stays and
# business-critical VMs join (so that an unchanged group is grandfathered, a newly reached VM is
# not).
admin_path := role_path if {
	not role_unchanged
} else := ["member_ids"]

role_unchanged if {
	is_object(input.change.before)
	object.get(input.change.before, "role", null) == object.get(input.change.after, "role", null)
	object.get(input.change.before, "privileges", null) == object.get(input.change.after, "privileges", null)
}

# An administrator role may not reach business-critical VMs.
violation contains v if {
	writing
	admin_role
	count(critical_members) > 0
	v := {
		"id": "security.admin_on_critical",
		"level": level("admin_on_critical"),
		"path": admin_path,
		"msg": sprintf(
			"security group %q gives the administrator role %q (data.vmgmt.params.security.admin_roles) on the business-critical VMs %s (tags %s). Choose a role with only the privileges the group needs, or exclude those VMs from members.",
			[group_name, role_name, list_text({n | some _, n in critical_members}), list_text(params.business_critical_tags)],
		),
	}
}

# --- security.empty -----------------------------------------------------------------------

# A group that reaches no VM grants nothing; it is usually a selection that matches nothing.
violation contains v if {
	writing
	is_array(input.inventory.members)
	count(input.inventory.members) == 0
	input.change.after.member_count == 0
	v := {
		"id": "security.empty",
		"level": level("empty"),
		"path": ["member_count"],
		"msg": sprintf(
			"security group %q has no members: its selection matches no VM, so it grants nothing. Check the tags, folders, pools and IDs of members (a misspelt tag matches nothing), or remove the group.",
			[group_name],
		),
	}
}

# --- security.tier1_network ---------------------------------------------------------------

tier1_flags := ["allow_promiscuous", "allow_forged_transmits"]

flag_text(pg, flag) := "true" if {
	pg[flag] == true
} else := "unknown (not set, and its live value could not be read)"

network_path(flag) := ["network_policy", flag] if {
	is_object(input.change.after.network_policy)
} else := ["network_policy"]

others_text(pg) := sprintf(" The port group also carries %d VMs outside the group, whose network policy changes with it.", [pg.other_vm_count]) if {
	is_number(pg.other_vm_count)
	pg.other_vm_count > 0
} else := ""

# Port groups that carry business-critical members must reject promiscuous mode and forged
# transmits (a null, unknown, policy counts as allowing them).
violation contains v if {
	writing
	some pg in input.inventory.port_groups
	critical_here := {critical_members[id] | some id in pg.member_ids}
	count(critical_here) > 0
	some flag in tier1_flags
	pg[flag] != false
	v := {
		"id": "security.tier1_network",
		"level": level("tier1_network"),
		"path": network_path(flag),
		"msg": sprintf(
			"distributed port group %q carries the business-critical VMs %s of security group %q, and its %s will be %s. Set network_policy.%s = false in the group.%s",
			[pg.name, list_text(critical_here), group_name, flag, flag_text(pg, flag), flag, others_text(pg)],
		),
	}
}

# --- security.domains ---------------------------------------------------------------------

allowed_domains := {lower(d) | some d in params.allowed_domains; is_string(d)}

principal_path(name) := ["principals", i] if {
	some i, p in input.change.after.principals
	lower(p.name) == lower(name)
} else := ["principals"]

domain_text(d) := "no domain" if {
	d == ""
} else := sprintf("domain %q", [d])

# Principals must come from an allowed directory domain.
violation contains v if {
	writing
	count(allowed_domains) > 0
	some p in input.inventory.principals
	not lower(p.domain) in allowed_domains
	v := {
		"id": "security.domains",
		"level": level("domains"),
		"path": principal_path(p.name),
		"msg": sprintf(
			"principal %q of security group %q is from %s, not one of the allowed domains %s (data.vmgmt.params.security.allowed_domains). Use a principal of an allowed domain, or add the domain to allowed_domains in a reviewed policy change.",
			[p.name, group_name, domain_text(p.domain), list_text(params.allowed_domains)],
		),
	}
}

# --- helpers ------------------------------------------------------------------------------

list_text(s) := concat(", ", sort([sprintf("%q", [x]) | some x in s]))

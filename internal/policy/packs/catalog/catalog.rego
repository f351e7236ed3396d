# METADATA
# title: catalog
# description: |
#   Built-in pack for vmgmt_catalog_vm: a VM requested from a catalog item must be requested for a
#   job function the item is entitled to, by a member of that group, in a size the item offers,
#   within the group's quota, the item's maximum lease and its allowed folders and networks.
#   Parameters (data.vmgmt.params.catalog):
#   groups (no default): {<group>: [members]}; when given, the requester (owner, else the vCenter
#   session user) must be listed under the VM's job_function;
#   levels (default every rule mandatory): {<rule>: "mandatory" | "advisory"} for entitlement,
#   size, quota, lease and placement.
# schemas:
#   - input: schema.vmgmt_catalog_vm
package vmgmt.catalog

default_params := {"levels": {
	"entitlement": "mandatory",
	"size": "mandatory",
	"quota": "mandatory",
	"lease": "mandatory",
	"placement": "mandatory",
}}

default user_params := {}

user_params := data.vmgmt.params.catalog

params := object.union(default_params, user_params)

level(rule) := params.levels[rule]

catalog_vm if input.type == "vmgmt_catalog_vm"

writing if {
	catalog_vm
	some action in input.change.actions
	action in {"create", "update"}
}

# The rules judge a request against its item; without the item (unknown until apply, or not
# published) there is nothing to judge and the resource reports that itself.
item_known if is_object(input.inventory.item)

default item_name := ""

item_name := input.inventory.item.name if is_string(input.inventory.item.name)

default job_function := ""

job_function := input.change.after.job_function if is_string(input.change.after.job_function)

default owner := ""

owner := input.change.after.owner if is_string(input.change.after.owner)

# The requester is the VM's owner, or the vCenter session user when the request names none.
requester := owner if {
	owner != ""
} else := input.context.principal if {
	is_string(input.context.principal)
} else := ""

requester_path := ["owner"] if {
	owner != ""
} else := ["job_function"]

entitled_groups := {g | some g in input.inventory.item.entitled_groups; is_string(g)}

offered_sizes := {s | some s, _ in input.inventory.item.sizes}

allowed_folders := {f | some f in input.inventory.item.allowed_folders; is_string(f)}

allowed_networks := {n | some n in input.inventory.item.allowed_networks; is_string(n)}

# --- catalog.entitlement ------------------------------------------------------------------

# The VM must be requested for a job function the item is entitled to.
violation contains v if {
	writing
	item_known
	count(entitled_groups) > 0
	not job_function in entitled_groups
	v := {
		"id": "catalog.entitlement",
		"level": level("entitlement"),
		"path": ["job_function"],
		"msg": sprintf(
			"catalog item %q may only be requested for the job functions %s, and job_function is %s. Set job_function to one of them, or ask the item's owner to add the group to its entitled_groups.",
			[item_name, list_text(entitled_groups), quoted_or_unset(job_function)],
		),
	}
}

# The requester must be a member of that job function, when group membership is given in
# data.vmgmt.params.catalog.groups.
violation contains v if {
	writing
	item_known
	is_object(params.groups)
	job_function != ""
	not member(requester, job_function)
	v := {
		"id": "catalog.entitlement",
		"level": level("entitlement"),
		"path": requester_path,
		"msg": sprintf(
			"%s is not a member of job function %q (data.vmgmt.params.catalog.groups), so may not request catalog item %q for it. Set owner to a member of %q or job_function to a group %s belongs to, or have the requester added to the group in policy data.",
			[requester_text, job_function, item_name, job_function, quoted_or_unset(requester)],
		),
	}
}

requester_text := sprintf("owner %q", [owner]) if {
	owner != ""
} else := sprintf("the requester %q (the vCenter session user; the request names no owner)", [requester]) if {
	requester != ""
} else := "the requester (no owner, and the vCenter session user is unknown)"

member(who, group) if {
	who != ""
	some m in params.groups[group]
	is_string(m)
	count(principal_forms(m) & principal_forms(who)) > 0
}

# A vCenter principal is written DOMAIN\user or user@domain, in any case.
principal_forms(p) := {lower(p)} | other_form(lower(p))

other_form(p) := {sprintf("%s@%s", [parts[1], parts[0]])} if {
	parts := split(p, "\\")
	count(parts) == 2
} else := {sprintf("%s\\%s", [parts[1], parts[0]])} if {
	parts := split(p, "@")
	count(parts) == 2
} else := set()

# --- catalog.size -------------------------------------------------------------------------

# The size must be one the item offers.
violation contains v if {
	writing
	item_known
	is_string(input.change.after.size)
	not input.change.after.size in offered_sizes
	v := {
		"id": "catalog.size",
		"level": level("size"),
		"path": ["size"],
		"msg": sprintf(
			"catalog item %q offers the sizes %s, not %q. Set size to one of them, or ask the item's owner to publish a version with that size.",
			[item_name, list_text(offered_sizes), input.change.after.size],
		),
	}
}

# --- catalog.quota ------------------------------------------------------------------------

quota_units := {"instances": "VMs", "cpus": "vCPUs", "memory_mb": "MB of memory"}

# What this VM holds after the change, per quota dimension.
after_amount("instances") := 1

after_amount(dim) := input.inventory.item.sizes[input.change.after.size][dim] if dim in {"cpus", "memory_mb"}

# Whether the VM, before the change, already counted against the same group's quota of this item
# (an update): then only growth is judged, so a group above a lowered quota can still change
# its VMs in ways that do not grow them.
counted_before if {
	is_object(input.change.before)
	input.change.before.catalog_item == input.change.after.catalog_item
	input.change.before.job_function == input.change.after.job_function
}

before_amount(dim) := 0 if {
	not counted_before
} else := 1 if {
	dim == "instances"
} else := n if {
	n := input.inventory.item.sizes[input.change.before.size][dim]
	is_number(n)
} else := 0

# What the job function's other VMs of this item hold (inventory.usage excludes this VM).
used_amount(dim) := n if {
	n := input.inventory.usage[job_function][dim]
	is_number(n)
} else := 0

# Growth in vCPUs or memory comes from the size, unless the VM moves to this group from another.
quota_path("instances") := ["job_function"]

quota_path(dim) := ["size"] if {
	dim in {"cpus", "memory_mb"}
	not moved_in
}

quota_path(dim) := ["job_function"] if {
	dim in {"cpus", "memory_mb"}
	moved_in
}

moved_in if {
	is_object(input.change.before)
	not counted_before
}

quota_fix("instances") := "Destroy a VM of this item the group no longer needs"

quota_fix("cpus") := "Choose a smaller size, destroy a VM of this item the group no longer needs"

quota_fix("memory_mb") := "Choose a smaller size, destroy a VM of this item the group no longer needs"

# The job function's VMs of this item, with this one, must stay within its quota (instances,
# vCPUs, memory; a quota that is missing or 0 is no limit). inventory.usage excludes this VM.
violation contains v if {
	writing
	item_known
	job_function != ""
	some dim, unit in quota_units
	limit := input.inventory.item.quota[job_function][dim]
	is_number(limit)
	limit > 0
	add := after_amount(dim)
	is_number(add)
	add > before_amount(dim)
	used := used_amount(dim)
	used + add > limit
	v := {
		"id": "catalog.quota",
		"level": level("quota"),
		"path": quota_path(dim),
		"msg": sprintf(
			"job function %q would hold %d %s of catalog item %q (%d in its other VMs, %d in this one), above its quota of %d. %s, or ask the item's owner to raise quota[%q].%s.",
			[job_function, used + add, unit, item_name, used, add, limit, quota_fix(dim), job_function, dim],
		),
	}
}

# --- catalog.lease ------------------------------------------------------------------------

# The lease may not be longer than the item allows.
violation contains v if {
	writing
	item_known
	is_number(input.change.after.lease_days)
	max_days := input.inventory.item.lease.max_days
	is_number(max_days)
	max_days > 0
	input.change.after.lease_days > max_days
	v := {
		"id": "catalog.lease",
		"level": level("lease"),
		"path": ["lease_days"],
		"msg": sprintf(
			"lease_days %d is longer than catalog item %q allows (lease.max_days = %d). Set lease_days to at most %d and renew the lease when it runs out, or ask the item's owner to raise lease.max_days.",
			[input.change.after.lease_days, item_name, max_days, max_days],
		),
	}
}

# --- catalog.placement --------------------------------------------------------------------

# The folder must be one of the item's allowed folders or below one.
violation contains v if {
	writing
	item_known
	is_string(input.change.after.folder)
	input.change.after.folder != ""
	count(allowed_folders) > 0
	not folder_allowed(input.change.after.folder)
	v := {
		"id": "catalog.placement",
		"level": level("placement"),
		"path": ["folder"],
		"msg": sprintf(
			"folder %q is not one catalog item %q may place VMs in: %s (or folders below them). Set folder to one of them, or ask the item's owner to add it to allowed_folders.",
			[input.change.after.folder, item_name, list_text(allowed_folders)],
		),
	}
}

# The network must be one of the item's allowed networks.
violation contains v if {
	writing
	item_known
	is_string(input.change.after.network)
	input.change.after.network != ""
	count(allowed_networks) > 0
	not network_name(input.change.after.network) in {network_name(n) | some n in allowed_networks}
	v := {
		"id": "catalog.placement",
		"level": level("placement"),
		"path": ["network"],
		"msg": sprintf(
			"network %q is not one catalog item %q may attach VMs to: %s. Set network to one of them, or ask the item's owner to add it to allowed_networks.",
			[input.change.after.network, item_name, list_text(allowed_networks)],
		),
	}
}

# Folders are compared relative to the datacenter's vm folder: /dc1/vm/workloads is workloads.
rel_folder(p) := trim(regex.replace(p, `^/[^/]+/vm(/|$)`, ""), "/")

folder_allowed(_) if {
	some a in allowed_folders
	rel_folder(a) == ""
}

folder_allowed(folder) if {
	some a in allowed_folders
	startswith(concat("", [rel_folder(folder), "/"]), concat("", [rel_folder(a), "/"]))
}

# Networks are compared by name: /dc1/network/pg-db is pg-db.
network_name(n) := name if {
	parts := split(trim_right(n, "/"), "/")
	name := parts[count(parts) - 1]
}

# --- helpers ------------------------------------------------------------------------------

list_text(s) := concat(", ", sort([sprintf("%q", [x]) | some x in s]))

quoted_or_unset(s) := "not set" if {
	s == ""
} else := sprintf("%q", [s])

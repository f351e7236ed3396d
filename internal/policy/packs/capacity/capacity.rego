# METADATA
# title: capacity
# description: |
#   Built-in pack for vmgmt_capacity_reservation. Parameters (data.vmgmt.params.capacity):
#   safety_margin_pct (default 10): share of the parent's capacity that must stay unreserved;
#   tier_pattern (default ^tier-[0-9]+(-[a-z0-9-]+)?$) and tier_level (default advisory): naming;
#   protected (default []): names of reservations that may not be destroyed.
# schemas:
#   - input: schema.vmgmt_capacity_reservation
package vmgmt.capacity

default_params := {
	"safety_margin_pct": 10,
	"tier_pattern": `^tier-[0-9]+(-[a-z0-9-]+)?$`,
	"tier_level": "advisory",
	"protected": [],
}

default user_params := {}

user_params := data.vmgmt.params.capacity

params := object.union(default_params, user_params)

units := {"cpu": "MHz", "memory": "MB"}

reservation if input.type == "vmgmt_capacity_reservation"

writing if {
	reservation
	some action in input.change.actions
	action in {"create", "update"}
}

# The reservation must leave safety_margin_pct of the parent's capacity unreserved.
violation contains v if {
	writing
	some res in ["cpu", "memory"]
	parent := input.inventory.parent[res]
	not parent.expandable
	want := input.change.after[res].reservation
	held := object.get(input.inventory, ["held", res], 0)
	margin := ceil((parent.capacity * params.safety_margin_pct) / 100)
	allowed := (parent.unreserved + held) - margin
	want > allowed
	v := {
		"id": "capacity.headroom",
		"level": "mandatory",
		"path": [res, "reservation"],
		"msg": sprintf(
			"%s reservation %d %s leaves less than the %d%% safety margin (%d %s) of parent %q unreserved: at most %d %s fits. Lower %s.reservation, or change data.vmgmt.params.capacity.safety_margin_pct.",
			[res, want, units[res], params.safety_margin_pct, margin, units[res], input.inventory.parent.name, max([allowed, 0]), units[res], res],
		),
	}
}

# A limit below the reservation can never be honoured.
violation contains v if {
	writing
	some res in ["cpu", "memory"]
	a := input.change.after[res]
	a.limit != -1
	a.reservation > a.limit
	v := {
		"id": "capacity.limit",
		"level": "mandatory",
		"path": [res, "limit"],
		"msg": sprintf("%s limit %d %s is below the reservation %d %s. Raise %s.limit or set it to -1 (unlimited).", [res, a.limit, units[res], a.reservation, units[res], res]),
	}
}

# Reservations follow the tier naming of the reference architecture.
violation contains v if {
	writing
	name := input.change.after.name
	not regex.match(params.tier_pattern, name)
	v := {
		"id": "capacity.tier_naming",
		"level": params.tier_level,
		"path": ["name"],
		"msg": sprintf("reservation name %q does not follow the tier naming %s (e.g. tier-1, tier-2-erp). Rename it or change data.vmgmt.params.capacity.tier_pattern.", [name, params.tier_pattern]),
	}
}

# Protected reservations may not be destroyed.
violation contains v if {
	reservation
	"delete" in input.change.actions
	name := input.change.before.name
	name in params.protected
	v := {
		"id": "capacity.protected",
		"level": "mandatory",
		"msg": sprintf("reservation %q is protected (data.vmgmt.params.capacity.protected) and may not be destroyed. Remove it from the protected list first, in a reviewed policy change.", [name]),
	}
}

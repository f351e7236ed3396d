# METADATA
# title: platform
# description: |
#   The platform team's own rules for capacity reservations, on top of the built-in capacity
#   pack. Policy ids: platform.tier1_fixed, platform.dev_capped, and platform (custom shares).
package vmgmt.platform

reservation if input.type == "vmgmt_capacity_reservation"

# A create or an in-place update: what these rules judge. Destroys are the capacity pack's
# business (capacity.protected).
writing if {
	reservation
	some action in input.change.actions
	action in {"create", "update"}
}

# tier-1 and the application pools inside it (tier-1-erp, tier-1-db, ...).
business_critical(name) if regex.match(`^tier-1(-[a-z0-9-]+)?$`, name)

# Business-critical capacity is guaranteed, never borrowed: a tier-1 pool that may expand would
# depend on what the other tiers leave over, which is exactly what tier-1 is paid to avoid.
violation contains v if {
	writing
	name := input.change.after.name
	business_critical(name)
	some res in ["cpu", "memory"]
	input.change.after[res].expandable == true
	v := {
		"id": "platform.tier1_fixed",
		"level": "mandatory",
		"path": [res, "expandable"],
		"msg": sprintf(
			"%q is business-critical (tier-1) capacity: its %s must be guaranteed, not borrowed from the parent. Set %s.expandable = false and size %s.reservation for the peak.",
			[name, res, res, res],
		),
	}
}

# Low shares mark dev/test capacity: it yields under contention, and a hard limit makes sure it
# can never take more than its share when the cluster is idle either.
violation contains v if {
	writing
	name := input.change.after.name
	some res in ["cpu", "memory"]
	input.change.after[res].shares_level == "low"
	input.change.after[res].limit == -1
	v := {
		"id": "platform.dev_capped",
		"level": "mandatory",
		"path": [res, "limit"],
		"msg": sprintf(
			"%q has low %s shares (dev/test capacity) but no %s limit. Set %s.limit to the most it may ever take, or raise %s.shares_level if it is production.",
			[name, res, res, res, res],
		),
	}
}

# Conftest style: a plain string in warn is an advisory finding with the package as its id.
warn contains msg if {
	writing
	some res in ["cpu", "memory"]
	input.change.after[res].shares_level == "custom"
	msg := sprintf(
		"%q uses custom %s shares: the tiers are easier to reason about with low, normal and high. Prefer %s.shares_level = \"low\", \"normal\" or \"high\".",
		[input.change.after.name, res, res],
	)
}

package vmgmt.capacity_test

import data.vmgmt.capacity

parent := {
	"id": "resgroup-1",
	"name": "Resources",
	"kind": "cluster",
	"cpu": {"capacity": 100000, "reserved": 50000, "unreserved": 50000, "expandable": false},
	"memory": {"capacity": 200000, "reserved": 0, "unreserved": 200000, "expandable": false},
}

res(name, cpu, mem) := {
	"name": name,
	"cpu": {"reservation": cpu, "limit": -1, "expandable": true, "shares_level": "normal"},
	"memory": {"reservation": mem, "limit": -1, "expandable": true, "shares_level": "normal"},
}

change(actions, before, after) := {
	"type": "vmgmt_capacity_reservation",
	"change": {"actions": actions, "before": before, "after": after, "after_unknown": {}},
	"inventory": {"parent": parent, "held": {"cpu": 0, "memory": 0}},
}

ids(vs) := {v.id | some v in vs}

test_fits_passes if {
	count(capacity.violation) == 0 with input as change(["create"], null, res("tier-1", 40000, 1000))
		with data.vmgmt.params.capacity as {}
}

test_headroom_fires_beyond_margin if {
	# 50000 unreserved - 10% of 100000 = 40000 allowed
	vs := capacity.violation with input as change(["create"], null, res("tier-1", 40001, 1000))
		with data.vmgmt.params.capacity as {}
	ids(vs) == {"capacity.headroom"}
	some v in vs
	v.path == ["cpu", "reservation"]
	v.level == "mandatory"
}

test_headroom_counts_what_it_holds if {
	inp := json.patch(change(["update"], res("tier-1", 30000, 0), res("tier-1", 60000, 0)), [{"op": "replace", "path": "/inventory/held/cpu", "value": 30000}])
	count(capacity.violation) == 0 with input as inp
		with data.vmgmt.params.capacity as {}
}

test_headroom_margin_from_data if {
	vs := capacity.violation with input as change(["create"], null, res("tier-1", 45000, 0))
		with data.vmgmt.params.capacity as {"safety_margin_pct": 5}
	count(vs) == 0
}

test_headroom_skips_expandable_parent if {
	inp := json.patch(change(["create"], null, res("tier-1", 90000, 0)), [{"op": "replace", "path": "/inventory/parent/cpu/expandable", "value": true}])
	count(capacity.violation) == 0 with input as inp
		with data.vmgmt.params.capacity as {}
}

test_limit_below_reservation_fires if {
	after := json.patch(res("tier-1", 1000, 0), [{"op": "replace", "path": "/memory/limit", "value": 10}, {"op": "replace", "path": "/memory/reservation", "value": 20}])
	vs := capacity.violation with input as change(["create"], null, after)
		with data.vmgmt.params.capacity as {}
	ids(vs) == {"capacity.limit"}
}

test_unlimited_limit_passes if {
	count(capacity.violation) == 0 with input as change(["create"], null, res("tier-2", 1000, 1000))
		with data.vmgmt.params.capacity as {}
}

test_tier_naming_advisory if {
	vs := capacity.violation with input as change(["create"], null, res("scratch", 0, 0))
		with data.vmgmt.params.capacity as {}
	some v in vs
	v.id == "capacity.tier_naming"
	v.level == "advisory"
}

test_tier_naming_level_from_data if {
	vs := capacity.violation with input as change(["create"], null, res("scratch", 0, 0))
		with data.vmgmt.params.capacity as {"tier_level": "mandatory"}
	some v in vs
	v.id == "capacity.tier_naming"
	v.level == "mandatory"
}

test_tier_naming_passes if {
	count(capacity.violation) == 0 with input as change(["create"], null, res("tier-2-web", 0, 0))
		with data.vmgmt.params.capacity as {}
}

test_protected_delete_fires if {
	vs := capacity.violation with input as change(["delete"], res("tier-1", 0, 0), null)
		with data.vmgmt.params.capacity as {"protected": ["tier-1"]}
	ids(vs) == {"capacity.protected"}
}

test_unprotected_delete_passes if {
	count(capacity.violation) == 0 with input as change(["delete"], res("tier-3", 0, 0), null)
		with data.vmgmt.params.capacity as {"protected": ["tier-1"]}
}

test_other_types_ignored if {
	inp := json.patch(change(["create"], null, res("scratch", 999999, 0)), [{"op": "replace", "path": "/type", "value": "vmgmt_backup_job"}])
	count(capacity.violation) == 0 with input as inp
		with data.vmgmt.params.capacity as {}
}

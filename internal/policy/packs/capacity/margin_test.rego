# The safety margin is rounded up: a parent whose capacity does not divide evenly keeps the
# whole unit unreserved (10% of 2097152 MB is 209715.2 MB, so 209716 MB stay free).
package vmgmt.capacity_margin_test

import data.vmgmt.capacity

parent := {
	"id": "resgroup-1",
	"name": "Resources",
	"kind": "cluster",
	"cpu": {"capacity": 332800, "reserved": 0, "unreserved": 332800, "expandable": false},
	"memory": {"capacity": 2097152, "reserved": 0, "unreserved": 2097152, "expandable": false},
}

create(mem) := {
	"type": "vmgmt_capacity_reservation",
	"change": {
		"actions": ["create"],
		"before": null,
		"after": {
			"name": "tier-1",
			"cpu": {"reservation": 1000, "limit": -1, "expandable": false, "shares_level": "normal"},
			"memory": {"reservation": mem, "limit": -1, "expandable": false, "shares_level": "normal"},
		},
		"after_unknown": {},
	},
	"inventory": {"parent": parent, "held": {"cpu": 0, "memory": 0}},
}

test_margin_rounded_up_last_fitting_mb_passes if {
	count(capacity.violation) == 0 with input as create(1887436)
		with data.vmgmt.params.capacity as {}
}

test_margin_rounded_up_next_mb_fires if {
	vs := capacity.violation with input as create(1887437)
		with data.vmgmt.params.capacity as {}
	count(vs) == 1
	some v in vs
	v.id == "capacity.headroom"
	v.path == ["memory", "reservation"]
	contains(v.msg, "the 10% safety margin (209716 MB)")
	contains(v.msg, "at most 1887436 MB fits")
}

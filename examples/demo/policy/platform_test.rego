# Tests of the demo's policy: every rule fires, and the demo's own reservations pass.
# Run them with: terraform-provider-vmgmt policy test examples/demo/policy
# (the built-in packs' tests run too, with this directory's params.json and exemptions.json).
package vmgmt.platform_test

import data.vmgmt.capacity
import data.vmgmt.platform

alloc(reservation, limit, expandable, shares) := {
	"reservation": reservation,
	"limit": limit,
	"expandable": expandable,
	"shares_level": shares,
	"shares": null,
}

pool(name, cpu, memory) := {"name": name, "cpu": cpu, "memory": memory}

# The cluster as the demo's tiers see it at plan time: 332800 MHz, 2097152 MB, nothing reserved.
cluster := {
	"id": "resgroup-22",
	"name": "Resources",
	"kind": "cluster",
	"vm_count": 3,
	"child_count": 0,
	"cpu": {"capacity": 332800, "reserved": 0, "unreserved": 332800, "expandable": false, "limit": 332800},
	"memory": {"capacity": 2097152, "reserved": 0, "unreserved": 2097152, "expandable": false, "limit": 2097152},
}

change(actions, name, before, after) := {
	"type": "vmgmt_capacity_reservation",
	"name": name,
	"change": {"actions": actions, "before": before, "after": after, "after_unknown": {}},
	"context": {"phase": "plan", "time": "2026-11-25T12:00:00Z", "principal": "VSPHERE.LOCAL\\terraform", "provider_version": "dev"},
	"inventory": {"parent": cluster, "held": {"cpu": 0, "memory": 0}},
}

create(after) := change(["create"], after.name, null, after)

ids(vs) := {v.id | some v in vs}

# The demo's tiers (examples/demo/main.tf).
tier1 := pool("tier-1", alloc(120000, -1, false, "high"), alloc(786432, -1, false, "high"))

tier1_erp := pool("tier-1-erp", alloc(64000, -1, false, "high"), alloc(393216, -1, false, "high"))

tier2 := pool("tier-2", alloc(60000, -1, true, "normal"), alloc(393216, -1, true, "normal"))

tier3 := pool("tier-3", alloc(0, 40000, true, "low"), alloc(0, 262144, true, "low"))

test_demo_tiers_pass if {
	every p in [tier1, tier1_erp, tier2, tier3] {
		count(platform.violation) == 0 with input as create(p)
		count(platform.warn) == 0 with input as create(p)
		count(capacity.violation) == 0 with input as create(p)
	}
}

test_tier1_expandable_fires if {
	p := pool("tier-1-erp", alloc(64000, -1, true, "high"), alloc(393216, -1, false, "high"))
	vs := platform.violation with input as create(p)
	ids(vs) == {"platform.tier1_fixed"}
	some v in vs
	v.path == ["cpu", "expandable"]
	v.level == "mandatory"
}

test_tier1_fires_on_update if {
	before := tier1
	after := json.patch(tier1, [{"op": "replace", "path": "/memory/expandable", "value": true}])
	vs := platform.violation with input as change(["update"], "tier-1", before, after)
	some v in vs
	v.id == "platform.tier1_fixed"
	v.path == ["memory", "expandable"]
}

test_tier10_is_not_tier1 if {
	p := pool("tier-10", alloc(0, -1, true, "normal"), alloc(0, -1, true, "normal"))
	count(platform.violation) == 0 with input as create(p)
}

test_dev_uncapped_fires if {
	p := pool("tier-3", alloc(0, -1, true, "low"), alloc(0, 262144, true, "low"))
	vs := platform.violation with input as create(p)
	ids(vs) == {"platform.dev_capped"}
	some v in vs
	v.path == ["cpu", "limit"]
}

test_custom_shares_warn if {
	p := pool("tier-2", alloc(60000, -1, true, "custom"), alloc(0, -1, true, "normal"))
	ws := platform.warn with input as create(p)
	count(ws) == 1
	some w in ws
	contains(w, "custom cpu shares")
}

test_destroy_not_judged_here if {
	count(platform.violation) == 0 with input as change(["delete"], "tier-1", tier1, null)
}

test_other_types_ignored if {
	inp := json.patch(create(tier3), [{"op": "replace", "path": "/type", "value": "vmgmt_capacity"}])
	count(platform.violation) == 0 with input as inp
}

# params.json protects tier-1 from destroy through the capacity pack's parameters.
test_tier1_protected_by_params if {
	vs := capacity.violation with input as change(["delete"], "tier-1", tier1, null)
	ids(vs) == {"capacity.protected"}
}

test_tier2_not_protected if {
	count(capacity.violation) == 0 with input as change(["delete"], "tier-2", tier2, null)
}

# The expected failure of `make demo` (examples/demo/expected-failure): 310000 MHz is 93% of the
# cluster, beyond the 10% safety margin of params.json.
test_oversized_tier_rejected if {
	p := pool("tier-4-batch", alloc(310000, -1, false, "normal"), alloc(0, -1, true, "normal"))
	vs := capacity.violation with input as create(p)
	ids(vs) == {"capacity.headroom"}
}

test_exemption_data_is_complete if {
	count(data.vmgmt.exemptions) > 0
	every e in data.vmgmt.exemptions {
		e.reason != ""
		e.expires != ""
		e.approver != ""
	}
}

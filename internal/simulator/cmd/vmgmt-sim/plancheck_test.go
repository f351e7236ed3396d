package main

import (
	"slices"
	"strings"
	"testing"
)

// TestUnexpectedChanges: of a plan as `terraform show -json` prints it, only an audit baseline's
// update and an updated output that only becomes unknown pass; an enforcing baseline's update, a
// baseline leaving or entering audit mode, another type's update, a replace, a create, a data source read at
// apply, a new output and outputs whose known values change are each listed.
func TestUnexpectedChanges(t *testing.T) {
	plan := `{
	  "format_version": "1.2",
	  "resource_changes": [
	    {"address": "vmgmt_capacity_reservation.tier1", "mode": "managed", "type": "vmgmt_capacity_reservation",
	     "change": {"actions": ["no-op"], "before": {}, "after": {}}},
	    {"address": "vmgmt_config_baseline.devtest", "mode": "managed", "type": "vmgmt_config_baseline",
	     "change": {"actions": ["update"], "before": {"mode": "audit", "drifted_count": 1}, "after": {"mode": "audit"}}},
	    {"address": "vmgmt_config_baseline.tier1", "mode": "managed", "type": "vmgmt_config_baseline",
	     "change": {"actions": ["update"], "before": {"mode": "enforce"}, "after": {"mode": "enforce"}}},
	    {"address": "vmgmt_config_baseline.leaving", "mode": "managed", "type": "vmgmt_config_baseline",
	     "change": {"actions": ["update"], "before": {"mode": "audit"}, "after": {"mode": "enforce"}}},
	    {"address": "vmgmt_config_baseline.entering", "mode": "managed", "type": "vmgmt_config_baseline",
	     "change": {"actions": ["update"], "before": {"mode": "enforce"}, "after": {"mode": "audit"}}},
	    {"address": "vmgmt_other.audit", "mode": "managed", "type": "vmgmt_other",
	     "change": {"actions": ["update"], "before": {"mode": "audit"}, "after": {"mode": "audit"}}},
	    {"address": "vmgmt_config_baseline.replaced", "mode": "managed", "type": "vmgmt_config_baseline",
	     "change": {"actions": ["delete", "create"], "before": {"mode": "audit"}, "after": {"mode": "audit"}}},
	    {"address": "vmgmt_config_baseline.new", "mode": "managed", "type": "vmgmt_config_baseline",
	     "change": {"actions": ["create"], "before": null, "after": {"mode": "audit"}}},
	    {"address": "data.vmgmt_catalog.erp_ops", "mode": "data", "type": "vmgmt_catalog",
	     "change": {"actions": ["read"], "before": null, "after": {}}}
	  ],
	  "output_changes": {
	    "compliance": {"actions": ["update"],
	      "before": {"devtest": {"mode": "audit", "drifted": 1, "vms": ["a", "b"]}, "tier1": {"drifted": 0}},
	      "after": {"devtest": {"mode": "audit", "vms": ["a", "b"]}, "tier1": {"drifted": 0}},
	      "after_unknown": {"devtest": {"drifted": true}, "tier1": {}}},
	    "all_unknown": {"actions": ["update"], "before": "x", "after": null, "after_unknown": true},
	    "added": {"actions": ["create"], "before": null, "after": null, "after_unknown": true},
	    "shrunk": {"actions": ["update"], "before": ["a", "b"], "after": ["a"], "after_unknown": [false]},
	    "moved": {"actions": ["update"], "before": {"drifted": 0}, "after": {"drifted": 1}, "after_unknown": {}},
	    "same": {"actions": ["no-op"], "before": 1, "after": 1}
	  }
	}`
	got, err := readUnexpectedChanges(strings.NewReader(plan))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"vmgmt_config_baseline.tier1: update",
		"vmgmt_config_baseline.leaving: update",
		"vmgmt_config_baseline.entering: update",
		"vmgmt_other.audit: update",
		"vmgmt_config_baseline.replaced: delete, create",
		"vmgmt_config_baseline.new: create",
		"data.vmgmt_catalog.erp_ops: read",
		"output.added: create",
		"output.moved: update",
		"output.shrunk: update",
	}
	if !slices.Equal(got, want) {
		t.Errorf("unexpected changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := readUnexpectedChanges(strings.NewReader("Error: not JSON")); err == nil {
		t.Error("a plan that is not JSON was read without an error")
	}
}

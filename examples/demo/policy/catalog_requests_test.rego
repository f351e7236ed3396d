# Tests of the demo's catalog against the built-in catalog pack: the requests in catalog.tf pass,
# and the requests the items are meant to refuse are refused. The items here mirror catalog.tf.
# Run them with: terraform-provider-vmgmt policy test examples/demo/policy
package vmgmt.demo_catalog_test

import data.vmgmt.catalog

db_server := {
	"name": "db-server",
	"version": "1.2.0",
	"sizes": {
		"medium": {"cpus": 8, "memory_mb": 32768, "disk_gb": 200},
		"large": {"cpus": 16, "memory_mb": 65536, "disk_gb": 500},
		"xlarge": {"cpus": 32, "memory_mb": 131072, "disk_gb": 1000},
	},
	"allowed_folders": ["workloads"],
	"allowed_networks": ["pg-db"],
	"entitled_groups": ["dba", "erp-ops"],
	"quota": {
		"dba": {"instances": 10, "cpus": 256, "memory_mb": 1048576},
		"erp-ops": {"instances": 2, "cpus": 64},
	},
	"lease": {"default_days": 90, "max_days": 365, "grace_days": 14},
}

# erp-db-01 as the db-server module requests it.
erp_db := {
	"name": "erp-db-01", "catalog_item": "db-server", "size": "large", "folder": null, "network": null,
	"owner": "maria.garcia", "job_function": "dba", "lease_days": 365, "power_on": true,
}

create(after, usage) := {
	"type": "vmgmt_catalog_vm",
	"change": {"actions": ["create"], "before": null, "after": after, "after_unknown": {"folder": true, "network": true}},
	"context": {"phase": "plan", "principal": "VSPHERE.LOCAL\\terraform"},
	"inventory": {"item": db_server, "usage": usage},
}

ids(vs) := {v.id | some v in vs}

test_erp_db_request_passes if {
	count(catalog.violation) == 0 with input as create(erp_db, {})
}

test_web_ops_may_not_request_a_database if {
	ids(catalog.violation) == {"catalog.entitlement"} with input as create(object.union(erp_db, {"job_function": "web-ops"}), {})
}

test_erp_ops_third_database_is_over_quota if {
	used := {"erp-ops": {"instances": 2, "cpus": 32, "memory_mb": 131072}}
	ids(catalog.violation) == {"catalog.quota"} with input as create(object.union(erp_db, {"job_function": "erp-ops"}), used)
}

test_lease_beyond_a_year_is_refused if {
	ids(catalog.violation) == {"catalog.lease"} with input as create(object.union(erp_db, {"lease_days": 400}), {})
}

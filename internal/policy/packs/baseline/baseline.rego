# METADATA
# title: baseline
# description: |
#   Built-in pack for configuration management: every catalog VM (vmgmt_catalog_vm) must be held
#   by an enforcing configuration baseline; a baseline (vmgmt_config_baseline) may not relax a
#   setting of a protected setting pack while its scope holds business-critical VMs; and an
#   audit-only baseline over business-critical VMs warns. A host baseline (target = "host") is
#   judged the same way on the hosts of business-critical clusters, and not at all without any.
#   Parameters (data.vmgmt.params.baseline):
#   protected_packs (default ["scg-8", "scg-8-host"]): setting packs whose settings may not be
#   relaxed on business-critical VMs or hosts;
#   business_critical_tags (default ["tier/tier-1"]): "category/name" tags of business-critical
#   VMs, any case;
#   business_critical_clusters (default []): clusters whose hosts are business-critical, as the
#   hosts' cluster fact names them;
#   levels (default catalog_enforced and relax_critical mandatory, audit_critical advisory):
#   {<rule>: "mandatory" | "advisory"}.
#   The rules judge only the facts in inventory: a fact missing (unknown at plan) decides nothing.
# schemas:
#   - input: schema.input
package vmgmt.baseline

default_params := {
	"protected_packs": ["scg-8", "scg-8-host"],
	"business_critical_tags": ["tier/tier-1"],
	"business_critical_clusters": [],
	"levels": {
		"catalog_enforced": "mandatory",
		"relax_critical": "mandatory",
		"audit_critical": "advisory",
	},
}

default user_params := {}

user_params := data.vmgmt.params.baseline

params := object.union(default_params, user_params)

level(rule) := params.levels[rule]

writing if {
	some action in input.change.actions
	action in {"create", "update"}
}

# --- baseline.catalog_enforced --------------------------------------------------------------

catalog_vm if {
	input.type == "vmgmt_catalog_vm"
	writing
}

default vm_name := ""

vm_name := input.change.after.name if is_string(input.change.after.name)

default item_name := ""

item_name := input.change.after.catalog_item if is_string(input.change.after.catalog_item)

enforced if {
	some b in input.inventory.baselines
	b.mode == "enforce"
}

mode_text(b) := "which no configuration baseline of that name defines or plans" if {
	b.mode == ""
} else := sprintf("which is in %s mode", [b.mode])

held_text := "names no configuration baseline (config_baseline)" if {
	count(input.inventory.baselines) == 0
} else := sprintf("names the configuration baseline %s", [concat(", ", sort([sprintf("%q, %s", [b.name, mode_text(b)]) |
	some b in input.inventory.baselines
]))])

# METADATA
# title: baseline.catalog_enforced
# description: Every catalog VM is held by an enforcing configuration baseline.
# schemas:
#   - input: schema.vmgmt_catalog_vm
violation contains v if {
	catalog_vm
	is_array(input.inventory.baselines)
	not enforced
	v := {
		"id": "baseline.catalog_enforced",
		"level": level("catalog_enforced"),
		"path": ["catalog_item"],
		"msg": sprintf(
			"catalog VM %q is not held by an enforcing configuration baseline: its catalog item %q %s, so nothing keeps its configuration. Name an enforcing baseline in the item's config_baseline, set that baseline's mode = \"enforce\", or exempt the VM from baseline.catalog_enforced in data.vmgmt.exemptions.",
			[vm_name, item_name, held_text],
		),
	}
}

# --- business-critical scope (relax_critical, audit_critical) -------------------------------

config_baseline if {
	input.type == "vmgmt_config_baseline"
	writing
}

default baseline_name := ""

baseline_name := input.change.after.name if is_string(input.change.after.name)

host_baseline if input.change.after.target == "host"

critical_tags := {lower(t) | some t in params.business_critical_tags}

critical_clusters := {c | some c in params.business_critical_clusters}

# The business-critical objects in scope, by ID: VMs carrying a business-critical tag, or for a
# host baseline the hosts of a business-critical cluster.
critical := {vm.id: vm.name |
	some vm in input.inventory.scope
	some t in vm.tags
	lower(t) in critical_tags
} if {
	not host_baseline
} else := {h.id: h.name |
	some h in input.inventory.hosts
	h.cluster in critical_clusters
}

critical_why := sprintf("in the clusters %s (data.vmgmt.params.baseline.business_critical_clusters)", [list_text(params.business_critical_clusters)]) if {
	host_baseline
} else := sprintf("tagged %s (data.vmgmt.params.baseline.business_critical_tags)", [list_text(params.business_critical_tags)])

critical_kind := "hosts" if host_baseline else := "VMs"

# The business-critical objects for a message: the first few names, how many more, and why.
critical_text := sprintf("business-critical %s %s, %s", [critical_kind, critical_names_text, critical_why])

shown := 5

critical_names := sort([n | some _, n in critical])

critical_names_text := list_text(critical_names) if {
	count(critical_names) <= shown
} else := sprintf("%s and %d more", [list_text(array.slice(critical_names, 0, shown)), count(critical_names) - shown])

# --- baseline.relax_critical ----------------------------------------------------------------

protected_relaxed := {r | some r in input.inventory.relaxed; r.pack in {p | some p in params.protected_packs}}

relaxed_text := concat(", ", sort([sprintf("%s (%s %s: %q instead of %q)", [r.key, r.pack, r.control, r.value, r.pack_value]) |
	some r in protected_relaxed
]))

# METADATA
# title: baseline.relax_critical
# description: A baseline does not relax a protected pack's setting on business-critical VMs or hosts.
# schemas:
#   - input: schema.vmgmt_config_baseline
violation contains v if {
	config_baseline
	count(protected_relaxed) > 0
	count(critical) > 0
	v := {
		"id": "baseline.relax_critical",
		"level": level("relax_critical"),
		"path": ["settings"],
		"msg": sprintf(
			"configuration baseline %q relaxes settings of a protected pack (data.vmgmt.params.baseline.protected_packs) on the %s: %s. Remove the relaxed settings so the pack's values hold, narrow the scope to leave those out, or add an exemption for baseline.relax_critical in data.vmgmt.exemptions with its reason.",
			[baseline_name, critical_text, relaxed_text],
		),
	}
}

# --- baseline.audit_critical ----------------------------------------------------------------

# METADATA
# title: baseline.audit_critical
# description: A baseline over business-critical VMs or hosts enforces rather than only audits.
# schemas:
#   - input: schema.vmgmt_config_baseline
violation contains v if {
	config_baseline
	input.change.after.mode == "audit"
	count(critical) > 0
	v := {
		"id": "baseline.audit_critical",
		"level": level("audit_critical"),
		"path": ["mode"],
		"msg": sprintf(
			"configuration baseline %q only audits the %s: drift on them is reported but never remediated. Set mode = \"enforce\" once the report is clean, or leave them to an enforcing baseline.",
			[baseline_name, critical_text],
		),
	}
}

# --- helpers --------------------------------------------------------------------------------

list_text(s) := concat(", ", [sprintf("%q", [x]) | some x in sort(s)])

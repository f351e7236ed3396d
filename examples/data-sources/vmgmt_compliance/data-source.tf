# An auditor's view: how the business-critical tier stands against the vSphere 8 Security
# Configuration Guide, with who changed each drifted setting. It manages nothing and changes
# nothing in vCenter.
data "vmgmt_compliance" "tier1" {
  packs = ["scg-8"]
  scope {
    tags = [{ category = "tier", name = "tier-1" }]
  }
}

# One explicit setting over a folder, without any pack.
data "vmgmt_compliance" "no_copy" {
  settings = [
    { key = "isolation.tools.copy.disable", value = "TRUE" },
    { key = "sched.mem.pshare.salt", match = "absent" },
  ]
  scope {
    folders = ["erp"]
  }
}

output "tier1_drift" {
  value = {
    for vm in data.vmgmt_compliance.tier1.compliance : vm.vm_name => [
      for d in vm.drift : "${d.key} (${d.control}): ${d.actual}, wants ${d.expected}${d.changed_by != "" ? ", changed by ${d.changed_by} at ${d.changed_at}" : ""}"
    ]
  }
}

# Warn in every plan while any tier-1 VM drifts.
check "tier1_compliant" {
  assert {
    condition     = data.vmgmt_compliance.tier1.drifted_count == 0
    error_message = "${data.vmgmt_compliance.tier1.drifted_count} of ${data.vmgmt_compliance.tier1.scope_count} tier-1 VMs drift from scg-8."
  }
}

# The same for the ESXi hosts of a cluster.
data "vmgmt_compliance" "esxi" {
  target = "host"
  packs  = ["scg-8-host"]
  hosts {
    clusters = ["prod"]
  }
}

# Who can touch the business-critical database VMs, and why: every principal with a role on
# them, whether set on the VM or inherited from a folder, the datacenter or the root folder, and
# whoever set it.
data "vmgmt_access_report" "erp_db" {
  selection {
    tags    = [{ category = "tier", name = "tier-1" }]
    folders = ["erp"]
    match   = "all"
  }
}

# One VM by managed object ID.
data "vmgmt_access_report" "one" {
  selection {
    ids = ["vm-42"]
  }
}

output "erp_db_access" {
  value = {
    for vm in data.vmgmt_access_report.erp_db.vms : vm.name => [
      for a in vm.access : "${a.principal}${a.is_group ? " (group)" : ""}: ${a.role} from ${a.inherited ? a.defined_on_name : "the VM itself"}"
    ]
  }
}

# Warn in every plan when anyone outside the DBA and auditor groups reaches these VMs.
check "erp_db_principals" {
  assert {
    condition = alltrue([
      for p in data.vmgmt_access_report.erp_db.principals : contains(["VSPHERE.LOCAL\\dba", "VSPHERE.LOCAL\\auditors"], p)
    ])
    error_message = "Principals outside the DBA and auditor groups have access to the ERP database VMs."
  }
}

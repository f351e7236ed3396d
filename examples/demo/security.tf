# Security management — "access controls that let only the right people reach the right VMs and
# data, and that detect and prevent threats". Each security group gives principals of vCenter's
# directory a role on the VMs its selection resolves to, live at every plan: a VM that is tagged
# tier-1 outside Terraform shows up in the next plan as joining the DB admins (make demo does
# exactly that, and shows the plan). Permissions are managed per principal and non-authoritatively:
# what someone else set on these VMs is never touched.
#
# The groups depend on the catalog VMs they reach, so that they are applied after those exist
# (their members are "known after apply" while this run creates VMs).

locals {
  # The simulator's own administrators hold Admin on the root folder, as vCenter's Administrators
  # group does: not a foreign grant.
  vcenter_admins = ["root", "admin"]
}

# DB admins operate the business-critical databases: the VMs of the database pool, every VM tagged
# tier-1, and every VM made from the db-server catalog item (security_group = "db-admins").
# Tier-1 port groups are locked down: no promiscuous mode, no MAC changes, no forged transmits.
resource "vmgmt_security_group" "db_admins" {
  name        = "db-admins"
  description = "DB admins on the database tier"
  privileges = [
    "VirtualMachine.Interact.PowerOn",
    "VirtualMachine.Interact.PowerOff",
    "VirtualMachine.Interact.Reset",
    "VirtualMachine.Interact.ConsoleInteract",
    "VirtualMachine.Config.Settings",
    "VirtualMachine.State.CreateSnapshot",
  ]
  principals = [{ name = "VSPHERE.LOCAL\\db-admins", is_group = true }]
  members {
    pools = [vmgmt_capacity_reservation.db_prod.id]
    tags  = [{ category = "tier", name = "tier-1" }]
    match = "any"
  }
  network_policy {
    allow_promiscuous      = false
    allow_mac_changes      = false
    allow_forged_transmits = false
  }
  trusted_principals = local.vcenter_admins
  depends_on         = [module.erp_db]
}

# App operators run the application tier: power and console, nothing else.
resource "vmgmt_security_group" "app_operators" {
  name        = "app-operators"
  description = "App operators on the application tier"
  privileges = [
    "VirtualMachine.Interact.PowerOn",
    "VirtualMachine.Interact.PowerOff",
    "VirtualMachine.Interact.Reset",
    "VirtualMachine.Interact.ConsoleInteract",
  ]
  principals = [{ name = "VSPHERE.LOCAL\\app-operators", is_group = true }]
  members {
    pools = [vmgmt_capacity_reservation.tier2.id]
  }
  trusted_principals = local.vcenter_admins
  depends_on         = [module.erp_app, module.web]
}

# Auditors may read everything: the ReadOnly role on every VM of the datacenter.
resource "vmgmt_security_group" "auditors" {
  name        = "auditors"
  description = "Read-only auditors everywhere"
  role        = "ReadOnly"
  principals  = [{ name = "VSPHERE.LOCAL\\auditors", is_group = true }]
  members {
    folders   = ["/dc1"]
    templates = "exclude"
  }
  trusted_principals = local.vcenter_admins
  depends_on         = [module.erp_db, module.erp_app, module.web, vmgmt_catalog_vm.dev_sandbox]
}

# Who can touch the ERP database, and why: every principal with a role on it, set on the VM or
# inherited from a folder, the datacenter or the root folder, whoever set it.
data "vmgmt_access_report" "erp_db" {
  selection {
    ids = [module.erp_db.id]
  }
  depends_on = [vmgmt_security_group.db_admins, vmgmt_security_group.auditors]
}

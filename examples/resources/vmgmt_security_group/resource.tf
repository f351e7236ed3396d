# Database administrators operate the business-critical database VMs: the VMs tagged tier-1 in the
# database pool, and every VM made from a catalog item whose security_group is "db-admins".
resource "vmgmt_security_group" "db_admins" {
  name        = "db-admins"
  description = "DB admins on the database tier"

  # A role the group owns and maintains (vmgmt-sg-db-admins); a change updates it in place.
  privileges = [
    "VirtualMachine.Interact.PowerOn",
    "VirtualMachine.Interact.PowerOff",
    "VirtualMachine.Interact.Reset",
    "VirtualMachine.Interact.ConsoleInteract",
    "VirtualMachine.Config.Settings",
  ]

  principals = [
    { name = "VSPHERE.LOCAL\\db-admins", is_group = true },
    { name = "carol@vsphere.local" }, # a user; name@domain works too
  ]

  members {
    tags  = [{ category = "tier", name = "tier-1" }]
    pools = ["prod/Resources/tier-1/erp-prod/db-prod"]
    match = "any"
    exclude {
      tags = [{ category = "environment", name = "development" }]
    }
    templates = "exclude"
  }

  # Tier-1 port groups reject promiscuous mode, MAC changes and forged transmits.
  network_policy {
    allow_promiscuous      = false
    allow_mac_changes      = false
    allow_forged_transmits = false
  }

  # vCenter's own administrators are expected to hold Admin everywhere: not a foreign grant.
  trusted_principals = ["VSPHERE.LOCAL\\Administrators"]
}

# Read-only auditors on every VM of the datacenter, with an existing role.
resource "vmgmt_security_group" "auditors" {
  name       = "auditors"
  role       = "ReadOnly"
  principals = [{ name = "VSPHERE.LOCAL\\auditors", is_group = true }]
  members {
    folders = ["/dc1"]
  }
}

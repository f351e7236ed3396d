# The business-critical tier keeps the vSphere 8 Security Configuration Guide's VM settings:
# drift is remediated at apply, and the plan says who changed a setting and when.
resource "vmgmt_config_baseline" "tier1" {
  name        = "tier-1-hardening"
  description = "SCG 8 on the business-critical tier"
  mode        = "enforce"
  packs       = ["scg-8"]

  # Explicit settings win over the pack's (a plan warns when one relaxes it).
  settings = [
    { key = "RemoteDisplay.maxConnections", value = "2" },
    { key = "vmgmt.custom.owner-team", value = "erp" },
  ]

  scope {
    tags      = [{ category = "tier", name = "tier-1" }]
    templates = "exclude"
  }

  # Secure boot and the hardware version need the VM powered off: allow vmgmt to do it.
  allow_power_cycle = true
}

# Dev/test is only audited: the plan reports drift (and exits 2 with -detailed-exitcode), and
# nothing is changed.
resource "vmgmt_config_baseline" "devtest" {
  name  = "devtest-audit"
  mode  = "audit"
  packs = ["scg-8"]
  scope {
    tags = [{ category = "environment", name = "development" }]
  }
}

# The hosts of the production cluster keep the guide's ESXi advanced options, and ship their logs
# to the site's collector. A host that joins the cluster is picked up by the next plan, so the
# configuration follows the application's VMs wherever DRS or vMotion moves them.
resource "vmgmt_config_baseline" "esxi" {
  name   = "prod-esxi-hardening"
  target = "host"
  mode   = "enforce"
  packs  = ["scg-8-host"]
  settings = [
    { key = "Syslog.global.logHost", value = "udp://syslog.example.com:514" },
  ]
  hosts {
    clusters = ["prod"]
  }
}

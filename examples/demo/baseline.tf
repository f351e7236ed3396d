# Configuration management — "the required configuration follows an application as its VMs move,
# and inadvertent changes, the most common cause of outages, are found and undone". Each baseline
# judges the VMs of its scope, live at every plan, against the vSphere 8 Security Configuration
# Guide's VM settings (the built-in scg-8 pack: isolation, console and logging settings, secure
# boot, hardware version >= vmx-19, encrypted vMotion and FT, VM logging). A VM that drifts shows
# in the next plan as a change on its baseline, with a warning naming the VM, the setting, and
# who changed it and when (from vCenter's events), so `terraform plan -detailed-exitcode` in CI
# exits 2. make demo changes a setting on the ERP database behind Terraform's back to show it.
#
# The production catalog items name their tier's baseline (config_baseline, catalog.tf), so the
# baselines are applied first and every VM made from those items is born compliant: it is cloned
# with the baseline's settings, flags and stamp, and the next plan finds nothing to do. The
# built-in `baseline` policy pack (main.tf) requires that of every catalog VM: a VM whose item
# names no enforcing baseline fails the plan unless an exemption says why (the dev sandbox,
# policy/exemptions.json).

# The business-critical tier is enforced: apply puts every drifted VM back with one ReconfigVM.
# Secure boot and the hardware version need the VM powered off; allow_power_cycle lets vmgmt power
# it off and on around the change (without it those drifts are reported, and left). Its scope is
# every VM in the tier-1 pools (the ERP and database pools are nested in it) or tagged tier-1,
# and every VM made from a catalog item whose config_baseline names it (db-server, catalog.tf).
# The `baseline` pack would warn on an audit-only baseline here (baseline.audit_critical), and
# refuse one that relaxes an scg-8 setting without an exemption (baseline.relax_critical).
resource "vmgmt_config_baseline" "tier1" {
  name        = "tier-1-scg"
  description = "vSphere 8 SCG on the business-critical tier, enforced"
  mode        = "enforce"
  packs       = ["scg-8"]
  scope {
    pools     = [vmgmt_capacity_reservation.tier1.id]
    tags      = [{ category = "tier", name = "tier-1" }]
    match     = "any"
    templates = "exclude"
  }
  allow_power_cycle = true
}

# Standard production is enforced too: the application and web servers of catalog.tf are born
# with it.
resource "vmgmt_config_baseline" "tier2" {
  name        = "tier-2-scg"
  description = "vSphere 8 SCG on standard production, enforced"
  mode        = "enforce"
  packs       = ["scg-8"]
  scope {
    pools     = [vmgmt_capacity_reservation.tier2.id]
    templates = "exclude"
  }
  allow_power_cycle = true
}

# Dev/test is only audited: the plan reports what drifts from the guide and nothing is changed.
# An audit baseline whose VMs drift plans a change at every plan, by design, so that a pipeline's
# `plan -detailed-exitcode` keeps exiting 2 until someone fixes the VMs (or relaxes the baseline).
resource "vmgmt_config_baseline" "devtest" {
  name        = "dev-test-scg-audit"
  description = "vSphere 8 SCG on dev/test, audited only"
  mode        = "audit"
  packs       = ["scg-8"]
  scope {
    pools     = [vmgmt_capacity_reservation.tier3.id]
    templates = "exclude"
  }
  depends_on = [vmgmt_catalog_vm.dev_sandbox]
}

# The compliance summary comes from the auditor's read-only view, vmgmt_compliance, read after the
# VMs and the baselines are made: the production baselines are applied before the catalog VMs
# that are born compliant with them, so their own counters are those of before the VMs (the next
# refresh updates them), while these reads judge every VM of each tier as it is now.
data "vmgmt_compliance" "tier1" {
  packs = ["scg-8"]
  scope {
    pools     = [vmgmt_capacity_reservation.tier1.id]
    tags      = [{ category = "tier", name = "tier-1" }]
    match     = "any"
    templates = "exclude"
  }
  depends_on = [vmgmt_config_baseline.tier1, module.erp_db]
}

data "vmgmt_compliance" "tier2" {
  packs = ["scg-8"]
  scope {
    pools     = [vmgmt_capacity_reservation.tier2.id]
    templates = "exclude"
  }
  depends_on = [vmgmt_config_baseline.tier2, module.erp_app, module.web]
}

data "vmgmt_compliance" "devtest" {
  packs = ["scg-8"]
  scope {
    pools     = [vmgmt_capacity_reservation.tier3.id]
    templates = "exclude"
  }
  # Not on the audit baseline: it changes no VM, and it plans a change at every plan, which would
  # defer this read to every apply.
  depends_on = [vmgmt_catalog_vm.dev_sandbox]
}

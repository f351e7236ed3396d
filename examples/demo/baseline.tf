# Configuration management — "the required configuration follows an application as its VMs move,
# and inadvertent changes, the most common cause of outages, are found and undone". Each baseline
# judges the VMs of its scope, live at every plan, against the vSphere 8 Security Configuration
# Guide's VM settings (the built-in scg-8 pack: isolation, console and logging settings, secure
# boot, hardware version >= vmx-19, encrypted vMotion and FT, VM logging). A VM that drifts shows
# in the next plan as a change on its baseline, with a warning naming the VM, the setting, and
# who changed it and when (from vCenter's events), so `terraform plan -detailed-exitcode` in CI
# exits 2. make demo changes a setting on the ERP database behind Terraform's back to show it.
#
# Like the security groups, the baselines depend on the catalog VMs they judge, so that they are
# applied after those exist.

# The business-critical tier is enforced: apply puts every drifted VM back with one ReconfigVM.
# Secure boot and the hardware version need the VM powered off; allow_power_cycle lets vmgmt power
# it off and on around the change (without it those drifts are reported, and left). Its scope is
# every VM in the tier-1 pools (the ERP and database pools are nested in it) or tagged tier-1,
# and every VM made from a catalog item whose config_baseline names it (db-server, catalog.tf).
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
  depends_on        = [module.erp_db]
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

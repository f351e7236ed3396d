# How the business-critical tier is protected: computed at plan time, so `terraform plan` in CI
# shows the tier-1 VMs no enabled job protects, those whose newest point is too old, and those no
# restore test has proved.
data "vmgmt_protection_coverage" "tier1" {
  scope {
    tags = [{ category = "tier", name = "tier-1" }]
  }
}

output "tier1_unprotected" {
  value = [for vm in data.vmgmt_protection_coverage.tier1.unprotected : vm.vm_name]
}

# Fail the plan while any tier-1 VM is unprotected or behind its schedule.
check "tier1_protected" {
  assert {
    condition     = data.vmgmt_protection_coverage.tier1.unprotected_count == 0 && data.vmgmt_protection_coverage.tier1.stale_count == 0
    error_message = "Tier-1 VMs without a current backup: ${join(", ", concat([for vm in data.vmgmt_protection_coverage.tier1.unprotected : vm.vm_name], [for vm in data.vmgmt_protection_coverage.tier1.stale : vm.vm_name]))}."
  }
}

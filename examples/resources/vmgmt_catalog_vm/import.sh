# Only VMs made from the catalog (they carry the vmgmt.catalog.* stamps in extraConfig) can be
# imported; item, size, owner, job function and lease are read from those stamps.

# By inventory path:
terraform import vmgmt_catalog_vm.erp_db /dc1/vm/workloads/erp-db-01

# By BIOS UUID:
terraform import vmgmt_catalog_vm.erp_db 42316a5e-8d1c-2b7f-9a0e-6c3d1f4e5a7b

# By managed object ID:
terraform import vmgmt_catalog_vm.erp_db vm-1042

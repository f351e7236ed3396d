# Adopt a catalog VM that already exists in vCenter, by inventory path (or UUID).
import {
  to = vmgmt_catalog_vm.erp_db
  id = "/dc1/vm/workloads/erp-db-01"
}

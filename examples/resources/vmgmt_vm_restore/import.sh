# By the restored VM's managed object ID, or its inventory path. The point it was made from is read
# from the VM's vmgmt.restore.point stamp: only a VM vmgmt_vm_restore made can be imported.
terraform import vmgmt_vm_restore.erp_db vm-123
terraform import vmgmt_vm_restore.erp_db /dc1/vm/recovery/erp-db01-recovered

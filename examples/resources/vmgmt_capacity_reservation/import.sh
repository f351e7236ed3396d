# By managed object ID of the resource pool:
terraform import vmgmt_capacity_reservation.tier1 resgroup-42

# By inventory path (absolute, or relative to the datacenter's host folder):
terraform import vmgmt_capacity_reservation.tier1 /dc1/host/prod/Resources/tier-1
terraform import vmgmt_capacity_reservation.erp_prod prod/Resources/tier-1/erp-prod

# Adopt a resource pool that already exists in vCenter, by inventory path or managed object ID.
import {
  to = vmgmt_capacity_reservation.tier1
  id = "/dc1/host/prod/Resources/tier-1"
}

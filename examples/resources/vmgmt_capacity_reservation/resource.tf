# Tier 1 for business-critical applications: a guaranteed, non-expandable reservation with high
# shares, directly under the cluster.
resource "vmgmt_capacity_reservation" "tier1" {
  name   = "tier-1"
  parent = "/dc1/host/prod"

  cpu = {
    reservation  = 120000 # MHz
    expandable   = false
    shares_level = "high"
  }
  memory = {
    reservation  = 786432 # MB
    expandable   = false
    shares_level = "high"
  }
}

# A pool for one application inside tier 1: admitted against tier 1's reservation.
resource "vmgmt_capacity_reservation" "erp_prod" {
  name   = "erp-prod"
  parent = vmgmt_capacity_reservation.tier1.id

  cpu = {
    reservation  = 64000
    expandable   = false
    shares_level = "custom"
    shares       = 16000
  }
  memory = {
    reservation = 393216
    expandable  = false
  }
}

# Dev/test: nothing guaranteed, capped, and first to yield under contention.
resource "vmgmt_capacity_reservation" "tier3" {
  name   = "tier-3"
  parent = "/dc1/host/prod"

  cpu = {
    limit        = 40000
    shares_level = "low"
  }
  memory = {
    limit        = 262144
    shares_level = "low"
  }
}

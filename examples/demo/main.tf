# The vmgmt reference architecture, applied to the simulator's production cluster by `make demo`.
#
# "Virtualizing Business Critical Applications – A Reference Architecture" puts five management
# functions on top of vSphere: Security, Configuration, Service & Capacity, Provisioning &
# Lifecycle, and Backup & Recovery. This configuration implements them: Service & Capacity here,
# Provisioning & Lifecycle (the service catalog) in catalog.tf, whose VMs run in the tiers below,
# Security in security.tf, Configuration in baseline.tf, and the backup half of Backup & Recovery
# (a nightly job for the business-critical tier) in backup.tf.
#
# Service & Capacity management — "automating the distribution of the workloads to ensure that the
# most important applications deliver the required levels of service to their users". On vSphere
# that is resource pools: a reservation guarantees capacity, a limit caps it, and shares decide who
# wins under contention. The cluster is carved into three service tiers:
#
#   tier-1  business critical (ERP, databases): a large reservation that cannot borrow or be
#           squeezed (not expandable), high shares; with nested pools per application
#   tier-2  standard production: a medium reservation, normal shares, may borrow (expandable)
#   tier-3  dev/test: nothing guaranteed, a hard limit, low shares — it gives way first
#
# Every reservation is admitted at plan time against its parent's unreserved capacity, so a tier
# that does not fit fails `terraform plan` before anything changes in vCenter. On top of that, the
# policy gate judges every change with the built-in capacity pack (10% of each parent stays
# unreserved, tier naming, tier-1 protected from destroy), the built-in catalog pack for the VMs
# of catalog.tf, and the platform team's own rules in ./policy (tier-1 never expandable, dev/test
# always capped). See docs/guides/policy.md.
#
# The cluster /dc1/host/prod has 4 hosts x 32 cores x 2600 MHz = 332800 MHz of CPU and
# 4 x 512 GiB = 2097152 MB of memory. This plan reserves 180000 MHz and 1152 GiB of it, and keeps
# the rest as headroom for HA failover and growth (see the cluster_headroom output).

terraform {
  required_version = ">= 1.8"
  required_providers {
    vmgmt = {
      source = "vmgmt/vmgmt"
    }
  }
}

variable "decision_log" {
  description = "Where the policy gate writes its decision log (JSON lines), relative to the working directory unless absolute."
  type        = string
  default     = "policy-decisions.jsonl"
}

# Credentials come from the environment, as for hashicorp/vsphere: VSPHERE_SERVER, VSPHERE_USER,
# VSPHERE_PASSWORD, VSPHERE_ALLOW_UNVERIFIED_SSL (the demo's simulator writes them for us).
provider "vmgmt" {
  # The policy gate: evaluated for every change while planning, and again before anything
  # changes in vCenter. A mandatory violation fails `terraform plan`.
  policy {
    # Built-in packs, parameters in policy/params.json (data.vmgmt.params.<pack>): capacity
    # judges the reservations, catalog the VM requests (entitled job function, a size the item
    # offers, the group's quota, the item's lease maximum, allowed folders and networks), security
    # the security groups (privilege ceiling, no Administrator on tier-1 VMs, locked-down tier-1
    # port groups, principals from allowed domains), baseline the configuration baselines (every
    # catalog VM held by an enforcing baseline, no relaxing scg-8 on tier-1, audit on tier-1 warns),
    # backup the backup jobs (tier-1 backed up at least daily, a week of restore points kept).
    packs = ["capacity", "catalog", "security", "baseline", "backup"]
    # Rego (package vmgmt.platform) plus data: pack parameters and exemptions. Tests
    # (*_test.rego) are not loaded here; run them with `terraform-provider-vmgmt policy test`.
    sources      = ["${path.module}/policy"]
    decision_log = var.decision_log
  }
}

locals {
  cluster = "/dc1/host/prod"
}

# Tier 1 — business-critical applications. The reservation is the capacity the business has paid
# for: not expandable (it never depends on what the other tiers leave over) and high shares.
# Policy: platform.tier1_fixed requires expandable = false here, and policy/params.json lists
# tier-1 as protected, so `terraform destroy` of it fails at plan time (capacity.protected).
resource "vmgmt_capacity_reservation" "tier1" {
  name   = "tier-1"
  parent = local.cluster

  cpu = {
    reservation  = 120000 # MHz: ~36% of the cluster
    expandable   = false
    shares_level = "high"
  }
  memory = {
    reservation  = 786432 # MB: 768 GiB
    expandable   = false
    shares_level = "high"
  }
}

# Inside tier 1, one pool per application, so the ERP system cannot starve its own databases.
# Their reservations are admitted against tier 1's reservation, not the cluster's. Tier 1 is
# created in the same apply, so while planning its capacity is unknown: the capacity pack says it
# is deferred to apply time (a warning) and judges these pools then, before they are created.
resource "vmgmt_capacity_reservation" "erp_prod" {
  name   = "tier-1-erp"
  parent = vmgmt_capacity_reservation.tier1.id

  cpu = {
    reservation  = 64000
    expandable   = false
    shares_level = "high"
  }
  memory = {
    reservation  = 393216 # 384 GiB
    expandable   = false
    shares_level = "high"
  }
}

resource "vmgmt_capacity_reservation" "db_prod" {
  name   = "tier-1-db"
  parent = vmgmt_capacity_reservation.tier1.id

  cpu = {
    reservation  = 40000
    expandable   = false
    shares_level = "high"
  }
  memory = {
    reservation  = 262144 # 256 GiB
    expandable   = false
    shares_level = "high"
  }
}

# Tier 2 — standard production. A guaranteed floor, normal shares, and expandable: it may borrow
# the cluster's unreserved capacity when it needs more than its floor.
resource "vmgmt_capacity_reservation" "tier2" {
  name   = "tier-2"
  parent = local.cluster

  cpu = {
    reservation  = 60000
    expandable   = true
    shares_level = "normal"
  }
  memory = {
    reservation  = 393216 # 384 GiB
    expandable   = true
    shares_level = "normal"
  }
}

# Tier 3 — development and test. Nothing reserved, a hard cap, and low shares: under contention it
# yields to tiers 1 and 2, and it can never take more than its limit
# (platform.dev_capped refuses low shares without a limit).
resource "vmgmt_capacity_reservation" "tier3" {
  name   = "tier-3"
  parent = local.cluster

  cpu = {
    reservation  = 0
    limit        = 40000
    shares_level = "low"
  }
  memory = {
    reservation  = 0
    limit        = 262144 # 256 GiB
    shares_level = "low"
  }
}

# What is left of the cluster once the tiers are in place: the headroom capacity planning watches.
# depends_on makes Terraform read it after the reservations are created or changed.
data "vmgmt_capacity" "cluster" {
  path = local.cluster

  depends_on = [
    vmgmt_capacity_reservation.tier1,
    vmgmt_capacity_reservation.tier2,
    vmgmt_capacity_reservation.tier3,
  ]
}

# What is left inside tier 1 for the next business-critical application.
data "vmgmt_capacity" "tier1" {
  id = vmgmt_capacity_reservation.tier1.id

  depends_on = [
    vmgmt_capacity_reservation.erp_prod,
    vmgmt_capacity_reservation.db_prod,
  ]
}

# The choices this module offers are those of the catalog item it requests. Keep the lists below
# in step with the item's sizes and lease when the platform team publishes a new version.

variable "catalog_item" {
  description = "Name of the published catalog item to request. The default is the platform's application server item."
  type        = string
  default     = "app-server"
}

variable "name" {
  description = "Name of the VM, also its host name: lower-case letters, digits and dashes, at most 63 characters."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,62}$", var.name))
    error_message = "name must be lower-case letters, digits and dashes, starting with a letter or digit, at most 63 characters (it is also the host name)."
  }
}

variable "size" {
  description = "Size of the application server: small (2 vCPU, 8 GiB, 60 GB), medium (4 vCPU, 16 GiB, 80 GB) or large (8 vCPU, 32 GiB, 120 GB)."
  type        = string
  default     = "medium"

  validation {
    condition     = contains(["small", "medium", "large"], var.size)
    error_message = "size must be one of the sizes the app-server item offers: small, medium or large."
  }
}

variable "owner" {
  description = "Person responsible for the VM (a directory user, e.g. jane.doe)."
  type        = string

  validation {
    condition     = length(var.owner) > 0
    error_message = "owner must name the person responsible for the VM."
  }
}

variable "job_function" {
  description = "Job function (group) the VM is requested for, e.g. erp-ops or app-dev. It must be entitled to the item, and the VM counts against that group's quota."
  type        = string

  validation {
    condition     = length(var.job_function) > 0
    error_message = "job_function must name the group the VM is requested for."
  }
}

variable "lease_days" {
  description = "Lease in days from creation, 1 to 180. Raise it to renew an expiring lease. Default: the item's default lease (30 days)."
  type        = number
  default     = null

  validation {
    condition     = var.lease_days == null ? true : (var.lease_days >= 1 && var.lease_days <= 180 && floor(var.lease_days) == var.lease_days)
    error_message = "lease_days must be a whole number of days from 1 to 180 (the app-server item's maximum lease)."
  }
}

variable "folder" {
  description = "VM folder, relative to the datacenter's vm folder (e.g. workloads) or absolute. Default: the item's first allowed folder."
  type        = string
  default     = null
}

variable "domain" {
  description = "DNS domain of the guest, e.g. corp.example."
  type        = string
  default     = null
}

variable "ipv4_address" {
  description = "Static IPv4 address with prefix length, e.g. 10.0.20.11/24. Default: DHCP."
  type        = string
  default     = null

  validation {
    condition     = var.ipv4_address == null ? true : can(regex("^([0-9]{1,3}\\.){3}[0-9]{1,3}/([0-9]|[12][0-9]|3[0-2])$", var.ipv4_address)) && can(cidrhost(var.ipv4_address, 0))
    error_message = "ipv4_address must be an IPv4 address with prefix length, e.g. 10.0.20.11/24."
  }
}

variable "ipv4_gateway" {
  description = "Default gateway, with ipv4_address."
  type        = string
  default     = null
}

variable "dns_servers" {
  description = "DNS servers of the guest."
  type        = list(string)
  default     = []
}

variable "allow_power_cycle" {
  description = "Let a resize power the VM off and on when it has to (a running VM cannot lose vCPUs or memory). Default: such a change fails at plan time, saying why; resize in a maintenance window."
  type        = bool
  default     = false
}

variable "rebuild" {
  description = "Rebuild (replace) the VM from the item's newest version. Default: the VM keeps the version it was built from when a newer one is published."
  type        = bool
  default     = false
}

terraform {
  required_providers {
    vmgmt = {
      source = "vmgmt/vmgmt"
    }
  }
}

# The usual setup: credentials come from the same environment variables as hashicorp/vsphere
# (VSPHERE_SERVER, VSPHERE_USER, VSPHERE_PASSWORD, VSPHERE_ALLOW_UNVERIFIED_SSL), so the block
# holds only what is not secret.
provider "vmgmt" {
  datacenter  = "dc1"
  api_timeout = "2m"
}

# Or everything in the block, with the password from a sensitive variable (never a literal).
variable "vsphere_password" {
  type      = string
  sensitive = true
}

provider "vmgmt" {
  alias          = "lab"
  vsphere_server = "vcenter.lab.example.com"
  user           = "terraform@vsphere.local"
  password       = var.vsphere_password
  datacenter     = "dc1"

  # One vCenter session is reused across provider processes and runs (the default); keep it in a
  # directory private to this pipeline.
  persist_session   = true
  session_cache_dir = "/var/cache/terraform/vmgmt-sessions"
}

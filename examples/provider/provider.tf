terraform {
  # ephemeral variables (below) need Terraform 1.10 or later.
  required_version = ">= 1.10"
  required_providers {
    vmgmt = {
      source = "vmgmt/vmgmt"
    }
  }
}

# The usual setup: credentials come from the same environment variables as hashicorp/vsphere
# (VSPHERE_SERVER, VSPHERE_USER, VSPHERE_PASSWORD, VSPHERE_ALLOW_UNVERIFIED_SSL, and
# VSPHERE_CA_FILE), so the block holds only what is not secret.
provider "vmgmt" {
  datacenter  = "dc1"
  api_timeout = "2m"
}

# Or everything in the block, with the secrets from ephemeral variables (never literals):
# Terraform keeps ephemeral values out of saved plan files and state. Set them with
# TF_VAR_vsphere_password and TF_VAR_opa_token, for `terraform plan -out` and again for
# `terraform apply` of the saved plan.
variable "vsphere_password" {
  type      = string
  sensitive = true
  ephemeral = true
}

variable "opa_token" {
  type      = string
  sensitive = true
  ephemeral = true
}

provider "vmgmt" {
  alias          = "corp"
  vsphere_server = "vcenter.corp.example.com"
  user           = "terraform@vsphere.local"
  password       = var.vsphere_password
  datacenter     = "dc1"

  # vCenter's certificate is signed by the company's private CA (or by the VMCA, whose root
  # certificates vCenter serves at https://<vcenter>/certs/download.zip).
  ca_file = "/etc/pki/corp/vcenter-ca.pem"

  # One vCenter session is reused across provider processes and runs (the default). The cache
  # holds a live session: keep it in a directory private to this pipeline.
  persist_session   = true
  session_cache_dir = "/var/cache/terraform/vmgmt-sessions"

  policy {
    packs = ["capacity"]
    remote {
      url   = "https://opa.corp.example.com:8181"
      token = var.opa_token
    }
  }
}

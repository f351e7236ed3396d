terraform {
  required_version = ">= 1.8"
  required_providers {
    vmgmt = {
      source = "vmgmt/vmgmt"
    }
  }
}

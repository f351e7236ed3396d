terraform {
  required_providers {
    vmgmt = {
      source = "vmgmt/vmgmt"
    }
  }
}

variable "opa_token" {
  description = "Bearer token of the central OPA server."
  type        = string
  sensitive   = true
}

provider "vmgmt" {
  policy {
    # Built-in packs, embedded in the provider binary. Their parameters come from policy data
    # (data.vmgmt.params.capacity in ./policy/params.json), not from HCL.
    packs = ["capacity"]

    # Rego files, directories (Rego plus JSON/YAML data: pack parameters, exemptions) and
    # bundle .tar.gz files. *_test.rego files are skipped: `terraform-provider-vmgmt policy test`
    # runs them.
    sources = [
      "${path.module}/policy",
      "${path.module}/bundles/platform-policy.tar.gz",
    ]

    # One JSON line per decision. Relative paths are relative to Terraform's working directory.
    decision_log = "${path.module}/policy-decisions.jsonl"

    # "fails" adds a trimmed Rego evaluation trace to every blocking violation.
    explain = "none"

    # Also ask a central OPA server. No answer within the timeout refuses the change.
    remote {
      url     = "https://opa.example.com:8181"
      path    = "vmgmt"
      timeout = "2s"
      token   = var.opa_token
    }
  }
}

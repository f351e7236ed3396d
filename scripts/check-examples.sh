#!/usr/bin/env bash
# Checks that every example is real HCL: `terraform fmt -check` over examples/, then
# `terraform validate` in each example directory against the provider in ./bin (dev_overrides, so
# no registry and no `terraform init`). Called by `make check-examples`, which builds both first.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
bin="${BIN:-$root/bin}"
tf="${TERRAFORM:-$bin/terraform}"
cd "$root"

[[ -x "$bin/terraform-provider-vmgmt" ]] || { echo "check-examples: build the provider first (make build)" >&2; exit 1; }

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cat >"$scratch/terraformrc" <<CFG
disable_checkpoint = true
provider_installation {
  dev_overrides {
    "registry.terraform.io/vmgmt/vmgmt" = "$bin"
  }
  direct {}
}
CFG
export TF_CLI_CONFIG_FILE="$scratch/terraformrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1

echo "terraform fmt -check -recursive examples"
"$tf" fmt -check -diff -recursive examples

# Validate a copy: no .terraform or lock file lands in the repository. The copy keeps the layout of
# examples/, so that local module sources (examples/demo calls ../modules/...) resolve.
cp -R examples "$scratch/examples"
failed=0
while IFS= read -r dir; do
	work="$scratch/$dir"
	# Resource and data source examples are fragments: give them the provider requirement the
	# registry page leaves out.
	if ! grep -qs 'required_providers' "$work"/*.tf; then
		printf 'terraform {\n  required_providers {\n    vmgmt = { source = "vmgmt/vmgmt" }\n  }\n}\n' >"$work/zz_required_providers.tf"
	fi
	# Configurations that call modules need them installed (local paths only: `terraform get`).
	if grep -qs '^module ' "$work"/*.tf && ! out="$("$tf" -chdir="$work" get -no-color 2>&1)"; then
		echo "FAIL  $dir"
		echo "$out" | grep -v -e '^$' | sed 's/^/      /'
		failed=1
		continue
	fi
	if out="$("$tf" -chdir="$work" validate -no-color 2>&1)"; then
		echo "ok    $dir"
	elif grep -q 'Unsupported Terraform Core version' <<<"$out"; then
		# The fallback CLI (terraform 1.8.5) is older than an example's required_version (the
		# provider example's ephemeral variables need 1.10).
		echo "skip  $dir (needs a newer terraform than $("$tf" version | sed -n 1p))"
	else
		echo "FAIL  $dir"
		echo "$out" | grep -v -e '^$' -e 'development overrides' | sed 's/^/      /'
		failed=1
	fi
done < <(find examples -name '*.tf' -printf '%h\n' | sort -u)
exit "$failed"

#!/usr/bin/env bash
# Regenerates docs/ from the provider schema, examples/ and templates/ with tfplugindocs, then
# validates the result. Called by `make docs`, which builds the tools into ./bin first.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${BIN:-$root/bin}"
tfplugindocs="${TFPLUGINDOCS:-$bin/tfplugindocs}"
cd "$root"

if [[ ! -x "$tfplugindocs" ]]; then
	echo "docs: $tfplugindocs is missing: run 'make tools'" >&2
	exit 1
fi

# tfplugindocs runs `terraform init` + `terraform providers schema` with the first terraform on
# PATH: put ./bin first, and give it a CLI config of its own (TF_CLI_CONFIG_FILE may name a missing
# file; tfplugindocs installs the provider it builds from a local plugin directory, no network).
cfg_dir="$(mktemp -d)"
trap 'rm -rf "$cfg_dir"' EXIT
printf 'disable_checkpoint = true\n' >"$cfg_dir/terraformrc"
export TF_CLI_CONFIG_FILE="$cfg_dir/terraformrc" CHECKPOINT_DISABLE=1
export PATH="$bin:$PATH"

# Tables generated from code into the templates first (the setting packs' SCG tables).
go test ./internal/baseline -run '^TestPackTablesInDocs$' -count=1 -args -update-docs >/dev/null
"$tfplugindocs" generate --provider-name vmgmt --rendered-provider-name vmgmt
# validate logs every file it looks at: show its output only when it fails.
if ! out="$("$tfplugindocs" validate --provider-name vmgmt 2>&1)"; then
	echo "$out" | grep -v '\[DEBUG\]' >&2
	echo "docs: tfplugindocs validate failed" >&2
	exit 1
fi
echo "docs: tfplugindocs validate: ok"

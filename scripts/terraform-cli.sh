#!/usr/bin/env bash
# Prints the path of a terraform CLI on PATH that is at least MIN_TERRAFORM (default 1.8), and exits
# 1 when there is none. The repository's own bin/ is skipped: this answers "is there a usable
# terraform on this machine, or must `make tools` build one?".
#
#   scripts/terraform-cli.sh            # -> /usr/local/bin/terraform
#   scripts/terraform-cli.sh --check X  # exit 0 when X is a terraform >= MIN_TERRAFORM
set -euo pipefail

min="${MIN_TERRAFORM:-1.8}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"

# version_ok BIN: BIN runs and reports a version >= $min.
version_ok() {
	local v major minor want_major want_minor
	# An empty CLI config: the environment may name a missing file, which only adds warnings.
	v="$(TF_CLI_CONFIG_FILE=/dev/null CHECKPOINT_DISABLE=1 "$1" version 2>/dev/null | sed -n '1s/^Terraform v\([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p')" || return 1
	[[ -n "$v" ]] || return 1
	major="${v%%.*}" minor="${v#*.}"
	want_major="${min%%.*}" want_minor="${min#*.}"
	((major > want_major || (major == want_major && minor >= want_minor)))
}

if [[ "${1:-}" == "--check" ]]; then
	version_ok "${2:?usage: $0 --check PATH}"
	exit
fi

IFS=: read -r -a dirs <<<"${PATH:-}"
for d in "${dirs[@]}"; do
	[[ -n "$d" && -x "$d/terraform" && ! -d "$d/terraform" ]] || continue
	[[ "$(cd "$d" 2>/dev/null && pwd -P)" == "$root/bin" ]] && continue
	if version_ok "$d/terraform"; then
		echo "$d/terraform"
		exit 0
	fi
done
exit 1

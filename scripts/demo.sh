#!/usr/bin/env bash
# make demo: builds the provider and the vCenter simulator, serves the seeded inventory on a free
# loopback port (with a template for each catalog item),
# points terraform at the local build (dev_overrides), runs the demo policy's Rego tests, shows one
# plan that the policy gate rejects (an EXPECTED FAILURE, checked to fail for the right reason),
# then applies examples/demo (capacity tiers, published catalog items, VMs requested through the
# modules in examples/modules), prints the outputs, proves that a second plan has no changes, and
# counts the policy decisions logged. The simulator is always stopped.
#
# Everything it writes lives under .demo/ (ignored by git): the simulator's env file and log, the
# CLI config, the session cache, a scratch copy of examples/demo and examples/modules with its
# state and decision log (work/demo, work/modules), and the rejected variant (rejected/). The
# simulator starts empty each time, so old state is deleted first and the demo can be re-run at
# will.
#
# Environment: VERSION (provider version stamp), BIN (default ./bin), VMGMT_SIM_TIMEOUT (seconds to
# wait for the simulator, default 60).
set -euo pipefail

start=$(date +%s%N)
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
bin="${BIN:-$root/bin}"
demo="$root/.demo"
work="$demo/work"
rejected="$demo/rejected"
version="${VERSION:-dev}"
timeout="${VMGMT_SIM_TIMEOUT:-60}"
cd "$root"

step() { printf '\n==> %s\n' "$*"; }
die() {
	printf 'demo: %s\n' "$*" >&2
	exit 1
}

# The terraform CLI: from PATH when >= 1.8, else the one `make tools` put in ./bin.
if ! tf="$(scripts/terraform-cli.sh)"; then
	tf="$bin/terraform"
	scripts/terraform-cli.sh --check "$tf" ||
		die "no terraform >= ${MIN_TERRAFORM:-1.8} on PATH and none in $bin: run 'make tools' (or 'make demo', which does)"
fi

echo "demo: using $tf ($(TF_CLI_CONFIG_FILE=/dev/null "$tf" version 2>/dev/null | sed -n 1p))"

step "building the provider ($version) and the simulator into $bin"
mkdir -p "$bin"
go build -ldflags "-X main.version=$version" -o "$bin/terraform-provider-vmgmt" .
go build -o "$bin/vmgmt-sim" ./internal/simulator/cmd/vmgmt-sim

# A fresh scratch area: the simulator starts empty, so state from an earlier run is meaningless.
rm -rf "$work" "$rejected" "$demo/sessions" "$demo/sim.env" "$demo/sim.env.tmp"
mkdir -p "$work" "$rejected" "$demo/sessions"
chmod 700 "$demo/sessions"

step "starting the vCenter simulator"
"$bin/vmgmt-sim" -listen 127.0.0.1:0 -env-file "$demo/sim.env" >"$demo/sim.log" 2>&1 &
sim_pid=$!
stop_sim() {
	local rc=$?
	if kill -0 "$sim_pid" 2>/dev/null; then
		kill -TERM "$sim_pid" 2>/dev/null || true
		wait "$sim_pid" 2>/dev/null || true
		echo "demo: simulator stopped"
	fi
	exit "$rc"
}
trap stop_sim EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

deadline=$((SECONDS + timeout))
until [[ -s "$demo/sim.env" ]]; do
	if ! kill -0 "$sim_pid" 2>/dev/null; then
		cat "$demo/sim.log" >&2
		die "the simulator exited before serving (log above, also in $demo/sim.log)"
	fi
	if ((SECONDS >= deadline)); then
		cat "$demo/sim.log" >&2
		die "the simulator did not write $demo/sim.env within ${timeout}s (raise VMGMT_SIM_TIMEOUT; log in $demo/sim.log)"
	fi
	sleep 0.2
done
# shellcheck source=/dev/null
source "$demo/sim.env"
echo "simulator pid $sim_pid serving https://$VSPHERE_SERVER/sdk (log: $demo/sim.log)"


# Terraform runs the provider we just built, not one from a registry. With dev_overrides,
# `terraform init` is not needed for the provider (and would only warn); `terraform get` installs
# the local catalog modules the demo calls.
cat >"$demo/terraformrc" <<EOF
# written by scripts/demo.sh
disable_checkpoint = true
provider_installation {
  dev_overrides {
    "registry.terraform.io/vmgmt/vmgmt" = "$bin"
  }
  direct {}
}
EOF
export TF_CLI_CONFIG_FILE="$demo/terraformrc"
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
# One vCenter session for the whole demo, shared by every provider process; never the user's cache.
export VSPHERE_VIM_SESSION_PATH="$demo/sessions"

# No colour codes when the output goes to a log rather than a terminal.
color=()
[[ -t 1 ]] || color=(-no-color)

step "policy test examples/demo/policy (the built-in packs' Rego tests and the demo's own)"
"$bin/terraform-provider-vmgmt" policy test examples/demo/policy

# The policy gate at work: the demo plus one reservation that breaks the capacity pack's safety
# margin (examples/demo/expected-failure). The plan must fail, and fail because of that rule.
step "EXPECTED FAILURE: policy rejects this plan (tier-4-batch would leave less than 10% of the cluster unreserved)"
# The copies keep the layout of examples/ so that the demo's module sources (../modules/...) resolve.
mkdir -p "$rejected/demo"
cp examples/demo/*.tf examples/demo/expected-failure/*.tf "$rejected/demo/"
cp -R examples/demo/policy "$rejected/demo/policy"
cp -R examples/modules "$rejected/modules"
"$tf" -chdir="$rejected/demo" get "${color[@]}" >/dev/null
set +e
"$tf" -chdir="$rejected/demo" plan -target=vmgmt_capacity_reservation.tier4_batch "${color[@]}" 2>&1 | tee "$rejected/plan.log"
rc=${PIPESTATUS[0]}
set -e
if ((rc == 0)); then
	die "the plan with tier-4-batch succeeded, but policy capacity.headroom should have rejected it"
fi
if ! grep -q 'Policy violation: capacity\.headroom' "$rejected/plan.log"; then
	die "the plan with tier-4-batch failed (exit $rc), but not with policy capacity.headroom (output above, also in $rejected/plan.log)"
fi
echo "demo: EXPECTED FAILURE confirmed: policy capacity.headroom rejected the plan (exit $rc); nothing was changed in vCenter"

mkdir -p "$work/demo"
cp examples/demo/*.tf "$work/demo/"
cp -R examples/demo/policy "$work/demo/policy"
cp -R examples/modules "$work/modules"
work="$work/demo" # terraform runs here from now on

step "terraform get (the catalog modules in examples/modules)"
"$tf" -chdir="$work" get "${color[@]}"

step "terraform apply (examples/demo: the Service & Capacity tiers, the catalog items, and VMs requested through the modules, all through the policy gate)"
"$tf" -chdir="$work" apply -auto-approve "${color[@]}"

step "terraform output"
"$tf" -chdir="$work" output "${color[@]}"

step "terraform plan -detailed-exitcode (must report no changes)"
set +e
"$tf" -chdir="$work" plan -detailed-exitcode "${color[@]}"
rc=$?
set -e
case $rc in
0) echo "demo: second plan is empty: vCenter matches the configuration" ;;
2) die "the second plan wants changes: the provider is not idempotent against the simulator (see the plan above)" ;;
*) die "terraform plan failed (exit $rc)" ;;
esac

# The decision log (policy block's decision_log; the demo's default is relative to the working
# directory): one JSON line per decision, at plan time, at apply time and for each data source read.
log="$work/policy-decisions.jsonl"
[[ -s "$log" ]] || die "no policy decisions were logged to $log"
count() { grep -c "$1" "$log" || true; }
step "policy decision log ($log)"
echo "demo: the policy gate recorded $(wc -l <"$log") decisions: $(count '"phase":"plan"') at plan time, $(count '"phase":"apply"') at apply time;" \
	"results: $(count '"result":"allow"') allow, $(count '"result":"warn"') warn, $(count '"result":"deny"') deny, $(count '"result":"error"') error"

end=$(date +%s%N)
printf '\ndemo: done in %s s (state in %s)\n' "$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", (e - s) / 1e9 }')" "$work"

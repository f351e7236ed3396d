#!/usr/bin/env bash
# make demo: builds the provider and the vCenter simulator, serves the seeded inventory on a free
# loopback port (with a template for each catalog item), points terraform at the local build
# (dev_overrides), runs the demo policy's Rego tests, shows one plan that the policy gate rejects
# (an EXPECTED FAILURE, checked to fail for the right reason), then plans and applies examples/demo
# (capacity tiers, published catalog items, VMs requested through the modules in examples/modules,
# security groups and who can touch the ERP database, configuration baselines: scg-8 enforced on
# tier 1 and audited on dev/test), prints the outputs, proves that a second plan has no changes but
# the audit baseline's standing diff (read from `terraform show -json` of the saved plan), changes
# a setting of a tier-1 VM out of band and shows the plan that finds it (naming the VM, the key and
# who changed it) and the apply that fixes it, with the compliance summary, tags a VM out of band
# to show a plan where it joins a security group and the tier-1 baseline, runs the backup runner
# once for the tier-1 nightly job (examples/demo/backup.tf) into a file repository in
# .demo/work/backups, lists its restore points (one for each VM the job protects) and shows that the
# plan after the run is still empty, and counts the policy decisions logged. The simulator is
# always stopped.
#
# The terminal shows each step and its result: the plan's summary, the expected failure, the
# policy checks deferred to apply and why, the outputs, the second plan, the drift found and fixed. The whole output of
# each command is in .demo/logs/ (plan.log, apply.log, backup-run.log, ...), named on its step.
#
# Everything it writes lives under .demo/ (ignored by git): the logs, the simulator's env file,
# the CLI config, the session cache, a scratch copy of examples/demo and examples/modules with its
# state, saved plan and decision log (work/demo, work/modules), the backup repository
# (work/backups), and the rejected variant (rejected/). The simulator starts empty each time, so old state is deleted first and the demo
# can be re-run at will.
#
# Environment: VERSION (provider version stamp), BIN (default ./bin), VMGMT_SIM_TIMEOUT (seconds to
# wait for the simulator, default 60).
set -euo pipefail

start=$(date +%s%N)
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
bin="${BIN:-$root/bin}"
demo="$root/.demo"
logs="$demo/logs"
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
# rel PATH: PATH as the terminal shows it, relative to the repository.
rel() { printf '%s' "${1#"$root"/}"; }

# run LOG CMD...: runs CMD with its whole output in LOG. When it fails, the terminal gets the
# error diagnostics (from the first "Error:" on, else the last lines) and the log's path.
run() {
	local log=$1 rc=0
	shift
	"$@" >"$log" 2>&1 || rc=$?
	if ((rc != 0)); then
		if grep -q '^Error: ' "$log"; then sed -n '/^Error: /,$p' "$log" >&2; else tail -n 30 "$log" >&2; fi
		die "$(basename "$1") failed (exit $rc); its whole output is in $(rel "$log")"
	fi
}

# The terraform CLI: from PATH when >= 1.8, else the one `make tools` put in ./bin.
if ! tf="$(scripts/terraform-cli.sh)"; then
	tf="$bin/terraform"
	scripts/terraform-cli.sh --check "$tf" ||
		die "no terraform >= ${MIN_TERRAFORM:-1.8} on PATH and none in $bin: run 'make tools' (or 'make demo', which does)"
fi

echo "demo: using $tf ($(TF_CLI_CONFIG_FILE=/dev/null "$tf" version 2>/dev/null | sed -n 1p))"

step "building the provider ($version) and the simulator into $(rel "$bin")"
mkdir -p "$bin"
go build -ldflags "-X main.version=$version" -o "$bin/terraform-provider-vmgmt" .
go build -o "$bin/vmgmt-sim" ./internal/simulator/cmd/vmgmt-sim

# A fresh scratch area: the simulator starts empty, so state from an earlier run is meaningless.
rm -rf "$work" "$rejected" "$logs" "$demo/sessions" "$demo/sim.env" "$demo/sim.env.tmp" "$demo/sim-b.env" "$demo/sim-b.env.tmp"
mkdir -p "$work" "$rejected" "$logs" "$demo/sessions"
chmod 700 "$demo/sessions"

step "starting the vCenter simulator"
# erp-db01's sparse data disk is 256 MiB here instead of 4 GiB, so that the backup below takes a
# second or two, long enough to watch its progress bar: the runner streams every byte of it,
# zeros included.
"$bin/vmgmt-sim" -listen 127.0.0.1:0 -env-file "$demo/sim.env" -big-disk-mib 256 >"$logs/sim.log" 2>&1 &
sim_pid=$!
# stop_pid PID: stops a simulator. It ignores TERM while a request hangs: give it five seconds,
# then KILL.
stop_pid() {
	local i
	kill -TERM "$1" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
stop_sim() {
	local rc=$?
	if kill -0 "$sim_pid" 2>/dev/null; then
		stop_pid "$sim_pid"
		echo "demo: simulator stopped"
	fi
	exit "$rc"
}
trap stop_sim EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_env ENV LOG: waits for the simulator $sim_pid to write its environment file.
wait_env() {
	local deadline=$((SECONDS + timeout))
	until [[ -s "$1" ]]; do
		if ! kill -0 "$sim_pid" 2>/dev/null; then
			cat "$2" >&2
			die "the simulator exited before serving (log above, also in $(rel "$2"))"
		fi
		if ((SECONDS >= deadline)); then
			cat "$2" >&2
			die "the simulator did not write $(rel "$1") within ${timeout}s (raise VMGMT_SIM_TIMEOUT; log in $(rel "$2"))"
		fi
		sleep 0.2
	done
}
wait_env "$demo/sim.env" "$logs/sim.log"
# shellcheck source=/dev/null
source "$demo/sim.env"
echo "simulator pid $sim_pid serving https://$VSPHERE_SERVER/sdk (log: $(rel "$logs/sim.log"))"

# Terraform runs the provider we just built, not one from a registry. With dev_overrides,
# `terraform init` is not needed for the provider (and would only warn); `terraform get` installs
# the local catalog modules the demo calls.
cat >"$demo/terraformrc" <<CFG
# written by scripts/demo.sh
disable_checkpoint = true
provider_installation {
  dev_overrides {
    "registry.terraform.io/vmgmt/vmgmt" = "$bin"
  }
  direct {}
}
CFG
export TF_CLI_CONFIG_FILE="$demo/terraformrc"
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
# One vCenter session for the whole demo, shared by every provider process; never the user's cache.
export VSPHERE_VIM_SESSION_PATH="$demo/sessions"
echo "demo: terraform runs the provider in $(rel "$bin") (dev_overrides in $(rel "$demo/terraformrc")), so each command warns"
echo "      \"Provider development overrides are in effect\"; that warning is in each command's log in $(rel "$logs")/"

step "policy test examples/demo/policy (the built-in packs' Rego tests and the demo's own)"
run "$logs/policy-test.log" "$bin/terraform-provider-vmgmt" policy test examples/demo/policy
tail -n 1 "$logs/policy-test.log"

# The policy gate at work: the demo plus one reservation that breaks the capacity pack's safety
# margin (examples/demo/expected-failure). The plan must fail, and fail because of that rule.
step "EXPECTED FAILURE: policy rejects this plan: tier-4-batch would leave less than 10% of the cluster unreserved (log: $(rel "$logs/rejected-plan.log"))"
# The copies keep the layout of examples/ so that the demo's module sources (../modules/...) resolve.
mkdir -p "$rejected/demo"
cp examples/demo/*.tf examples/demo/expected-failure/*.tf "$rejected/demo/"
cp -R examples/demo/policy "$rejected/demo/policy"
cp -R examples/modules "$rejected/modules"
run "$logs/rejected-get.log" "$tf" -chdir="$rejected/demo" get -no-color
rc=0
"$tf" -chdir="$rejected/demo" plan -target=vmgmt_capacity_reservation.tier4_batch -no-color >"$logs/rejected-plan.log" 2>&1 || rc=$?
if ((rc == 0)); then
	die "the plan with tier-4-batch succeeded, but policy capacity.headroom should have rejected it (see $(rel "$logs/rejected-plan.log"))"
fi
if ! grep -q '^Error: Policy violation: capacity\.headroom' "$logs/rejected-plan.log"; then
	cat "$logs/rejected-plan.log" >&2
	die "the plan with tier-4-batch failed (exit $rc), but not with policy capacity.headroom (output above, also in $(rel "$logs/rejected-plan.log"))"
fi
sed -n '/^Error: /,$p' "$logs/rejected-plan.log"
echo "demo: EXPECTED FAILURE confirmed: policy capacity.headroom rejected the plan (exit $rc); nothing was changed in vCenter"

mkdir -p "$work/demo"
cp examples/demo/*.tf "$work/demo/"
cp -R examples/demo/policy "$work/demo/policy"
cp -R examples/modules "$work/modules"
# The backup job's repository (examples/demo/backup.tf's var.backup_repository): a directory of
# the scratch area, created by the runner's first run.
backups="$work/backups"
export TF_VAR_backup_repository="file://$backups"
work="$work/demo" # terraform runs here from now on
# The decision log (policy block's decision_log; the demo's default is relative to the working
# directory): one JSON line per decision, at plan time, at apply time and for each data source read.
decisions="$work/policy-decisions.jsonl"
touch "$decisions"

# since LINE: the decisions logged after line LINE of the decision log.
since() { tail -n +"$(($1 + 1))" "$decisions"; }

# deferred LINE: the policy checks deferred to apply among the decisions logged after LINE, grouped
# by policy and missing values, with what makes those values unknown in this demo.
deferred() {
	local line type name policy unknown
	while IFS= read -r line; do
		type=$(sed -E 's/.*"resource_type":"([^"]*)".*/\1/' <<<"$line")
		name=$(sed -E 's/.*"resource_name":"([^"]*)".*/\1/' <<<"$line")
		grep -oE '"policy":"[^"]*"[^{}]*"outcome":"deferred","unknown":\[[^]]*\]' <<<"$line" |
			sed -E 's/^"policy":"([^"]*)".*"unknown":\[(.*)\]$/\1|\2/; s/"//g; s/,/, /g' |
			while IFS='|' read -r policy unknown; do printf '%s|%s|%s|%s\n' "$policy" "$type" "$unknown" "$name"; done
	done < <(since "$1" | grep '"outcome":"deferred"') |
		awk -F'|' '
			{ k = $1 FS $2 FS $3 }
			!(k in names) { order[++n] = k; names[k] = $4; next }
			{ names[k] = names[k] ", " $4 }
			END {
				for (i = 1; i <= n; i++) {
					split(order[i], f, FS)
					why = "the provider sets them from the catalog item when it creates the VM"
					if (f[3] ~ /inventory\.parent/) why = "their parent pool is created by this apply"
					else if (f[3] ~ /inventory\.item/) why = "their catalog item is published by this apply"
					printf "  %s pack on %s %s\n      reads %s: %s\n", f[1], f[2], names[order[i]], f[3], why
				}
			}'
}

# tally LINE PHASE: how many decisions of PHASE were logged after LINE, and their results.
tally() {
	local lines
	lines=$(since "$1" | grep "\"phase\":\"$2\"" || true)
	n() { if [[ -z "$lines" ]]; then echo 0; else grep -c "$1" <<<"$lines" || true; fi; }
	printf '%s decisions (%s allow, %s warn, %s deny)' "$(n .)" "$(n '"result":"allow"')" "$(n '"result":"warn"')" "$(n '"result":"deny"')"
}

# other_warnings LOG: the warnings of LOG that the terminal has not explained, by summary.
other_warnings() {
	local w
	w=$(grep '^Warning: ' "$1" | grep -v -e 'Provider development overrides' -e 'Policy check deferred to apply' | sort | uniq -c || true)
	[[ -z "$w" ]] || printf 'demo: more warnings, explained in %s:\n%s\n' "$(rel "$1")" "$w"
}

step "terraform get: the catalog modules in examples/modules (log: $(rel "$logs/get.log"))"
run "$logs/get.log" "$tf" -chdir="$work" get -no-color
sed -n 's/^- \([^ ]*\) in /  module.\1: /p' "$logs/get.log"

step "terraform plan -out=tfplan: examples/demo, through the policy gate (the whole plan: $(rel "$logs/plan.log"))"
echo 'demo: "Policy check deferred to apply" warnings: a policy rule that reads a value that exists only'
echo '      once this apply has created something is not skipped. It runs again at apply time with the'
echo '      real values, before anything changes in vCenter, and fails the apply if it is violated.'
from=$(wc -l <"$decisions")
run "$logs/plan.log" "$tf" -chdir="$work" plan -out=tfplan -no-color
if since "$from" | grep -q '"outcome":"deferred"'; then
	echo "demo: policy gate at plan time: $(tally "$from" plan); deferred to apply:"
	deferred "$from"
else
	echo "demo: policy gate at plan time: $(tally "$from" plan); none deferred to apply"
fi
other_warnings "$logs/plan.log"
grep '^Plan: ' "$logs/plan.log"

step "terraform apply tfplan: the saved plan (log: $(rel "$logs/apply.log"))"
from=$(wc -l <"$decisions")
run "$logs/apply.log" "$tf" -chdir="$work" apply -no-color tfplan
if since "$from" | grep -q '"outcome":"deferred"'; then
	echo "demo: while applying, Terraform plans each resource once more, with what exists by then;"
	echo "      these checks were deferred again then (the warnings in its log), and ran when each VM was created:"
	deferred "$from"
fi
other_warnings "$logs/apply.log"
echo "demo: policy gate at apply time, before each change in vCenter: $(tally "$from" apply)"
grep '^Apply complete!' "$logs/apply.log"

step "terraform output"
"$tf" -chdir="$work" output -no-color | tee "$logs/output.log"

# plan_settled NAME: a plan (log $logs/NAME.log, saved to NAME.tfplan) that must change nothing but
# the audit baselines' standing diff; dies naming anything else.
plan_settled() {
	local log="$logs/$1.log" rc=0 unexpected
	"$tf" -chdir="$work" plan -detailed-exitcode -out="$1.tfplan" -no-color >"$log" 2>&1 || rc=$?
	case $rc in
	0) grep '^No changes\.' "$log" ;;
	2)
		# An audit baseline whose VMs drift plans an update at every plan, by design (so that
		# `plan -detailed-exitcode` exits 2 in CI until someone fixes the VMs). plan-check accepts
		# only updates of vmgmt_config_baseline resources whose mode is "audit", and outputs whose
		# values only become "known after apply" with them; it lists anything else.
		run "$logs/$1.json" "$tf" -chdir="$work" show -json "$1.tfplan"
		rc=0
		unexpected=$("$bin/vmgmt-sim" plan-check <"$logs/$1.json") || rc=$?
		((rc <= 1)) || die "vmgmt-sim plan-check could not read $(rel "$logs/$1.json") (exit $rc)"
		if [[ -n "$unexpected" ]]; then
			printf '%s\n' "$unexpected" >&2
			die "the plan wants changes besides the audit baselines' standing diff: the provider is not idempotent against the simulator (the plan is in $(rel "$log"))"
		fi
		grep -E '^  # vmgmt_config_baseline\.' "$log"
		echo "demo: the only change is the audit baseline's standing diff (exit 2). vmgmt-sim plan-check read the saved"
		echo "      plan (terraform show -json): only updates of vmgmt_config_baseline resources in mode \"audit\","
		echo "      and outputs that become known after apply with them; anything else would fail the demo"
		;;
	*)
		sed -n '/^Error: /,$p' "$log" >&2
		die "terraform plan failed (exit $rc; its output is in $(rel "$log"))"
		;;
	esac
}

# compliance: the compliance summary output (scope, compliant and drifted VMs per baseline).
compliance() { "$tf" -chdir="$work" output -no-color compliance; }

# drifted BASELINE: the drifted_count of BASELINE in the compliance summary.
drifted() {
	"$tf" -chdir="$work" output -json compliance | tr -d ' \n' |
		grep -oE "\"$1\":\\{[^}]*\\}" | grep -oE '"drifted":[0-9]+' | cut -d: -f2
}

step "terraform plan -detailed-exitcode: must report no changes but the audit baseline's (log: $(rel "$logs/plan-again.log"))"
plan_settled plan-again
echo "demo: second plan: vCenter matches the configuration"

# Configuration management: someone changes an advanced setting of the ERP database (tier 1) in
# vCenter, outside Terraform. The next plan finds it, names the VM, the setting and who changed it
# and when (vCenter's events); the apply of that plan puts the setting back.
drift_vm=erp-db-01 drift_key=mks.enable3d
step "out of band: $VSPHERE_USER sets $drift_key = TRUE on $drift_vm (tier 1) in vCenter; the plan finds it (log: $(rel "$logs/plan-drift.log"))"
run "$logs/set.log" "$bin/vmgmt-sim" set "$drift_vm" "$drift_key" TRUE
rc=0
"$tf" -chdir="$work" plan -detailed-exitcode -out=drift.tfplan -no-color >"$logs/plan-drift.log" 2>&1 || rc=$?
((rc == 2)) || die "the plan after changing $drift_key on $drift_vm should show tier-1-scg changing (exit 2), got exit $rc (see $(rel "$logs/plan-drift.log"))"
grep -q '^Warning: 1 VM(s) drifted from baseline tier-1-scg$' "$logs/plan-drift.log" ||
	die "the plan does not warn that $drift_vm drifted from baseline tier-1-scg (see $(rel "$logs/plan-drift.log"))"
found=$(grep -F "  $drift_vm (" "$logs/plan-drift.log" | grep -F ": $drift_key is TRUE, wants FALSE, changed by $VSPHERE_USER at " || true)
[[ -n "$found" ]] || die "the plan's warning does not name $drift_vm, $drift_key and $VSPHERE_USER (see $(rel "$logs/plan-drift.log"))"
grep -E '^Warning: .* drifted from baseline tier-1-scg$' "$logs/plan-drift.log"
printf '%s\n' "$found"
grep -E '^  # vmgmt_config_baseline\..* will be updated' "$logs/plan-drift.log"
grep '^Plan: ' "$logs/plan-drift.log"
step "terraform apply drift.tfplan: the enforcing baseline puts $drift_key back (log: $(rel "$logs/apply-drift.log"))"
run "$logs/apply-drift.log" "$tf" -chdir="$work" apply -no-color drift.tfplan
grep '^Apply complete!' "$logs/apply-drift.log"
# The apply judges the scope again, live, once it has remediated: drifted_count is what vCenter holds.
drifted=$(drifted tier-1-scg)
[[ "$drifted" == 0 ]] || die "after the apply, tier-1-scg still counts $drifted drifted VM(s) (see $(rel "$logs/apply-drift.log"))"
echo "demo: $drift_vm is back to $drift_key = FALSE (read back from vCenter after the remediation); the compliance summary:"
compliance

# Security groups and baselines resolve their scope live: an administrator tags the seeded
# database VM erp-db01 tier-1 in vCenter, outside Terraform. The next plan shows it joining the DB
# admins and the tier-1 baseline with no change in the configuration; apply grants exactly that
# and hardens the VM, and the plan after has nothing left to do.
step "out of band: an administrator tags erp-db01 tier-1 in vCenter; the plan shows it joining db-admins and tier-1-scg (log: $(rel "$logs/plan-joined.log"))"
run "$logs/tag.log" "$bin/vmgmt-sim" tag erp-db01 tier/tier-1
rc=0
"$tf" -chdir="$work" plan -detailed-exitcode -no-color >"$logs/plan-joined.log" 2>&1 || rc=$?
((rc == 2)) || die "the plan after tagging erp-db01 should show db-admins changing (exit 2), got exit $rc (see $(rel "$logs/plan-joined.log"))"
sed -n '/# vmgmt_security_group.db_admins will be updated/,/^    }/p' "$logs/plan-joined.log" |
	grep -E '# vmgmt_security_group|member_count|member_ids|^ *[+-] "vm-|permission_count|other_vm_count' || true
sed -n '/# vmgmt_config_baseline.tier1 will be updated/,/^    }/p' "$logs/plan-joined.log" |
	grep -E '# vmgmt_config_baseline|scope_count|compliant_count|drifted_count' || true
grep -E '^Warning: .* drifted from baseline tier-1-scg$' "$logs/plan-joined.log" || true
# A live read of the tier: only the newcomer drifts; the VM fixed above stays fixed.
! grep -qF "  $drift_vm (" "$logs/plan-joined.log" ||
	die "$drift_vm drifts again from tier-1-scg after its remediation (see $(rel "$logs/plan-joined.log"))"
grep '^Plan: ' "$logs/plan-joined.log"
run "$logs/apply-joined.log" "$tf" -chdir="$work" apply -auto-approve -no-color
grep '^Apply complete!' "$logs/apply-joined.log"
plan_settled plan-joined-again
echo "demo: erp-db01 joined db-admins and tier-1-scg (hardened by the apply); nothing else is left to do"
"$tf" -chdir="$work" output -no-color security_groups | sed -n '/"db-admins"/,/^  }/p'
compliance

# Backup: the operator command that cron or a Kubernetes CronJob runs, here once by hand. It reads
# the job's definition from vCenter (vCenter from the simulator's VSPHERE_* variables, as the
# provider), snapshots each VM it protects, streams its disks into the repository, writes the
# restore point's manifest, removes the snapshot and applies the retention; then `backup list`
# reads the restore points back from the repository.
backup_job=tier-1-nightly
step "backup run --job $backup_job: the runner backs up the business-critical tier into $(rel "$backups") (log: $(rel "$logs/backup-run.log"))"
# On a terminal the runner draws a progress bar per disk (mpb), shown as it runs and kept in the
# log; elsewhere (CI) it prints a line per disk.
if [[ -t 1 ]]; then
	rc=0
	"$bin/terraform-provider-vmgmt" backup run --job "$backup_job" --output bars 2>&1 | tee "$logs/backup-run.log" || rc=$?
	((rc == 0)) || die "backup run failed (exit $rc); its whole output is in $(rel "$logs/backup-run.log")"
else
	run "$logs/backup-run.log" "$bin/terraform-provider-vmgmt" backup run --job "$backup_job" --output plain
	grep ' disk ' "$logs/backup-run.log" || true
fi
# The summary, without the bars' cursor movements.
summary=$(sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\r/\n/g' "$logs/backup-run.log" | sed -n "/^job $backup_job: \(ok\|partial\|failed\),/,\$p")
[[ -n "$summary" ]] || die "backup run printed no summary of job $backup_job (see $(rel "$logs/backup-run.log"))"
[[ -t 1 ]] || printf '%s\n' "$summary" # a terminal has shown it
grep -q "^job $backup_job: ok," <<<"$summary" || die "backup run did not back up every VM of $backup_job (see $(rel "$logs/backup-run.log"))"

step "backup list --job $backup_job: its restore points, read from the repository (log: $(rel "$logs/backup-list.log"))"
run "$logs/backup-list.log" "$bin/terraform-provider-vmgmt" backup list --job "$backup_job"
cat "$logs/backup-list.log"
# Every VM the job protects (protected_vm_ids, in the state the last apply refreshed) has a point.
run "$logs/backup-list.json" "$bin/terraform-provider-vmgmt" backup list --job "$backup_job" --format json
run "$logs/backup-state.log" "$tf" -chdir="$work" state show -no-color vmgmt_backup_job.tier1
protected=$(sed -n '/protected_vm_ids/,/\]/p' "$logs/backup-state.log" | grep -oE '"vm-[^"]*"' | tr -d '"' || true)
[[ -n "$protected" ]] || die "vmgmt_backup_job.tier1 protects no VM (see $(rel "$logs/backup-state.log"))"
for id in $protected; do
	grep -q "\"vm_id\": \"$id\"" "$logs/backup-list.json" ||
		die "backup list shows no restore point of $id, which $backup_job protects (see $(rel "$logs/backup-list.json"))"
done
echo "demo: every VM $backup_job protects ($(wc -w <<<"$protected")) has a restore point"

# Coverage after the run: a refresh reads vmgmt_protection_coverage again. The tier is backed up
# (not stale); web-01, in no job, is the deliberately unprotected VM; no point is verified yet.
step "vmgmt_protection_coverage after the backup (log: $(rel "$logs/coverage.log"))"
run "$logs/coverage.log" "$tf" -chdir="$work" apply -refresh-only -auto-approve -no-color
"$tf" -chdir="$work" output -no-color protection_coverage | tee "$logs/coverage-output.log"
grep -q '"web-01"' <(sed -n '/unprotected/,/\]/p' "$logs/coverage-output.log") ||
	die "web-01 is not reported unprotected by vmgmt_protection_coverage (see $(rel "$logs/coverage-output.log"))"

# Recovery, proved: the job's restore_test (every VM, into the recovery folder, on the isolated
# port group, at most 15 minutes) runs once, as `backup verify --all-due` from cron would. Each
# VM's newest point is restored under a temporary name, powered on, waited for, its measured
# recovery time recorded in its manifest, and the copy removed.
step "backup verify --job $backup_job --latest: restore tests of its points (log: $(rel "$logs/backup-verify.log"))"
run "$logs/backup-verify.log" "$bin/terraform-provider-vmgmt" backup verify --job "$backup_job" --latest --output plain
cat "$logs/backup-verify.log"
grep -q ' erp-db01 point .* verified, recovery time ' "$logs/backup-verify.log" ||
	die "backup verify did not verify erp-db01's point (see $(rel "$logs/backup-verify.log"))"
verify_secs=$(sed -n 's/.* erp-db01 point .* verified, recovery time \([0-9.]*\)s.*/\1/p' "$logs/backup-verify.log")
echo "demo: erp-db01's restore test: restored, powered on and removed; measured recovery time ${verify_secs}s"

# Recovery with Terraform: vmgmt_vm_restore recreates erp-db01 from its newest verified point as
# erp-db01-restored in the recovery folder (examples/demo/backup.tf).
export TF_VAR_restore_from_backup=true
step "terraform apply: vmgmt_vm_restore restores erp-db01 from the repository as erp-db01-restored (log: $(rel "$logs/apply-restore.log"))"
run "$logs/apply-restore.log" "$tf" -chdir="$work" apply -auto-approve -no-color
"$tf" -chdir="$work" output -no-color restored_vm | tee "$logs/restored-vm.log"
grep -q '"point_verified" = true' "$logs/restored-vm.log" || die "erp-db01-restored was not made from a verified point (see $(rel "$logs/restored-vm.log"))"
restore_secs=$(sed -n 's/.*"recovery_seconds" = \([0-9.]*\).*/\1/p' "$logs/restored-vm.log")
restore_bytes=$(sed -n 's/.*"bytes" = \([0-9]*\).*/\1/p' "$logs/restored-vm.log")
echo "demo: erp-db01 restored as erp-db01-restored: $restore_bytes bytes checked against the manifest's SHA-256; measured recovery time ${restore_secs}s"

# The copy is a VM of the datacenter like any other: the auditors group (every VM in /dc1) takes it
# in at the next apply, which grants its read-only role on it. Selections are resolved live, so
# this shows in the plan as the group's members growing.
step "terraform apply: the auditors group takes in erp-db01-restored (log: $(rel "$logs/apply-after-restore.log"))"
run "$logs/apply-after-restore.log" "$tf" -chdir="$work" apply -auto-approve -no-color
grep -E '^  # vmgmt_security_group\.auditors will be updated' "$logs/apply-after-restore.log" ||
	die "the apply after the restore did not update the auditors group (see $(rel "$logs/apply-after-restore.log"))"

# The runner recorded the run on the job in vCenter: the refresh shows it in last_run and
# restore_point_count, which are what the runner did, not configuration, so the plan stays empty.
step "terraform plan -detailed-exitcode after the backup: must still report no changes but the audit baseline's (log: $(rel "$logs/plan-backed-up.log"))"
plan_settled plan-backed-up

[[ -s "$decisions" ]] || die "no policy decisions were logged to $(rel "$decisions")"
count() { grep -c "$1" "$decisions" || true; }
step "policy decision log ($(rel "$decisions"))"
echo "demo: the policy gate recorded $(wc -l <"$decisions") decisions: $(count '"phase":"plan"') at plan time, $(count '"phase":"apply"') at apply time;" \
	"results: $(count '"result":"allow"') allow, $(count '"result":"warn"') warn, $(count '"result":"deny"') deny, $(count '"result":"error"') error"

# Disaster recovery: site A is lost. Simulator A is stopped, a fresh simulator B (another site's
# vCenter, which never held the job) is started, and every VM of the tier is restored there from
# the repository alone, each from its newest verified point, into B's recovery folder, powered on.
step "disaster recovery: simulator A stopped; every VM of $backup_job restored on a fresh simulator B from the repository alone (log: $(rel "$logs/dr-restore.log"))"
stop_pid "$sim_pid"
echo "demo: simulator A stopped"
"$bin/vmgmt-sim" -listen 127.0.0.1:0 -env-file "$demo/sim-b.env" >"$logs/sim-b.log" 2>&1 &
sim_pid=$!
wait_env "$demo/sim-b.env" "$logs/sim-b.log"
(
	# shellcheck source=/dev/null
	source "$demo/sim-b.env"
	echo "demo: simulator B serving https://$VSPHERE_SERVER/sdk"
	run "$logs/dr-restore.log" "$bin/terraform-provider-vmgmt" backup restore --job "$backup_job" \
		--repository "$TF_VAR_backup_repository" --all --folder recovery --power-on --output plain
)
grep -E 'restored as|VMs restored' "$logs/dr-restore.log"
grep -q "^job $backup_job: \([0-9]*\) of \1 VMs restored" "$logs/dr-restore.log" ||
	die "not every VM of $backup_job was restored on simulator B (see $(rel "$logs/dr-restore.log"))"
echo "demo: site B holds every VM of $backup_job, restored from the repository alone"

end=$(date +%s%N)
printf '\ndemo: done in %s s (state in %s, logs in %s)\n' "$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", (e - s) / 1e9 }')" "$(rel "$work")" "$(rel "$logs")"

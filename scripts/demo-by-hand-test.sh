#!/usr/bin/env bash
# Runs the README's recipe for trying the demo by hand against a standalone simulator, as written:
# the two shell blocks that follow the markers <!-- demo-by-hand:simulator --> and
# <!-- demo-by-hand:terraform --> in README.md. They run in a copy of the working tree (the files
# git tracks or would track), the first one in the background like the reader's first shell, the
# second once the simulator says it is serving, answering "yes" to `terraform apply`. The test fails
# when a block is missing, when the second block fails, or when the apply does not complete.
# Called by `make test`.
#
# Everything lives in .demo/by-hand-test/ (ignored by git; Go's ./... skips dot directories): the
# copy (repo/) and the logs (simulator.log, terraform.log), kept for reading after a failure.
#
# Environment: VMGMT_SIM_TIMEOUT (seconds to wait for the simulator, default 120: `go run` may
# have to compile it first).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
out="$root/.demo/by-hand-test"
copy="$out/repo"
readme="$root/README.md"
timeout="${VMGMT_SIM_TIMEOUT:-120}"

fail() {
	printf 'demo-by-hand-test: FAIL: %s\n' "$*" >&2
	exit 1
}

# block NAME: the lines of the first ```sh block after the marker <!-- demo-by-hand:NAME.
block() {
	awk -v marker="<!-- demo-by-hand:$1" '
		index($0, marker) == 1 { found = 1; next }
		found && !inside && /^```sh[[:space:]]*$/ { inside = 1; next }
		inside && /^```[[:space:]]*$/ { exit }
		inside { print }
	' "$readme"
}

sim_block="$(block simulator)"
tf_block="$(block terraform)"
[[ -n "$sim_block" ]] || fail "README.md has no \`\`\`sh block after <!-- demo-by-hand:simulator -->"
[[ -n "$tf_block" ]] || fail "README.md has no \`\`\`sh block after <!-- demo-by-hand:terraform -->"

# A copy of the working tree as a fresh clone would have it, plus uncommitted changes. Its path
# stays the same from run to run, so Go's build cache serves `make build` and `go run`.
rm -rf "$out"
mkdir -p "$copy"
# (Files deleted but not yet staged are listed too: skip them.)
(cd "$root" && git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [[ -e "$f" ]] && printf '%s\0' "$f"; done |
	tar --null -T - -cf -) | tar -xf - -C "$copy"
[[ -f "$copy/go.mod" && -f "$copy/README.md" ]] || fail "could not copy the working tree into $copy"

# The reader's environment, minus what would change the recipe's meaning: the recipe sets its own
# CLI configuration, and `terraform apply` must be able to ask for its approval. No colour codes
# in the log.
unset TF_CLI_CONFIG_FILE TF_INPUT TF_IN_AUTOMATION TF_CLI_ARGS_apply TF_CLI_ARGS_get
export CHECKPOINT_DISABLE=1 TF_CLI_ARGS=-no-color
# The provider's session cache goes to the test's directory, not the user's cache.
export VSPHERE_VIM_SESSION_PATH="$out/sessions"
# terraform as the README says: on PATH when >= 1.8, else bin/terraform from `make tools`.
if ! "$root/scripts/terraform-cli.sh" >/dev/null; then
	export PATH="$root/bin:$PATH"
fi

# The first shell: the simulator, in its own process group (job control), so that stopping it also
# stops the binary that `go run` started.
set -m
(cd "$copy" && exec bash -euo pipefail -c "$sim_block") >"$out/simulator.log" 2>&1 &
sim_pgid=$!
set +m
stop_sim() {
	local rc=$? i
	if kill -0 -- "-$sim_pgid" 2>/dev/null; then
		kill -INT -- "-$sim_pgid" 2>/dev/null || true
		# The simulator ignores signals while a request hangs: give it five seconds, then KILL.
		for ((i = 0; i < 50; i++)); do
			kill -0 -- "-$sim_pgid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$sim_pgid" 2>/dev/null || true
	fi
	wait "$sim_pgid" 2>/dev/null || true
	exit "$rc"
}
trap stop_sim EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

deadline=$((SECONDS + timeout))
until grep -q 'vCenter simulator serving' "$out/simulator.log"; do
	if ! kill -0 "$sim_pgid" 2>/dev/null; then
		cat "$out/simulator.log" >&2
		fail "the README's simulator block exited before serving (log above, also in $out/simulator.log)"
	fi
	((SECONDS < deadline)) || fail "the simulator did not start serving within ${timeout}s (log in $out/simulator.log)"
	sleep 0.2
done

# The second shell, answering the approval prompt of `terraform apply`.
rc=0
(cd "$copy" && exec bash -euo pipefail -c "$tf_block") <<<"yes" >"$out/terraform.log" 2>&1 || rc=$?
if ((rc != 0)) || ! grep -q '^Apply complete!' "$out/terraform.log"; then
	tail -n 40 "$out/terraform.log" >&2
	fail "the README's terraform block failed (exit $rc; output above, all of it in $out/terraform.log)"
fi
echo "demo-by-hand-test: ok: the README's standalone-simulator recipe applies examples/demo ($(grep '^Apply complete!' "$out/terraform.log"))"

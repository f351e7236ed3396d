package cli_test

import (
	"bytes"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/cli"
)

// denyTmp is a custom policy (as a user would keep in their repository) that forbids
// temporary reservations.
const denyTmp = `package vmgmt.naming

deny contains msg if {
	input.type == "vmgmt_capacity_reservation"
	startswith(input.change.after.name, "tmp-")
	msg := sprintf("temporary reservations are not allowed: %q. Give it a tier name (tier-N-app).", [input.change.after.name])
}
`

// run runs the operator command in-process and returns its exit code, stdout and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

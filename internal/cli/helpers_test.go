package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
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

// writeFiles writes files (relative name -> content) into a new temporary directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// run runs the operator command in-process and returns its exit code, stdout and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

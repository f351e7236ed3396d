package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/cli"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// `backup restore` and `backup verify` through the command line: flag mistakes are usage errors
// that say what to give; a VM restored with --latest into the recovery folder of a named
// datacenter prints its line and summary; a restore test of it passes and prints its recovery
// time; an unknown datacenter is a usage error.
func TestBackupRestoreAndVerify(t *testing.T) {
	_, put := backupSim(t, 2)
	put("nightly", "file://"+filepath.Join(t.TempDir(), "repo"))
	if code, stdout, stderr := run(t, "backup", "run", "--job", "nightly", "--output", "plain"); code != cli.ExitOK {
		t.Fatalf("backup run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"backup", "restore", "--job", "nightly"}, "give one of --point ID, --vm NAME, --app TAG, --all or --host NAME"},
		{[]string{"backup", "restore", "--job", "nightly", "--all", "--name", "x"}, "--name renames one VM"},
		{[]string{"backup", "restore", "--job", "nightly", "--all", "--latest"}, "--latest goes with --vm"},
		{[]string{"backup", "restore", "--job", "nightly", "--vm", "web01", "--force"}, "go with --host"},
		{[]string{"backup", "restore", "--job", "nightly", "--all", "--network-map", "pg-web"}, "want FROM=TO"},
		{[]string{"backup", "restore", "--job", "nightly", "--vm", "web01"}, "--latest"},
		{[]string{"backup", "restore", "--job", "nightly", "--vm", "web01", "--latest", "--datacenter", "nope"}, `datacenter "nope"`},
		{[]string{"backup", "verify"}, "give either --job NAME or --all-due"},
		{[]string{"backup", "verify", "--job", "nightly"}, "needs an isolated folder and network"},
	} {
		code, _, stderr := run(t, tc.args...)
		if code != cli.ExitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d saying %q", tc.args, code, stderr, cli.ExitUsage, tc.want)
		}
	}
	code, stdout, stderr := run(t, "backup", "restore", "--job", "nightly", "--vm", "web01", "--latest", "--datacenter", simulator.Datacenter,
		"--name", "web01-restored", "--folder", simulator.RecoveryFolder, "--network-map", "pg-web="+simulator.IsolatedPortGroup, "--power-on", "--output", "plain")
	if code != cli.ExitOK || !strings.Contains(stdout, "web01 restored as web01-restored") || !strings.Contains(stdout, "job nightly: 1 of 1 VMs restored") {
		t.Fatalf("backup restore --vm web01: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, "backup", "verify", "--job", "nightly", "--vm", "web01", "--latest", "--folder", simulator.RecoveryFolder,
		"--network", simulator.IsolatedPortGroup, "--max-recovery", "10m", "--output", "plain")
	if code != cli.ExitOK || !strings.Contains(stdout, "verified, recovery time") || !strings.Contains(stdout, "1 of 1 restore points verified") {
		t.Fatalf("backup verify: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

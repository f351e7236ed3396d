package cli_test

import (
	"strings"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/cli"
)

// Terraform starts the binary with no arguments or with -debug: that is the provider server, not
// a command.
func TestHandles(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"-debug"}, false},
		{[]string{"--debug=true"}, false},
		{[]string{"policy", "test"}, true},
		{[]string{"version"}, true},
		{[]string{"help"}, true},
		{[]string{"-h"}, true},
		{[]string{"--help"}, true},
		{[]string{"--version"}, true},
	} {
		if got := cli.Handles(tc.args); got != tc.want {
			t.Errorf("Handles(%q) = %t, want %t", tc.args, got, tc.want)
		}
	}
}

func TestHelpListsCommands(t *testing.T) {
	for _, arg := range []string{"help", "-h", "--help"} {
		code, stdout, _ := run(t, arg)
		if code != cli.ExitOK {
			t.Errorf("%s: exit %d, want 0", arg, code)
		}
		for _, want := range []string{"policy test", "policy eval --plan", "version", "Run without arguments"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s: usage lacks %q:\n%s", arg, want, stdout)
			}
		}
	}
}

func TestVersion(t *testing.T) {
	old := cli.Version
	cli.Version = "1.2.3"
	t.Cleanup(func() { cli.Version = old })
	code, stdout, _ := run(t, "version")
	if code != cli.ExitOK || stdout != "terraform-provider-vmgmt 1.2.3\n" {
		t.Fatalf("version: exit %d, output %q", code, stdout)
	}
}

func TestUnknownCommands(t *testing.T) {
	for _, args := range [][]string{{"bogus"}, {"policy"}, {"policy", "bogus"}} {
		code, _, stderr := run(t, args...)
		if code != cli.ExitUsage {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		if !strings.Contains(stderr, "Usage:") {
			t.Errorf("%q: stderr lacks the usage:\n%s", args, stderr)
		}
	}
}

// `COMMAND -h` prints the command's flags and is not an error.
func TestCommandHelp(t *testing.T) {
	for _, args := range [][]string{{"policy", "test", "-h"}, {"policy", "eval", "--help"}} {
		code, _, stderr := run(t, args...)
		if code != cli.ExitOK || !strings.Contains(stderr, "Usage: terraform-provider-vmgmt "+strings.Join(args[:2], " ")) {
			t.Errorf("%q: exit %d, stderr:\n%s", args, code, stderr)
		}
	}
}

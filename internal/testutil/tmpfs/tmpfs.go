// Package tmpfs runs a test on a real, small file system that fills up: a tmpfs mounted in a
// private mount namespace (unshare -rm, no root needed where user namespaces are allowed), where
// the test runs again as a child process.
package tmpfs

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// envVar names the tmpfs directory in the child process.
const envVar = "VMGMT_TEST_TMPFS"

// Dir returns, in the child process, the directory of a tmpfs of sizeMiB MiB for the test to
// fill. In the parent it runs the test again as that child, fails t when the child fails, skips
// t when no tmpfs can be mounted here, and returns "": the caller then returns.
func Dir(t *testing.T, sizeMiB int) string {
	t.Helper()
	if dir := os.Getenv(envVar); dir != "" {
		return dir
	}
	dir := t.TempDir()
	script := fmt.Sprintf(`mount -t tmpfs -o size=%dm tmpfs "$1" || exit 99; exec "$0" -test.run='^%s$' -test.v`, sizeMiB, t.Name())
	cmd := exec.Command("unshare", "-rm", "sh", "-c", script, os.Args[0], dir)
	cmd.Env = append(os.Environ(), envVar+"="+dir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 99 || errors.Is(err, exec.ErrNotFound) {
		t.Skipf("no tmpfs in a private mount namespace here: %v\n%s", err, out)
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("on a full %d MiB tmpfs: %v\n%s", sizeMiB, err, out)
	}
	t.Logf("child on a %d MiB tmpfs:\n%s", sizeMiB, out)
	return ""
}

package acctest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// ProviderBinaryName is the file name of the provider binary that ProviderBinary builds.
const ProviderBinaryName = "terraform-provider-vmgmt"

var (
	binaryOnce, floorOnce sync.Once
	binaryDir, floorDir   string
	binaryErr, floorErr   error
)

// ProviderBinary builds the provider binary (`go build` at the repository root) once per test
// process and returns the directory holding it, named ProviderBinaryName: ./bin/acctest, ignored
// by git and reused by every run (nothing accumulates in /tmp). Test processes of several
// packages build at the same time; each writes a file of its own and renames it into place, so
// a terraform run never starts a half-written binary.
func ProviderBinary(tb testing.TB) (binDir string) {
	tb.Helper()
	binaryOnce.Do(func() { binaryDir, binaryErr = buildBinary(".", "acctest") })
	if binaryErr != nil {
		tb.Fatal(binaryErr)
	}
	return binaryDir
}

// FloorProviderBinary builds ./internal/acctest/floorprovider (vmgmt's schemas, no behaviour)
// into ./bin/acctest-floor, named ProviderBinaryName, once per test process, and returns the
// directory. Benchmarks plan against it to show what Terraform and the plugin framework cost alone.
func FloorProviderBinary(tb testing.TB) (binDir string) {
	tb.Helper()
	floorOnce.Do(func() { floorDir, floorErr = buildBinary("./internal/acctest/floorprovider", "acctest-floor") })
	if floorErr != nil {
		tb.Fatal(floorErr)
	}
	return floorDir
}

func buildBinary(pkg, dirName string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "bin", dirName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := filepath.Join(dir, fmt.Sprintf(".%s.%d", ProviderBinaryName, os.Getpid()))
	build := exec.Command("go", "build", "-o", tmp, pkg)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("building %s: %v\n%s", pkg, err, out)
	}
	if err := os.Rename(tmp, filepath.Join(dir, ProviderBinaryName)); err != nil {
		_ = os.Remove(tmp)
		return "", err
	}
	return dir, nil
}

// DevOverridesConfig writes a terraform CLI configuration that serves
// registry.terraform.io/vmgmt/vmgmt from binDir (dev_overrides; every other provider is installed
// as usual) with the checkpoint disabled, and returns its path (in a directory of the test).
func DevOverridesConfig(tb testing.TB, binDir string) (cliConfigPath string) {
	tb.Helper()
	cliConfigPath = filepath.Join(tb.TempDir(), "terraformrc")
	rc := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"registry.terraform.io/vmgmt/vmgmt\" = %q\n  }\n  direct {}\n}\ndisable_checkpoint = true\n", binDir)
	if err := os.WriteFile(cliConfigPath, []byte(rc), 0o600); err != nil {
		tb.Fatal(err)
	}
	return cliConfigPath
}

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
	binaryOnce sync.Once
	binaryDir  string
	binaryErr  error
)

// ProviderBinary builds the provider binary (`go build` at the repository root) once per test
// process and returns the directory holding it, named ProviderBinaryName. The directory is a
// temporary one of the process, shared by every test and benchmark that asks for it: it is not
// tied to the first caller's cleanup.
func ProviderBinary(tb testing.TB) (binDir string) {
	tb.Helper()
	binaryOnce.Do(func() { binaryDir, binaryErr = buildProvider() })
	if binaryErr != nil {
		tb.Fatal(binaryErr)
	}
	return binaryDir
}

func buildProvider() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "vmgmt-acctest-provider")
	if err != nil {
		return "", err
	}
	build := exec.Command("go", "build", "-o", filepath.Join(dir, ProviderBinaryName), ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("building the provider: %v\n%s", err, out)
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

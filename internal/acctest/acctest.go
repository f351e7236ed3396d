// Package acctest is the harness of vmgmt's acceptance tests: provider factories, an in-process
// vCenter simulator per test, the terraform CLI and a CLI configuration of our own.
package acctest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/provider"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// ProviderName is the provider's local name in test configurations.
const ProviderName = "vmgmt"

// ProtoV6ProviderFactories serves the provider in-process to the terraform CLI.
var ProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	ProviderName: providerserver.NewProtocol6WithError(provider.New("test")()),
}

// MinTerraform is the oldest terraform CLI the tests accept from PATH.
var MinTerraform = [2]int{1, 8}

var (
	setupOnce sync.Once
	setupErr  error
)

// PreCheck prepares the environment for an acceptance test: it finds the terraform CLI and
// writes a CLI configuration of our own (the environment may name one that does not exist).
// It skips the test unless TF_ACC is set, as terraform-plugin-testing does.
func PreCheck(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance tests run with TF_ACC=1 (make test sets it)")
	}
	setupOnce.Do(func() { setupErr = setup() })
	if setupErr != nil {
		t.Fatal(setupErr)
	}
}

func setup() error {
	tf, err := TerraformPath()
	if err != nil {
		return err
	}
	if err := os.Setenv("TF_ACC_TERRAFORM_PATH", tf); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "vmgmt-acctest-cli")
	if err != nil {
		return err
	}
	cfg := filepath.Join(dir, "terraformrc")
	// No provider installation from the network: the provider under test is served in-process.
	if err := os.WriteFile(cfg, []byte("# written by internal/acctest\ndisable_checkpoint = true\n"), 0o600); err != nil {
		return err
	}
	if err := os.Setenv("TF_CLI_CONFIG_FILE", cfg); err != nil {
		return err
	}
	return os.Setenv("CHECKPOINT_DISABLE", "1")
}

// TerraformPath finds the terraform CLI: TF_ACC_TERRAFORM_PATH, then `terraform` on PATH when it
// is at least MinTerraform, then ./bin/terraform at the repository root (built by `make tools`).
func TerraformPath() (string, error) {
	if p := os.Getenv("TF_ACC_TERRAFORM_PATH"); p != "" {
		return p, nil
	}
	var tried []string
	if p, err := exec.LookPath("terraform"); err == nil {
		v, err := terraformVersion(p)
		if err == nil && versionAtLeast(v, MinTerraform) {
			return p, nil
		}
		tried = append(tried, fmt.Sprintf("%s (version %q, need >= %d.%d)", p, v, MinTerraform[0], MinTerraform[1]))
	}
	if root, err := RepoRoot(); err == nil {
		p := filepath.Join(root, "bin", "terraform")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		tried = append(tried, p+" (missing)")
	}
	return "", fmt.Errorf("no usable terraform CLI (tried: %s); run `make tools` to build terraform 1.8.5 into ./bin", strings.Join(tried, ", "))
}

func terraformVersion(bin string) (string, error) {
	out, err := exec.Command(bin, "version", "-json").Output()
	if err != nil {
		return "", err
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return "", err
	}
	return v.Version, nil
}

func versionAtLeast(v string, least [2]int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return major > least[0] || major == least[0] && minor >= least[1]
}

// RepoRoot is the directory holding go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Sim is a simulator started for one test.
type Sim struct {
	*simulator.Sim
	// SessionDir is the provider's session cache directory for this test.
	SessionDir string
}

// NewSim starts a seeded simulator for the test and stops it when the test ends.
func NewSim(t testing.TB) *Sim {
	t.Helper()
	return NewSimWith(t, simulator.Options{})
}

// NewSimWith is NewSim with simulator options (a small BigDiskVM disk, for tests that move its
// bytes).
func NewSimWith(t testing.TB, opts simulator.Options) *Sim {
	t.Helper()
	s, err := simulator.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("starting the vCenter simulator: %v", err)
	}
	t.Cleanup(s.Close)
	return &Sim{Sim: s, SessionDir: t.TempDir()}
}

// RequiredProviders is the terraform block that names vmgmt/vmgmt: configurations that the real
// CLI runs against the built provider (dev_overrides) need it; in-process factories do not.
const RequiredProviders = `
terraform {
  required_providers {
    vmgmt = { source = "vmgmt/vmgmt" }
  }
}
`

// ProviderConfig is the provider block that points at this simulator.
func (s *Sim) ProviderConfig() string {
	return s.ProviderConfigWith("")
}

// ProviderConfigWith is ProviderConfig with extra provider arguments.
func (s *Sim) ProviderConfigWith(extra string) string {
	return s.ProviderConfigAt(s.URL.Host, extra)
}

// ProviderConfigAt is ProviderConfigWith for a provider that reaches the simulator at server (a
// counting proxy in front of it).
func (s *Sim) ProviderConfigAt(server, extra string) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "provider %q {\n", ProviderName)
	fmt.Fprintf(&b, "  vsphere_server       = %q\n", server)
	fmt.Fprintf(&b, "  user                 = %q\n", s.User)
	fmt.Fprintf(&b, "  password             = %q\n", s.Password)
	fmt.Fprintf(&b, "  allow_unverified_ssl = true\n")
	fmt.Fprintf(&b, "  session_cache_dir    = %q\n", s.SessionDir)
	if extra != "" {
		b.WriteString(extra)
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	return b.String()
}

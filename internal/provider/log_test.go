package provider_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// An apply with TF_LOG=TRACE logs each vCenter call, each policy decision and the cache's hits and
// misses, and never the password: neither the provider block's nor the environment's.
func TestAccTraceLogHoldsNoPassword(t *testing.T) {
	acctest.PreCheck(t)
	tf, err := acctest.TerraformPath()
	if err != nil {
		t.Fatal(err)
	}
	cliConfig := acctest.DevOverridesConfig(t, acctest.ProviderBinary(t))
	sim := acctest.NewSim(t)
	work := t.TempDir()
	cfg := acctest.RequiredProviders + sim.ProviderConfigWith(`  policy {
    packs = ["capacity"]
  }`) + fmt.Sprintf(`
resource "vmgmt_capacity_reservation" "logged" {
  name   = "logged"
  parent = %q
  cpu    = { reservation = 100 }
  memory = { reservation = 100 }
}
`, simulator.ClusterPath)
	if err := os.WriteFile(filepath.Join(work, "main.tf"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(work, "trace.log")
	cmd := exec.Command(tf, "apply", "-input=false", "-no-color", "-auto-approve")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cliConfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1",
		"TF_LOG=TRACE", "TF_LOG_PATH="+logFile, "VSPHERE_PASSWORD="+sim.Password)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	log := string(raw)
	if sim.Password == "" || strings.Contains(log, sim.Password) {
		t.Errorf("the TRACE log (%d bytes) holds the vCenter password", len(log))
	}
	for _, want := range []string{"vCenter call: ", "method=RetrievePropertiesEx", "method=CreateResourcePool", "policy decision: ", "decision_id=", "vmgmt cache "} {
		if !strings.Contains(log, want) {
			t.Errorf("the TRACE log has no %q", want)
		}
	}
}

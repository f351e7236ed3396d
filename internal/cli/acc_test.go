package cli_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// TestAccPolicyEvalRealPlan gates a plan made by the real terraform CLI with the real provider
// binary against the simulator: `terraform plan -out` + `terraform show -json`, then the same
// binary's `policy eval --plan`. The provider itself has no policy block, so the plan succeeds;
// the saved plan is then judged in "CI".
func TestAccPolicyEvalRealPlan(t *testing.T) {
	acctest.PreCheck(t)
	tf, err := acctest.TerraformPath()
	if err != nil {
		t.Fatal(err)
	}
	binDir := acctest.ProviderBinary(t)
	bin := filepath.Join(binDir, acctest.ProviderBinaryName)
	cliConfig := acctest.DevOverridesConfig(t, binDir)

	sim := acctest.NewSim(t)
	work := t.TempDir()
	// tier-1 is clean; tmp-ci breaks the tier naming (advisory) and the custom deny rule, and
	// its parent is tier-1's ID: unknown until apply.
	cfg := acctest.RequiredProviders + sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_capacity_reservation" "tier1" {
  name   = "tier-1"
  parent = %q
  cpu    = { reservation = 120000, expandable = false }
  memory = { reservation = 786432, expandable = false }
}

resource "vmgmt_capacity_reservation" "tmp" {
  name   = "tmp-ci"
  parent = vmgmt_capacity_reservation.tier1.id
  cpu    = { reservation = 1000 }
}
`, simulator.ClusterPath)
	if err := os.WriteFile(filepath.Join(work, "main.tf"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	terraform := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(tf, args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cliConfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("terraform %s: %v\n%s\n%s", strings.Join(args, " "), err, out, stderr.Bytes())
		}
		return out
	}
	terraform("plan", "-input=false", "-no-color", "-out=tfplan")
	planJSON := terraform("show", "-json", "tfplan")
	planPath := filepath.Join(work, "plan.json")
	if err := os.WriteFile(planPath, planJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	denyDir := acctest.WriteFiles(t, map[string]string{"naming.rego": denyTmp})

	// The binary Terraform runs as the provider is the operator tool too.
	eval := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"policy", "eval", "--plan", planPath}, args...)...)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return string(out), 0
		case errors.As(err, &exit):
			return string(out), exit.ExitCode()
		}
		t.Fatalf("running %s: %v", bin, err)
		return "", -1
	}

	out, code := eval("--pack", "capacity", "--source", denyDir)
	t.Logf("policy eval with the deny rule:\n%s", out)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (the deny rule blocks vmgmt_capacity_reservation.tmp)", code)
	}
	for _, want := range []string{
		`vmgmt_capacity_reservation.tmp: BLOCK [naming] temporary reservations are not allowed: "tmp-ci"`,
		`vmgmt_capacity_reservation.tmp: WARN [capacity.tier_naming]`,
		// tmp's parent is unknown and the inventory is not in a saved plan: deferred, never passed.
		`vmgmt_capacity_reservation.tmp: DEFERRED [capacity] reads vCenter inventory`,
		`vmgmt_capacity_reservation.tier1: DEFERRED [capacity] reads vCenter inventory`,
		"FAIL: policy blocks this plan.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "vmgmt_capacity_reservation.tier1: BLOCK") {
		t.Errorf("tier1 is blocked, want it clean")
	}

	out, code = eval("--pack", "capacity")
	t.Logf("policy eval with the capacity pack alone:\n%s", out)
	if code != 0 || !strings.Contains(out, "PASS") {
		t.Fatalf("exit %d, want 0: the capacity pack only warns on this plan\n%s", code, out)
	}
}

package provider_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// TestAccSessionsDoNotLeak runs the real provider binary through the real terraform CLI N times
// against the simulator and counts vCenter sessions before and after: with the session cache the
// N runs share one session; without it every process logs its own session out when Terraform
// stops it.
func TestAccSessionsDoNotLeak(t *testing.T) {
	acctest.PreCheck(t)
	const runs = 5
	tf, err := acctest.TerraformPath()
	if err != nil {
		t.Fatal(err)
	}
	cliConfig := acctest.DevOverridesConfig(t, acctest.ProviderBinary(t))

	for _, persist := range []bool{true, false} {
		t.Run(fmt.Sprintf("persist_session=%t", persist), func(t *testing.T) {
			sim := acctest.NewSim(t)
			ctx := context.Background()
			work := t.TempDir()
			cfg := acctest.RequiredProviders + fmt.Sprintf(`
provider "vmgmt" {
  persist_session   = %t
  session_cache_dir = %q
}

data "vmgmt_capacity" "cluster" {
  path = %q
}

output "unreserved_cpu" {
  value = data.vmgmt_capacity.cluster.cpu_unreserved_mhz
}
`, persist, sim.SessionDir, simulator.ClusterPath)
			if err := os.WriteFile(filepath.Join(work, "main.tf"), []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			before, err := sim.SessionCount(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < runs; i++ {
				cmd := exec.Command(tf, "plan", "-input=false", "-no-color")
				cmd.Dir = work
				cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cliConfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
				for k, v := range sim.Env() {
					cmd.Env = append(cmd.Env, k+"="+v)
				}
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("terraform plan #%d: %v\n%s", i+1, err, out)
				}
				if !strings.Contains(string(out), fmt.Sprint(simulator.ClusterCPUMHz)) {
					t.Fatalf("terraform plan #%d did not read the cluster's capacity:\n%s", i+1, out)
				}
			}
			after, err := sim.SessionCount(ctx)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("persist_session=%t: %d sessions before, %d after %d terraform plans", persist, before, after, runs)
			want := before
			if persist {
				want = before + 1 // the one cached session, kept for the next run
			}
			if after != want {
				t.Fatalf("sessions: %d before, %d after %d runs; want %d after", before, after, runs, want)
			}
		})
	}
}

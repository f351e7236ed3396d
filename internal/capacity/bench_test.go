package capacity_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

const benchResources = 100

// planOffNs is the mean wall time of a plan without policy, kept for the policy=on run to report
// the overhead against.
var planOffNs float64

// BenchmarkPlan100Reservations times `terraform plan` of 100 capacity reservations (all fitting:
// 100 x 1000 MHz under the prod cluster) through the real terraform CLI and the real provider
// binary against the in-process simulator, without and with the policy block (the capacity pack
// and a decision log). Reported per plan: wall ms and vCenter requests (counted by a proxy in
// front of the simulator); with policy, the mean evaluation time from the decision log and the
// overhead per resource against the policy=off run. It measures; it asserts nothing on time.
func BenchmarkPlan100Reservations(b *testing.B) {
	if os.Getenv("TF_ACC") == "" {
		b.Skip("runs the terraform CLI: set TF_ACC=1 (make bench does)")
	}
	tf, err := acctest.TerraformPath()
	if err != nil {
		b.Fatal(err)
	}
	cliConfig := acctest.DevOverridesConfig(b, acctest.ProviderBinary(b))
	sim := acctest.NewSim(b)
	proxy := acctest.NewCountingProxy(b, sim.URL.Host)

	for _, on := range []bool{false, true} {
		name := "policy=off"
		if on {
			name = "policy=on"
		}
		b.Run(name, func(b *testing.B) {
			work := b.TempDir()
			logPath := filepath.Join(work, "decisions.jsonl")
			if err := os.WriteFile(filepath.Join(work, "main.tf"), []byte(benchConfig(sim, proxy.Host, on, logPath)), 0o600); err != nil {
				b.Fatal(err)
			}
			plan := func() {
				cmd := exec.Command(tf, "plan", "-input=false", "-no-color", "-lock=false", "-refresh=false")
				cmd.Dir = work
				cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cliConfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1", "TF_LOG=")
				out, err := cmd.CombinedOutput()
				if err != nil {
					b.Fatalf("terraform plan: %v\n%s", err, out)
				}
				if want := fmt.Sprintf("Plan: %d to add", benchResources); !strings.Contains(string(out), want) {
					b.Fatalf("plan did not say %q:\n%s", want, out)
				}
			}
			plan() // warm-up: the session cache, the OS file cache, terraform's schema cache
			_ = os.Remove(logPath)
			before := proxy.Snapshot()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				plan()
			}
			elapsed := time.Since(start)
			b.StopTimer()
			meanNs := float64(elapsed.Nanoseconds()) / float64(b.N)
			b.ReportMetric(meanNs/1e6, "ms/plan")
			b.ReportMetric(float64(proxy.Since(before).Total())/float64(b.N), "vc-requests/plan")
			if !on {
				planOffNs = meanNs
				return
			}
			decisions, meanUS := decisionStats(b, logPath)
			if decisions != benchResources*b.N {
				b.Fatalf("%d plan decisions logged for %d plans of %d resources", decisions, b.N, benchResources)
			}
			b.ReportMetric(meanUS, "policy-µs/decision")
			if planOffNs > 0 {
				b.ReportMetric((meanNs-planOffNs)/benchResources/1e3, "overhead-µs/resource")
				b.ReportMetric((meanNs-planOffNs)/planOffNs*100, "overhead-%")
			}
		})
	}
}

func benchConfig(sim *acctest.Sim, server string, policy bool, logPath string) string {
	var b strings.Builder
	extra := ""
	if policy {
		extra = fmt.Sprintf("  policy {\n    packs        = [\"capacity\"]\n    decision_log = %q\n  }", logPath)
	}
	b.WriteString(acctest.RequiredProviders + sim.ProviderConfigAt(server, extra))
	for i := 0; i < benchResources; i++ {
		fmt.Fprintf(&b, `
resource "vmgmt_capacity_reservation" "r%03d" {
  name   = "tier-3-bench-%03d"
  parent = %q
  cpu    = { reservation = 1000, expandable = false }
  memory = { reservation = 256, expandable = false }
}
`, i, i, simulator.ClusterPath)
	}
	return b.String()
}

// decisionStats counts the plan-phase decisions in a decision log and their mean duration.
func decisionStats(b *testing.B, path string) (int, float64) {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var n int
	var total float64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var l struct {
			Phase      string  `json:"phase"`
			DurationUS float64 `json:"duration_us"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			b.Fatalf("decision log line: %v", err)
		}
		if l.Phase == "plan" {
			n++
			total += l.DurationUS
		}
	}
	if n == 0 {
		return 0, 0
	}
	return n, total / float64(n)
}

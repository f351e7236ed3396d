package baseline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vcsim "github.com/vmware/govmomi/simulator"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/baseline"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// BenchmarkCompliancePlan reports the vCenter round trips (SOAP and vAPI, counted by a proxy in
// front of the simulator) and the wall time of `terraform plan` judging pack scg-8 over every VM
// of the datacenter, at 10, 100 and 1,000 VMs, each VM reconfigured behind Terraform's back so
// that every one drifts and names who changed it: "data-source", a vmgmt_compliance data source
// (read during the plan); "audit-baseline", a new vmgmt_config_baseline in audit mode (ModifyPlan
// reads the records and judges the scope). Each plan is a new provider process, so the count
// includes its login and its views. It fails when the plan's scope_count is not the VM count.
func BenchmarkCompliancePlan(b *testing.B) {
	tf, cliConfig := benchTerraform(b)
	root := "/" + simulator.Datacenter + "/vm"
	for _, total := range baseline.BenchSizes() {
		sim, err := simulator.Start(context.Background(), simulator.Options{ExtraVMs: total - simulator.SeededVMs()})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(sim.Close)
		baseline.BenchDrift(b, sim, root, map[string]string{"mks.enable3d": "TRUE"})
		proxy := acctest.NewCountingProxy(b, sim.URL.Host)
		provider := (&acctest.Sim{Sim: sim, SessionDir: b.TempDir()}).ProviderConfigAt(proxy.Host, "")
		for _, kind := range []struct{ name, block, addr string }{
			{"data-source", `data "vmgmt_compliance" "c" {`, "data.vmgmt_compliance.c"},
			{"audit-baseline", `resource "vmgmt_config_baseline" "c" {
  name = "bench-audit"
  mode = "audit"`, "vmgmt_config_baseline.c"},
		} {
			b.Run(fmt.Sprintf("vms=%d/%s", total, kind.name), func(b *testing.B) {
				work := b.TempDir()
				writeBenchConfig(b, work, provider+fmt.Sprintf(`
%s
  packs = ["scg-8"]
  scope {
    folders = [%q]
  }
}

output "scope" {
  value = %s.scope_count
}
`, kind.block, root, kind.addr))
				run := benchRunner(tf, cliConfig, work)
				b.ResetTimer()
				var counts acctest.RequestCounts
				var wall time.Duration
				for i := 0; i < b.N; i++ {
					before, start := proxy.Snapshot(), time.Now()
					run(b, "plan", "-input=false", "-no-color", "-lock=false", "-out=bench.tfplan")
					wall += time.Since(start)
					counts = counts.Plus(proxy.Since(before))
					b.StopTimer()
					if got := planOutput(b, run(b, "show", "-json", "bench.tfplan"), "scope"); got != fmt.Sprint(total) {
						b.Fatalf("the plan's scope_count is %s, want %d", got, total)
					}
					b.StartTimer()
				}
				b.StopTimer()
				b.Logf("per plan: %s", counts.PerRun(b.N))
				b.ReportMetric(float64(counts.SOAP)/float64(b.N), "soap/plan")
				b.ReportMetric(float64(counts.Other)/float64(b.N), "vapi/plan")
				b.ReportMetric(float64(counts.Total())/float64(b.N), "roundtrips/plan")
				b.ReportMetric(float64(wall.Microseconds())/1000/float64(b.N), "ms/plan")
				b.ReportMetric(float64(total), "vms")
			})
		}
	}
}

// BenchmarkEnforce100 reports the wall time and the round trips of `terraform apply` of an
// enforcing baseline (four settings) over 100 VMs of the bulk folder that all drifted behind
// Terraform's back since the last apply (the refresh finds the drift, the apply remediates at the
// provider's bounded concurrency), against the same remediation done in the same run as 100
// sequential ReconfigureVM calls through the same proxy: "apply-ms" against "sequential-ms". On
// vcsim a reconfigure task takes no time; "task-delay=50ms" gives every task 50 ms (vcsim's
// TaskDelay), closer to a vCenter whose reconfigure tasks take a while. It fails when an apply
// does not reconfigure every VM or leaves one drifted.
func BenchmarkEnforce100(b *testing.B) {
	const n = 100
	tf, cliConfig := benchTerraform(b)
	sim, err := simulator.Start(context.Background(), simulator.Options{ExtraVMs: n})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(sim.Close)
	bulk := "/" + simulator.Datacenter + "/vm/" + simulator.BulkFolder
	proxy := acctest.NewCountingProxy(b, sim.URL.Host)
	work := b.TempDir()
	writeBenchConfig(b, work, (&acctest.Sim{Sim: sim, SessionDir: b.TempDir()}).ProviderConfigAt(proxy.Host, "")+fmt.Sprintf(`
resource "vmgmt_config_baseline" "e" {
  name = "bench-enforce"
  mode = "enforce"
  settings = [
    { key = "isolation.tools.copy.disable", value = "TRUE", match = "exact" },
    { key = "isolation.tools.paste.disable", value = "TRUE", match = "exact" },
    { key = "mks.enable3d", value = "FALSE" },
    { key = "RemoteDisplay.maxConnections", value = "1" },
  ]
  scope {
    folders = [%q]
  }
}

output "drifted" {
  value = vmgmt_config_baseline.e.drifted_count
}

output "compliant" {
  value = vmgmt_config_baseline.e.compliant_count
}
`, simulator.BulkFolder))
	run := benchRunner(tf, cliConfig, work)
	drifted := map[string]string{"isolation.tools.copy.disable": "FALSE", "isolation.tools.paste.disable": "FALSE", "mks.enable3d": "TRUE", "RemoteDisplay.maxConnections": "4"}
	fixed := map[string]string{"isolation.tools.copy.disable": "TRUE", "isolation.tools.paste.disable": "TRUE", "mks.enable3d": "FALSE", "RemoteDisplay.maxConnections": "1"}
	// The create: the measured applies are the updates that remove drift found by the refresh.
	if got := baseline.BenchDrift(b, sim, bulk, drifted); got != n {
		b.Fatalf("drifted %d VMs, want %d", got, n)
	}
	run(b, "apply", "-input=false", "-no-color", "-lock=false", "-auto-approve")
	ctx := context.Background()
	c, err := vsphere.Connect(ctx, vsphere.Config{Server: proxy.Host, User: sim.User, Password: sim.Password, Insecure: true})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = c.Close(ctx) }()
	vms, err := c.Select(ctx, vsphere.Selection{Include: vsphere.Criteria{Folders: []string{simulator.BulkFolder}}}, []string{"name"})
	if err != nil || len(vms) != n {
		b.Fatalf("the bulk folder: %d VMs, %v; want %d", len(vms), err, n)
	}
	for _, delay := range []int{0, 50} {
		b.Run(fmt.Sprintf("task-delay=%dms", delay), func(b *testing.B) {
			vcsim.TaskDelay.Delay = delay
			defer func() { vcsim.TaskDelay.Delay = 0 }()
			var apply, seq acctest.RequestCounts
			var applyWall, seqWall time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				baseline.BenchDrift(b, sim, bulk, drifted)
				b.StartTimer()
				before, start := proxy.Snapshot(), time.Now()
				run(b, "apply", "-input=false", "-no-color", "-lock=false", "-auto-approve")
				applyWall += time.Since(start)
				got := proxy.Since(before)
				apply = apply.Plus(got)
				b.StopTimer()
				if r := got.Methods["ReconfigVM_Task"]; r != n {
					b.Fatalf("the apply reconfigured %d VMs, want %d", r, n)
				}
				if d, cl := run(b, "output", "-raw", "drifted"), run(b, "output", "-raw", "compliant"); d != "0" || cl != fmt.Sprint(n) {
					b.Fatalf("after the apply %s VMs drifted and %s are compliant, want 0 and %d", d, cl, n)
				}
				baseline.BenchDrift(b, sim, bulk, drifted)
				b.StartTimer()
				before, start = proxy.Snapshot(), time.Now()
				for _, vm := range vms {
					if err := c.ReconfigureVM(ctx, vm.ID, vsphere.ReconfigSpec{ExtraConfig: fixed}); err != nil {
						b.Fatalf("ReconfigureVM(%s): %v", vm.ID, err)
					}
				}
				seqWall += time.Since(start)
				seq = seq.Plus(proxy.Since(before))
			}
			b.StopTimer()
			b.Logf("per apply: %s", apply.PerRun(b.N))
			b.Logf("per sequential remediation: %s", seq.PerRun(b.N))
			b.ReportMetric(float64(applyWall.Microseconds())/1000/float64(b.N), "apply-ms")
			b.ReportMetric(float64(apply.Total())/float64(b.N), "apply-roundtrips")
			b.ReportMetric(float64(seqWall.Microseconds())/1000/float64(b.N), "sequential-ms")
			b.ReportMetric(float64(seq.Total())/float64(b.N), "sequential-roundtrips")
			b.ReportMetric(float64(n), "vms")
		})
	}
}

// benchTerraform skips without TF_ACC and returns the terraform CLI and a CLI configuration that
// serves vmgmt from the freshly built provider binary.
func benchTerraform(b *testing.B) (tf, cliConfig string) {
	b.Helper()
	if os.Getenv("TF_ACC") == "" {
		b.Skip("runs the terraform CLI: set TF_ACC=1 (make bench does)")
	}
	tf, err := acctest.TerraformPath()
	if err != nil {
		b.Fatal(err)
	}
	return tf, acctest.DevOverridesConfig(b, acctest.ProviderBinary(b))
}

func writeBenchConfig(b *testing.B, dir, body string) {
	b.Helper()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(acctest.RequiredProviders+body), 0o600); err != nil {
		b.Fatal(err)
	}
}

// benchRunner runs terraform in dir and returns its output; a failure fails the benchmark.
func benchRunner(tf, cliConfig, dir string) func(b *testing.B, args ...string) string {
	return func(b *testing.B, args ...string) string {
		b.Helper()
		cmd := exec.Command(tf, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cliConfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
		if os.Getenv("TF_LOG") == "" {
			cmd.Env = append(cmd.Env, "TF_LOG=")
		}
		out, err := cmd.Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			b.Fatalf("terraform %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
		}
		return string(out)
	}
}

// planOutput is an output's planned value in `terraform show -json` of a plan, as text.
func planOutput(b *testing.B, showJSON, name string) string {
	b.Helper()
	var p struct {
		PlannedValues struct {
			Outputs map[string]struct {
				Value json.RawMessage `json:"value"`
			} `json:"outputs"`
		} `json:"planned_values"`
	}
	if err := json.Unmarshal([]byte(showJSON), &p); err != nil {
		b.Fatalf("reading the plan: %v", err)
	}
	o, ok := p.PlannedValues.Outputs[name]
	if !ok {
		b.Fatalf("the plan has no known value for output %q", name)
	}
	return string(o.Value)
}

package security_test

import (
	"context"
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

// BenchmarkSecurityGroupPlan reports the vCenter round trips (counted by a proxy in front of the
// simulator) and the wall time of `terraform plan` of one security group whose members are every
// VM of the bulk folder, with a network policy on their port group, at 10, 100 and 1,000 VMs: the
// refresh (record, access snapshot, port groups) and the plan (the same plus the selection and the
// principal lookup). Each plan is a new provider process, so the count includes its login. It
// asserts that the plan is empty and that the group holds a permission on every member.
func BenchmarkSecurityGroupPlan(b *testing.B) {
	if os.Getenv("TF_ACC") == "" {
		b.Skip("runs the terraform CLI: set TF_ACC=1 (make bench does)")
	}
	tf, err := acctest.TerraformPath()
	if err != nil {
		b.Fatal(err)
	}
	cliConfig := acctest.DevOverridesConfig(b, acctest.ProviderBinary(b))
	for _, total := range benchSizes() {
		b.Run(fmt.Sprintf("vms=%d", total), func(b *testing.B) {
			sim, err := simulator.Start(context.Background(), simulator.Options{ExtraVMs: total - simulator.SeededVMs()})
			if err != nil {
				b.Fatal(err)
			}
			defer sim.Close()
			proxy := acctest.NewCountingProxy(b, sim.URL.Host)
			defer proxy.Close()
			work := b.TempDir()
			members := total - simulator.SeededVMs()
			cfg := acctest.RequiredProviders + (&acctest.Sim{Sim: sim, SessionDir: b.TempDir()}).ProviderConfigAt(proxy.Host, "") + fmt.Sprintf(`
resource "vmgmt_security_group" "ops" {
  name       = "bulk-ops"
  privileges = ["VirtualMachine.Interact.PowerOn"]
  principals = [{ name = "VSPHERE.LOCAL\\app-operators", is_group = true }]
  members {
    folders = [%q]
  }
  network_policy {
    allow_promiscuous = false
  }
}

output "members" {
  value = vmgmt_security_group.ops.member_count
}
`, simulator.BulkFolder)
			if err := os.WriteFile(filepath.Join(work, "main.tf"), []byte(cfg), 0o600); err != nil {
				b.Fatal(err)
			}
			run := func(args ...string) string {
				cmd := exec.Command(tf, args...)
				cmd.Dir = work
				cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cliConfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
				if os.Getenv("TF_LOG") == "" {
					cmd.Env = append(cmd.Env, "TF_LOG=")
				}
				out, err := cmd.CombinedOutput()
				if err != nil {
					b.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				return string(out)
			}
			run("apply", "-input=false", "-no-color", "-lock=false", "-auto-approve")
			if out := run("output", "-raw", "members"); out != fmt.Sprint(members) {
				b.Fatalf("the group has %s members, want %d", out, members)
			}
			b.ResetTimer()
			var rts int64
			var wall time.Duration
			for i := 0; i < b.N; i++ {
				before, start := proxy.Snapshot(), time.Now()
				out := run("plan", "-input=false", "-no-color", "-lock=false", "-detailed-exitcode")
				wall += time.Since(start)
				rts += proxy.Since(before).Total()
				if !strings.Contains(out, "No changes.") {
					b.Fatalf("the plan is not empty:\n%s", out)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(rts)/float64(b.N), "roundtrips/plan")
			b.ReportMetric(float64(wall.Milliseconds())/float64(b.N), "ms/plan")
			b.ReportMetric(float64(members), "members")
		})
	}
}

// benchSizes are the VM counts measured; VMGMT_BENCH_VMS narrows them to one (for profiling).
func benchSizes() []int {
	if s := os.Getenv("VMGMT_BENCH_VMS"); s != "" {
		var n int
		if _, err := fmt.Sscan(s, &n); err == nil && n > 0 {
			return []int{n}
		}
	}
	return []int{10, 100, 1000}
}

package capacity_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

func policyProvider(sim *acctest.Sim, sources []string, log string) string {
	var quoted []string
	for _, s := range sources {
		quoted = append(quoted, fmt.Sprintf("%q", s))
	}
	return sim.ProviderConfigWith(fmt.Sprintf(`  policy {
    packs        = ["capacity"]
    sources      = [%s]
    decision_log = %q
  }`, strings.Join(quoted, ", "), log))
}

func poolConfig(name string, cpu int64) string {
	return fmt.Sprintf(`
resource "vmgmt_capacity_reservation" "test" {
  name   = %q
  parent = %q
  cpu    = { reservation = %d, expandable = false }
  memory = { reservation = 1024, expandable = false }
}
`, name, simulator.ClusterPath, cpu)
}

type logLine struct {
	Phase      string `json:"phase"`
	Type       string `json:"resource_type"`
	Name       string `json:"resource_name"`
	Result     string `json:"result"`
	Violations []struct {
		Policy string `json:"policy"`
	} `json:"violations"`
	Warnings []struct {
		Policy  string `json:"policy"`
		Outcome string `json:"outcome"`
	} `json:"warnings"`
	Exemptions []struct {
		Reason string `json:"reason"`
	} `json:"exemptions_used"`
	Revision string `json:"policy_revision"`
}

func readLog(t *testing.T, path string) []logLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []logLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var l logLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("decision log line is not JSON: %v\n%s", err, sc.Text())
		}
		out = append(out, l)
	}
	return out
}

// 90% of the cluster fits natively but breaks the capacity pack's 10% safety margin.
const overMargin = simulator.ClusterCPUMHz * 95 / 100

func TestAccPolicyGate_capacityReservation(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	logPath := filepath.Join(t.TempDir(), "decisions.jsonl")
	empty := acctest.WriteFiles(t, map[string]string{"params.json": `{"vmgmt": {"params": {"capacity": {"protected": []}}}}`})
	exempt := acctest.WriteFiles(t, map[string]string{"exemptions.json": fmt.Sprintf(`{"vmgmt": {"exemptions": [{
		"policy": "capacity.headroom",
		"selector": {"type": "vmgmt_capacity_reservation", "name": "tier-1"},
		"reason": "quarter-end ERP load test, CAB-1234",
		"approver": "jane.doe@example.com",
		"expires": %q}]}}`, time.Now().AddDate(0, 1, 0).Format("2006-01-02"))})
	expired := acctest.WriteFiles(t, map[string]string{"exemptions.json": `{"vmgmt": {"exemptions": [{
		"policy": "capacity.headroom",
		"selector": {"type": "vmgmt_capacity_reservation", "name": "tier-1"},
		"reason": "old load test",
		"approver": "jane.doe@example.com",
		"expires": "2020-01-31"}]}}`})
	custom := acctest.WriteFiles(t, map[string]string{"owner.rego": `package vmgmt.naming

deny contains msg if {
	input.type == "vmgmt_capacity_reservation"
	"create" in input.change.actions
	endswith(input.change.after.name, "-tmp")
	msg := sprintf("reservation %q: temporary reservations are not allowed in production; drop the -tmp suffix", [input.change.after.name])
}
`})
	protected := acctest.WriteFiles(t, map[string]string{"params.json": `{"vmgmt": {"params": {"capacity": {"protected": ["tier-1"]}}}}`})

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// Mandatory: fails the plan with the rule's id and message on the attribute.
				Config:      policyProvider(sim, []string{empty}, logPath) + poolConfig("tier-1", overMargin),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Policy violation: capacity.headroom.*\[capacity.headroom\] cpu(\s+)reservation`),
			},
			{
				// A custom deny rule from a source directory, with the package as its id.
				Config:      policyProvider(sim, []string{empty, custom}, logPath) + poolConfig("tier-1-tmp", 1000),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Policy violation: naming.*temporary reservations are not allowed`),
			},
			{
				// An expired exemption is an error naming the exemption.
				Config:      policyProvider(sim, []string{expired}, logPath) + poolConfig("tier-1", overMargin),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Policy exemption expired: capacity.headroom.*old load test`),
			},
			{
				// A live exemption lets it through (warning); advisory tier naming would warn too.
				Config: policyProvider(sim, []string{exempt}, logPath) + poolConfig("tier-1", overMargin),
				Check: func(*terraform.State) error {
					var used bool
					for _, l := range readLog(t, logPath) {
						if l.Phase == "apply" && l.Name == "tier-1" && len(l.Exemptions) == 1 &&
							l.Exemptions[0].Reason == "quarter-end ERP load test, CAB-1234" && l.Result == "warn" {
							used = true
						}
					}
					if !used {
						return fmt.Errorf("decision log has no apply-phase decision using the exemption")
					}
					return nil
				},
			},
			{
				// Protected from destruction by policy data.
				Config:      policyProvider(sim, []string{protected}, logPath) + poolConfig("tier-1", 1000),
				Destroy:     true,
				ExpectError: regexp.MustCompile(`(?s)Policy violation: capacity.protected.*may not be destroyed`),
			},
			{
				// Advisory: a warning, and the apply goes through.
				Config: policyProvider(sim, []string{empty}, logPath) + poolConfig("scratch", 1000),
				Check: func(*terraform.State) error {
					for _, l := range readLog(t, logPath) {
						if l.Name == "scratch" && l.Result == "warn" {
							for _, w := range l.Warnings {
								if w.Policy == "capacity.tier_naming" && w.Outcome == "warn" {
									return nil
								}
							}
						}
					}
					return fmt.Errorf("decision log has no advisory capacity.tier_naming warning for scratch")
				},
			},
		},
	})
	lines := readLog(t, logPath)
	phases := map[string]int{}
	for _, l := range lines {
		phases[l.Phase]++
		if !strings.HasPrefix(l.Revision, "sha256:") {
			t.Fatalf("decision without a policy revision: %+v", l)
		}
	}
	if phases["plan"] == 0 || phases["apply"] == 0 {
		t.Fatalf("decision log phases %v: want both plan and apply decisions", phases)
	}
	t.Logf("%d decisions logged: %v", len(lines), phases)
}

func TestAccPolicyGate_capacityDataSource(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	dir := acctest.WriteFiles(t, map[string]string{"reads.rego": `package vmgmt.reads

violation contains {"id": "reads.no_root", "level": "mandatory", "path": ["path"], "msg": "reading the whole cluster's capacity is reserved to the platform team; read your own reservation by id"} if {
	input.type == "vmgmt_capacity"
	"read" in input.change.actions
	input.inventory.pool.kind == "cluster"
}
`})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: sim.ProviderConfigWith(fmt.Sprintf(`  policy {
    sources = [%q]
  }`, dir)) + fmt.Sprintf(`data "vmgmt_capacity" "c" { path = %q }`, simulator.ClusterPath),
			ExpectError: regexp.MustCompile(`(?s)Policy violation: reads.no_root.*platform team`),
		}},
	})
}

// Policy that does not compile is a provider configuration error naming the file and line.
func TestAccPolicyGate_loadError(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	dir := acctest.WriteFiles(t, map[string]string{"broken.rego": "package vmgmt.broken\n\ndeny contains msg if {\n  msg := \n}\n"})
	noReason := acctest.WriteFiles(t, map[string]string{"exemptions.json": `{"vmgmt": {"exemptions": [{"policy": "capacity.headroom", "selector": {"name": "x"}, "expires": "2030-01-01"}]}}`})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      sim.ProviderConfigWith(fmt.Sprintf("  policy {\n    sources = [%q]\n  }", dir)) + poolConfig("tier-1", 1),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid policy.*broken.rego:\d+`),
			},
			{
				Config:      sim.ProviderConfigWith(fmt.Sprintf("  policy {\n    packs = [\"capacity\"]\n    sources = [%q]\n  }", noReason)) + poolConfig("tier-1", 1),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`reason\s+is\s+required`),
			},
		},
	})
}

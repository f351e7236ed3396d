package cli_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/cli"
)

var passLine = regexp.MustCompile(`PASS: (\d+)/(\d+)`)

// passed returns N from the "PASS: N/N" summary, failing the test when it is not all-pass.
func passed(t *testing.T, out string) int {
	t.Helper()
	m := passLine.FindStringSubmatch(out)
	if m == nil || m[1] != m[2] {
		t.Fatalf("no all-pass summary in:\n%s", out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func TestPolicyTestBuiltinPacks(t *testing.T) {
	code, stdout, stderr := run(t, "policy", "test")
	if code != cli.ExitOK {
		t.Fatalf("exit %d, want 0\n%s%s", code, stdout, stderr)
	}
	if n := passed(t, stdout); n == 0 {
		t.Fatal("the built-in packs ran no tests")
	}
}

const userPolicy = `package vmgmt.naming

deny contains msg if {
	startswith(input.change.after.name, "tmp-")
	msg := "no temporary names"
}
`

const userPassingTest = `package vmgmt.naming_test

import data.vmgmt.naming

test_tmp_denied if {
	naming.deny["no temporary names"] with input as {"change": {"after": {"name": "tmp-x"}}}
}
`

const userFailingTest = `package vmgmt.naming_test

import data.vmgmt.naming

test_tier_denied if {
	count(naming.deny) > 0 with input as {"change": {"after": {"name": "tier-1"}}}
}
`

func TestPolicyTestUserDirectory(t *testing.T) {
	_, builtin, _ := run(t, "policy", "test")
	nBuiltin := passed(t, builtin)
	good := acctest.WriteFiles(t, map[string]string{"naming.rego": userPolicy, "naming_test.rego": userPassingTest})

	t.Run("alone", func(t *testing.T) {
		code, stdout, stderr := run(t, "policy", "test", "--no-packs", good)
		if code != cli.ExitOK || passed(t, stdout) != 1 {
			t.Fatalf("exit %d, want 0 and 1 test\n%s%s", code, stdout, stderr)
		}
	})
	t.Run("with packs, flags after the directory", func(t *testing.T) {
		code, stdout, stderr := run(t, "policy", "test", good, "--verbose")
		if code != cli.ExitOK || passed(t, stdout) != nBuiltin+1 {
			t.Fatalf("exit %d, want 0 and %d tests\n%s%s", code, nBuiltin+1, stdout, stderr)
		}
		for _, want := range []string{"data.vmgmt.naming_test.test_tmp_denied: PASS", "data.vmgmt.capacity_test.test_fits_passes: PASS"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("verbose output lacks %q", want)
			}
		}
	})
	t.Run("a failing test", func(t *testing.T) {
		bad := acctest.WriteFiles(t, map[string]string{"naming.rego": userPolicy, "naming_test.rego": userPassingTest, "more_test.rego": userFailingTest})
		code, stdout, stderr := run(t, "policy", "test", bad)
		if code != cli.ExitFail {
			t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
		}
		for _, want := range []string{"data.vmgmt.naming_test.test_tier_denied: FAIL", "FAIL: 1/" + strconv.Itoa(nBuiltin+2)} {
			if !strings.Contains(stdout, want) {
				t.Errorf("output lacks %q:\n%s", want, stdout)
			}
		}
	})
}

func TestPolicyTestLoadErrors(t *testing.T) {
	broken := acctest.WriteFiles(t, map[string]string{"broken.rego": "package vmgmt.broken\n\ndeny contains msg if {\n"})
	noTests := acctest.WriteFiles(t, map[string]string{"naming.rego": userPolicy})
	for name, args := range map[string][]string{
		"syntax error":    {broken},
		"missing dir":     {filepath.Join(t.TempDir(), "nope")},
		"nothing to test": {"--no-packs"},
		"no tests in dir": {"--no-packs", noTests},
		"unknown flag":    {"--fast"},
		"bad flag value":  {"--verbose=maybe"},
	} {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := run(t, append([]string{"policy", "test"}, args...)...)
			if code != cli.ExitUsage {
				t.Fatalf("exit %d, want 2\n%s%s", code, stdout, stderr)
			}
			if stderr == "" {
				t.Fatal("no error message")
			}
		})
	}
	code, _, stderr := run(t, "policy", "test", broken)
	if code != cli.ExitUsage || !strings.Contains(stderr, "broken.rego:") {
		t.Fatalf("a syntax error should name the file and line; stderr:\n%s", stderr)
	}
}

// A rule that reads a field no policy input has fails `policy test` and `policy eval` as it fails
// the provider, with the file and line, rather than loading and silently never firing.
func TestPolicyMisspeltInputField(t *testing.T) {
	misspelt := acctest.WriteFiles(t, map[string]string{
		"naming.rego":      strings.Replace(userPolicy, "input.change.after.name", "input.change.aftr.name", 1),
		"naming_test.rego": userPassingTest,
	})
	want := regexp.MustCompile(regexp.QuoteMeta(filepath.Join(misspelt, "naming.rego")) +
		`:4: rego_type_error: undefined ref: input.change.aftr.name: input.change has no "aftr"; did you mean "after"\?`)
	code, stdout, stderr := run(t, "policy", "test", misspelt)
	if code != cli.ExitUsage || !want.MatchString(stderr) {
		t.Errorf("policy test: exit %d, want 2 and an error matching %s\n%s%s", code, want, stdout, stderr)
	}
	code, stdout, stderr = eval(t, "testdata/plan_clean.json", "--source", misspelt)
	if code != cli.ExitUsage || !want.MatchString(stderr) {
		t.Errorf("policy eval: exit %d, want 2 and an error matching %s\n%s%s", code, want, stdout, stderr)
	}
	// Spelt right, the same policy and test pass.
	if code, stdout, stderr := run(t, "policy", "test", "--no-packs", acctest.WriteFiles(t, map[string]string{
		"naming.rego": userPolicy, "naming_test.rego": userPassingTest,
	})); code != cli.ExitOK {
		t.Errorf("spelt right: exit %d\n%s%s", code, stdout, stderr)
	}
}

// eval runs `policy eval` over a plan file.
func eval(t *testing.T, plan string, args ...string) (int, string, string) {
	t.Helper()
	return run(t, append([]string{"policy", "eval", "--plan", plan}, args...)...)
}

func contains(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// (a) A reservation named tmp-load-test: the capacity pack warns (tier naming is advisory by
// default), the user's deny rule blocks. The headroom rule needs vCenter inventory, which a
// saved plan does not hold: deferred, not passed.
func TestPolicyEvalBlocksOnUserDenyRule(t *testing.T) {
	deny := acctest.WriteFiles(t, map[string]string{"naming.rego": denyTmp})
	code, stdout, stderr := eval(t, "testdata/plan_scratch.json", "--pack", "capacity", "--source", deny)
	if code != cli.ExitFail {
		t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	contains(t, stdout,
		`vmgmt_capacity_reservation.scratch: BLOCK [naming] temporary reservations are not allowed: "tmp-load-test". Give it a tier name (tier-N-app).`,
		`vmgmt_capacity_reservation.scratch: WARN [capacity.tier_naming] reservation name "tmp-load-test" does not follow the tier naming`,
		`vmgmt_capacity_reservation.scratch: DEFERRED [capacity] reads vCenter inventory (not in a saved plan)`,
		"1 vmgmt resource change(s)", "1 blocking, 1 warning(s), 1 deferred",
		"FAIL: policy blocks this plan.",
	)
	if strings.Contains(stdout, "vsphere_folder") {
		t.Errorf("a vsphere_ resource was judged:\n%s", stdout)
	}

	// The same plan under the capacity pack alone only warns.
	code, stdout, stderr = eval(t, "testdata/plan_scratch.json", "--pack", "capacity")
	if code != cli.ExitOK {
		t.Fatalf("capacity pack alone: exit %d, want 0\n%s%s", code, stdout, stderr)
	}
	contains(t, stdout, "WARN [capacity.tier_naming]", "PASS")
}

// Pack parameters come from policy data in a source: tier naming made mandatory blocks.
func TestPolicyEvalPackParamsFromData(t *testing.T) {
	data := acctest.WriteFiles(t, map[string]string{"data.json": `{"vmgmt": {"params": {"capacity": {"tier_level": "mandatory"}}}}`})
	code, stdout, stderr := eval(t, "testdata/plan_scratch.json", "--pack", "capacity", "--source", data)
	if code != cli.ExitFail {
		t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	contains(t, stdout, `vmgmt_capacity_reservation.scratch: BLOCK [capacity.tier_naming] reservation name "tmp-load-test"`, "(attribute name)")
}

// (b) A clean plan: an unchanged tier-1 and a new tier-1-erp under it.
func TestPolicyEvalCleanPlan(t *testing.T) {
	deny := acctest.WriteFiles(t, map[string]string{"naming.rego": denyTmp})
	code, stdout, stderr := eval(t, "testdata/plan_clean.json", "--pack", "capacity", "--source", deny)
	if code != cli.ExitOK {
		t.Fatalf("exit %d, want 0\n%s%s", code, stdout, stderr)
	}
	contains(t, stdout, "2 vmgmt resource change(s)", "0 blocking, 0 warning(s)", "\nPASS\n")
	if strings.Contains(stdout, "BLOCK") || strings.Contains(stdout, "WARN") {
		t.Errorf("clean plan has findings:\n%s", stdout)
	}
}

func TestPolicyEvalNoVmgmtChanges(t *testing.T) {
	plan := planFile(t, change("vsphere_folder", "f", []string{"create"}, nil, obj{"path": "tmp-x"}))
	code, stdout, _ := eval(t, plan, "--pack", "capacity")
	if code != cli.ExitOK {
		t.Fatalf("exit %d, want 0", code)
	}
	contains(t, stdout, "No vmgmt_ resource changes", "PASS")
}

type obj = map[string]any

func reservation(name string, cpuRes, cpuLimit int) obj {
	return obj{
		"id": "resgroup-77", "name": name, "parent": "/dc1/host/prod",
		"cpu":    obj{"reservation": cpuRes, "limit": cpuLimit, "expandable": false, "shares_level": "normal"},
		"memory": obj{"reservation": 0, "limit": -1, "expandable": false, "shares_level": "normal"},
	}
}

func change(typ, name string, actions []string, before, after obj) obj {
	c := obj{"actions": actions, "before": nil, "after": nil, "after_unknown": obj{}}
	if before != nil {
		c["before"] = before
	}
	if after != nil {
		c["after"] = after
	}
	return obj{"address": typ + "." + name, "mode": "managed", "type": typ, "name": name, "change": c}
}

// planFile writes a `terraform show -json` plan holding the given resource_changes entries.
func planFile(t *testing.T, changes ...obj) string {
	t.Helper()
	b, err := json.Marshal(obj{"format_version": "1.2", "terraform_version": "1.8.5", "resource_changes": changes})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The saved plan is judged with the provider's semantics: grandfathering of unchanged
// attributes, exemptions from policy data, protection against destroy, unknown values deferred.
func TestPolicyEvalJudgesLikeTheProvider(t *testing.T) {
	const res = "vmgmt_capacity_reservation"
	policyData := func(extra string) string {
		return acctest.WriteFiles(t, map[string]string{"naming.rego": denyTmp, "data.json": `{"vmgmt": {` + extra + `}}`})
	}
	exemption := func(expires string) string {
		return `"exemptions": [{"policy": "naming", "selector": {"type": "` + res + `", "name": "tmp-load-test"},
			"reason": "load test until the end of the quarter", "approver": "cab-42", "expires": "` + expires + `"}]`
	}
	withUnknownName := change(res, "later", []string{"create"}, nil, obj{"parent": "/dc1/host/prod"})
	withUnknownName["change"].(obj)["after_unknown"] = obj{"name": true, "id": true}

	for _, tc := range []struct {
		name   string
		change obj
		source string
		want   int
		out    []string
	}{
		{
			name:   "limit below reservation blocks (capacity pack, mandatory)",
			change: change(res, "r", []string{"create"}, nil, reservation("tier-2", 5000, 1000)),
			want:   cli.ExitFail,
			out:    []string{"BLOCK [capacity.limit] cpu limit 1000 MHz is below the reservation 5000 MHz", "(attribute cpu.limit)"},
		},
		{
			name:   "unchanged name under a new rule is grandfathered",
			change: change(res, "old", []string{"update"}, reservation("tmp-old", 1000, -1), reservation("tmp-old", 2000, -1)),
			source: policyData(""),
			want:   cli.ExitOK,
			out:    []string{"GRANDFATHERED [naming] temporary reservations are not allowed", "not blocking"},
		},
		{
			name:   "renaming to a forbidden name blocks",
			change: change(res, "old", []string{"update"}, reservation("tier-3", 1000, -1), reservation("tmp-old", 1000, -1)),
			source: policyData(""),
			want:   cli.ExitFail,
			out:    []string{"BLOCK [naming]"},
		},
		{
			name:   "protected reservation may not be destroyed",
			change: change(res, "t1", []string{"delete"}, reservation("tier-1", 1000, -1), nil),
			source: policyData(`"params": {"capacity": {"protected": ["tier-1"]}}`),
			want:   cli.ExitFail,
			out:    []string{`BLOCK [capacity.protected] reservation "tier-1" is protected`},
		},
		{
			name:   "exemption lets it through",
			change: change(res, "scratch", []string{"create"}, nil, reservation("tmp-load-test", 0, -1)),
			source: policyData(exemption("2999-12-31")),
			want:   cli.ExitOK,
			out:    []string{"EXEMPTED [naming]", "reason: load test until the end of the quarter; approved by cab-42; expires"},
		},
		{
			name:   "expired exemption blocks",
			change: change(res, "scratch", []string{"create"}, nil, reservation("tmp-load-test", 0, -1)),
			source: policyData(exemption("2020-01-31")),
			want:   cli.ExitFail,
			out:    []string{"EXPIRED [naming]", "approved by cab-42"},
		},
		{
			name:   "a rule reading an unknown value is deferred, not passed",
			change: withUnknownName,
			source: policyData(""),
			want:   cli.ExitOK,
			out:    []string{"DEFERRED [naming] reads name (unknown until apply)"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"--pack", "capacity"}
			if tc.source != "" {
				args = append(args, "--source", tc.source)
			}
			code, stdout, stderr := eval(t, planFile(t, tc.change), args...)
			if code != tc.want {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.want, stdout, stderr)
			}
			contains(t, stdout, tc.out...)
		})
	}
}

func TestPolicyEvalJSONAndDecisionLog(t *testing.T) {
	deny := acctest.WriteFiles(t, map[string]string{"naming.rego": denyTmp})
	logPath := filepath.Join(t.TempDir(), "decisions.jsonl")
	secret := "s3cr3t-key-value"
	job := change("vmgmt_backup_job", "nightly", []string{"create"}, nil,
		obj{"name": "nightly", "repository": obj{"url": "s3://backups", "secret_key": secret}})
	job["change"].(obj)["after_sensitive"] = obj{"repository": obj{"secret_key": true}}
	plan := planFile(t,
		change("vmgmt_capacity_reservation", "scratch", []string{"create"}, nil, reservation("tmp-load-test", 0, -1)),
		job)

	code, stdout, stderr := eval(t, plan, "--pack", "capacity", "--source", deny,
		"--format", "json", "--decision-log", logPath, "--principal", "ci@example.com")
	if code != cli.ExitFail {
		t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	var report struct {
		Blocked   bool `json:"blocked"`
		Resources []struct {
			Address    string `json:"address"`
			Blocked    bool   `json:"blocked"`
			DecisionID string `json:"decision_id"`
			Findings   []struct {
				Policy  string `json:"policy"`
				Outcome string `json:"outcome"`
				Msg     string `json:"msg"`
			} `json:"findings"`
		} `json:"resources"`
	}
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatalf("--format json printed no JSON: %v\n%s", err, stdout)
	}
	if !report.Blocked || len(report.Resources) != 2 {
		t.Fatalf("report: %+v", report)
	}
	r := report.Resources[0]
	if r.Address != "vmgmt_capacity_reservation.scratch" || !r.Blocked || r.DecisionID == "" {
		t.Fatalf("first resource: %+v", r)
	}
	outcomes := map[string]string{}
	for _, f := range r.Findings {
		outcomes[f.Policy] = f.Outcome
	}
	if outcomes["naming"] != "block" || outcomes["capacity.tier_naming"] != "warn" || outcomes["capacity"] != "deferred" {
		t.Fatalf("findings: %+v", r.Findings)
	}
	if report.Resources[1].Blocked {
		t.Fatalf("the backup job is blocked: %+v", report.Resources[1])
	}

	raw, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), secret) {
		t.Fatalf("the decision log holds a sensitive value:\n%s", raw)
	}
	type logLine struct {
		DecisionID string `json:"decision_id"`
		Phase      string `json:"phase"`
		Name       string `json:"resource_name"`
		Result     string `json:"result"`
		Principal  string `json:"principal"`
		Input      struct {
			Change struct {
				After map[string]any `json:"after"`
			} `json:"change"`
		} `json:"input"`
	}
	var lines []logLine
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	for sc.Scan() {
		var l logLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	if len(lines) != 2 {
		t.Fatalf("decision log has %d lines, want 2:\n%s", len(lines), raw)
	}
	if l := lines[0]; l.DecisionID != r.DecisionID || l.Phase != "plan" || l.Result != "deny" || l.Principal != "ci@example.com" || l.Name != "tmp-load-test" {
		t.Fatalf("first log line: %+v", l)
	}
	if got := lines[1].Input.Change.After["repository"].(map[string]any)["secret_key"]; got != "(sensitive value)" {
		t.Fatalf("secret_key logged as %v, want masked", got)
	}
}

// Policy that cannot be evaluated is no verdict: exit 2, never a pass.
func TestPolicyEvalFailsClosed(t *testing.T) {
	bad := acctest.WriteFiles(t, map[string]string{"bad.rego": "package vmgmt.bad\n\ndeny := \"not a set\"\n"})
	code, stdout, stderr := eval(t, "testdata/plan_scratch.json", "--source", bad)
	if code != cli.ExitUsage {
		t.Fatalf("exit %d, want 2\n%s%s", code, stdout, stderr)
	}
	contains(t, stdout, "vmgmt_capacity_reservation.scratch: ERROR policy could not be evaluated", "fail closed")
}

func TestPolicyEvalUsageErrors(t *testing.T) {
	deny := acctest.WriteFiles(t, map[string]string{"naming.rego": denyTmp})
	broken := acctest.WriteFiles(t, map[string]string{"broken.rego": "package vmgmt.broken\n\ndeny contains msg if {\n"})
	notJSON := filepath.Join(t.TempDir(), "plan.json")
	binary := filepath.Join(t.TempDir(), "tfplan")
	noVersion := filepath.Join(t.TempDir(), "plan.json")
	for p, body := range map[string]string{notJSON: "not json", binary: "PK\x03\x04binary plan", noVersion: `{"resource_changes": []}`} {
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no plan", []string{"policy", "eval", "--pack", "capacity"}, "--plan is required"},
		{"no policy", []string{"policy", "eval", "--plan", "testdata/plan_clean.json"}, "no policy"},
		{"missing plan", []string{"policy", "eval", "--plan", "testdata/nope.json", "--pack", "capacity"}, "reading the plan"},
		{"not json", []string{"policy", "eval", "--plan", notJSON, "--pack", "capacity"}, "is not a `terraform show -json` plan"},
		{"binary plan", []string{"policy", "eval", "--plan", binary, "--pack", "capacity"}, "terraform show -json"},
		{"no format version", []string{"policy", "eval", "--plan", noVersion, "--pack", "capacity"}, "format version is missing"},
		{"unknown pack", []string{"policy", "eval", "--plan", "testdata/plan_clean.json", "--pack", "nope"}, `no built-in policy pack "nope"`},
		{"broken source", []string{"policy", "eval", "--plan", "testdata/plan_clean.json", "--source", broken}, "broken.rego:"},
		{"missing source", []string{"policy", "eval", "--plan", "testdata/plan_clean.json", "--source", filepath.Join(deny, "nope")}, "cannot read policy source"},
		{"bad format", []string{"policy", "eval", "--plan", "testdata/plan_clean.json", "--pack", "capacity", "--format", "yaml"}, "want text or json"},
		{"bad explain", []string{"policy", "eval", "--plan", "testdata/plan_clean.json", "--pack", "capacity", "--explain", "all"}, "want none or fails"},
		{"stray argument", []string{"policy", "eval", "--plan", "testdata/plan_clean.json", "--pack", "capacity", "extra"}, "unexpected arguments"},
		{"unknown flag", []string{"policy", "eval", "--plan", "testdata/plan_clean.json", "--strict"}, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tc.args...)
			if code != cli.ExitUsage {
				t.Fatalf("exit %d, want 2\n%s%s", code, stdout, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr lacks %q:\n%s", tc.want, stderr)
			}
		})
	}
}

// --explain fails prints the trimmed evaluation trace under a blocking finding.
func TestPolicyEvalExplain(t *testing.T) {
	deny := acctest.WriteFiles(t, map[string]string{"naming.rego": denyTmp})
	code, stdout, stderr := eval(t, "testdata/plan_scratch.json", "--source", deny, "--explain", "fails")
	if code != cli.ExitFail {
		t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	contains(t, stdout, "evaluation trace (trimmed):")
}

package policy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy"
)

const logRego = `package vmgmt.logged

deny contains "no bad names" if input.change.after.name == "bad"

warn contains "tier names preferred" if not startswith(input.change.after.name, "tier-")

deny contains "boom" if {
	input.change.after.name == "error"
	object.get(input.change.after.name, "k", 1) == 2
}
`

// readLines reads a decision log: every line must be one complete JSON object.
func readLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d is not a JSON object: %v\n%s", len(out)+1, err, sc.Text())
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDecisionLog(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "decisions.jsonl")
	dir := acctest.WriteFiles(t, map[string]string{
		"p.rego": logRego,
		"exemptions.json": `{"vmgmt": {"exemptions": [{"policy": "logged", "selector": {"name": "bad"}, "reason": "load test",
			"approver": "jane", "expires": "2999-01-01"}]}}`,
	})
	e, err := policy.New(context.Background(), policy.Config{Sources: []string{dir}, DecisionLog: logPath})
	if err != nil {
		t.Fatal(err)
	}
	secret := "hunter2-do-not-log"
	withSecret := func(name string) map[string]any {
		a := res(name, 1000)
		a["password"] = secret
		a["cpu"].(map[string]any)["token"] = secret
		return a
	}
	ctx := context.Background()
	for _, c := range []policy.Change{
		{Type: resType, Name: "tier-1", Actions: []string{"create"}, After: withSecret("tier-1"), Phase: policy.PhasePlan,
			Sensitive: []string{"password", "cpu.token", "not.there"}, Principal: "admin"},
		{Type: resType, Name: "scratch", Actions: []string{"update"}, Before: withSecret("scratch"), After: withSecret("scratch"),
			Phase: policy.PhaseApply, Sensitive: []string{"password", "cpu.token"}},
		{Type: resType, Name: "bad", ID: "resgroup-9", Actions: []string{"create"}, After: res("bad", 1), Phase: policy.PhasePlan},
	} {
		if _, err := e.Evaluate(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Evaluate(ctx, create(res("error", 1))); err == nil {
		t.Fatal("the runtime error did not fail the evaluation")
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	raw, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), secret) {
		t.Errorf("decision log contains a sensitive value:\n%s", raw)
	}
	lines := readLines(t, logPath)
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4", len(lines))
	}
	for i, l := range lines {
		for _, k := range []string{"decision_id", "time", "phase", "resource_type", "actions", "result", "violations", "warnings",
			"exemptions_used", "policy_revision", "duration_us", "input"} {
			if _, ok := l[k]; !ok {
				t.Errorf("line %d has no %s: %v", i+1, k, l)
			}
		}
		if l["policy_revision"] != e.Revision() || l["resource_type"] != resType {
			t.Errorf("line %d: revision %v type %v", i+1, l["policy_revision"], l["resource_type"])
		}
	}
	want := []struct{ phase, name, result string }{
		{"plan", "tier-1", "allow"},
		{"apply", "scratch", "warn"},
		{"plan", "bad", "warn"}, // exempted: allowed with a warning
		{"plan", "error", "error"},
	}
	for i, w := range want {
		l := lines[i]
		name, _ := l["resource_name"].(string)
		if l["phase"] != w.phase || name != w.name || l["result"] != w.result {
			t.Errorf("line %d: phase %v name %v result %v; want %+v", i+1, l["phase"], name, l["result"], w)
		}
	}
	after := lines[0]["input"].(map[string]any)["change"].(map[string]any)["after"].(map[string]any)
	if after["password"] != "(sensitive value)" || after["cpu"].(map[string]any)["token"] != "(sensitive value)" {
		t.Errorf("sensitive values not masked: %v", after)
	}
	if after["name"] != "tier-1" || lines[0]["principal"] != "admin" {
		t.Errorf("non-sensitive values masked or missing: %v", lines[0])
	}
	before := lines[1]["input"].(map[string]any)["change"].(map[string]any)["before"].(map[string]any)
	if before["password"] != "(sensitive value)" {
		t.Errorf("sensitive prior value not masked: %v", before)
	}
	if ex := lines[2]["exemptions_used"].([]any); len(ex) != 1 || ex[0].(map[string]any)["reason"] != "load test" {
		t.Errorf("exemptions_used = %v", lines[2]["exemptions_used"])
	}
	if msg, _ := lines[3]["error"].(string); !strings.Contains(msg, "fail closed") {
		t.Errorf("error line: %v", lines[3])
	}
}

// Terraform calls resources in parallel: every decision is one complete line, none lost or torn.
func TestDecisionLog_concurrent(t *testing.T) {
	const n = 50
	logPath := filepath.Join(t.TempDir(), "decisions.jsonl")
	e, err := policy.New(context.Background(), policy.Config{Packs: []string{"capacity"}, DecisionLog: logPath})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := capacityChange(fmt.Sprintf("tier-%d", i), 1000)
			if _, err := e.Evaluate(context.Background(), c); err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, logPath)
	if len(lines) != n {
		t.Fatalf("%d lines for %d decisions", len(lines), n)
	}
	ids, names := map[any]bool{}, map[any]bool{}
	for _, l := range lines {
		ids[l["decision_id"]] = true
		names[l["resource_name"]] = true
	}
	if len(ids) != n || len(names) != n {
		t.Errorf("%d distinct decision ids and %d names in %d lines", len(ids), len(names), n)
	}
}

package cli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/cli"
)

// The demo's policy (examples/demo/policy) carries Rego tests that `make demo` runs with
// `policy test examples/demo/policy`. Running the same command here puts them in `go test ./...`
// (and so in `make test`): a demo rule or test that breaks fails the build, not only the demo.
func TestPolicyTestDemoPolicy(t *testing.T) {
	root, err := acctest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "examples", "demo", "policy")
	code, stdout, stderr := run(t, "policy", "test", "--verbose", dir)
	if code != cli.ExitOK {
		t.Fatalf("policy test %s: exit %d, want 0\n%s%s", dir, code, stdout, stderr)
	}
	passed(t, stdout)

	// Every test rule of the demo's own test files ran and passed: a file the loader skipped, or
	// a package the runner never reached, would otherwise go unnoticed behind the packs' tests.
	want := demoTests(t, dir)
	if len(want) == 0 {
		t.Fatalf("no test_ rules found in %s/*_test.rego", dir)
	}
	for _, name := range want {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `: PASS\b`).MatchString(stdout) {
			t.Errorf("demo policy test %s did not pass (or did not run):\n%s", name, stdout)
		}
	}
	t.Logf("%d demo policy tests passed", len(want))
}

var (
	regoPackage = regexp.MustCompile(`(?m)^package\s+(\S+)`)
	regoTest    = regexp.MustCompile(`(?m)^(test_\w+)\s`)
)

// demoTests lists the test rules of the *_test.rego files in dir, as the runner names them
// (data.<package>.<rule>).
func demoTests(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*_test.rego"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pkg := regoPackage.FindStringSubmatch(string(b))
		if pkg == nil {
			t.Fatalf("%s has no package line", f)
		}
		seen := map[string]bool{}
		for _, m := range regoTest.FindAllStringSubmatch(string(b), -1) {
			name := "data." + pkg[1] + "." + m[1]
			if !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	return out
}

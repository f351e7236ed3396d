package policy_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy"
)

func loadErr(t *testing.T, cfg policy.Config) *policy.LoadError {
	t.Helper()
	e, err := policy.New(context.Background(), cfg)
	var le *policy.LoadError
	if !errors.As(err, &le) {
		if e != nil {
			_ = e.Close()
		}
		t.Fatalf("New = %v, want a *LoadError", err)
	}
	return le
}

// Policy that does not parse or compile is a load error naming the file and line.
func TestLoad_errorsNameFileAndLine(t *testing.T) {
	for _, tc := range []struct {
		name, rego string
		want       string
	}{
		{"parse error", "package vmgmt.broken\n\ndeny contains msg if {\n  msg := \n}\n", `broken\.rego:\d+`},
		{"unsafe variable", "package vmgmt.broken\n\ndeny contains msg if {\n  x == 1\n}\n", `broken\.rego:3: rego_unsafe_var_error: var msg is unsafe`},
		{"type error", "package vmgmt.broken\n\ndeny contains msg if {\n  msg := 1 + \"a\"\n}\n", `broken\.rego:4: rego_type_error`},
		{"v0 syntax outside a bundle", "package vmgmt.broken\n\ndeny[msg] {\n  msg := \"x\"\n}\n", `broken\.rego:\d+`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := acctest.WriteFiles(t, map[string]string{"broken.rego": tc.rego})
			le := loadErr(t, policy.Config{Sources: []string{dir}})
			if !regexp.MustCompile(tc.want).MatchString(le.Error()) {
				t.Errorf("error %q does not match %s", le.Error(), tc.want)
			}
		})
	}
	t.Run("missing source", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "nope")
		le := loadErr(t, policy.Config{Sources: []string{missing}})
		if le.Source != missing || !strings.Contains(le.Error(), "cannot read policy source") {
			t.Errorf("error %q (source %q)", le.Error(), le.Source)
		}
	})
	t.Run("unknown pack", func(t *testing.T) {
		le := loadErr(t, policy.Config{Packs: []string{"nope"}})
		wantErrContains(t, le, `pack nope`, `no built-in policy pack "nope"`, "capacity")
	})
	t.Run("no rules", func(t *testing.T) {
		dir := acctest.WriteFiles(t, map[string]string{"other.rego": "package other\n\nallow := true\n"})
		le := loadErr(t, policy.Config{Sources: []string{dir}})
		wantErrContains(t, le, "no rules found", "vmgmt.<name>")
	})
	t.Run("bad remote url", func(t *testing.T) {
		le := loadErr(t, policy.Config{Remote: &policy.RemoteConfig{URL: "opa:8181"}})
		wantErrContains(t, le, "remote", "http(s) URL")
	})
}

// writeBundle writes a bundle tarball.
func writeBundle(t *testing.T, files map[string]string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "policy.tar.gz")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []interface{ Close() error }{tw, gz, f} {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// A bundle's manifest is honoured: its revision identifies the policy, and rego_version 0 lets
// it keep v0 syntax (rules without if / contains).
func TestLoad_bundle(t *testing.T) {
	bundle := writeBundle(t, map[string]string{
		".manifest": `{"revision": "rev-2026.11.25", "roots": ["vmgmt"], "rego_version": 0}`,
		"vmgmt/legacy/policy.rego": `package vmgmt.legacy

deny[msg] {
	input.change.after.cpu.reservation > data.vmgmt.params.legacy.max_mhz
	msg := sprintf("legacy bundle: at most %d MHz", [data.vmgmt.params.legacy.max_mhz])
}

warn[msg] {
	input.change.after.name == "tier-1"
	msg := "legacy bundle warns"
}
`,
		"vmgmt/params/legacy/data.json": `{"max_mhz": 2000}`,
	})
	e := newEngine(t, policy.Config{Sources: []string{bundle}})
	if !strings.Contains(e.Revision(), "rev-2026.11.25") {
		t.Errorf("Revision() = %q, want the bundle revision", e.Revision())
	}
	fs := byPolicy(t, evaluate(t, e, create(res("tier-2", 3000))))
	if f := wantOutcome(t, fs, "legacy", policy.OutcomeBlock); f.Message != "legacy bundle: at most 2000 MHz" {
		t.Errorf("message %q", f.Message)
	}
	d := evaluate(t, e, create(res("tier-1", 1000)))
	if len(d.Findings) != 1 || d.Findings[0].Outcome != policy.OutcomeWarn || d.Revision != e.Revision() {
		t.Errorf("findings %+v (revision %q)", d.Findings, d.Revision)
	}

	// Without rego_version 0 the same bundle is v1 and v0 syntax does not compile.
	v1 := writeBundle(t, map[string]string{
		".manifest":           `{"revision": "r1", "roots": ["vmgmt"]}`,
		"vmgmt/legacy/p.rego": "package vmgmt.legacy\n\ndeny[msg] {\n  msg := \"x\"\n}\n",
	})
	wantErrContains(t, loadErr(t, policy.Config{Sources: []string{v1}}), "p.rego")
}

// Data files of several sources merge into one document; the same value defined twice is an error.
func TestLoad_dataMerge(t *testing.T) {
	rule := acctest.WriteFiles(t, map[string]string{"p.rego": `package vmgmt.merged

deny contains sprintf("a=%v b=%v", [data.vmgmt.params.a.x, data.vmgmt.params.b.y]) if true
`})
	a := acctest.WriteFiles(t, map[string]string{"data.json": `{"vmgmt": {"params": {"a": {"x": 1}}}}`})
	b := acctest.WriteFiles(t, map[string]string{"params.yaml": "vmgmt:\n  params:\n    b:\n      y: 2\n"})
	e := newEngine(t, policy.Config{Sources: []string{rule, a, b}})
	fs := byPolicy(t, evaluate(t, e, create(res("tier-1", 1))))
	if f := fs["merged"]; f.Message != "a=1 b=2" {
		t.Errorf("merged data: %+v", fs)
	}

	clash := acctest.WriteFiles(t, map[string]string{"data.json": `{"vmgmt": {"params": {"a": {"x": 5}}}}`})
	le := loadErr(t, policy.Config{Sources: []string{rule, a, clash}})
	wantErrContains(t, le, "defined twice", "x")
}

// *_test.rego files are for `policy test`, not for the gate.
func TestLoad_skipsRegoTests(t *testing.T) {
	dir := acctest.WriteFiles(t, map[string]string{
		"rule.rego":          "package vmgmt.rule\n\ndeny contains \"rule fired\" if input.change.after.name == \"x\"\n",
		"rule_test.rego":     "package vmgmt.rule_test\n\ndeny contains \"test file loaded\" if true\n\ntest_x if true\n",
		"nested/a_test.rego": "package vmgmt.nested_test\n\ndeny contains \"nested test file loaded\" if true\n",
	})
	e := newEngine(t, policy.Config{Sources: []string{dir}})
	if got := e.Packages(); len(got) != 1 || got[0] != "vmgmt.rule" {
		t.Errorf("Packages() = %v, want only vmgmt.rule", got)
	}
	if fs := evaluate(t, e, create(res("y", 1))).Findings; len(fs) != 0 {
		t.Errorf("findings %+v", fs)
	}
}

// The revision of unbundled policy is a hash of its content.
func TestLoad_revisionHash(t *testing.T) {
	rev := func(body string) string {
		return newEngine(t, policy.Config{Sources: []string{acctest.WriteFiles(t, map[string]string{"p.rego": body})}}).Revision()
	}
	r1 := rev("package vmgmt.p\n\ndeny contains \"a\" if false\n")
	r2 := rev("package vmgmt.p\n\ndeny contains \"b\" if false\n")
	r1again := rev("package vmgmt.p\n\ndeny contains \"a\" if false\n")
	if !strings.HasPrefix(r1, "sha256:") || r1 == r2 || r1 != r1again {
		t.Errorf("revisions %q %q %q: want sha256:, different for different content, stable for the same", r1, r2, r1again)
	}
}

// The revision also covers the data beside the rules, and it does not depend on the order the
// files of a directory are read in: every process that loads the same policy names it the same.
func TestLoad_revisionHashDataAndOrder(t *testing.T) {
	files := func(limit string) map[string]string {
		fs := map[string]string{"data.json": `{"limits": {"cpu": ` + limit + `}}`}
		for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
			fs[n+".rego"] = "package vmgmt." + n + "\n\ndeny contains \"" + n + "\" if false\n"
		}
		return fs
	}
	rev := func(fs map[string]string) string {
		return newEngine(t, policy.Config{Sources: []string{acctest.WriteFiles(t, fs)}}).Revision()
	}
	first := rev(files("1000"))
	for i := 0; i < 10; i++ {
		if r := rev(files("1000")); r != first {
			t.Fatalf("the same policy has revisions %q and %q", first, r)
		}
	}
	if r := rev(files("2000")); r == first {
		t.Errorf("revision %q did not change with the data", r)
	}
}

// The query is prepared once per engine, whatever is loaded, and never again per evaluation.
func TestPrepareCount(t *testing.T) {
	for _, cfg := range []policy.Config{
		{Packs: []string{"capacity"}},
		{Sources: []string{acctest.WriteFiles(t, map[string]string{"a.rego": "package vmgmt.a\n\ndeny contains \"a\" if false\n", "b.rego": "package vmgmt.b\n\nwarn contains \"b\" if false\n"})}},
	} {
		before := policy.PrepareCount()
		e := newEngine(t, cfg)
		if d := policy.PrepareCount() - before; d != 1 {
			t.Errorf("%+v: New prepared %d times, want 1", cfg, d)
		}
		before = policy.PrepareCount()
		for i := 0; i < 20; i++ {
			evaluate(t, e, create(res("tier-1", 1)))
		}
		if d := policy.PrepareCount() - before; d != 0 {
			t.Errorf("%+v: 20 evaluations prepared %d times, want 0", cfg, d)
		}
	}
}

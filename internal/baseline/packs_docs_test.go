package baseline

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite the pack tables in the docs templates")

// The resource's docs template holds each pack's table as PackMarkdown renders it: `make docs`
// rewrites them (-update-docs) and `make docs-check` fails when a pack changed and the docs did not.
func TestPackTablesInDocs(t *testing.T) {
	const tmpl = "../../templates/resources/config_baseline.md.tmpl"
	raw, err := os.ReadFile(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	changed := false
	for _, pack := range append(PackNames(TargetVM), PackNames(TargetHost)...) {
		begin, end := "<!-- BEGIN "+pack+":", "<!-- END "+pack+" -->"
		i, j := strings.Index(doc, begin), strings.Index(doc, end)
		if i < 0 || j < i {
			t.Fatalf("%s lacks the %q ... %q markers", tmpl, begin, end)
		}
		i += strings.Index(doc[i:], "\n") + 1
		want := PackMarkdown(pack)
		if doc[i:j] == want {
			continue
		}
		if !*updateDocs {
			t.Fatalf("%s: the %s table is out of date: run `make docs`", tmpl, pack)
		}
		doc, changed = doc[:i]+want+doc[j:], true
	}
	if changed {
		if err := os.WriteFile(tmpl, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

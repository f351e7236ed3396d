package baseline

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite the pack tables in the docs templates")

// The resource's docs template holds the scg-8 table as PackMarkdown renders it: `make docs`
// rewrites it (-update-docs) and `make docs-check` fails when the pack changed and the docs did not.
func TestPackTablesInDocs(t *testing.T) {
	const tmpl = "../../templates/resources/config_baseline.md.tmpl"
	raw, err := os.ReadFile(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	begin, end := "<!-- BEGIN scg-8:", "<!-- END scg-8 -->"
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the %q ... %q markers", tmpl, begin, end)
	}
	i += strings.Index(doc[i:], "\n") + 1
	want := PackMarkdown("scg-8")
	if doc[i:j] == want {
		return
	}
	if !*updateDocs {
		t.Fatalf("%s: the scg-8 table is out of date: run `make docs`", tmpl)
	}
	if err := os.WriteFile(tmpl, []byte(doc[:i]+want+doc[j:]), 0o600); err != nil {
		t.Fatal(err)
	}
}

package acctest

import (
	"os"
	"path/filepath"
	"testing"
)

// WriteFiles writes files (relative name -> content) into a new temporary directory of the test
// and returns it: policy sources, data files, plan fixtures.
func WriteFiles(tb testing.TB, files map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

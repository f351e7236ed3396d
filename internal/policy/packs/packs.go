// Package packs holds vmgmt's built-in policy packs ("policy plugins"), embedded in the binary.
// Each pack is a directory of Rego modules with their *_test.rego tests; its parameters come
// from policy data (data.vmgmt.params.<pack>), never from code.
package packs

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

//go:embed */*.rego
var files embed.FS

// Names lists the built-in packs.
func Names() []string {
	entries, _ := fs.ReadDir(files, ".")
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// Modules returns the Rego modules of a pack (without its tests), keyed by a file name that says
// where they came from.
func Modules(name string) (map[string]string, error) {
	return read(name, false)
}

// Tests returns the Rego modules of a pack including its tests.
func Tests(name string) (map[string]string, error) {
	return read(name, true)
}

func read(name string, tests bool) (map[string]string, error) {
	entries, err := fs.ReadDir(files, name)
	if err != nil {
		return nil, fmt.Errorf("no built-in policy pack %q (available: %s)", name, strings.Join(Names(), ", "))
	}
	out := map[string]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".rego") {
			continue
		}
		if !tests && strings.HasSuffix(e.Name(), "_test.rego") {
			continue
		}
		b, err := fs.ReadFile(files, path.Join(name, e.Name()))
		if err != nil {
			return nil, err
		}
		out["pack:"+name+"/"+e.Name()] = string(b)
	}
	return out, nil
}

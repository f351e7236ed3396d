// Package suggest names the valid spellings nearest to a misspelt one, for error messages such as
// "did you mean …?" on an unknown principal, privilege, tag or policy key.
package suggest

import (
	"sort"
	"strings"

	"github.com/agext/levenshtein"
)

// Nearest returns up to n candidates nearest to have by edit distance (case-insensitive), nearest
// first, keeping only those near enough to be a likely misspelling: at most max(2, len/3) edits,
// or sharing a prefix or containing have.
func Nearest(have string, candidates []string, n int) []string {
	h := strings.ToLower(have)
	type scored struct {
		s string
		d int
	}
	var near []scored
	seen := map[string]bool{}
	for _, c := range candidates {
		if seen[c] {
			continue
		}
		seen[c] = true
		lc := strings.ToLower(c)
		d := levenshtein.Distance(h, lc, nil)
		if d <= max(2, len(h)/3) || (len(h) >= 3 && strings.Contains(lc, h)) {
			near = append(near, scored{c, d})
		}
	}
	sort.SliceStable(near, func(i, j int) bool {
		if near[i].d != near[j].d {
			return near[i].d < near[j].d
		}
		return near[i].s < near[j].s
	})
	out := make([]string, 0, n)
	for i := 0; i < len(near) && i < n; i++ {
		out = append(out, near[i].s)
	}
	return out
}

// Phrase is the part of a message that helps: `did you mean "a" or "b"?` for the nearest
// candidates, else the list of candidates when there are at most max of them, else "".
func Phrase(have string, candidates []string, maxListed int) string {
	if near := Nearest(have, candidates, 3); len(near) > 0 {
		q := make([]string, len(near))
		for i, s := range near {
			q[i] = `"` + s + `"`
		}
		return "did you mean " + strings.Join(q, " or ") + "?"
	}
	if len(candidates) > 0 && len(candidates) <= maxListed {
		sorted := append([]string(nil), candidates...)
		sort.Strings(sorted)
		return "valid values: " + strings.Join(sorted, ", ")
	}
	return ""
}

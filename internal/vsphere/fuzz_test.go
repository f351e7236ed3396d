package vsphere

import (
	"strings"
	"testing"
)

// FuzzParseServer checks that any server setting either gives a clear error or an SDK URL that
// Connect can use: http(s), a host, no credentials, a path.
func FuzzParseServer(f *testing.F) {
	for _, s := range []string{
		"", " ", "vc", "vc.example.com", "vc:443", "10.0.0.1:8989", "[::1]", "[::1]:443",
		"https://vc/sdk", "http://127.0.0.1:8989/sdk", "https://user:pw@vc/", "ftp://vc", "://",
		"https://", "https:///sdk", "vc:port", "%zz", "https://vc/%", "https://vc?x=1#y", "\x00",
		"https://[::1", "HTTPS://VC", "vc/sdk", "//vc", "https://vc:99999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseServer(s)
		if err != nil {
			if u != nil {
				t.Fatalf("ParseServer(%q) returned both %v and error %v", s, u, err)
			}
			if err.Error() == "" {
				t.Fatalf("ParseServer(%q) returned an empty error", s)
			}
			return
		}
		if u == nil {
			t.Fatalf("ParseServer(%q) returned neither a URL nor an error", s)
		}
		if u.Scheme != "https" && u.Scheme != "http" {
			t.Fatalf("ParseServer(%q) scheme = %q", s, u.Scheme)
		}
		if u.Host == "" {
			t.Fatalf("ParseServer(%q) has no host: %v", s, u)
		}
		if u.User != nil {
			t.Fatalf("ParseServer(%q) kept credentials", s)
		}
		if u.Path == "" || u.Path == "/" {
			t.Fatalf("ParseServer(%q) path = %q, want the SDK path", s, u.Path)
		}
		if strings.TrimSpace(s) == "" {
			t.Fatalf("ParseServer(%q) accepted a blank setting", s)
		}
	})
}

// LessID orders by prefix, then number: host-24 before host-101, vm-9 before vm-10; IDs without
// a number fall back to text order.
func TestLessID(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"host-24", "host-101", true}, {"host-101", "host-24", false}, {"vm-9", "vm-10", true},
		{"host-24", "host-24", false}, {"domain-c7", "host-1", true}, {"group-v3", "group-v22", true},
	} {
		if got := LessID(tc.a, tc.b); got != tc.want {
			t.Errorf("LessID(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

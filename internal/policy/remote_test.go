package policy_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy"
)

const remoteRego = `package vmgmt.central

deny contains msg if {
	input.type == "vmgmt_capacity_reservation"
	input.change.after.cpu.reservation > 20000
	msg := sprintf("central policy: %s asks %d MHz, at most 20000 MHz per reservation", [input.change.after.name, input.change.after.cpu.reservation])
}

violation contains {"id": "central.naming", "level": "advisory", "path": ["name"], "msg": "central policy prefers tier names"} if {
	not startswith(input.change.after.name, "tier-")
}
`

// A remote decision point served by a real OPA server allows and denies; stopped, it fails closed.
func TestRemote_realOPA(t *testing.T) {
	opaURL, stopOPA := acctest.StartOPA(t, acctest.WriteFiles(t, map[string]string{"central.rego": remoteRego}))
	ctx := context.Background()

	for _, path := range []string{"vmgmt", "vmgmt/central", "vmgmt.central"} {
		t.Run("path="+path, func(t *testing.T) {
			e := newEngine(t, policy.Config{Remote: &policy.RemoteConfig{URL: opaURL, Path: path, Timeout: 2 * time.Second}})
			if d := evaluate(t, e, create(res("tier-1", 1000))); len(d.Findings) != 0 {
				t.Errorf("allowed change: findings %+v", d.Findings)
			}
			d := evaluate(t, e, create(res("erp", 30000)))
			fs := byPolicy(t, d)
			if len(fs) != 2 || !d.Blocked() {
				t.Fatalf("denied change: findings %+v", d.Findings)
			}
			if f := wantOutcome(t, fs, "central", policy.OutcomeBlock); f.Message != "central policy: erp asks 30000 MHz, at most 20000 MHz per reservation" {
				t.Errorf("message %q", f.Message)
			}
			if f := wantOutcome(t, fs, "central.naming", policy.OutcomeWarn); len(f.Path) != 1 || f.Path[0] != "name" {
				t.Errorf("advisory path %v", f.Path)
			}
		})
	}

	t.Run("undefined decision", func(t *testing.T) {
		e := newEngine(t, policy.Config{Remote: &policy.RemoteConfig{URL: opaURL, Path: "vmgmt/nothing", Timeout: 2 * time.Second}})
		_, err := e.Evaluate(ctx, create(res("tier-1", 1000)))
		wantEvalError(t, err, "undefined", "vmgmt/nothing")
	})

	t.Run("local and remote together", func(t *testing.T) {
		e := newEngine(t, policy.Config{
			Sources: []string{acctest.WriteFiles(t, map[string]string{"l.rego": "package vmgmt.local\n\nwarn contains \"local warns\" if true\n"})},
			Remote:  &policy.RemoteConfig{URL: opaURL, Path: "vmgmt", Timeout: 2 * time.Second},
		})
		fs := byPolicy(t, evaluate(t, e, create(res("tier-1", 30000))))
		wantOutcome(t, fs, "local", policy.OutcomeWarn)
		wantOutcome(t, fs, "central", policy.OutcomeBlock)
	})

	t.Run("server stopped", func(t *testing.T) {
		e := newEngine(t, policy.Config{Remote: &policy.RemoteConfig{URL: opaURL, Path: "vmgmt", Timeout: 2 * time.Second}})
		evaluate(t, e, create(res("tier-1", 1000)))
		stopOPA()
		_, err := e.Evaluate(ctx, create(res("tier-1", 1000)))
		wantEvalError(t, err, "remote OPA", opaURL)
	})
}

func wantEvalError(t *testing.T, err error, parts ...string) {
	t.Helper()
	var ee *policy.EvalError
	if !errors.As(err, &ee) {
		t.Fatalf("err = %v, want an *EvalError (fail closed)", err)
	}
	wantErrContains(t, err, append([]string{"fail closed"}, parts...)...)
}

// What a decision point can do wrong, each refused (fail closed).
func TestRemote_failClosed(t *testing.T) {
	ctx := context.Background()
	serve := func(h http.HandlerFunc) string {
		s := httptest.NewServer(h)
		t.Cleanup(s.Close)
		return s.URL
	}
	answer := func(body string) string {
		return serve(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, body) })
	}
	release := make(chan struct{})
	slow := serve(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // then the server notices the client hanging up
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server's Close

	cases := []struct {
		name, url string
		timeout   time.Duration
		want      []string
	}{
		{"server down", "", time.Second, []string{"remote OPA", "connection refused"}},
		{"slower than the timeout", slow, 200 * time.Millisecond, []string{"did not answer within 200ms"}},
		{"undefined result", answer(`{}`), time.Second, []string{"undefined"}},
		{"null result", answer(`{"result": null}`), time.Second, []string{"undefined"}},
		{"not JSON", answer(`<html>proxy error</html>`), time.Second, []string{"not JSON"}},
		{"not an object", answer(`{"result": ["x"]}`), time.Second, []string{"must be an object"}},
		{"deny not a set", answer(`{"result": {"deny": "x"}}`), time.Second, []string{"must be a set"}},
		{"server error", serve(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, `{"code": "internal_error"}`, http.StatusInternalServerError)
		}), time.Second, []string{"500", "internal_error"}},
	}
	// A port nothing listens on, taken after every other test server exists, so that none of
	// them is given the port again.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cases[0].url = "http://" + l.Addr().String()
	_ = l.Close()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, policy.Config{Remote: &policy.RemoteConfig{URL: tc.url, Path: "vmgmt", Timeout: tc.timeout}})
			start := time.Now()
			d, err := e.Evaluate(ctx, create(res("tier-1", 1000)))
			if d != nil {
				t.Errorf("a decision came with the error: %+v", d)
			}
			wantEvalError(t, err, tc.want...)
			if elapsed := time.Since(start); elapsed > tc.timeout+5*time.Second {
				t.Errorf("refusal took %s with a %s timeout", elapsed, tc.timeout)
			}
		})
	}
}

// The request is POST /v1/data/<path> with {"input": ...} and the bearer token; a result of
// packages each holding deny / warn / violation is read per package.
func TestRemote_request(t *testing.T) {
	var got struct {
		method, path, auth string
		input              map[string]any
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.method, got.path, got.auth = r.Method, r.URL.Path, r.Header.Get("Authorization")
		var body struct {
			Input map[string]any `json:"input"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		got.input = body.Input
		_, _ = io.WriteString(w, `{"result": {"a": {"deny": ["a says no"]}, "b": {"warn": ["b warns"], "violation": [{"id": "b.v", "msg": "v", "level": "advisory"}]}, "notes": "ignored"}}`)
	}))
	t.Cleanup(srv.Close)
	e := newEngine(t, policy.Config{Remote: &policy.RemoteConfig{URL: srv.URL + "/opa/", Path: "/vmgmt/", Token: "s3cret", Timeout: time.Second}})
	fs := byPolicy(t, evaluate(t, e, create(res("tier-1", 1000))))
	if got.method != http.MethodPost || got.path != "/opa/v1/data/vmgmt" || got.auth != "Bearer s3cret" {
		t.Errorf("request %s %s auth %q", got.method, got.path, got.auth)
	}
	if got.input["type"] != resType || got.input["change"] == nil || got.input["context"] == nil {
		t.Errorf("input %v", got.input)
	}
	if len(fs) != 3 {
		t.Errorf("findings %+v", fs)
	}
	wantOutcome(t, fs, "a", policy.OutcomeBlock)
	wantOutcome(t, fs, "b", policy.OutcomeWarn)
	wantOutcome(t, fs, "b.v", policy.OutcomeWarn)
}

// An undefined decision names the document it asked for, also when the path is the default.
func TestRemote_undefinedNamesThePath(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `{}`) }))
	t.Cleanup(srv.Close)
	for _, tc := range []struct{ path, doc, endpoint string }{
		{"", "data.vmgmt ", "/v1/data/vmgmt:"},
		{"vmgmt.platform", "data.vmgmt.platform ", "/v1/data/vmgmt/platform:"},
		{"/vmgmt/platform/", "data.vmgmt.platform ", "/v1/data/vmgmt/platform:"},
	} {
		t.Run("path="+tc.path, func(t *testing.T) {
			e := newEngine(t, policy.Config{Remote: &policy.RemoteConfig{URL: srv.URL, Path: tc.path, Timeout: time.Second}})
			_, err := e.Evaluate(context.Background(), create(res("tier-1", 1000)))
			wantEvalError(t, err, "the decision "+tc.doc+"is undefined", srv.URL+tc.endpoint, "under package "+strings.TrimPrefix(strings.TrimSpace(tc.doc), "data.")+"?")
		})
	}
}

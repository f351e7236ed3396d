package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// RemoteConfig points at an OPA server's Data API.
type RemoteConfig struct {
	// URL of the OPA server, e.g. https://opa.example.com:8181.
	URL string
	// Path of the decision document, e.g. "vmgmt" -> POST /v1/data/vmgmt.
	Path string
	// Timeout of one decision; past it the change is refused.
	Timeout time.Duration
	// Token is sent as a bearer token when set.
	Token string
}

type remoteClient struct {
	cfg      RemoteConfig
	endpoint string
	// pkg is the decision document asked for, as a package path (vmgmt.capacity).
	pkg  string
	http *http.Client
}

func newRemoteClient(cfg RemoteConfig) (*remoteClient, error) {
	u, err := url.Parse(strings.TrimSpace(cfg.URL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("url %q must be an http(s) URL such as https://opa.example.com:8181", cfg.URL)
	}
	p := strings.Trim(strings.ReplaceAll(cfg.Path, ".", "/"), "/")
	if p == "" {
		p = Root
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/v1/data/" + p
	return &remoteClient{cfg: cfg, endpoint: u.String(), pkg: strings.ReplaceAll(p, "/", "."), http: &http.Client{Timeout: cfg.Timeout}}, nil
}

// decide asks the server. The document at the path is either one package's {deny, warn, violation}
// or an object of packages each holding them (the document at data.vmgmt).
func (r *remoteClient) decide(ctx context.Context, input map[string]any) ([]rawFinding, error) {
	body, err := json.Marshal(map[string]any{"input": input})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if r.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.cfg.Token)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("remote OPA %s did not answer within %s", r.endpoint, r.cfg.Timeout)
		}
		return nil, fmt.Errorf("remote OPA %s: %w", r.endpoint, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("remote OPA %s: reading the answer: %w", r.endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("remote OPA %s answered %s: %s", r.endpoint, resp.Status, strings.TrimSpace(string(raw)))
	}
	var doc struct {
		Result *any `json:"result"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("remote OPA %s: the answer is not JSON: %w", r.endpoint, err)
	}
	if doc.Result == nil {
		return nil, fmt.Errorf("remote OPA %s: the decision data.%s is undefined: the server has no document at that path (is the policy loaded on the server, under package %s?)",
			r.endpoint, r.pkg, r.pkg)
	}
	obj, ok := (*doc.Result).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("remote OPA %s: the decision must be an object with deny, warn or violation, got %T", r.endpoint, *doc.Result)
	}
	pkg := r.pkg
	var out []rawFinding
	if hasDecisionRule(obj) {
		return remoteFindings(pkg, obj)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		sub, ok := obj[k].(map[string]any)
		if !ok || !hasDecisionRule(sub) {
			continue
		}
		fs, err := remoteFindings(pkg+"."+k, sub)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, nil
}

func hasDecisionRule(obj map[string]any) bool {
	for _, r := range Rules() {
		if _, ok := obj[string(r)]; ok {
			return true
		}
	}
	return false
}

func remoteFindings(pkg string, obj map[string]any) ([]rawFinding, error) {
	var out []rawFinding
	for _, rule := range Rules() {
		v, ok := obj[string(rule)]
		if !ok {
			continue
		}
		fs, err := parseRuleValue(pkg, rule, v)
		if err != nil {
			return nil, fmt.Errorf("remote decision: %w", err)
		}
		for i := range fs {
			fs[i].remote = true
		}
		out = append(out, fs...)
	}
	return out, nil
}

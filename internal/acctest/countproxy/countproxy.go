// Package countproxy counts the requests the provider sends to the simulator: it imports nothing
// of vmgmt, so that any package's tests and benchmarks (including internal tests of packages
// the provider imports) can use it; internal/acctest re-exports it.
package countproxy

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// CountingProxy is an HTTPS reverse proxy in front of the simulator that counts the requests it
// forwards: SOAP calls (POST /sdk) by method, and anything else (the vAPI REST endpoints) by
// method and path. Pointed at by the provider block, it sees every provider process of a
// terraform run.
type CountingProxy struct {
	// Host is the proxy's host:port, to use as vsphere_server.
	Host string

	close func()

	mu     sync.Mutex
	counts RequestCounts
}

// RequestCounts is what a CountingProxy counted.
type RequestCounts struct {
	// SOAP is the number of SOAP round trips; Other the number of other (REST) requests.
	SOAP, Other int64
	// Methods counts the SOAP calls by method and the other requests by "VERB /path" (IDs in
	// the path replaced by "id:*").
	Methods map[string]int64
}

var (
	soapMethod = regexp.MustCompile(`(?s)Body[^>]*>\s*<(?:\w+:)?(\w+)`)
	restID     = regexp.MustCompile(`/id:[^/]*`)
)

// NewCountingProxy starts a counting proxy to target (the simulator's host:port); it stops at
// the end of the test or benchmark, or at Close.
func NewCountingProxy(tb testing.TB, target string) *CountingProxy {
	tb.Helper()
	p := &CountingProxy{counts: RequestCounts{Methods: map[string]int64{}}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme = "https"
			r.Out.URL.Host = target
			r.Out.Host = target
		},
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, MaxIdleConnsPerHost: 64}, //nolint:gosec // the simulator's self-signed certificate
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := r.Method + " " + restID.ReplaceAllString(r.URL.Path, "/id:*")
		soap := r.Method == http.MethodPost && r.URL.Path == "/sdk"
		if soap {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			method = "?"
			if m := soapMethod.FindSubmatch(body); m != nil {
				method = string(m[1])
			}
		}
		p.mu.Lock()
		if soap {
			p.counts.SOAP++
		} else {
			p.counts.Other++
		}
		p.counts.Methods[method]++
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	var once sync.Once
	p.close = func() { once.Do(srv.Close) }
	tb.Cleanup(p.close)
	p.Host = strings.TrimPrefix(srv.URL, "https://")
	return p
}

// Close stops the proxy; the test's cleanup also does.
func (p *CountingProxy) Close() { p.close() }

// Snapshot is a copy of the counts so far.
func (p *CountingProxy) Snapshot() RequestCounts {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.counts
	c.Methods = make(map[string]int64, len(p.counts.Methods))
	for k, v := range p.counts.Methods {
		c.Methods[k] = v
	}
	return c
}

// Since is what the proxy counted after the snapshot.
func (p *CountingProxy) Since(before RequestCounts) RequestCounts {
	return p.Snapshot().Minus(before)
}

// Total is the number of requests of every kind.
func (c RequestCounts) Total() int64 { return c.SOAP + c.Other }

// Minus is c without o.
func (c RequestCounts) Minus(o RequestCounts) RequestCounts { return c.add(o, -1) }

// Plus is c and o together.
func (c RequestCounts) Plus(o RequestCounts) RequestCounts { return c.add(o, 1) }

func (c RequestCounts) add(o RequestCounts, sign int64) RequestCounts {
	d := RequestCounts{SOAP: c.SOAP + sign*o.SOAP, Other: c.Other + sign*o.Other, Methods: map[string]int64{}}
	for k, v := range c.Methods {
		d.Methods[k] += v
	}
	for k, v := range o.Methods {
		d.Methods[k] += sign * v
	}
	for k, v := range d.Methods {
		if v == 0 {
			delete(d.Methods, k)
		}
	}
	return d
}

// PerRun describes the counts divided by the number of runs, by method, most frequent first.
func (c RequestCounts) PerRun(n int) string {
	type kv struct {
		k string
		v int64
	}
	var all []kv
	for k, v := range c.Methods {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v || all[i].v == all[j].v && all[i].k < all[j].k })
	parts := make([]string, 0, len(all))
	for _, e := range all {
		parts = append(parts, fmt.Sprintf("%s %.1f", e.k, float64(e.v)/float64(n)))
	}
	return fmt.Sprintf("%.1f SOAP round trips, %.1f other requests (%s)", float64(c.SOAP)/float64(n), float64(c.Other)/float64(n), strings.Join(parts, ", "))
}

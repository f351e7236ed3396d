package acctest

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/logging"
	"github.com/open-policy-agent/opa/v1/runtime"
)

// StartOPA serves policyDir with a real OPA server (OPA's own runtime, in-process) on a free
// loopback port and returns its URL. The server runs until the test ends or stop is called
// (once; later calls do nothing); stopped, its address refuses connections.
func StartOPA(tb testing.TB, policyDir string) (url string, stop func()) {
	tb.Helper()
	params := runtime.NewParams()
	addrs := []string{"127.0.0.1:0"}
	params.Addrs = &addrs
	params.AddrSetByUser = true
	params.Paths = []string{policyDir}
	params.Logger = logging.NewNoOpLogger()
	params.ConsoleLogger = logging.NewNoOpLogger()
	params.Output = io.Discard
	ctx, cancel := context.WithCancel(context.Background())
	rt, err := runtime.NewRuntime(ctx, params)
	if err != nil {
		cancel()
		tb.Fatalf("starting OPA: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- rt.Serve(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				tb.Errorf("OPA did not stop")
			}
		})
	}
	tb.Cleanup(stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if a := rt.Addrs(); len(a) > 0 {
			return "http://" + a[0], stop
		}
		select {
		case err := <-done:
			tb.Fatalf("OPA stopped while starting: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatal("OPA did not start listening within 10s")
		}
	}
}

package acctest

import (
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest/countproxy"
)

// CountingProxy is countproxy.CountingProxy: an HTTPS reverse proxy in front of the simulator
// that counts the SOAP and vAPI requests it forwards.
type CountingProxy = countproxy.CountingProxy

// RequestCounts is what a CountingProxy counted.
type RequestCounts = countproxy.RequestCounts

// NewCountingProxy starts a counting proxy to target (the simulator's host:port); it stops at
// the end of the test or benchmark, or at Close.
func NewCountingProxy(tb testing.TB, target string) *CountingProxy {
	return countproxy.NewCountingProxy(tb, target)
}

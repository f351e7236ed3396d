package vsphere

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// Stats counts the SOAP round trips a client made; benchmarks and tests read it.
type Stats struct {
	roundTrips atomic.Int64
	retries    atomic.Int64
	relogins   atomic.Int64
}

// RoundTrips is the number of SOAP requests sent, retries included.
func (s *Stats) RoundTrips() int64 { return s.roundTrips.Load() }

// Retries is the number of requests that were sent again after a transient fault.
func (s *Stats) Retries() int64 { return s.retries.Load() }

// Relogins is the number of times a stale session was replaced.
func (s *Stats) Relogins() int64 { return s.relogins.Load() }

type countingRoundTripper struct {
	next  soap.RoundTripper
	stats *Stats
	log   Logger
}

func (c *countingRoundTripper) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	n := c.stats.roundTrips.Add(1)
	start := time.Now()
	err := c.next.RoundTrip(ctx, req, res)
	if c.log != nil {
		method := soapMethod(req)
		fields := map[string]any{"method": method, "round_trip": n, "duration_ms": time.Since(start).Milliseconds()}
		if err != nil {
			fields["error"] = err.Error()
		}
		if isReadMethod(method) {
			c.log.Trace(ctx, "vCenter call", fields)
		} else {
			c.log.Debug(ctx, "vCenter call", fields)
		}
	}
	return err
}

// retryRoundTripper retries calls that failed for a transient reason and are safe to send again
// (retryable), with exponential backoff that honours the caller's context. Faults that describe
// the request itself are never retried.
type retryRoundTripper struct {
	next     soap.RoundTripper
	attempts int
	stats    *Stats
	// base is the first backoff delay; it doubles on each attempt.
	base time.Duration
}

func (r *retryRoundTripper) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	delay := r.base
	if delay == 0 {
		delay = 200 * time.Millisecond
	}
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			resetResponse(res)
		}
		err := r.next.RoundTrip(ctx, req, res)
		if err == nil || attempt >= r.attempts || !retryable(req, err) || ctx.Err() != nil {
			return err
		}
		if r.stats != nil {
			r.stats.retries.Add(1)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		delay *= 2
	}
}

// retryable reports whether a call that failed with err may be sent again. A read (told by its
// SOAP method) may, after any transient fault. A write may only when it provably did nothing: it
// never left this process (the connection to vCenter could not be opened), or vCenter answered
// that the object was busy. A write whose connection broke after it was sent (a reset, a
// timeout) is not sent again: vCenter may have done it, and a CloneVM_Task sent twice makes two
// VMs.
func retryable(req soap.HasFault, err error) bool {
	if !IsTransient(err) {
		return false
	}
	if isReadMethod(soapMethod(req)) {
		return true
	}
	return notSent(err) || fault.Is(err, &types.TaskInProgress{}) || fault.Is(err, &types.ResourceInUse{})
}

// notSent reports whether err proves that the request never reached vCenter: the connection
// could not be opened (refused, unreachable, unknown host, dial timeout, proxy refused).
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect")
}

// readPrefixes are the prefixes of the vSphere API methods that only read: sent twice, they
// change nothing in vCenter.
var readPrefixes = []string{"Retrieve", "ContinueRetrieve", "Find", "Query", "Fetch", "Browse", "Has"}

// readMethods are the other methods that only read.
var readMethods = map[string]bool{
	"CurrentTime":      true,
	"SessionIsActive":  true,
	"CheckForUpdates":  true,
	"WaitForUpdates":   true,
	"WaitForUpdatesEx": true,
}

// isReadMethod reports whether a SOAP method only reads.
func isReadMethod(method string) bool {
	if readMethods[method] {
		return true
	}
	for _, p := range readPrefixes {
		if strings.HasPrefix(method, p) {
			return true
		}
	}
	return false
}

// soapMethod is the vSphere API method of a request: govmomi's request bodies are named after
// it (methods.RetrievePropertiesExBody, methods.CloneVM_TaskBody).
func soapMethod(req soap.HasFault) string {
	t := reflect.TypeOf(req)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return ""
	}
	return strings.TrimSuffix(t.Name(), "Body")
}

// IsTransient reports whether a failed call may succeed if sent again unchanged: network
// errors and the vCenter faults that mean "busy, try later". Whether it is safe to send again is
// retryable's question.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if vim25.IsTemporaryNetworkError(err) {
		return true
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		return true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return true
	}
	// The server (or a load balancer) closed the connection without an answer.
	var uerr *url.Error
	if errors.As(err, &uerr) && (errors.Is(uerr.Err, io.EOF) || errors.Is(uerr.Err, io.ErrUnexpectedEOF)) {
		return true
	}
	return fault.Is(err, &types.HostCommunication{}) ||
		fault.Is(err, &types.TaskInProgress{}) ||
		fault.Is(err, &types.ResourceInUse{}) ||
		fault.Is(err, &types.RequestCanceled{}) ||
		fault.Is(err, &types.SystemError{})
}

// reauthRoundTripper replaces a stale session once when vCenter answers NotAuthenticated,
// then sends the request again.
type reauthRoundTripper struct {
	next  soap.RoundTripper
	login func(context.Context) error
	stats *Stats
	mu    sync.Mutex
	gen   int // incremented on every successful re-login
}

func (r *reauthRoundTripper) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	for attempt := 0; ; attempt++ {
		r.mu.Lock()
		gen := r.gen
		r.mu.Unlock()
		err := r.next.RoundTrip(ctx, req, res)
		if err == nil && unauthenticatedRead(res) {
			// vCenter answers a property read on a dead session with the objects, each property
			// missing for NotAuthenticated, rather than with a fault.
			err = soap.WrapVimFault(&types.NotAuthenticated{})
		} else if err == nil || !isNotAuthenticated(err) {
			return err
		}
		// vCenter refused the call without running it, so sending it again is safe, writes
		// included. A session can be ended again right after a re-login (an administrator
		// ending them all): a few rounds, not one.
		if attempt >= maxRelogins {
			return err
		}
		r.mu.Lock()
		// Parallel calls that failed on the same stale session share one re-login.
		if r.gen == gen {
			if lerr := r.login(ctx); lerr != nil {
				r.mu.Unlock()
				return errors.Join(err, lerr)
			}
			r.gen++
			if r.stats != nil {
				r.stats.relogins.Add(1)
			}
		}
		r.mu.Unlock()
		resetResponse(res)
	}
}

// maxRelogins bounds the re-logins one call may cause.
const maxRelogins = 3

// generation counts the re-logins so far: a caller that notes it before a call can tell
// afterwards whether the session was replaced meanwhile (and its session-scoped objects lost).
func (r *reauthRoundTripper) generation() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gen
}

func isNotAuthenticated(err error) bool {
	return fault.Is(err, &types.NotAuthenticated{})
}

// unauthenticatedRead reports whether a PropertyCollector answer says that the session is not
// authenticated.
func unauthenticatedRead(res soap.HasFault) bool {
	var objects []types.ObjectContent
	switch b := res.(type) {
	case *methods.RetrievePropertiesExBody:
		if b.Res != nil && b.Res.Returnval != nil {
			objects = b.Res.Returnval.Objects
		}
	case *methods.ContinueRetrievePropertiesExBody:
		if b.Res != nil {
			objects = b.Res.Returnval.Objects
		}
	case *methods.RetrievePropertiesBody:
		if b.Res != nil {
			objects = b.Res.Returnval
		}
	}
	for _, oc := range objects {
		for _, m := range oc.MissingSet {
			if _, ok := m.Fault.Fault.(*types.NotAuthenticated); ok {
				return true
			}
		}
	}
	return false
}

// resetResponse clears a response body before the request is sent again: the SOAP client decodes
// into the same value, and would otherwise keep the fault (or the objects) of the first answer.
func resetResponse(res soap.HasFault) {
	v := reflect.ValueOf(res)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return
	}
	for _, name := range []string{"Res", "Fault_"} {
		if f := v.Elem().FieldByName(name); f.IsValid() && f.CanSet() {
			f.SetZero()
		}
	}
}

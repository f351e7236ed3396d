package vsphere

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// timeoutErr is a net.Error that timed out.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func soapFault(f types.BaseMethodFault) error {
	return soap.WrapSoapFault(&soap.Fault{Code: "ServerFaultCode", String: fmt.Sprintf("%T", f), Detail: struct {
		Fault types.AnyType `xml:",any,typeattr"`
	}{Fault: f}})
}

func TestIsTransient(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain error", errors.New("boom"), false},
		{"EOF", io.EOF, false},
		{"connection refused", refused, true},
		{"wrapped connection refused", fmt.Errorf("calling vCenter: %w", refused), true},
		{"url error around a reset", &url.Error{Op: "Post", URL: "https://vc/sdk", Err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}}, true},
		{"timeout", timeoutErr{}, true},
		{"url error around a timeout", &url.Error{Op: "Post", URL: "https://vc/sdk", Err: timeoutErr{}}, true},
		{"context canceled", context.Canceled, false},
		{"context deadline", context.DeadlineExceeded, false},
		{"url error around context canceled", &url.Error{Op: "Post", URL: "https://vc/sdk", Err: context.Canceled}, false},
		{"wrapped deadline", fmt.Errorf("waiting: %w", context.DeadlineExceeded), false},
		{"InvalidArgument fault", soap.WrapVimFault(&types.InvalidArgument{InvalidProperty: "spec"}), false},
		{"InvalidArgument soap fault", soapFault(&types.InvalidArgument{}), false},
		{"DuplicateName fault", soapFault(&types.DuplicateName{Name: "x"}), false},
		{"NotAuthenticated fault", soapFault(&types.NotAuthenticated{}), false},
		{"ManagedObjectNotFound fault", soapFault(&types.ManagedObjectNotFound{}), false},
		{"InsufficientResourcesFault", soapFault(&types.InsufficientResourcesFault{}), false},
		{"TaskInProgress vim fault", soap.WrapVimFault(&types.TaskInProgress{}), true},
		{"TaskInProgress soap fault", soapFault(&types.TaskInProgress{}), true},
		{"wrapped TaskInProgress", fmt.Errorf("creating pool: %w", soapFault(&types.TaskInProgress{})), true},
		{"HostCommunication fault", soapFault(&types.HostCommunication{}), true},
		{"ResourceInUse fault", soapFault(&types.ResourceInUse{}), true},
		{"RequestCanceled fault", soapFault(&types.RequestCanceled{}), true},
		{"SystemError fault", soapFault(&types.SystemError{}), true},
		{"task error TaskInProgress", task.Error{LocalizedMethodFault: &types.LocalizedMethodFault{Fault: &types.TaskInProgress{}}}, true},
		{"task error InvalidArgument", task.Error{LocalizedMethodFault: &types.LocalizedMethodFault{Fault: &types.InvalidArgument{}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsTransient(tt.err); got != tt.want {
				t.Errorf("IsTransient(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// step is one scripted answer of fakeRT: it fills in the response like the SOAP client decoding
// the server's answer, and returns the client's error.
type step func(res soap.HasFault) error

// fakeRT answers round trips from a script; the last step repeats.
type fakeRT struct {
	mu    sync.Mutex
	steps []step
	calls int
}

func (f *fakeRT) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	f.mu.Lock()
	i := min(f.calls, len(f.steps)-1)
	f.calls++
	s := f.steps[i]
	f.mu.Unlock()
	return s(res)
}

func (f *fakeRT) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func fail(err error) step { return func(soap.HasFault) error { return err } }

// faultStep decodes a SOAP fault into the response, as soap.Client does for an HTTP 500 answer.
func faultStep(f types.BaseMethodFault) step {
	return func(res soap.HasFault) error {
		body := res.(*methods.CreateResourcePoolBody)
		body.Fault_ = &soap.Fault{Code: "ServerFaultCode", String: fmt.Sprintf("%T", f)}
		body.Fault_.Detail.Fault = f
		return soap.WrapSoapFault(body.Fault_)
	}
}

// okStep decodes a successful answer into the response. Like soap.Client (which decodes into
// the same value) it reports a fault still present in the response.
func okStep(id string) step {
	return func(res soap.HasFault) error {
		body := res.(*methods.CreateResourcePoolBody)
		body.Res = &types.CreateResourcePoolResponse{Returnval: types.ManagedObjectReference{Type: "ResourcePool", Value: id}}
		if f := res.Fault(); f != nil {
			return soap.WrapSoapFault(f)
		}
		return nil
	}
}

func createReq() (*methods.CreateResourcePoolBody, *methods.CreateResourcePoolBody) {
	return &methods.CreateResourcePoolBody{Req: &types.CreateResourcePool{Name: "p"}}, &methods.CreateResourcePoolBody{}
}

var transientErr = &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}

func TestRetryRoundTripper(t *testing.T) {
	tests := []struct {
		name        string
		attempts    int
		steps       []step
		wantCalls   int
		wantRetries int64
		wantErr     bool
	}{
		{"success first time", 3, []step{okStep("resgroup-1")}, 1, 0, false},
		{"two network errors then success", 3, []step{fail(transientErr), fail(transientErr), okStep("resgroup-1")}, 3, 2, false},
		{"busy faults then success", 3, []step{faultStep(&types.TaskInProgress{}), faultStep(&types.HostCommunication{}), okStep("resgroup-1")}, 3, 2, false},
		{"gives up after the attempts", 2, []step{fail(transientErr)}, 3, 2, true},
		{"retries disabled", 0, []step{fail(transientErr), okStep("resgroup-1")}, 1, 0, true},
		{"non-transient error", 3, []step{fail(errors.New("bad request")), okStep("resgroup-1")}, 1, 0, true},
		{"non-transient fault", 3, []step{faultStep(&types.InvalidArgument{}), okStep("resgroup-1")}, 1, 0, true},
		{"not authenticated is for the re-login, not the retry", 3, []step{faultStep(&types.NotAuthenticated{}), okStep("resgroup-1")}, 1, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeRT{steps: tt.steps}
			stats := &Stats{}
			rt := &retryRoundTripper{next: fake, attempts: tt.attempts, stats: stats, base: 1}
			req, res := createReq()
			err := rt.RoundTrip(context.Background(), req, res)
			if (err != nil) != tt.wantErr {
				t.Fatalf("RoundTrip error = %v, want error: %v", err, tt.wantErr)
			}
			if got := fake.Calls(); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
			if got := stats.Retries(); got != tt.wantRetries {
				t.Errorf("Retries() = %d, want %d", got, tt.wantRetries)
			}
			if !tt.wantErr && (res.Res == nil || res.Res.Returnval.Value != "resgroup-1") {
				t.Errorf("response = %+v, want the successful answer", res.Res)
			}
			if !tt.wantErr && res.Fault() != nil {
				t.Errorf("the successful response still carries the fault of an earlier attempt: %v", res.Fault())
			}
		})
	}
}

func TestRetryStopsWhenContextCanceled(t *testing.T) {
	t.Run("before the call returns", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		fake := &fakeRT{steps: []step{func(soap.HasFault) error {
			cancel() // the caller gives up while the call is in flight
			return transientErr
		}}}
		rt := &retryRoundTripper{next: fake, attempts: 5, stats: &Stats{}, base: 1}
		req, res := createReq()
		if err := rt.RoundTrip(ctx, req, res); err == nil {
			t.Fatal("RoundTrip succeeded")
		}
		if got := fake.Calls(); got != 1 {
			t.Errorf("calls = %d, want 1: a canceled call is not retried", got)
		}
	})
	t.Run("during the backoff", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		fake := &fakeRT{steps: []step{fail(transientErr)}}
		stats := &Stats{}
		// The backoff is far longer than any test run: only the cancel can end it.
		rt := &retryRoundTripper{next: fake, attempts: 5, stats: stats, base: 1 << 62}
		go func() {
			for stats.Retries() == 0 { // the retry is counted just before the backoff starts
				runtime.Gosched()
			}
			cancel()
		}()
		req, res := createReq()
		err := rt.RoundTrip(ctx, req, res)
		if !errors.Is(err, transientErr) {
			t.Fatalf("RoundTrip error = %v, want the last call's error", err)
		}
		if got := fake.Calls(); got != 1 {
			t.Errorf("calls = %d, want 1: nothing is sent after the cancel", got)
		}
	})
}

func TestCountingRoundTripper(t *testing.T) {
	fake := &fakeRT{steps: []step{fail(transientErr), okStep("resgroup-1")}}
	stats := &Stats{}
	// As in Connect: the counter sits below the retry, so retries are counted as round trips.
	rt := &retryRoundTripper{next: &countingRoundTripper{next: fake, stats: stats}, attempts: 3, stats: stats, base: 1}
	req, res := createReq()
	if err := rt.RoundTrip(context.Background(), req, res); err != nil {
		t.Fatal(err)
	}
	if got := stats.RoundTrips(); got != 2 {
		t.Errorf("RoundTrips() = %d, want 2", got)
	}
	if got := stats.Retries(); got != 1 {
		t.Errorf("Retries() = %d, want 1", got)
	}
}

func TestReauthRoundTripper(t *testing.T) {
	t.Run("re-logs in once and resends", func(t *testing.T) {
		fake := &fakeRT{steps: []step{faultStep(&types.NotAuthenticated{}), okStep("resgroup-7")}}
		var logins int
		stats := &Stats{}
		rt := &reauthRoundTripper{next: fake, stats: stats, login: func(context.Context) error { logins++; return nil }}
		req, res := createReq()
		if err := rt.RoundTrip(context.Background(), req, res); err != nil {
			t.Fatalf("RoundTrip: %v", err)
		}
		if logins != 1 || stats.Relogins() != 1 || fake.Calls() != 2 {
			t.Errorf("logins = %d, Relogins() = %d, calls = %d; want 1, 1, 2", logins, stats.Relogins(), fake.Calls())
		}
		if res.Res == nil || res.Res.Returnval.Value != "resgroup-7" {
			t.Errorf("response = %+v, want the resent call's answer", res.Res)
		}
	})
	t.Run("other errors pass through", func(t *testing.T) {
		fake := &fakeRT{steps: []step{faultStep(&types.InvalidArgument{}), okStep("resgroup-7")}}
		var logins int
		rt := &reauthRoundTripper{next: fake, stats: &Stats{}, login: func(context.Context) error { logins++; return nil }}
		req, res := createReq()
		if err := rt.RoundTrip(context.Background(), req, res); err == nil {
			t.Fatal("RoundTrip succeeded")
		}
		if logins != 0 || fake.Calls() != 1 {
			t.Errorf("logins = %d, calls = %d; want 0, 1", logins, fake.Calls())
		}
	})
	t.Run("failed re-login keeps both errors", func(t *testing.T) {
		fake := &fakeRT{steps: []step{faultStep(&types.NotAuthenticated{})}}
		loginErr := &LoginError{Server: "vc", User: "u", Reason: "vCenter rejected the user name or password", Err: errors.New("InvalidLogin")}
		stats := &Stats{}
		rt := &reauthRoundTripper{next: fake, stats: stats, login: func(context.Context) error { return loginErr }}
		req, res := createReq()
		err := rt.RoundTrip(context.Background(), req, res)
		if !isNotAuthenticated(err) {
			t.Errorf("error %v lost the NotAuthenticated fault", err)
		}
		var le *LoginError
		if !errors.As(err, &le) {
			t.Errorf("error %v lost the login error", err)
		}
		if stats.Relogins() != 0 || fake.Calls() != 1 {
			t.Errorf("Relogins() = %d, calls = %d; want 0, 1", stats.Relogins(), fake.Calls())
		}
	})
	t.Run("still not authenticated after the re-login", func(t *testing.T) {
		fake := &fakeRT{steps: []step{faultStep(&types.NotAuthenticated{})}}
		var logins int
		rt := &reauthRoundTripper{next: fake, stats: &Stats{}, login: func(context.Context) error { logins++; return nil }}
		req, res := createReq()
		if err := rt.RoundTrip(context.Background(), req, res); !isNotAuthenticated(err) {
			t.Errorf("RoundTrip error = %v, want NotAuthenticated", err)
		}
		if logins != 1 || fake.Calls() != 2 {
			t.Errorf("logins = %d, calls = %d; want 1, 2 (no login loop)", logins, fake.Calls())
		}
	})
	t.Run("concurrent calls share one re-login", func(t *testing.T) {
		const n = 8
		// Every call fails until the one re-login happened, then succeeds.
		var loggedIn atomic.Bool
		var sent sync.WaitGroup
		sent.Add(n)
		release := make(chan struct{})
		next := soapRoundTripperFunc(func(ctx context.Context, req, res soap.HasFault) error {
			if !loggedIn.Load() {
				sent.Done()
				<-release // all n calls are in flight on the dead session
				return faultStep(&types.NotAuthenticated{})(res)
			}
			return okStep("resgroup-1")(res)
		})
		var logins atomic.Int32
		stats := &Stats{}
		rt := &reauthRoundTripper{next: next, stats: stats, login: func(context.Context) error {
			logins.Add(1)
			loggedIn.Store(true)
			return nil
		}}
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			go func() {
				req, res := createReq()
				errs <- rt.RoundTrip(context.Background(), req, res)
			}()
		}
		sent.Wait()
		close(release)
		for i := 0; i < n; i++ {
			if err := <-errs; err != nil {
				t.Errorf("call %d: %v", i, err)
			}
		}
		if got := logins.Load(); got != 1 {
			t.Errorf("%d re-logins for %d calls on one dead session, want 1", got, n)
		}
		if got := stats.Relogins(); got != 1 {
			t.Errorf("Relogins() = %d, want 1", got)
		}
	})
}

// TestReauthOnUnauthenticatedRead covers vCenter's answer to a property read on a dead session:
// no fault, but every property missing with NotAuthenticated.
func TestReauthOnUnauthenticatedRead(t *testing.T) {
	obj := types.ManagedObjectReference{Type: "ResourcePool", Value: "resgroup-1"}
	calls := 0
	next := soapRoundTripperFunc(func(ctx context.Context, req, res soap.HasFault) error {
		calls++
		body := res.(*methods.RetrievePropertiesExBody)
		if body.Res == nil {
			body.Res = &types.RetrievePropertiesExResponse{Returnval: &types.RetrieveResult{}}
		}
		oc := types.ObjectContent{Obj: obj}
		if calls == 1 {
			oc.MissingSet = []types.MissingProperty{{Path: "name", Fault: types.LocalizedMethodFault{Fault: &types.NotAuthenticated{}}}}
		} else {
			oc.PropSet = []types.DynamicProperty{{Name: "name", Val: "p"}}
		}
		// Like the XML decoder, append to what the response already holds.
		body.Res.Returnval.Objects = append(body.Res.Returnval.Objects, oc)
		return nil
	})
	stats := &Stats{}
	logins := 0
	rt := &reauthRoundTripper{next: next, stats: stats, login: func(context.Context) error { logins++; return nil }}
	req := &methods.RetrievePropertiesExBody{Req: &types.RetrievePropertiesEx{}}
	res := &methods.RetrievePropertiesExBody{}
	if err := rt.RoundTrip(context.Background(), req, res); err != nil {
		t.Fatal(err)
	}
	if logins != 1 || stats.Relogins() != 1 || calls != 2 {
		t.Errorf("logins = %d, Relogins() = %d, calls = %d; want 1, 1, 2", logins, stats.Relogins(), calls)
	}
	if objs := res.Res.Returnval.Objects; len(objs) != 1 || len(objs[0].MissingSet) != 0 {
		t.Errorf("response objects = %+v, want only the second answer", objs)
	}

	// A property missing for another reason (no permission) is not a dead session.
	calls, logins = 0, 0
	denied := soapRoundTripperFunc(func(ctx context.Context, req, res soap.HasFault) error {
		calls++
		res.(*methods.RetrievePropertiesExBody).Res = &types.RetrievePropertiesExResponse{Returnval: &types.RetrieveResult{Objects: []types.ObjectContent{{
			Obj:        obj,
			MissingSet: []types.MissingProperty{{Path: "name", Fault: types.LocalizedMethodFault{Fault: &types.NoPermission{}}}},
		}}}}
		return nil
	})
	rt = &reauthRoundTripper{next: denied, stats: &Stats{}, login: func(context.Context) error { logins++; return nil }}
	if err := rt.RoundTrip(context.Background(), req, &methods.RetrievePropertiesExBody{}); err != nil {
		t.Fatal(err)
	}
	if logins != 0 || calls != 1 {
		t.Errorf("NoPermission caused %d re-logins and %d calls, want 0 and 1", logins, calls)
	}
}

type soapRoundTripperFunc func(ctx context.Context, req, res soap.HasFault) error

func (f soapRoundTripperFunc) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	return f(ctx, req, res)
}

func TestIsNotFound(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", errors.New("not found"), false},
		{"ours", notFound("resource pool", "resgroup-1", nil), true},
		{"ours wrapped", fmt.Errorf("reading: %w", notFound("cluster", "c", nil)), true},
		{"finder", &find.NotFoundError{}, true},
		{"finder wrapped", fmt.Errorf("x: %w", &find.NotFoundError{}), true},
		{"ManagedObjectNotFound soap fault", soapFault(&types.ManagedObjectNotFound{Obj: types.ManagedObjectReference{Type: "ResourcePool", Value: "resgroup-1"}}), true},
		{"ManagedObjectNotFound vim fault wrapped", fmt.Errorf("x: %w", soap.WrapVimFault(&types.ManagedObjectNotFound{})), true},
		{"other fault", soapFault(&types.InvalidArgument{}), false},
		{"vSphere NotFound fault is not an object lookup", soapFault(&types.NotFound{}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsNotFound(tt.err); got != tt.want {
				t.Errorf("IsNotFound(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestWrapNotFound(t *testing.T) {
	mnf := soapFault(&types.ManagedObjectNotFound{})
	err := wrapNotFound("resource pool", "resgroup-9", mnf)
	var nf *NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("wrapNotFound(ManagedObjectNotFound) = %T, want *NotFoundError", err)
	}
	if nf.Kind != "resource pool" || nf.Name != "resgroup-9" {
		t.Errorf("NotFoundError = %+v", nf)
	}
	if want := `resource pool "resgroup-9" not found`; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
	if !errors.Is(err, mnf) {
		t.Error("the NotFoundError does not wrap the fault")
	}

	ours := notFound("cluster", "c1", nil)
	if got := wrapNotFound("resource pool", "x", ours); got != ours {
		t.Errorf("wrapNotFound re-wrapped our own error: %v", got)
	}
	other := errors.New("boom")
	if got := wrapNotFound("resource pool", "x", other); got != other {
		t.Errorf("wrapNotFound changed an unrelated error: %v", got)
	}
	if wrapNotFound("resource pool", "x", nil) != nil {
		t.Error("wrapNotFound(nil) != nil")
	}
}

package vsphere

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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
		Fault types.AnyType `xml:",any,typeattr"` //nolint:staticcheck // typeattr is govmomi's xml option (vim25/xml), not encoding/xml's
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
		{"server hung up (EOF of the HTTP call)", &url.Error{Op: "Post", URL: "https://vc/sdk", Err: io.EOF}, true},
		{"server hung up mid-answer", &url.Error{Op: "Post", URL: "https://vc/sdk", Err: io.ErrUnexpectedEOF}, true},
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
		sf := &soap.Fault{Code: "ServerFaultCode", String: fmt.Sprintf("%T", f)}
		sf.Detail.Fault = f
		switch body := res.(type) {
		case *methods.CreateResourcePoolBody:
			body.Fault_ = sf
		case *methods.FindByInventoryPathBody:
			body.Fault_ = sf
		}
		return soap.WrapSoapFault(sf)
	}
}

// okStep decodes a successful answer into the response. Like soap.Client (which decodes into
// the same value) it reports a fault still present in the response.
func okStep(id string) step {
	return func(res soap.HasFault) error {
		ref := types.ManagedObjectReference{Type: "ResourcePool", Value: id}
		switch body := res.(type) {
		case *methods.CreateResourcePoolBody:
			body.Res = &types.CreateResourcePoolResponse{Returnval: ref}
		case *methods.FindByInventoryPathBody:
			body.Res = &types.FindByInventoryPathResponse{Returnval: &ref}
		}
		if f := res.Fault(); f != nil {
			return soap.WrapSoapFault(f)
		}
		return nil
	}
}

// answer is the object ID a scripted response carries, "" for none.
func answer(res soap.HasFault) string {
	switch body := res.(type) {
	case *methods.CreateResourcePoolBody:
		if body.Res != nil {
			return body.Res.Returnval.Value
		}
	case *methods.FindByInventoryPathBody:
		if body.Res != nil && body.Res.Returnval != nil {
			return body.Res.Returnval.Value
		}
	}
	return ""
}

// createReq is a write: CreateResourcePool.
func createReq() (*methods.CreateResourcePoolBody, *methods.CreateResourcePoolBody) {
	return &methods.CreateResourcePoolBody{Req: &types.CreateResourcePool{Name: "p"}}, &methods.CreateResourcePoolBody{}
}

// findReq is a read: FindByInventoryPath.
func findReq() (*methods.FindByInventoryPathBody, *methods.FindByInventoryPathBody) {
	return &methods.FindByInventoryPathBody{Req: &types.FindByInventoryPath{InventoryPath: "/dc1/host/prod"}}, &methods.FindByInventoryPathBody{}
}

// transientErr is a connection reset while the call was in flight: vCenter may have received it.
var transientErr = &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}

// refusedErr is a connection that could not be opened: the call never left this process.
var refusedErr = &url.Error{Op: "Post", URL: "https://vc/sdk", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}

func TestRetryRoundTripper(t *testing.T) {
	tests := []struct {
		name        string
		write       bool // CreateResourcePool rather than FindByInventoryPath
		attempts    int
		steps       []step
		wantCalls   int
		wantRetries int64
		wantErr     bool
	}{
		{"success first time", false, 3, []step{okStep("resgroup-1")}, 1, 0, false},
		{"read: two network errors then success", false, 3, []step{fail(transientErr), fail(transientErr), okStep("resgroup-1")}, 3, 2, false},
		{"read: timeouts then success", false, 3, []step{fail(timeoutErr{}), fail(&url.Error{Op: "Post", Err: timeoutErr{}}), okStep("resgroup-1")}, 3, 2, false},
		{"read: busy faults then success", false, 3, []step{faultStep(&types.HostCommunication{}), faultStep(&types.SystemError{}), okStep("resgroup-1")}, 3, 2, false},
		{"read: gives up after the attempts", false, 2, []step{fail(transientErr)}, 3, 2, true},
		{"read: retries disabled", false, 0, []step{fail(transientErr), okStep("resgroup-1")}, 1, 0, true},
		{"read: non-transient error", false, 3, []step{fail(errors.New("bad request")), okStep("resgroup-1")}, 1, 0, true},
		{"read: non-transient fault", false, 3, []step{faultStep(&types.InvalidArgument{}), okStep("resgroup-1")}, 1, 0, true},
		{"not authenticated is for the re-login, not the retry", false, 3, []step{faultStep(&types.NotAuthenticated{}), okStep("resgroup-1")}, 1, 0, true},
		{"write: connection refused then success", true, 3, []step{fail(refusedErr), fail(refusedErr), okStep("resgroup-1")}, 3, 2, false},
		{"write: the object was busy, then success", true, 3, []step{faultStep(&types.TaskInProgress{}), faultStep(&types.ResourceInUse{}), okStep("resgroup-1")}, 3, 2, false},
		{"write: connection reset after sending is not resent", true, 3, []step{fail(transientErr), okStep("resgroup-1")}, 1, 0, true},
		{"write: timeout after sending is not resent", true, 3, []step{fail(&url.Error{Op: "Post", Err: timeoutErr{}}), okStep("resgroup-1")}, 1, 0, true},
		{"write: a system error may have done part of it", true, 3, []step{faultStep(&types.SystemError{}), okStep("resgroup-1")}, 1, 0, true},
		{"write: non-transient fault", true, 3, []step{faultStep(&types.InvalidArgument{}), okStep("resgroup-1")}, 1, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeRT{steps: tt.steps}
			stats := &Stats{}
			rt := &retryRoundTripper{next: fake, attempts: tt.attempts, stats: stats, base: 1}
			var req, res soap.HasFault
			if tt.write {
				req, res = createReq()
			} else {
				req, res = findReq()
			}
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
			if !tt.wantErr && answer(res) != "resgroup-1" {
				t.Errorf("response = %+v, want the successful answer", res)
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
		req, res := findReq()
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
		req, res := findReq()
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
	req, res := findReq()
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
		if logins != maxRelogins || fake.Calls() != maxRelogins+1 {
			t.Errorf("logins = %d, calls = %d; want %d, %d (a bounded number of re-logins)", logins, fake.Calls(), maxRelogins, maxRelogins+1)
		}
	})
	t.Run("session ended again right after the re-login", func(t *testing.T) {
		fake := &fakeRT{steps: []step{faultStep(&types.NotAuthenticated{}), faultStep(&types.NotAuthenticated{}), okStep("task-1")}}
		var logins int
		rt := &reauthRoundTripper{next: fake, stats: &Stats{}, login: func(context.Context) error { logins++; return nil }}
		req, res := createReq()
		if err := rt.RoundTrip(context.Background(), req, res); err != nil {
			t.Errorf("RoundTrip error = %v, want success after the second re-login", err)
		}
		if logins != 2 || fake.Calls() != 3 {
			t.Errorf("logins = %d, calls = %d; want 2, 3", logins, fake.Calls())
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

func TestSoapMethod(t *testing.T) {
	tests := []struct {
		req  soap.HasFault
		want string
	}{
		{&methods.RetrievePropertiesExBody{}, "RetrievePropertiesEx"},
		{&methods.ContinueRetrievePropertiesExBody{}, "ContinueRetrievePropertiesEx"},
		{&methods.CloneVM_TaskBody{}, "CloneVM_Task"},
		{&methods.CreateResourcePoolBody{}, "CreateResourcePool"},
		{&methods.WaitForUpdatesExBody{}, "WaitForUpdatesEx"},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := soapMethod(tt.req); got != tt.want {
			t.Errorf("soapMethod(%T) = %q, want %q", tt.req, got, tt.want)
		}
	}
}

func TestRetryable(t *testing.T) {
	reset := fmt.Errorf("calling vCenter: %w", &url.Error{Op: "Post", URL: "https://vc/sdk", Err: transientErr})
	timeout := &url.Error{Op: "Post", URL: "https://vc/sdk", Err: timeoutErr{}}
	dialTimeout := &url.Error{Op: "Post", URL: "https://vc/sdk", Err: &net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}}}
	noHost := &url.Error{Op: "Post", URL: "https://vc/sdk", Err: &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "vc", IsNotFound: true}}}
	proxy := &url.Error{Op: "Post", URL: "https://vc/sdk", Err: &net.OpError{Op: "proxyconnect", Net: "tcp", Err: syscall.ECONNREFUSED}}
	reads := []soap.HasFault{
		&methods.RetrievePropertiesExBody{}, &methods.ContinueRetrievePropertiesExBody{}, &methods.RetrievePropertiesBody{},
		&methods.FindByInventoryPathBody{}, &methods.FindChildBody{}, &methods.QueryPerfBody{}, &methods.FetchUserPrivilegeOnEntitiesBody{},
		&methods.BrowseDiagnosticLogBody{}, &methods.HasPrivilegeOnEntitiesBody{}, &methods.RetrieveUserGroupsBody{},
		&methods.WaitForUpdatesExBody{}, &methods.CurrentTimeBody{}, &methods.SessionIsActiveBody{},
	}
	writes := []soap.HasFault{
		&methods.CloneVM_TaskBody{}, &methods.CreateResourcePoolBody{}, &methods.ReconfigVM_TaskBody{}, &methods.Destroy_TaskBody{},
		&methods.SetCustomValueBody{}, &methods.CreatePropertyCollectorBody{}, &methods.CreateFilterBody{},
		&methods.DestroyPropertyCollectorBody{}, &methods.LoginBody{}, &methods.ReadNextEventsBody{},
	}
	tests := []struct {
		name             string
		err              error
		wantRead, wantWr bool
	}{
		{"connection reset in flight", reset, true, false},
		{"timeout in flight", timeout, true, false},
		{"server hung up", &url.Error{Op: "Post", URL: "https://vc/sdk", Err: io.EOF}, true, false},
		{"bare timeout", timeoutErr{}, true, false},
		{"connection refused", refusedErr, true, true},
		{"dial timeout", dialTimeout, true, true},
		{"unknown host", noHost, true, true},
		{"proxy refused", proxy, true, true},
		{"TaskInProgress fault", soapFault(&types.TaskInProgress{}), true, true},
		{"ResourceInUse fault", soapFault(&types.ResourceInUse{}), true, true},
		{"SystemError fault", soapFault(&types.SystemError{}), true, false},
		{"HostCommunication fault", soapFault(&types.HostCommunication{}), true, false},
		{"RequestCanceled fault", soapFault(&types.RequestCanceled{}), true, false},
		{"InvalidArgument fault", soapFault(&types.InvalidArgument{}), false, false},
		{"DuplicateName fault", soapFault(&types.DuplicateName{}), false, false},
		{"context canceled", &url.Error{Op: "Post", Err: context.Canceled}, false, false},
		{"deadline during the dial", &url.Error{Op: "Post", Err: &net.OpError{Op: "dial", Err: context.DeadlineExceeded}}, false, false},
		{"plain error", errors.New("boom"), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, req := range reads {
				if got := retryable(req, tt.err); got != tt.wantRead {
					t.Errorf("retryable(%s, %v) = %v, want %v", soapMethod(req), tt.err, got, tt.wantRead)
				}
			}
			for _, req := range writes {
				if got := retryable(req, tt.err); got != tt.wantWr {
					t.Errorf("retryable(%s, %v) = %v, want %v", soapMethod(req), tt.err, got, tt.wantWr)
				}
			}
		})
	}
}

// hangUpServer is an SDK endpoint that reads each request whole and then drops the connection
// without an answer, as a vCenter or a load balancer that fails mid-call does. It counts the
// requests that reached it.
func hangUpServer(t *testing.T) (*url.URL, *atomic.Int32) {
	t.Helper()
	var got atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got.Add(1)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL + "/sdk")
	if err != nil {
		t.Fatal(err)
	}
	return u, &got
}

// TestRetryOverTheWire sends calls through a real SOAP client: a write that reached the server
// before the connection broke is sent once; a read is sent again; a write that could not connect
// is sent again.
func TestRetryOverTheWire(t *testing.T) {
	ctx := context.Background()
	const attempts = 2
	t.Run("write reached the server", func(t *testing.T) {
		u, got := hangUpServer(t)
		rt := &retryRoundTripper{next: soap.NewClient(u, true), attempts: attempts, stats: &Stats{}, base: 1}
		req := &methods.CloneVM_TaskBody{Req: &types.CloneVM_Task{This: types.ManagedObjectReference{Type: "VirtualMachine", Value: "vm-1"}, Name: "web01"}}
		if err := rt.RoundTrip(ctx, req, &methods.CloneVM_TaskBody{}); err == nil {
			t.Fatal("CloneVM_Task succeeded against a server that hangs up")
		}
		if n := got.Load(); n != 1 {
			t.Errorf("the server received CloneVM_Task %d times, want 1: a clone sent again can make a second VM", n)
		}
	})
	t.Run("read reached the server", func(t *testing.T) {
		u, got := hangUpServer(t)
		rt := &retryRoundTripper{next: soap.NewClient(u, true), attempts: attempts, stats: &Stats{}, base: 1}
		req := &methods.RetrievePropertiesExBody{Req: &types.RetrievePropertiesEx{}}
		if err := rt.RoundTrip(ctx, req, &methods.RetrievePropertiesExBody{}); err == nil {
			t.Fatal("RetrievePropertiesEx succeeded against a server that hangs up")
		}
		if n := got.Load(); n != attempts+1 {
			t.Errorf("the server received RetrievePropertiesEx %d times, want %d", n, attempts+1)
		}
	})
	t.Run("write could not connect", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		_ = l.Close()
		u := &url.URL{Scheme: "http", Host: addr, Path: "/sdk"}
		fake := &countingSender{next: soap.NewClient(u, true)}
		stats := &Stats{}
		rt := &retryRoundTripper{next: fake, attempts: attempts, stats: stats, base: 1}
		err = rt.RoundTrip(ctx, &methods.CloneVM_TaskBody{Req: &types.CloneVM_Task{Name: "web01"}}, &methods.CloneVM_TaskBody{})
		if !notSent(err) {
			t.Fatalf("error %v (%T) of a refused connection is not recognised as never sent", err, err)
		}
		if fake.n != attempts+1 || stats.Retries() != attempts {
			t.Errorf("sent %d times with %d retries, want %d and %d", fake.n, stats.Retries(), attempts+1, attempts)
		}
	})
}

type countingSender struct {
	next soap.RoundTripper
	n    int
}

func (c *countingSender) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	c.n++
	return c.next.RoundTrip(ctx, req, res)
}

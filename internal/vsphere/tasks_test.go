package vsphere

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	govsim "github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// sessionKiller sits in a client's round-trip chain below the re-login and ends the client's
// session server-side, as an administrator would, just before the first call of one SOAP
// method goes out after it is armed.
type sessionKiller struct {
	next   soap.RoundTripper
	method string
	kill   func()
	armed  atomic.Bool
	fired  atomic.Int32
}

func (k *sessionKiller) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	if soapMethod(req) == k.method && k.armed.CompareAndSwap(true, false) {
		k.kill()
		k.fired.Add(1)
	}
	return k.next.RoundTrip(ctx, req, res)
}

// installKiller puts a sessionKiller into c's chain, below the re-login and above the retries.
func installKiller(tb testing.TB, sim *simulator.Sim, c *Client, method string) *sessionKiller {
	tb.Helper()
	k := &sessionKiller{next: c.reauth.next, method: method}
	k.kill = func() { terminate(tb, sim, sessionKey(tb, c)) }
	c.reauth.next = k
	return k
}

// slowTasks makes the simulator's power tasks take a while, so that a wait really waits for a
// running task; the simulator's TaskDelay is a package global, restored when the test ends
// (the tests that set it do not run in parallel).
func slowTasks(tb testing.TB) {
	tb.Helper()
	old := govsim.TaskDelay.MethodDelay
	govsim.TaskDelay.MethodDelay = map[string]int{
		"PowerOn":     300,
		"PowerOff":    300,
		"LockHandoff": 0, // the VM stays readable while its task is delayed
	}
	tb.Cleanup(func() { govsim.TaskDelay.MethodDelay = old })
}

func workloadVM(tb testing.TB, c *Client) *object.VirtualMachine {
	tb.Helper()
	vm, err := c.FindVM(context.Background(), "/"+simulator.Datacenter+"/vm/"+simulator.WorkloadFolder+"/"+simulator.Workloads[0])
	if err != nil {
		tb.Fatal(err)
	}
	return object.NewVirtualMachine(c.vim, types.ManagedObjectReference{Type: "VirtualMachine", Value: vm.ID})
}

// TestWaitTaskSurvivesSessionLoss ends the session at each step of a task wait (making its
// property collector, its filter, waiting for updates, cleaning up): the wait logs in again and
// returns the task's own outcome, success or failure.
func TestWaitTaskSurvivesSessionLoss(t *testing.T) {
	slowTasks(t)
	sim := newSim(t)
	ctx := context.Background()
	for _, method := range []string{"CreatePropertyCollector", "CreateFilter", "WaitForUpdatesEx", "DestroyPropertyFilter", "DestroyPropertyCollector"} {
		t.Run(method, func(t *testing.T) {
			c := connect(t, sim)
			vm := workloadVM(t, c)
			killer := installKiller(t, sim, c, method)

			// A task that succeeds: the seeded workload VM is powered on.
			tk, err := vm.PowerOff(ctx)
			if err != nil {
				t.Fatal(err)
			}
			killer.armed.Store(true)
			info, err := c.waitTask(ctx, tk)
			if err != nil {
				t.Fatalf("waitTask after the session was terminated at %s: %v", method, err)
			}
			if killer.fired.Load() != 1 {
				t.Fatalf("the session was not terminated at %s", method)
			}
			if info.State != types.TaskInfoStateSuccess || info.Task != tk.Reference() {
				t.Errorf("task info = %s of %v, want success of %v", info.State, info.Task, tk.Reference())
			}
			if got := c.Stats().Relogins(); got != 1 {
				t.Errorf("Relogins() = %d, want 1", got)
			}
			if state, err := vm.PowerState(ctx); err != nil || state != types.VirtualMachinePowerStatePoweredOff {
				t.Errorf("power state after the task = %s, %v; want poweredOff", state, err)
			}

			// A task that fails: powering off a VM that is off. Its fault is returned, once.
			tk, err = vm.PowerOff(ctx)
			if err != nil {
				t.Fatal(err)
			}
			killer.armed.Store(true)
			_, err = c.waitTask(ctx, tk)
			var terr task.Error
			if !errors.As(err, &terr) || !fault.Is(err, &types.InvalidPowerState{}) {
				t.Fatalf("waitTask of a failing task = %v (%T), want its InvalidPowerState task error", err, err)
			}
			if got := c.Stats().Relogins(); got != 2 {
				t.Errorf("Relogins() = %d, want 2", got)
			}

			// Back on for the next case.
			tk, err = vm.PowerOn(ctx)
			if err == nil {
				_, err = c.waitTask(ctx, tk)
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestWaitTaskThroughClient covers the Client methods that wait for tasks: each returns after
// the session was lost during its wait.
func TestWaitTaskThroughClient(t *testing.T) {
	slowTasks(t)
	sim := newSim(t)
	ctx := context.Background()
	c := connect(t, sim)
	id := workloadVM(t, c).Reference().Value
	killer := installKiller(t, sim, c, "WaitForUpdatesEx")
	for i, on := range []bool{false, true} {
		killer.armed.Store(true)
		if err := c.SetPower(ctx, id, on); err != nil {
			t.Fatalf("SetPower(%v) with the session terminated during the wait: %v", on, err)
		}
		if got := killer.fired.Load(); got != int32(i+1) {
			t.Fatalf("the session was terminated %d times, want %d", got, i+1)
		}
	}
	if got := c.Stats().Relogins(); got != 2 {
		t.Errorf("Relogins() = %d, want 2", got)
	}
}

// failingMethod answers one SOAP method with an error without sending it.
type failingMethod struct {
	next   soap.RoundTripper
	method string
	err    error
}

func (f *failingMethod) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	if soapMethod(req) == f.method {
		return f.err
	}
	return f.next.RoundTrip(ctx, req, res)
}

// TestWaitTaskCleanupFails: once the task finished, its outcome is returned even when removing
// the wait's collector fails (a created VM must not be reported as a failed clone).
func TestWaitTaskCleanupFails(t *testing.T) {
	sim := newSim(t)
	ctx := context.Background()
	for _, method := range []string{"DestroyPropertyFilter", "DestroyPropertyCollector"} {
		t.Run(method, func(t *testing.T) {
			c := connect(t, sim)
			vm := workloadVM(t, c)
			lost := errors.New("connection lost")
			chain := c.reauth.next
			c.reauth.next = &failingMethod{next: chain, method: method, err: lost}
			tk, err := vm.PowerOff(ctx)
			if err != nil {
				t.Fatal(err)
			}
			info, err := c.waitTask(ctx, tk)
			if err != nil || info.State != types.TaskInfoStateSuccess {
				t.Fatalf("waitTask = %v, %v; want the task's success", info, err)
			}
			tk, err = vm.PowerOff(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.waitTask(ctx, tk); !fault.Is(err, &types.InvalidPowerState{}) || errors.Is(err, lost) {
				t.Fatalf("waitTask of a failing task = %v, want only its InvalidPowerState task error", err)
			}
			c.reauth.next = chain
			if err := c.SetPower(ctx, vm.Reference().Value, true); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestWaitTaskReturnsOtherErrors: a wait that cannot go on (the re-login fails, the caller gave
// up) returns at once with the cause, without waiting again.
func TestWaitTaskReturnsOtherErrors(t *testing.T) {
	sim := sharedSim(t)
	ctx := context.Background()

	t.Run("re-login fails", func(t *testing.T) {
		c := connect(t, sim)
		ref := types.ManagedObjectReference{Type: "Task", Value: "task-does-not-matter"}
		killer := installKiller(t, sim, c, "CreatePropertyCollector")
		c.cache.URL.User = url.UserPassword(sim.User, "rotated-away")
		killer.armed.Store(true)
		_, err := c.waitTask(ctx, object.NewTask(c.vim, ref))
		var le *LoginError
		if !errors.As(err, &le) {
			t.Fatalf("waitTask = %v, want the LoginError of the failed re-login", err)
		}
	})
	t.Run("task gone", func(t *testing.T) {
		c := connect(t, sim)
		before := c.Stats().RoundTrips()
		_, err := c.waitTask(ctx, object.NewTask(c.vim, types.ManagedObjectReference{Type: "Task", Value: "task-gone"}))
		if !IsNotFound(err) {
			t.Fatalf("waitTask of a task that does not exist = %v, want a not-found error", err)
		}
		// One wait (make the collector and its filter, fail to watch the task, destroy both) and one
		// read of the task.
		if got := c.Stats().RoundTrips() - before; got > 6 {
			t.Errorf("waitTask of a missing task made %d round trips: it waited again", got)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		c := connect(t, sim)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := c.waitTask(cctx, object.NewTask(c.vim, types.ManagedObjectReference{Type: "Task", Value: "task-1"})); !errors.Is(err, context.Canceled) {
			t.Fatalf("waitTask with a canceled context = %v, want context.Canceled", err)
		}
	})
}

func TestCollectorGone(t *testing.T) {
	mnf := func(typ string) error {
		return soapFault(&types.ManagedObjectNotFound{Obj: types.ManagedObjectReference{Type: typ, Value: "session[x]y"}})
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"collector", mnf("PropertyCollector"), true},
		{"filter", mnf("PropertyFilter"), true},
		{"container view", mnf("ContainerView"), true},
		{"wrapped collector", fmt.Errorf("destroy property collector failed: %w", mnf("PropertyCollector")), true},
		{"plain error", errors.New("managed object not found: PropertyCollector"), false},
		{"the task itself", mnf("Task"), false},
		{"a VM", mnf("VirtualMachine"), false},
		{"task error about a collector", task.Error{LocalizedMethodFault: &types.LocalizedMethodFault{Fault: &types.ManagedObjectNotFound{Obj: types.ManagedObjectReference{Type: "VirtualMachine"}}}}, false},
		{"other fault", soapFault(&types.InvalidArgument{}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := collectorGone(tt.err); got != tt.want {
				t.Errorf("collectorGone(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// TestViewsSurviveSessionLoss: the container views behind bulk reads belong to the session that
// made them; after the session ended, reads make new views in the session that replaced it,
// whether this read or another call found the session dead first.
func TestViewsSurviveSessionLoss(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	ctx := context.Background()
	c := connect(t, sim)
	want, err := c.Refs(ctx, "VirtualMachine")
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != simulator.SeededVMs() {
		t.Fatalf("Refs found %d VMs, want the %d seeded ones", len(want), simulator.SeededVMs())
	}
	reads := map[string]func() (int, error){
		"Refs": func() (int, error) {
			refs, err := c.Refs(ctx, "VirtualMachine")
			return len(refs), err
		},
		"RetrieveAll": func() (int, error) {
			var vms []mo.VirtualMachine
			err := c.RetrieveAll(ctx, "VirtualMachine", []string{"name"}, &vms)
			return len(vms), err
		},
	}
	for _, name := range []string{"Refs", "RetrieveAll"} {
		for _, other := range []bool{false, true} {
			if _, err := reads[name](); err != nil { // the view exists
				t.Fatal(err)
			}
			terminate(t, sim, sessionKey(t, c))
			if other {
				// Another call logs in again first: this read then finds its view gone, not the session.
				if _, err := c.Principal(ctx); err != nil {
					t.Fatal(err)
				}
			}
			n, err := reads[name]()
			if err != nil || n != len(want) {
				t.Errorf("%s after the session was terminated (re-login by another call: %v) = %d objects, %v; want %d", name, other, n, err, len(want))
			}
		}
	}
	if got := c.Stats().Relogins(); got != 4 {
		t.Errorf("Relogins() = %d, want 4", got)
	}
}

package vsphere

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	vcsim "github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// bulkSim starts a simulator with n VMs in the bulk folder and returns a client and their IDs.
func bulkSim(t *testing.T, n int) (*simulator.Sim, *Client, []string) {
	t.Helper()
	sim, err := simulator.Start(context.Background(), simulator.Options{ExtraVMs: n})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	c := connect(t, sim)
	vms, err := c.Select(context.Background(), Selection{Include: Criteria{Folders: []string{simulator.BulkFolder}}}, []string{"name"})
	if err != nil || len(vms) != n {
		t.Fatalf("bulk VMs = %d, %v; want %d", len(vms), err, n)
	}
	ids := make([]string, 0, n)
	for _, vm := range vms {
		ids = append(ids, vm.ID)
	}
	return sim, c, ids
}

// slowReconfigure makes the simulator's reconfigure tasks take ms milliseconds, the VM staying
// readable meanwhile; restored when the test ends.
func slowReconfigure(t *testing.T, ms int) {
	t.Helper()
	old := vcsim.TaskDelay.MethodDelay
	vcsim.TaskDelay.MethodDelay = map[string]int{"reconfigVm": ms, "LockHandoff": 0}
	t.Cleanup(func() { vcsim.TaskDelay.MethodDelay = old })
}

// TestRemediate100RoundTrips remediates 100 VMs eight at a time: one ReconfigVM each plus the
// polls of the batched wait, at most 140 SOAP round trips (a wait per task costs six, 600 in all).
func TestRemediate100RoundTrips(t *testing.T) {
	_, c, ids := bulkSim(t, 100)
	rs := make([]Remediation, 0, len(ids))
	for _, id := range ids {
		rs = append(rs, Remediation{VMID: id, ExtraConfig: map[string]string{"vmgmt.batch": "on-" + id}})
	}
	before := c.Stats().RoundTrips()
	if errs := c.Remediate(context.Background(), rs, 8); len(errs) > 0 {
		t.Fatalf("Remediate: %v", errs)
	}
	trips := c.Stats().RoundTrips() - before
	t.Logf("100 remediations: %d SOAP round trips", trips)
	if trips > 140 {
		t.Errorf("Remediate of 100 VMs cost %d SOAP round trips, want at most 140 (100 ReconfigVM + the polls)", trips)
	}
	got, err := c.SelectConfigs(context.Background(), Selection{Include: Criteria{IDs: ids}})
	if err != nil || len(got) != len(ids) {
		t.Fatalf("SelectConfigs = %d VMs, %v", len(got), err)
	}
	for _, g := range got {
		if g.ExtraConfig["vmgmt.batch"] != "on-"+g.ID {
			t.Errorf("%s: vmgmt.batch = %q after Remediate, want %q", g.ID, g.ExtraConfig["vmgmt.batch"], "on-"+g.ID)
		}
	}
}

// TestRemediateTaskFailsForItsVMOnly makes one VM's reconfigure task fail (secure boot on a BIOS
// VM: vcsim fails the task with InvalidVmConfig) among tasks that run a while in one batch: that
// VM alone gets the task's fault, the others are remediated.
func TestRemediateTaskFailsForItsVMOnly(t *testing.T) {
	_, c, ids := bulkSim(t, 6)
	slowReconfigure(t, 100)
	yes := true
	rs := make([]Remediation, 0, len(ids))
	for i, id := range ids {
		r := Remediation{VMID: id, ExtraConfig: map[string]string{"vmgmt.batch": "ok"}}
		if i == 2 {
			r.SecureBoot = &yes
		}
		rs = append(rs, r)
	}
	errs := c.Remediate(context.Background(), rs, 4)
	bad := ids[2]
	if len(errs) != 1 || errs[bad] == nil {
		t.Fatalf("Remediate errors = %v, want exactly one, for %s", errs, bad)
	}
	var terr task.Error
	if !errors.As(errs[bad], &terr) || !fault.Is(errs[bad], &types.InvalidVmConfig{}) {
		t.Errorf("%s error = %v (%T), want its task's InvalidVmConfig as a task.Error", bad, errs[bad], errs[bad])
	}
	got, err := c.SelectConfigs(context.Background(), Selection{Include: Criteria{IDs: ids}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range got {
		if g.ID != bad && g.ExtraConfig["vmgmt.batch"] != "ok" {
			t.Errorf("%s was not remediated: vmgmt.batch = %q", g.ID, g.ExtraConfig["vmgmt.batch"])
		}
	}
}

// TestRemediateSurvivesSessionLossDuringPoll ends the session just before the batch's first
// poll: the poll logs in again and the running tasks are waited to their end, none failed.
func TestRemediateSurvivesSessionLossDuringPoll(t *testing.T) {
	sim, c, ids := bulkSim(t, 4)
	slowReconfigure(t, 100)
	killer := installKiller(t, sim, c, "RetrievePropertiesEx")
	killer.armed.Store(true)
	rs := make([]Remediation, 0, len(ids))
	for _, id := range ids {
		rs = append(rs, Remediation{VMID: id, ExtraConfig: map[string]string{"vmgmt.batch": "after-loss"}})
	}
	if errs := c.Remediate(context.Background(), rs, 4); len(errs) > 0 {
		t.Fatalf("Remediate with the session ended during the poll: %v", errs)
	}
	if killer.fired.Load() != 1 || c.Stats().Relogins() != 1 {
		t.Fatalf("session ended %d times, relogins %d; want 1 and 1", killer.fired.Load(), c.Stats().Relogins())
	}
	got, err := c.SelectConfigs(context.Background(), Selection{Include: Criteria{IDs: ids}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range got {
		if g.ExtraConfig["vmgmt.batch"] != "after-loss" {
			t.Errorf("%s: vmgmt.batch = %q, want after-loss", g.ID, g.ExtraConfig["vmgmt.batch"])
		}
	}
}

// TestRemediateStopsWaitingOnCancel cancels the context as the batch's first poll goes out,
// while the tasks have a minute to run: every VM's wait ends with the cancellation, rather than
// with the tasks' success a minute later.
func TestRemediateStopsWaitingOnCancel(t *testing.T) {
	_, c, ids := bulkSim(t, 3)
	slowReconfigure(t, 60_000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hook := &sessionKiller{next: c.reauth.next, method: "RetrievePropertiesEx", kill: cancel}
	c.reauth.next = hook
	hook.armed.Store(true)
	rs := make([]Remediation, 0, len(ids))
	for _, id := range ids {
		rs = append(rs, Remediation{VMID: id, ExtraConfig: map[string]string{"vmgmt.batch": "never"}})
	}
	errs := c.Remediate(ctx, rs, 3)
	if hook.fired.Load() != 1 {
		t.Fatal("the batch never polled")
	}
	if len(errs) != len(ids) {
		t.Fatalf("Remediate errors = %v, want one per VM", errs)
	}
	for id, err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v, want the cancellation", id, err)
		}
	}
}

// TestTaskBatchUnknownTask waits for a task vCenter does not know alongside a real one: the
// unknown one gets an error of its own (not read as a missing VM), the real one its outcome.
func TestTaskBatchUnknownTask(t *testing.T) {
	_, c, ids := bulkSim(t, 1)
	slowReconfigure(t, 100)
	ctx := context.Background()
	b, stop := c.newTaskBatch(ctx)
	defer stop()
	vm := object.NewVirtualMachine(c.vim, types.ManagedObjectReference{Type: "VirtualMachine", Value: ids[0]})
	known, err := vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{Annotation: "batched"})
	if err != nil {
		t.Fatal(err)
	}
	bogus := object.NewTask(c.vim, types.ManagedObjectReference{Type: "Task", Value: "task-bogus"})
	bogusErr := make(chan error, 1)
	go func() {
		_, err := b.wait(ctx, bogus)
		bogusErr <- err
	}()
	info, err := b.wait(ctx, known)
	if err != nil || info.State != types.TaskInfoStateSuccess {
		t.Fatalf("wait of the real task = %v, %v; want success", info, err)
	}
	err = <-bogusErr
	if err == nil || IsNotFound(err) {
		t.Errorf("wait of an unknown task = %v, want an error that is not a not-found fault", err)
	}
	if err != nil && !strings.Contains(err.Error(), "task-bogus") {
		t.Errorf("wait of an unknown task = %v, want it named", err)
	}
}

// failOnce answers the first call of one SOAP method after it is armed with a fault, without
// sending it.
type failOnce struct {
	next   soap.RoundTripper
	method string
	err    error
	armed  atomic.Bool
	fired  atomic.Int32
}

func (f *failOnce) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	if soapMethod(req) == f.method && f.armed.CompareAndSwap(true, false) {
		f.fired.Add(1)
		return f.err
	}
	return f.next.RoundTrip(ctx, req, res)
}

// TestRemediatePollLosesItsCollector makes the batch's first poll fail as a read whose session's
// collector is gone (ManagedObjectNotFound of a PropertyCollector): the poll is read again and the
// running tasks are not failed.
func TestRemediatePollLosesItsCollector(t *testing.T) {
	_, c, ids := bulkSim(t, 3)
	slowReconfigure(t, 100)
	gone := soapFault(&types.ManagedObjectNotFound{Obj: types.ManagedObjectReference{Type: "PropertyCollector", Value: "session[x]pc"}})
	hook := &failOnce{next: c.reauth.next, method: "RetrievePropertiesEx", err: gone}
	c.reauth.next = hook
	hook.armed.Store(true)
	rs := make([]Remediation, 0, len(ids))
	for _, id := range ids {
		rs = append(rs, Remediation{VMID: id, ExtraConfig: map[string]string{"vmgmt.batch": "again"}})
	}
	if errs := c.Remediate(context.Background(), rs, 3); len(errs) > 0 {
		t.Fatalf("Remediate after a poll lost its collector: %v", errs)
	}
	if hook.fired.Load() != 1 {
		t.Fatal("the batch's poll was not failed")
	}
}

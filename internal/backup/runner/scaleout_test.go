package runner

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/job"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// scaleVMs is how many VMs the scale-out tests' job protects: the three workloads and clones.
const scaleVMs = 24

// scaleEnv is the env with clones of erp-app01 in the workload folder, up to scaleVMs VMs, and
// the provider binary the runner processes run.
func scaleEnv(t *testing.T) (*env, string) {
	t.Helper()
	bin := filepath.Join(acctest.ProviderBinary(t), acctest.ProviderBinaryName)
	e := newEnv(t)
	ctx := context.Background()
	gc, err := e.sim.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gc.Logout(context.Background()) })
	f := find.NewFinder(gc.Client, true)
	dc, err := f.Datacenter(ctx, simulator.Datacenter)
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	src, err := f.VirtualMachine(ctx, simulator.WorkloadFolder+"/erp-app01")
	if err != nil {
		t.Fatal(err)
	}
	folder, err := f.Folder(ctx, simulator.WorkloadFolder)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(e.vms); i < scaleVMs; i++ {
		name := fmt.Sprintf("scale-%02d", i)
		task, err := src.Clone(ctx, folder, name, types.VirtualMachineCloneSpec{})
		if err != nil {
			t.Fatal(err)
		}
		info, err := task.WaitForResult(ctx)
		if err != nil {
			t.Fatalf("cloning %s: %v", name, err)
		}
		e.vms[name] = info.Result.(types.ManagedObjectReference).Value
	}
	e.job.Retention = job.Retention{KeepLast: 3}
	e.put(t)
	return e, bin
}

// runnerProc is one `backup run` process and what it printed.
type runnerProc struct {
	cmd *exec.Cmd
	out syncBuffer
	err error
}

// syncBuffer is a bytes.Buffer the process writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// startRunners starts n `backup run --all-due` processes against the env's simulator at once.
func startRunners(t *testing.T, e *env, bin string, n int, extra ...string) []*runnerProc {
	t.Helper()
	env := os.Environ()
	for k, v := range e.sim.Env() {
		env = append(env, k+"="+v)
	}
	procs := make([]*runnerProc, n)
	for i := range procs {
		args := append([]string{"backup", "run", "--all-due", "--output", "json", "--concurrency", "2"}, extra...)
		p := &runnerProc{cmd: exec.Command(bin, args...)}
		p.cmd.Env = env
		p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
		procs[i] = p
	}
	for _, p := range procs {
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	return procs
}

func waitRunners(procs []*runnerProc) {
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.err = p.cmd.Wait()
		}()
	}
	wg.Wait()
}

// vmDones are the vm_done events of a runner's JSON lines, by VM: the statuses it reported.
func vmDones(t *testing.T, out []byte) map[string][]string {
	t.Helper()
	done := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev struct{ Event, VM, Status string }
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue // a line that is not an event (stderr)
		}
		if ev.Event == "vm_done" {
			done[ev.VM] = append(done[ev.VM], ev.Status)
		}
	}
	return done
}

// checkOnePointEach checks that every VM of the env has exactly one complete restore point, all
// of one run, and no partial point or snapshot is left; it returns the run's ID.
func checkOnePointEach(t *testing.T, e *env) string {
	t.Helper()
	ctx := context.Background()
	r := e.repo(t)
	runs := map[string]int{}
	for name, id := range e.vms {
		complete, partial, err := r.SubjectPoints(ctx, e.job.Name, name, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(complete) != 1 || len(partial) != 0 {
			t.Errorf("%s: %d complete and %d partial restore points, want 1 and 0", name, len(complete), len(partial))
			continue
		}
		m, err := r.ReadManifest(ctx, complete[0])
		if err != nil {
			t.Fatal(err)
		}
		runs[m.Run]++
		if snaps, err := e.c.Snapshots(ctx, id); err != nil || len(snaps) != 0 {
			t.Errorf("%s: snapshots left %+v (%v)", name, snaps, err)
		}
	}
	if len(runs) != 1 {
		t.Fatalf("the points are of %d runs, want 1: %v", len(runs), runs)
	}
	for run := range runs {
		return run
	}
	return ""
}

// Four runner processes started at once with --all-due share the job's run: each VM is backed
// up once (0 double backups) and none is missed, the run is recorded once with every VM, and the
// runners that found a VM done by another report it as by-peer.
func TestFourRunnersShareTheRun(t *testing.T) {
	e, bin := scaleEnv(t)
	procs := startRunners(t, e, bin, 4)
	waitRunners(procs)

	backedUp := map[string]int{}
	var worked []int
	for i, p := range procs {
		if p.err != nil {
			t.Fatalf("runner %d: %v\n%s", i, p.err, p.out.Bytes())
		}
		n := 0
		for vm, statuses := range vmDones(t, p.out.Bytes()) {
			for _, s := range statuses {
				switch Status(s) {
				case VMOK:
					backedUp[vm]++
					n++
				case VMByPeer:
				default:
					t.Errorf("runner %d: %s ended %s\n%s", i, vm, s, p.out.Bytes())
				}
			}
		}
		worked = append(worked, n)
	}
	t.Logf("VMs backed up by each of the 4 runners: %v", worked)
	if len(backedUp) != scaleVMs {
		t.Errorf("%d VMs were backed up, want %d: %v", len(backedUp), scaleVMs, backedUp)
	}
	for vm, n := range backedUp {
		if n != 1 {
			t.Errorf("%s was backed up %d times", vm, n)
		}
	}
	run := checkOnePointEach(t, e)
	last := e.lastRun(t)
	if last == nil || last.ID != run || last.Open() || last.Status != job.RunOK || last.VMs != scaleVMs || last.Failed != 0 ||
		last.RestorePoints != scaleVMs {
		t.Fatalf("recorded run %+v, want run %s finished ok with %d VMs and %d points", last, run, scaleVMs, scaleVMs)
	}

	// A fifth runner in the same schedule slot finds the run complete: the job is not due.
	late := startRunners(t, e, bin, 1)
	waitRunners(late)
	if late[0].err != nil || len(vmDones(t, late[0].out.Bytes())) != 0 || !bytes.Contains(late[0].out.Bytes(), []byte("no backup job is due")) {
		t.Fatalf("a late runner: %v\n%s", late[0].err, late[0].out.Bytes())
	}
}

// A runner killed in the middle of a VM leaves its lease, its snapshot and a partial point: the
// other runners of the run wait out the lease (its TTL after the last heartbeat), remove the
// snapshot and the partial point, and back the VM up, so no VM is missed.
func TestKilledRunnerIsTakenOverByItsPeers(t *testing.T) {
	e, bin := scaleEnv(t)
	// The first runner starts alone and is killed as soon as it starts streaming a disk: it
	// leaves its snapshot, its lease and the run open.
	victim := startRunners(t, e, bin, 1, "--lease-ttl", "2s")[0]
	deadline := time.Now().Add(60 * time.Second)
	for !bytes.Contains(victim.out.Bytes(), []byte(`"event":"disk_start"`)) {
		if time.Now().After(deadline) {
			t.Fatalf("the first runner never started a disk:\n%s", victim.out.Bytes())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = victim.cmd.Wait()
	done := vmDones(t, victim.out.Bytes())

	peers := startRunners(t, e, bin, 3, "--lease-ttl", "2s")
	waitRunners(peers)
	for i, p := range peers {
		if p.err != nil {
			t.Fatalf("runner %d: %v\n%s", i, p.err, p.out.Bytes())
		}
		for vm, statuses := range vmDones(t, p.out.Bytes()) {
			for _, s := range statuses {
				if Status(s) == VMOK {
					done[vm] = append(done[vm], s)
				}
			}
		}
	}
	// The repository is the proof: one complete point per VM, of the one run. The killed
	// runner may have committed a point and died before it printed vm_done or counted it on
	// the run (its two VMs in flight), so the events and the count may miss up to two.
	for vm := range e.vms {
		if n := len(done[vm]); n > 1 {
			t.Errorf("%s was reported backed up %d times by the killed runner and its peers: %v", vm, n, done[vm])
		}
	}
	run := checkOnePointEach(t, e)
	last := e.lastRun(t)
	if last == nil || last.ID != run || last.Open() || last.VMs < scaleVMs-2 || last.VMs > scaleVMs {
		t.Fatalf("recorded run %+v, want run %s finished with %d VMs (or up to 2 fewer)", last, run, scaleVMs)
	}
}

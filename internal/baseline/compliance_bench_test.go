package baseline

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest/countproxy"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// BenchmarkCompliance reports the vCenter round trips (SOAP and vAPI, counted by a proxy in front
// of the simulator) and the wall time of what a baseline's plan does to judge its scope: read the
// baselines' records, then evaluate an audit of pack scg-8 over every VM of the datacenter, at
// 10, 100 and 1,000 VMs. Every VM drifts (the simulator's VMs lack the pack's settings), so the
// drift attribution (the event query) is part of the work. "events=none": vCenter holds no
// reconfiguration event; "events=reconfigured": every VM was then reconfigured behind
// Terraform's back (mks.enable3d TRUE), so the attribution finds who changed it. (vcsim keeps
// only its newest 1,000 or so events of every kind, so the newest page of reconfiguration events
// is never full there and ConfigChanges never pages on to older events.) The target is
// at most 3 round trips and under 2 s at 1,000 VMs. "first-*" is the first judgement of a new client, as in each plan's provider process;
// the loop is the warm cost; "eval-roundtrips" leaves out the record read. It asserts that every
// VM is in scope and drifted, and, after the reconfiguration, that each reconfigured VM's
// mks.enable3d drift names who changed it.
func BenchmarkCompliance(b *testing.B) {
	for _, total := range BenchSizes() {
		sim, err := simulator.Start(context.Background(), simulator.Options{ExtraVMs: total - simulator.SeededVMs()})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(sim.Close)
		proxy := countproxy.NewCountingProxy(b, sim.URL.Host)
		root := "/" + simulator.Datacenter + "/vm"
		in := &input{Mode: ModeAudit, Packs: []string{"scg-8"}, Scope: vsphere.Selection{Include: vsphere.Criteria{Folders: []string{root}}}}
		attributed := 0
		for _, events := range []string{"none", "reconfigured"} {
			if events == "reconfigured" {
				attributed = BenchDrift(b, sim, root, map[string]string{"mks.enable3d": "TRUE"})
			}
			b.Run(fmt.Sprintf("vms=%d/events=%s", total, events), func(b *testing.B) {
				ctx := context.Background()
				c, err := vsphere.Connect(ctx, vsphere.Config{Server: proxy.Host, User: sim.User, Password: sim.Password, Insecure: true})
				if err != nil {
					b.Fatal(err)
				}
				defer func() { _ = c.Close(ctx) }()
				judge := func() (all, eval countproxy.RequestCounts, elapsed time.Duration) {
					before, start := proxy.Snapshot(), time.Now()
					others, err := readRecords(ctx, c)
					if err != nil {
						b.Fatal(err)
					}
					mid := proxy.Snapshot()
					ev, err := evaluate(ctx, c, in, in.rules(), others)
					if err != nil {
						b.Fatal(err)
					}
					elapsed = time.Since(start)
					all, eval = proxy.Snapshot().Minus(before), proxy.Snapshot().Minus(mid)
					if ev.count() != total || len(ev.drifted) != total {
						b.Fatalf("%d VMs in scope, %d drifted; want all %d in scope and drifted", ev.count(), len(ev.drifted), total)
					}
					if got := changedBy(ev, "mks.enable3d"); got != attributed {
						b.Fatalf("%d VMs name who changed mks.enable3d, want %d", got, attributed)
					}
					return all, eval, elapsed
				}
				first, firstEval, firstTime := judge()
				b.ResetTimer()
				var all, eval countproxy.RequestCounts
				var wall time.Duration
				for i := 0; i < b.N; i++ {
					a, e, d := judge()
					all, eval, wall = all.Plus(a), eval.Plus(e), wall+d
				}
				b.StopTimer()
				b.Logf("warm, per judgement: %s", all.PerRun(b.N))
				b.Logf("first: %s; of which evaluate: %s", first.PerRun(1), firstEval.PerRun(1))
				b.ReportMetric(float64(all.Total())/float64(b.N), "roundtrips/op")
				b.ReportMetric(float64(eval.Total())/float64(b.N), "eval-roundtrips/op")
				b.ReportMetric(float64(wall.Microseconds())/1000/float64(b.N), "ms/op")
				b.ReportMetric(float64(total), "vms")
				b.ReportMetric(float64(total), "drifted")
				b.ReportMetric(float64(attributed), "attributed")
				// After the loop: ResetTimer drops the metrics reported before it.
				b.ReportMetric(float64(first.Total()), "first-roundtrips")
				b.ReportMetric(float64(firstTime.Microseconds())/1000, "first-ms")
			})
		}
	}
}

// BenchSizes are the VM counts the benchmarks measure; VMGMT_BENCH_VMS narrows them to one (for
// profiling). The benchmarks of package baseline_test use it too.
func BenchSizes() []int {
	if s := os.Getenv("VMGMT_BENCH_VMS"); s != "" {
		var n int
		if _, err := fmt.Sscan(s, &n); err == nil && n > 0 {
			return []int{n}
		}
	}
	return []int{10, 100, 1000}
}

// changedBy counts the drifted VMs whose drift in key names who changed it.
func changedBy(ev *evaluation, key string) int {
	n := 0
	for _, vd := range ev.drifted {
		for _, d := range vd.Drift {
			if d.Key == key && d.ChangedBy != "" {
				n++
			}
		}
	}
	return n
}

// BenchDrift reconfigures every VM (not template) under the inventory folder (an absolute path)
// with these extraConfig values, as an administrator would behind Terraform's back, several at
// a time, and returns how many it reconfigured. Each reconfiguration leaves a VmReconfiguredEvent
// naming the simulator's user. The benchmarks of package baseline_test use it too.
func BenchDrift(tb testing.TB, sim *simulator.Sim, folder string, values map[string]string) int {
	tb.Helper()
	ctx := context.Background()
	gc, err := sim.Connect(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = gc.Logout(ctx) }()
	f, err := find.NewFinder(gc.Client, false).Folder(ctx, folder)
	if err != nil {
		tb.Fatal(err)
	}
	cv, err := view.NewManager(gc.Client).CreateContainerView(ctx, f.Reference(), []string{"VirtualMachine"}, true)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = cv.Destroy(ctx) }()
	var vms []mo.VirtualMachine
	if err := cv.Retrieve(ctx, []string{"VirtualMachine"}, []string{"config.template"}, &vms); err != nil {
		tb.Fatal(err)
	}
	spec := types.VirtualMachineConfigSpec{}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		spec.ExtraConfig = append(spec.ExtraConfig, &types.OptionValue{Key: k, Value: values[k]})
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		errs  []string
		sem   = make(chan struct{}, 8)
		count int
	)
	for _, o := range vms {
		if o.Config != nil && o.Config.Template {
			continue
		}
		count++
		wg.Add(1)
		sem <- struct{}{}
		go func(ref types.ManagedObjectReference) {
			defer wg.Done()
			defer func() { <-sem }()
			task, err := object.NewVirtualMachine(gc.Client, ref).Reconfigure(ctx, spec)
			if err == nil {
				err = task.Wait(ctx)
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Sprintf("%s: %v", ref.Value, err))
				mu.Unlock()
			}
		}(o.Self)
	}
	wg.Wait()
	if len(errs) > 0 {
		tb.Fatalf("reconfiguring behind Terraform's back: %s", strings.Join(errs, "; "))
	}
	return count
}

package catalog_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/catalog"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// The benchmarks below run the real provider binary through the real terraform CLI (dev_overrides)
// against the in-process simulator, behind a proxy that counts the vCenter requests of every
// provider process of a run. They measure and report; they assert nothing on time. Each setup
// applies its VMs once; run them with -benchtime=1x to keep `make bench` short.

// BenchmarkRefresh100CatalogVMs times `terraform plan` (refresh of every VM, then ModifyPlan) of
// catalog VMs that exist and match their configuration, and counts the vCenter requests of the
// whole plan, provider start and session check included. vms=10 is there to show that the
// requests do not grow with the number of VMs: the Read calls of one plan share one bulk read of
// every VM. With 100 VMs it also times `plan -refresh=false` (ModifyPlan alone, which must still
// see the published item), a plan with terraform-plugin-go's own logging turned back on
// (TF_LOG_SDK*=trace, discarded by Terraform: what the provider saves by turning it off), and
// the floor: the same configuration planned against a provider with vmgmt's schemas and no
// behaviour at all (internal/acctest/floorprovider), i.e. what Terraform and
// terraform-plugin-framework cost alone for 101 resources of this shape.
func BenchmarkRefresh100CatalogVMs(b *testing.B) {
	tfb := newTerraformBench(b)
	for _, n := range []int{10, 100} {
		f := tfb.fleet(b)
		f.apply(b, fleetConfig(f.provider, n))
		if got := f.stamped(b); got != n {
			b.Fatalf("setup: %d VMs of the item in vCenter after apply, want %d", got, n)
		}
		variants := []planVariant{{name: fmt.Sprintf("vms=%d", n)}}
		if n == 100 {
			variants = append(variants,
				planVariant{name: "vms=100/refresh=false", args: []string{"-refresh=false"}},
				planVariant{name: "vms=100/sdk-logs=trace", env: []string{"TF_LOG_SDK=trace", "TF_LOG_SDK_PROTO=trace", "TF_LOG_SDK_FRAMEWORK=trace"}},
			)
		}
		for _, v := range variants {
			b.Run(v.name, func(b *testing.B) { f.timePlans(b, v) })
		}
		f.close()
	}
	floor := &terraformBench{terraform: tfb.terraform, cliConfig: acctest.DevOverridesConfig(b, acctest.FloorProviderBinary(b))}
	f := floor.fleet(b)
	defer f.close()
	f.apply(b, fleetConfig(f.provider, 100))
	b.Run("vms=100/floor", func(b *testing.B) { f.timePlans(b, planVariant{name: "vms=100/floor"}) })
}

// timePlans times `terraform plan` of the fleet as it is (it must report no changes) and reports
// the wall time and vCenter round trips per plan.
func (f *fleetBench) timePlans(b *testing.B, v planVariant) {
	plan := func() {
		args := append([]string{"plan", "-input=false", "-no-color", "-lock=false"}, v.args...)
		if out := f.tfEnv(b, v.env, args...); !strings.Contains(out, "No changes.") {
			b.Fatalf("terraform %s did not say \"No changes.\":\n%s", strings.Join(args, " "), out)
		}
	}
	plan() // warm-up: the session cache, the OS file cache
	before := f.proxy.Snapshot()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		plan()
	}
	b.StopTimer()
	d := f.proxy.Since(before)
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/plan")
	b.ReportMetric(float64(d.SOAP)/float64(b.N), "vc-roundtrips/plan")
	b.Logf("%s, per plan: %s", v.name, d.PerRun(b.N))
}

// planVariant is one way of running `terraform plan`: extra arguments and environment.
type planVariant struct {
	name      string
	args, env []string
}

// govmomiClone10 is the wall time of BenchmarkGovmomiClone100's 100 clones ten at a time, kept for
// BenchmarkApply100CatalogVMs (declared after it, so run after it) to report its ratio.
var govmomiClone10 time.Duration

// BenchmarkGovmomiClone100 is the baseline of BenchmarkApply100CatalogVMs: plain govmomi clones
// the same 100 VMs from the same template with the clone spec the provider sends (pool, folder,
// size, NIC on the item's port group, the seven extraConfig stamps, Linux customization, power
// on), through the same counting proxy, one at a time and ten at a time. Template, folder, pool
// and port group are resolved once, before the timer starts, as a script would. tags=4 also
// attaches the four tags the provider attaches to each VM (tags created beforehand), one call
// per tag as the provider does.
func BenchmarkGovmomiClone100(b *testing.B) {
	if os.Getenv("TF_ACC") == "" {
		b.Skip("runs against the simulator like the terraform benchmarks: set TF_ACC=1 (make bench does)")
	}
	const n = 100
	ctx := context.Background()
	sim := acctest.NewSim(b)
	proxy := acctest.NewCountingProxy(b, sim.URL.Host)
	u := *sim.URL
	u.Host, u.User = proxy.Host, url.UserPassword(sim.User, sim.Password)
	c, err := govmomi.NewClient(ctx, &u, true)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = c.Logout(ctx) }()
	fd := find.NewFinder(c.Client, false)
	dc, err := fd.Datacenter(ctx, simulator.Datacenter)
	if err != nil {
		b.Fatal(err)
	}
	fd.SetDatacenter(dc)
	tmpl, err := fd.VirtualMachine(ctx, templatePath)
	if err != nil {
		b.Fatal(err)
	}
	folder, err := fd.Folder(ctx, simulator.WorkloadFolder)
	if err != nil {
		b.Fatal(err)
	}
	pool, err := fd.DefaultResourcePool(ctx)
	if err != nil {
		b.Fatal(err)
	}
	net, err := fd.Network(ctx, simulator.PortGroups[0])
	if err != nil {
		b.Fatal(err)
	}
	backing, err := net.EthernetCardBackingInfo(ctx)
	if err != nil {
		b.Fatal(err)
	}
	devices, err := tmpl.Device(ctx)
	if err != nil {
		b.Fatal(err)
	}
	nics := devices.SelectByType((*types.VirtualEthernetCard)(nil))
	if len(nics) == 0 {
		b.Fatal("the template has no NIC")
	}
	nics[0].(types.BaseVirtualEthernetCard).GetVirtualEthernetCard().Backing = backing
	poolRef := pool.Reference()
	created := time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
	stamps := map[string]string{
		catalog.StampItem: fleetItem, catalog.StampVersion: "1.0.0", catalog.StampSize: "small", catalog.StampOwner: "jane.doe",
		catalog.StampJobFunction: "erp-ops", catalog.StampCreated: created, catalog.StampLeaseDays: "30",
	}
	keys := make([]string, 0, len(stamps))
	for k := range stamps {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	spec := func(name string) types.VirtualMachineCloneSpec {
		var extra []types.BaseOptionValue
		for _, k := range keys {
			extra = append(extra, &types.OptionValue{Key: k, Value: stamps[k]})
		}
		return types.VirtualMachineCloneSpec{
			Location: types.VirtualMachineRelocateSpec{Pool: &poolRef},
			Config: &types.VirtualMachineConfigSpec{
				NumCPUs: 2, MemoryMB: 4096, ExtraConfig: extra,
				DeviceChange: []types.BaseVirtualDeviceConfigSpec{&types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationEdit, Device: nics[0]}},
			},
			Customization: &types.CustomizationSpec{
				Identity:      &types.CustomizationLinuxPrep{HostName: &types.CustomizationFixedName{Name: name}, Domain: "corp.example"},
				NicSettingMap: []types.CustomizationAdapterMapping{{Adapter: types.CustomizationIPSettings{Ip: &types.CustomizationDhcpIpGenerator{}}}},
			},
			PowerOn: true,
		}
	}

	// The four tags of a catalog VM, as the provider records them.
	rc := rest.NewClient(c.Client)
	if err := rc.Login(ctx, url.UserPassword(sim.User, sim.Password)); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = rc.Logout(ctx) }()
	tm := tags.NewManager(rc)
	var tagIDs []string
	for cat, name := range map[string]string{catalog.TagItem: fleetItem, catalog.TagVersion: "1.0.0", catalog.TagOwner: "jane.doe", catalog.TagJobFunction: "erp-ops"} {
		catID, err := tm.CreateCategory(ctx, &tags.Category{Name: cat, Cardinality: "SINGLE", AssociableTypes: []string{"VirtualMachine"}})
		if err != nil {
			b.Fatal(err)
		}
		id, err := tm.CreateTag(ctx, &tags.Tag{Name: name, CategoryID: catID})
		if err != nil {
			b.Fatal(err)
		}
		tagIDs = append(tagIDs, id)
	}

	clone := func(name string, tagged bool) (types.ManagedObjectReference, error) {
		task, err := tmpl.Clone(ctx, folder, name, spec(name))
		if err != nil {
			return types.ManagedObjectReference{}, err
		}
		info, err := task.WaitForResult(ctx)
		if err != nil {
			return types.ManagedObjectReference{}, err
		}
		ref := info.Result.(types.ManagedObjectReference)
		if tagged {
			for _, id := range tagIDs {
				if err := tm.AttachTag(ctx, id, ref); err != nil {
					return ref, err
				}
			}
		}
		return ref, nil
	}
	destroy := func(refs []types.ManagedObjectReference) {
		for _, ref := range refs {
			vm := object.NewVirtualMachine(c.Client, ref)
			if task, err := vm.PowerOff(ctx); err == nil {
				_ = task.Wait(ctx)
			}
			task, err := vm.Destroy(ctx)
			if err == nil {
				err = task.Wait(ctx)
			}
			if err != nil {
				b.Fatalf("destroying %s: %v", ref.Value, err)
			}
		}
	}

	for _, v := range []struct {
		workers int
		tagged  bool
	}{{1, false}, {10, false}, {10, true}} {
		name := fmt.Sprintf("vms=%d/workers=%d", n, v.workers)
		if v.tagged {
			name += "/tags=4"
		}
		b.Run(name, func(b *testing.B) {
			var total time.Duration
			counted := acctest.RequestCounts{}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				before := proxy.Snapshot()
				refs := make([]types.ManagedObjectReference, n)
				errs := make([]error, n)
				next := make(chan int)
				var wg sync.WaitGroup
				start := time.Now()
				for w := 0; w < v.workers; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for j := range next {
							refs[j], errs[j] = clone(fmt.Sprintf("fleet-%03d", j), v.tagged)
						}
					}()
				}
				for j := 0; j < n; j++ {
					next <- j
				}
				close(next)
				wg.Wait()
				total += time.Since(start)
				b.StopTimer()
				counted = counted.Plus(proxy.Since(before))
				for j, err := range errs {
					if err != nil {
						b.Fatalf("cloning fleet-%03d: %v", j, err)
					}
				}
				destroy(refs)
				b.StartTimer()
			}
			b.StopTimer()
			if v.workers == 10 && !v.tagged {
				govmomiClone10 = total / time.Duration(b.N)
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/100-clones")
			b.ReportMetric(float64(counted.SOAP)/float64(b.N), "vc-roundtrips/100-clones")
			b.Logf("%s, per 100 clones: %s", name, counted.PerRun(b.N))
		})
	}
}

// BenchmarkApply100CatalogVMs times the creation of 100 catalog VMs of one item at Terraform's
// default -parallelism=10: `terraform plan -out` and `terraform apply` of the saved plan (the
// two make up ns/op; both are also reported alone). The item is published before the timer
// starts and the VMs are destroyed after it stops. When BenchmarkGovmomiClone100 ran first (as
// in `make bench`), it also reports the ratio to plain govmomi's 100 clones ten at a time.
func BenchmarkApply100CatalogVMs(b *testing.B) {
	const n = 100
	tfb := newTerraformBench(b)
	f := tfb.fleet(b)
	defer f.close()
	f.apply(b, fleetConfig(f.provider, 0))
	b.Run(fmt.Sprintf("vms=%d/parallelism=10", n), func(b *testing.B) {
		var plan, apply time.Duration
		counted := acctest.RequestCounts{}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			f.write(b, fleetConfig(f.provider, n))
			before := f.proxy.Snapshot()
			start := time.Now()
			f.tf(b, "plan", "-input=false", "-no-color", "-lock=false", "-parallelism=10", "-out=tfplan")
			mid := time.Now()
			f.tf(b, "apply", "-input=false", "-no-color", "-lock=false", "-parallelism=10", "tfplan")
			plan, apply = plan+mid.Sub(start), apply+time.Since(mid)
			b.StopTimer()
			counted = counted.Plus(f.proxy.Since(before))
			if got := f.stamped(b); got != n {
				b.Fatalf("%d VMs of the item in vCenter after apply, want %d", got, n)
			}
			f.apply(b, fleetConfig(f.provider, 0)) // destroy the VMs, keep the item
			b.StartTimer()
		}
		b.StopTimer()
		per := func(d time.Duration) float64 { return float64(d.Milliseconds()) / float64(b.N) }
		b.ReportMetric(per(plan), "ms/plan")
		b.ReportMetric(per(apply), "ms/apply")
		b.ReportMetric(per(plan+apply), "ms/plan+apply")
		b.ReportMetric(float64(counted.SOAP)/float64(b.N), "vc-roundtrips/plan+apply")
		if govmomiClone10 > 0 {
			b.ReportMetric(per(apply)/float64(govmomiClone10.Milliseconds()), "apply/govmomi10")
			b.ReportMetric(per(plan+apply)/float64(govmomiClone10.Milliseconds()), "plan+apply/govmomi10")
		}
		b.Logf("per plan+apply of %d VMs: %s", n, counted.PerRun(b.N))
	})
}

// terraformBench is the provider binary and a CLI configuration that points terraform at it.
type terraformBench struct {
	terraform string
	cliConfig string
}

func newTerraformBench(b *testing.B) *terraformBench {
	b.Helper()
	if os.Getenv("TF_ACC") == "" {
		b.Skip("runs the terraform CLI: set TF_ACC=1 (make bench does)")
	}
	tf, err := acctest.TerraformPath()
	if err != nil {
		b.Fatal(err)
	}
	return &terraformBench{terraform: tf, cliConfig: acctest.DevOverridesConfig(b, acctest.ProviderBinary(b))}
}

// fleetBench is one simulator, its counting proxy and a terraform working directory.
type fleetBench struct {
	*terraformBench
	sim      *simulator.Sim
	proxy    *acctest.CountingProxy
	work     string
	provider string // the provider block, pointing at the proxy
}

// fleet starts a simulator for one measurement; close stops it (the benchmark's cleanup also does).
func (t *terraformBench) fleet(b *testing.B) *fleetBench {
	b.Helper()
	sim := acctest.NewSim(b)
	proxy := acctest.NewCountingProxy(b, sim.URL.Host)
	provider := acctest.RequiredProviders + sim.ProviderConfigAt(proxy.Host, "")
	return &fleetBench{terraformBench: t, sim: sim.Sim, proxy: proxy, work: b.TempDir(), provider: provider}
}

func (f *fleetBench) close() {
	f.proxy.Close()
	f.sim.Close()
}

func (f *fleetBench) write(b *testing.B, cfg string) {
	b.Helper()
	if err := os.WriteFile(filepath.Join(f.work, "main.tf"), []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
}

func (f *fleetBench) tf(b *testing.B, args ...string) {
	b.Helper()
	f.tfEnv(b, nil, args...)
}

// tfEnv runs terraform in the working directory with extra environment variables.
func (f *fleetBench) tfEnv(b *testing.B, env []string, args ...string) string {
	b.Helper()
	cmd := exec.Command(f.terraform, args...)
	cmd.Dir = f.work
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+f.cliConfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1", "TF_LOG=")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (f *fleetBench) apply(b *testing.B, cfg string) {
	b.Helper()
	f.write(b, cfg)
	f.tf(b, "apply", "-input=false", "-no-color", "-lock=false", "-auto-approve")
}

// stamped counts the VMs of the fleet's item that vCenter holds (read directly, not through the
// proxy, so that the count is not counted).
func (f *fleetBench) stamped(b *testing.B) int {
	b.Helper()
	vms, err := stampedVMs(context.Background(), &acctest.Sim{Sim: f.sim}, fleetItem)
	if err != nil {
		b.Fatal(err)
	}
	return len(vms)
}

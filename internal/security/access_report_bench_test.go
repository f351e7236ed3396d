package security_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// BenchmarkAccessReport reports the vCenter round trips (SOAP and vAPI, counted by a proxy in
// front of the simulator) and the wall time of one access report, as vmgmt_access_report reads
// it: the selection (a tag and two folders) and the access snapshot side by side, then the
// effective permissions of every selected VM, at 10, 100 and 1,000 VMs. A propagating group
// permission on the bulk folder and one set on a VM give the inheritance walk something to
// find. "first-*" is the first report of a client (it makes the views and reads the role list,
// which the client then reuses); the loop is the warm cost. It measures; it asserts only that
// every VM is reported.
func BenchmarkAccessReport(b *testing.B) {
	for _, total := range []int{10, 100, 1000} {
		sim, err := simulator.Start(context.Background(), simulator.Options{ExtraVMs: total - simulator.SeededVMs()})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(sim.Close)
		reportBenchPermissions(b, sim)
		proxy := acctest.NewCountingProxy(b, sim.URL.Host)
		b.Run(fmt.Sprintf("vms=%d", total), func(b *testing.B) {
			ctx := context.Background()
			c, err := vsphere.Connect(ctx, vsphere.Config{Server: proxy.Host, User: sim.User, Password: sim.Password, Insecure: true})
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = c.Close(ctx) }()
			sel := vsphere.Selection{Include: vsphere.Criteria{
				Tags:    []vsphere.TagRef{{Category: "tier", Name: "tier-1"}},
				Folders: []string{simulator.BulkFolder, simulator.WorkloadFolder},
			}}
			want := total - simulator.SeededTemplates()
			report := func() (acctest.RequestCounts, time.Duration) {
				before, start := proxy.Snapshot(), time.Now()
				n := reportBenchOnce(b, c, sel)
				if n.vms != want {
					b.Fatalf("the report lists %d VMs, want %d", n.vms, want)
				}
				return proxy.Since(before), time.Since(start)
			}
			first, firstTime := report()
			b.ResetTimer()
			var soap, rest int64
			for i := 0; i < b.N; i++ {
				n, _ := report()
				soap, rest = soap+n.SOAP, rest+n.Other
			}
			b.StopTimer()
			b.ReportMetric(float64(soap)/float64(b.N), "soap/op")
			b.ReportMetric(float64(rest)/float64(b.N), "vapi/op")
			b.ReportMetric(float64(soap+rest)/float64(b.N), "roundtrips/op")
			b.ReportMetric(float64(want), "vms")
			// After the loop: ResetTimer drops the metrics reported before it.
			b.ReportMetric(float64(first.Total()), "first-roundtrips")
			b.ReportMetric(float64(firstTime.Microseconds())/1000, "first-ms")
		})
	}
}

type reportBenchCounts struct{ vms, permissions int }

// reportBenchOnce reads one access report through the vsphere functions the data source calls.
func reportBenchOnce(b *testing.B, c *vsphere.Client, sel vsphere.Selection) reportBenchCounts {
	b.Helper()
	ctx := context.Background()
	var (
		vms  []vsphere.SelectedVM
		snap *vsphere.AccessSnapshot
		errs = make(chan error, 2)
	)
	go func() { var err error; vms, err = c.Select(ctx, sel, []string{"name"}); errs <- err }()
	go func() { var err error; snap, err = c.ReadAccess(ctx); errs <- err }()
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	n := reportBenchCounts{vms: len(vms)}
	for _, vm := range vms {
		n.permissions += len(snap.Effective(vsphere.VMRef(vm.ID)))
	}
	return n
}

// reportBenchPermissions sets a propagating group permission on the bulk folder and a
// permission on one of its VMs, as someone other than vmgmt would.
func reportBenchPermissions(b *testing.B, sim *simulator.Sim) {
	b.Helper()
	ctx := context.Background()
	gc, err := sim.Connect(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = gc.Logout(ctx) }()
	f := find.NewFinder(gc.Client, false)
	folder, err := f.Folder(ctx, "/"+simulator.Datacenter+"/vm/"+simulator.BulkFolder)
	if err != nil {
		b.Fatal(err)
	}
	vms, err := f.VirtualMachineList(ctx, "/"+simulator.Datacenter+"/vm/"+simulator.BulkFolder+"/*")
	if err != nil {
		b.Fatal(err)
	}
	am := object.NewAuthorizationManager(gc.Client)
	set := func(ref types.ManagedObjectReference, p types.Permission) {
		p.Entity = &ref
		if err := am.SetEntityPermissions(ctx, ref, []types.Permission{p}); err != nil {
			b.Fatal(err)
		}
	}
	set(folder.Reference(), types.Permission{Principal: `VSPHERE.LOCAL\ops`, Group: true, RoleId: -2, Propagate: true})
	set(vms[0].Reference(), types.Permission{Principal: "admin", RoleId: -2})
}

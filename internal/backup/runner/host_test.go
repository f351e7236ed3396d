package runner

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/job"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/points"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/repo"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// withHosts gives the env's job the hosts of the simulator's cluster; vmsToo keeps its VMs, else
// it protects the hosts only (faster: no disk is exported).
func (e *env) withHosts(t *testing.T, vmsToo bool) []vsphere.HostRef {
	t.Helper()
	e.job.Hosts = &vsphere.HostScope{Clusters: []string{simulator.Cluster}}
	if !vmsToo {
		e.job.Selection = nil
	}
	e.put(t)
	hosts, err := e.c.SelectHosts(context.Background(), *e.job.Hosts)
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != simulator.HostCount {
		t.Fatalf("the cluster has %d hosts, want %d", len(hosts), simulator.HostCount)
	}
	return hosts
}

func (e *env) hostPoints(t *testing.T, r *repo.Repository, host string) []repo.Point {
	t.Helper()
	p, _, err := r.SubjectPoints(context.Background(), e.job.Name, "", host)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func hostRes(t *testing.T, res JobResult, name string) VMResult {
	t.Helper()
	for _, h := range res.Hosts {
		if h.Name == name {
			return h
		}
	}
	t.Fatalf("no result for host %s in %+v", name, res.Hosts)
	return VMResult{}
}

// servedSHA is the SHA-256 of the bundle the simulator serves for the host now, downloaded apart
// from the runner.
func (e *env) servedSHA(t *testing.T, hostID string) string {
	t.Helper()
	h := sha256.New()
	if _, err := e.c.BackupHostConfig(context.Background(), hostID, h); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// tarNames are the names of the files in a gzipped tar, read to its end.
func tarNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s is not gzip: %v", path, err)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s is not a valid tar: %v", path, err)
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			t.Fatalf("%s: reading %s: %v", path, hdr.Name, err)
		}
		names = append(names, hdr.Name)
	}
	sort.Strings(names)
	return names
}

// A job with the cluster's hosts backs up each host once, beside its VMs: the stored bundle has
// the bytes the host serves (SHA-256) and is a gzipped tar of the host's configuration; the
// manifest names the host, its build and the run; the run counts the hosts, as the vCenter
// event, the JSON lines (host events apart from the VMs') and `backup list` do.
func TestRunBacksUpTheJobsHosts(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	hosts := e.withHosts(t, true)
	var out bytes.Buffer
	opts := e.opts()
	opts.Output = NewJSONLines(&out)
	sum, res := e.run(t, opts)
	if sum.Failed() || res.Err != nil || res.Status != job.RunOK {
		t.Fatalf("run failed: %+v\n%s", res, out.String())
	}
	if len(res.VMs) != len(simulator.Workloads) || len(res.Hosts) != simulator.HostCount {
		t.Fatalf("%d VM and %d host results, want %d and %d: %+v", len(res.VMs), len(res.Hosts), len(simulator.Workloads), simulator.HostCount, res)
	}
	r := e.repo(t)
	seen := map[string]string{}
	var hostBytes int64
	for _, h := range hosts {
		hr := hostRes(t, res, h.Name)
		points := e.hostPoints(t, r, h.Name)
		if hr.Status != VMOK || len(points) != 1 || hr.Point != points[0].ID {
			t.Fatalf("host %s: %+v, points %+v; want one point, ok", h.Name, hr, points)
		}
		hostBytes += hr.Bytes
		m, err := r.ReadManifest(ctx, points[0])
		if err != nil {
			t.Fatal(err)
		}
		if m.Host == nil || m.Host.ID != h.ID || m.Host.Name != h.Name || m.Host.Build == "" || m.Host.Version == "" ||
			m.Host.Bundle != repo.HostBundleFile || m.Run != sum.Jobs[0].RunID || m.VM != nil || m.Consistency != "" {
			t.Fatalf("host %s's manifest: %+v (host %+v), run %s", h.Name, m, m.Host, sum.Jobs[0].RunID)
		}
		if len(m.Files) != 1 || m.Files[0].Bytes != hr.Bytes {
			t.Fatalf("host %s's manifest files %+v, result %d bytes", h.Name, m.Files, hr.Bytes)
		}
		file := filepath.Join(e.dir, e.job.Name, "hosts", h.Name, points[0].ID, repo.HostBundleFile)
		stored := fileSHA(t, file)
		if served := e.servedSHA(t, h.ID); stored != served || m.Files[0].SHA256 != stored {
			t.Fatalf("host %s: stored bundle SHA-256 %s, the host serves %s, the manifest says %s", h.Name, stored, served, m.Files[0].SHA256)
		}
		if other, dup := seen[stored]; dup {
			t.Fatalf("hosts %s and %s have the same bundle", other, h.Name)
		}
		seen[stored] = h.Name
		if names := tarNames(t, file); strings.Join(names, ",") != simulator.FirmwareManifest+","+simulator.FirmwareOptions {
			t.Fatalf("host %s's bundle holds %q", h.Name, names)
		}
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		b, err := simulator.ReadFirmwareBundle(f)
		_ = f.Close()
		if err != nil || b.HostName != h.Name {
			t.Fatalf("host %s's bundle reads as %+v, %v", h.Name, b, err)
		}
		if err := r.Verify(ctx, points[0]); err != nil {
			t.Fatal(err)
		}
	}
	if res.Bytes <= hostBytes {
		t.Fatalf("the job's %d bytes do not add the VMs' to the hosts' %d", res.Bytes, hostBytes)
	}
	if run := e.lastRun(t); run.Hosts != simulator.HostCount || run.VMs != len(simulator.Workloads) || run.Failed != 0 ||
		run.RestorePoints != simulator.HostCount+len(simulator.Workloads) {
		t.Fatalf("recorded run %+v", run)
	}
	assertEvent(t, e, "vmgmt backup job nightly, run "+res.RunID+": ok, 3 VMs and 4 hosts backed up")

	starts, dones := map[string]bool{}, map[string]bool{}
	events := parseLines(t, out.Bytes())
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if strings.Contains(line, `"event":"host_`) && strings.Contains(line, `"vm":`) {
			t.Errorf("a host event names a VM: %s", line)
		}
	}
	var jobDone string
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for i, ev := range events {
		switch ev.Event {
		case "host_start":
			starts[ev.Host] = true
		case "host_done":
			dones[ev.Host] = ev.Status == "ok" && ev.Point != ""
		case "vm_start", "vm_done":
			if ev.Host != "" {
				t.Errorf("a VM event names a host: %+v", ev)
			}
		case "job_done":
			jobDone = lines[i]
		}
	}
	for _, h := range hosts {
		if !starts[h.Name] || !dones[h.Name] {
			t.Errorf("host %s: start %v, done ok %v\n%s", h.Name, starts[h.Name], dones[h.Name], out.String())
		}
	}
	for _, want := range []string{`"hosts":4`, `"hosts_ok":4`, `"hosts_failed":0`, `"host_results":[{"host":`} {
		if !strings.Contains(jobDone, want) {
			t.Errorf("job_done has no %s: %s", want, jobDone)
		}
	}

	listing, err := points.List(ctx, e.c, points.ListOptions{Job: e.job.Name})
	if err != nil || len(listing.Errs) > 0 {
		t.Fatal(err, listing.Errs)
	}
	listedHosts := 0
	var order []string // the subjects in listing order
	for _, p := range listing.Points {
		if p.Host != "" {
			listedHosts++
		}
		order = append(order, p.VM+"|"+p.Host)
	}
	// VMs by name first, then hosts by name.
	if !sort.SliceIsSorted(listing.Points, func(a, b int) bool {
		pa, pb := listing.Points[a], listing.Points[b]
		if (pa.Host != "") != (pb.Host != "") {
			return pa.Host == ""
		}
		return pa.VM+pa.Host < pb.VM+pb.Host
	}) || listing.Points[0].Host != "" {
		t.Errorf("backup list is not VMs, then hosts, by name: %v", order)
	}
	if listedHosts != simulator.HostCount {
		t.Fatalf("backup list shows %d host points, want %d: %+v", listedHosts, simulator.HostCount, listing.Points)
	}
}

// With keep_last 2, three runs leave each host two configuration points: the oldest is pruned.
func TestHostRetentionPrunesAcrossRuns(t *testing.T) {
	e := newEnv(t)
	hosts := e.withHosts(t, false)
	r := e.repo(t)
	first := map[string]string{}
	for i := 0; i < 3; i++ {
		_, res := e.run(t, e.opts())
		if res.Status != job.RunOK {
			t.Fatalf("run %d: %+v", i, res)
		}
		if i == 0 {
			for _, h := range hosts {
				first[h.Name] = hostRes(t, res, h.Name).Point
			}
		}
		if want := []int{0, 0, simulator.HostCount}[i]; res.Pruned != want || res.RestorePoints != min(i+1, 2)*simulator.HostCount {
			t.Fatalf("run %d: pruned %d, %d points; want %d pruned", i, res.Pruned, res.RestorePoints, want)
		}
	}
	for _, h := range hosts {
		points := e.hostPoints(t, r, h.Name)
		if len(points) != 2 || points[0].ID == first[h.Name] || points[1].ID == first[h.Name] {
			t.Fatalf("host %s keeps %+v; want 2 points, not the first run's %s", h.Name, points, first[h.Name])
		}
	}
}

// A host whose lease another runner holds is left to it; the other hosts are backed up.
func TestHeldHostLeaseSkipsTheHost(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	hosts := e.withHosts(t, false)
	held := hosts[1]
	l, err := e.c.Lock(ctx, "backup.host."+e.job.Name+"."+held.ID, vsphere.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Release(ctx) }()
	sum, res := e.run(t, e.opts())
	if sum.Failed() || res.Status != job.RunOK {
		t.Fatalf("run: %+v", res)
	}
	r := e.repo(t)
	for _, h := range hosts {
		hr, points := hostRes(t, res, h.Name), e.hostPoints(t, r, h.Name)
		switch {
		case h.ID == held.ID && (hr.Status != VMSkipped || len(points) != 0 || !strings.Contains(hr.Err.Error(), "another runner")):
			t.Fatalf("held host %s: %+v, points %+v; want skipped, no point", h.Name, hr, points)
		case h.ID != held.ID && (hr.Status != VMOK || len(points) != 1):
			t.Fatalf("host %s: %+v, points %+v", h.Name, hr, points)
		}
	}
	if run := e.lastRun(t); run.Hosts != simulator.HostCount-1 || run.Failed != 0 {
		t.Fatalf("recorded run %+v, want %d hosts", run, simulator.HostCount-1)
	}
}

// Under its lease a runner removes the host's partial points (a dead runner's), and skips a host
// whose newest point this run already made (another runner of the run did it); a point of
// another run does not count.
func TestHostOfTheRunIsBackedUpOnce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	hosts := e.withHosts(t, false)
	h := hosts[0]
	r := e.repo(t)
	opts := e.opts().withDefaults()
	w, err := r.BeginHostPoint(ctx, e.job.Name, h.Name, opts.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteFile(ctx, repo.HostBundleFile, strings.NewReader("half a bundle")); err != nil {
		t.Fatal(err)
	}

	u := unit{host: &h}
	res := seeThroughLeased(ctx, e.c, r, e.job, u, "run-a", opts, opts.VMLock.Wait)
	if res.Status != VMOK || res.CleanedPoints != 1 {
		t.Fatalf("first backup in run-a: %+v; want ok, 1 partial point removed", res)
	}
	if _, partial, err := r.SubjectPoints(ctx, e.job.Name, "", h.Name); err != nil || len(partial) != 0 {
		t.Fatalf("partial points left: %+v, %v", partial, err)
	}
	again := seeThroughLeased(ctx, e.c, r, e.job, u, "run-a", opts, opts.VMLock.Wait)
	if again.Status != VMByPeer || again.Point != res.Point {
		t.Fatalf("second backup in run-a: %+v, want left to its peer with point %s", again, res.Point)
	}
	next := seeThroughLeased(ctx, e.c, r, e.job, u, "run-b", opts, opts.VMLock.Wait)
	if next.Status != VMOK || next.Point == res.Point {
		t.Fatalf("backup in run-b: %+v, want a new point", next)
	}
	if points := e.hostPoints(t, r, h.Name); len(points) != 2 {
		t.Fatalf("host %s has %d points, want 2", h.Name, len(points))
	}
}

// A host that cannot be backed up (disconnected: vCenter answers HostNotConnected) fails alone:
// the other hosts and the VMs are backed up, the failed host has no point, not even a partial
// one, and the run is partial and makes the command exit non-zero.
func TestFailingHostFailsOnlyThatHost(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	hosts := e.withHosts(t, true)
	bad := hosts[2]
	gc, err := e.sim.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = gc.Logout(ctx) }()
	opts := e.opts()
	opts.beforeHost = func(ctx context.Context, hostID string) {
		if hostID != bad.ID {
			return
		}
		task, err := object.NewHostSystem(gc.Client, types.ManagedObjectReference{Type: "HostSystem", Value: hostID}).Disconnect(ctx)
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil {
			t.Error(err)
		}
	}
	var plain bytes.Buffer
	opts.Output = &Plain{W: &plain}
	sum, res := e.run(t, opts)
	if !sum.Failed() || res.Status != job.RunPartial || res.Err != nil {
		t.Fatalf("run: failed %v, %+v\n%s", sum.Failed(), res, plain.String())
	}
	r := e.repo(t)
	for _, h := range hosts {
		hr, points := hostRes(t, res, h.Name), e.hostPoints(t, r, h.Name)
		switch {
		case h.ID == bad.ID && (hr.Status != VMFailed || len(points) != 0 || hr.Err == nil || !strings.Contains(hr.Err.Error(), "HostNotConnected") && !strings.Contains(hr.Err.Error(), "not connected")):
			t.Fatalf("disconnected host %s: %+v, points %+v; want failed, no point", h.Name, hr, points)
		case h.ID != bad.ID && (hr.Status != VMOK || len(points) != 1):
			t.Fatalf("host %s: %+v, points %+v", h.Name, hr, points)
		}
	}
	for _, v := range res.VMs {
		if v.Status != VMOK {
			t.Fatalf("VM %s: %+v", v.Name, v)
		}
	}
	if _, partial, err := r.SubjectPoints(ctx, e.job.Name, "", bad.Name); err != nil || len(partial) != 0 {
		t.Fatalf("partial points of the failed host: %+v, %v", partial, err)
	}
	if run := e.lastRun(t); run.Status != job.RunPartial || run.Hosts != simulator.HostCount-1 || run.Failed != 1 {
		t.Fatalf("recorded run %+v", run)
	}
	if !strings.Contains(plain.String(), "\n  host "+bad.Name+" ") || !strings.Contains(plain.String(), "failed") {
		t.Fatalf("the summary does not name the failed host:\n%s", plain.String())
	}
}

// A dry run lists the job's hosts as planned and backs none up.
func TestDryRunPlansTheHosts(t *testing.T) {
	e := newEnv(t)
	hosts := e.withHosts(t, false)
	opts := e.opts()
	opts.DryRun = true
	_, res := e.run(t, opts)
	if len(res.Hosts) != len(hosts) || res.Err != nil {
		t.Fatalf("dry run: %+v", res)
	}
	r := e.repo(t)
	for _, h := range hosts {
		if hr := hostRes(t, res, h.Name); hr.Status != VMPlanned || len(e.hostPoints(t, r, h.Name)) != 0 {
			t.Fatalf("host %s: %+v", h.Name, hr)
		}
	}
}

package runner

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/repo"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/restore"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// restoredVM is what the tests read back of a restored VM, straight from the simulator.
type restoredVM struct {
	mo.VirtualMachine
	// diskSHAs are the SHA-256 of each disk's data file on the datastore, in device order.
	diskSHAs []string
	tags     []string
}

// readRestored reads a VM's configuration, its disks' bytes' hashes (their data files on the
// simulator's datastore) and its tags.
func readRestored(t *testing.T, e *env, id string) restoredVM {
	t.Helper()
	ctx := context.Background()
	var out restoredVM
	ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: id}
	if err := property.DefaultCollector(e.c.Vim()).RetrieveOne(ctx, ref, []string{"name", "config", "runtime.powerState", "parent"}, &out.VirtualMachine); err != nil {
		t.Fatalf("reading restored VM %s: %v", id, err)
	}
	files, err := e.sim.DiskFilesByID(id)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !strings.HasSuffix(f, "-flat.vmdk") {
			t.Fatalf("restored disk %s has no flat extent", f)
		}
		out.diskSHAs = append(out.diskSHAs, fileSHA(t, f))
	}
	tags, err := e.c.AttachedTags(ctx, []string{id})
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range tags[id] {
		out.tags = append(out.tags, tag.String())
	}
	return out
}

func extraConfigOf(vm restoredVM) map[string]string {
	out := map[string]string{}
	for _, o := range vm.Config.ExtraConfig {
		if v := o.GetOptionValue(); v != nil {
			out[v.Key], _ = v.Value.(string)
		}
	}
	return out
}

// findVMs returns the IDs of the VMs of a name, and of those under any pending name.
func findVMs(t *testing.T, c *vsphere.Client, name string) []string {
	t.Helper()
	c.InvalidateVMs()
	vms, err := c.VMs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, vm := range vms {
		if vm.Name == name || vsphere.IsPendingName(vm.Name) {
			out = append(out, vm.ID)
		}
	}
	return out
}

// dbMAC is the MAC address erp-db01's first adapter is given by hand before the backup.
const dbMAC = "00:50:56:3a:00:01"

// backUpTagged tags and stamps erp-db01 and erp-app01 as one application with a boot order,
// gives erp-db01 two tags of one category and a manual MAC address, and backs the job up once.
func backUpTagged(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	db, app := e.vms[simulator.BigDiskVM], e.vms["erp-app01"]
	if err := e.c.SetTags(ctx, db, map[string]string{"app": "erp", BootOrderCategory: "1", "tier": "tier-1"}, true); err != nil {
		t.Fatal(err)
	}
	if err := e.c.SetTags(ctx, app, map[string]string{"app": "erp", BootOrderCategory: "2"}, true); err != nil {
		t.Fatal(err)
	}
	if err := e.c.SetTagSets(ctx, db, map[string][]string{"compliance": {"pci", "sox"}}, false); err != nil {
		t.Fatal(err)
	}
	setManualMAC(t, e.c, db, dbMAC)
	stamps := map[string]string{"vmgmt.catalog.item": "erp-database", "vmgmt.baseline.tier1": "3f2a", "vmgmt.security-group.db": "sg-1", "guestinfo.role": "db"}
	if err := e.c.ReconfigureVM(ctx, db, vsphere.ReconfigSpec{ExtraConfig: stamps}); err != nil {
		t.Fatal(err)
	}
	if _, res := e.run(t, e.opts()); res.Status != "ok" {
		t.Fatalf("backup run: %+v", res)
	}
}

// setManualMAC gives a VM's first network adapter a MAC address set by hand.
func setManualMAC(t *testing.T, c *vsphere.Client, id, mac string) {
	t.Helper()
	ctx := context.Background()
	vm := object.NewVirtualMachine(c.Vim(), types.ManagedObjectReference{Type: "VirtualMachine", Value: id})
	devices, err := vm.Device(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nics := devices.SelectByType((*types.VirtualEthernetCard)(nil))
	if len(nics) == 0 {
		t.Fatalf("%s has no network adapter", id)
	}
	card := nics[0].(types.BaseVirtualEthernetCard).GetVirtualEthernetCard()
	card.AddressType, card.MacAddress = string(types.VirtualEthernetCardMacTypeManual), mac
	if err := vm.EditDevice(ctx, nics[0]); err != nil {
		t.Fatal(err)
	}
}

// nicsOf are a VM's network adapters as "kind MAC" (MAC only when set by hand, else its type).
func nicsOf(vm restoredVM) []string {
	var out []string
	for _, d := range vm.Config.Hardware.Device {
		card, ok := d.(types.BaseVirtualEthernetCard)
		if !ok {
			continue
		}
		e := card.GetVirtualEthernetCard()
		mac := e.AddressType
		if e.AddressType == string(types.VirtualEthernetCardMacTypeManual) {
			mac = e.MacAddress
		}
		out = append(out, strings.TrimPrefix(strings.ToLower(reflect.TypeOf(d).Elem().Name()), "virtual")+" "+mac)
	}
	return out
}

func (e *env) restoreOpts() RestoreOptions {
	return RestoreOptions{Job: e.job.Name, Concurrency: 2}
}

func restoreResult(t *testing.T, sum RestoreSummary, vm string) RestoreResult {
	t.Helper()
	for _, r := range sum.Results {
		if r.VM == vm {
			return r
		}
	}
	t.Fatalf("no restore result for %s in %+v", vm, sum.Results)
	return RestoreResult{}
}

// One VM is restored from its newest point under a new name: the hardware, guest OS, stamps and
// tags of the manifest, the disk's bytes equal to the manifest's SHA-256, powered on; the point
// is untouched. Without --latest an untested point is refused, and a name in use is refused
// before anything is made.
func TestRestoreOneVM(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	backUpTagged(t, e)
	r := e.repo(t)
	points := e.points(t, r, simulator.BigDiskVM)
	m, err := r.ReadManifest(ctx, points[0])
	if err != nil {
		t.Fatal(err)
	}

	opts := e.restoreOpts()
	opts.VM = simulator.BigDiskVM
	if _, err := Restore(ctx, e.c, opts); err == nil || !strings.Contains(err.Error(), "--latest") {
		t.Fatalf("restore of an untested point without --latest: %v, want a refusal that names --latest", err)
	}
	opts.Latest = true
	opts.Target = restore.Target{Folder: simulator.WorkloadFolder}
	if _, err := Restore(ctx, e.c, opts); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("restore onto the name of the VM that exists: %v, want the name refused", err)
	}

	opts.Target = restore.Target{Name: "erp-db01-restored", PowerOn: true}
	var plain strings.Builder
	opts.Output = &Plain{W: &plain}
	sum, err := Restore(ctx, e.c, opts)
	if err != nil {
		t.Fatal(err)
	}
	res := restoreResult(t, sum, simulator.BigDiskVM)
	if res.Status != VMOK || res.Point != points[0].ID || res.Bytes != m.Disks[0].Bytes || res.Duration <= 0 {
		t.Fatalf("result %+v, want ok from %s with %d bytes and a duration", res, points[0].ID, m.Disks[0].Bytes)
	}
	got := readRestored(t, e, res.ID)
	if got.Name != "erp-db01-restored" || got.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
		t.Errorf("restored VM %s is %s, want erp-db01-restored powered on", got.Name, got.Runtime.PowerState)
	}
	hw := got.Config.Hardware
	if int(hw.NumCPU) != m.Hardware.CPUs || int64(hw.MemoryMB) != m.Hardware.MemoryMB || got.Config.GuestId != m.Hardware.GuestID {
		t.Errorf("restored hardware %d CPUs %d MB guest %s, the manifest says %d, %d, %s",
			hw.NumCPU, hw.MemoryMB, got.Config.GuestId, m.Hardware.CPUs, m.Hardware.MemoryMB, m.Hardware.GuestID)
	}
	if len(got.diskSHAs) != 1 || got.diskSHAs[0] != m.Disks[0].SHA256 {
		t.Errorf("restored disk SHA-256 %v, the manifest says %s", got.diskSHAs, m.Disks[0].SHA256)
	}
	ec := extraConfigOf(got)
	for k, v := range map[string]string{"vmgmt.catalog.item": "erp-database", "vmgmt.baseline.tier1": "3f2a", "vmgmt.security-group.db": "sg-1", "guestinfo.role": "db"} {
		if ec[k] != v {
			t.Errorf("restored extraConfig %s = %q, want %q", k, ec[k], v)
		}
	}
	if ec[restore.PointStamp] != points[0].String() {
		t.Errorf("restored VM's point stamp %q, want %q (the vmgmt_vm_restore import reads it)", ec[restore.PointStamp], points[0].String())
	}
	if ec[vsphere.StampRequest] == "" || ec[vsphere.StampRequest] == m.ExtraConfig[vsphere.StampRequest] {
		t.Errorf("restored VM's request stamp %q: want its own", ec[vsphere.StampRequest])
	}
	for _, tag := range []string{"app/erp", "tier/tier-1", BootOrderCategory + "/1", "compliance/pci", "compliance/sox"} {
		if !hasTag(got.tags, tag) {
			t.Errorf("restored VM's tags %v lack %s", got.tags, tag)
		}
	}
	// The adapters the manifest records, of their kinds, the first with its manual MAC.
	if len(m.Networks) == 0 || m.Networks[0].MAC != dbMAC || m.Networks[0].AddressType != "manual" || m.Networks[0].Adapter == "" {
		t.Errorf("manifest networks %+v, want the first a manual %s of a recorded kind", m.Networks, dbMAC)
	}
	var want []string
	for i, n := range m.Networks {
		mac := "generated"
		if i == 0 {
			mac = dbMAC
		}
		want = append(want, n.Adapter+" "+mac)
	}
	if nics := nicsOf(got); !slices.Equal(nics, want) {
		t.Errorf("restored adapters %q, want %q", nics, want)
	}
	if !strings.Contains(plain.String(), "restored as erp-db01-restored") || !strings.Contains(plain.String(), "recovery time") {
		t.Errorf("plain output:\n%s", plain.String())
	}
	if after := e.points(t, r, simulator.BigDiskVM); len(after) != len(points) {
		t.Errorf("the restore changed the VM's points: %d, had %d", len(after), len(points))
	}

	// The same restore again adopts the finished VM: still one.
	sum, err = Restore(ctx, e.c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if again := restoreResult(t, sum, simulator.BigDiskVM); !again.Adopted || again.ID != res.ID {
		t.Errorf("the rerun: %+v, want the VM %s adopted", again, res.ID)
	}
	if ids := findVMs(t, e.c, "erp-db01-restored"); len(ids) != 1 {
		t.Errorf("VMs named erp-db01-restored (or pending) after the rerun: %v, want 1", ids)
	}

	// A copy beside the original (NewMACs) does not take its manual MAC.
	opts.Target = restore.Target{Name: "erp-db01-copy", NewMACs: true}
	sum, err = Restore(ctx, e.c, opts)
	if err != nil {
		t.Fatal(err)
	}
	want[0] = m.Networks[0].Adapter + " generated"
	if nics := nicsOf(readRestored(t, e, restoreResult(t, sum, simulator.BigDiskVM).ID)); !slices.Equal(nics, want) {
		t.Errorf("the copy's adapters %q, want %q", nics, want)
	}
}

// A disk whose stored bytes no longer match the manifest fails the restore with ErrCorrupt, and
// the half-made VM is destroyed: nothing is left under the name or a pending name.
func TestRestoreChecksumMismatch(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	backUpTagged(t, e)
	r := e.repo(t)
	p := e.points(t, r, simulator.BigDiskVM)[0]
	e.flipStoredByte(t, p, testDisk/2)

	opts := e.restoreOpts()
	opts.Point = p.ID
	opts.Target = restore.Target{Name: "erp-db01-bad", PowerOn: true}
	sum, err := Restore(ctx, e.c, opts)
	if err != nil {
		t.Fatal(err)
	}
	res := restoreResult(t, sum, simulator.BigDiskVM)
	if res.Status != VMFailed || !errors.Is(res.Err, repo.ErrCorrupt) || !sum.Failed() {
		t.Fatalf("restore of a corrupt point: %+v, want failed with ErrCorrupt", res)
	}
	if !strings.Contains(res.Err.Error(), "SHA-256") {
		t.Errorf("the error does not say the checksum differs: %v", res.Err)
	}
	if ids := findVMs(t, e.c, "erp-db01-bad"); len(ids) != 0 {
		t.Errorf("VMs left after the failed restore: %v, want none", ids)
	}
}

// A restore cut short mid-disk destroys its VM; one whose process died (a VM left under the
// pending name, with the request's stamp) is started over by the rerun, which destroys the
// half-made VM first; in the end there is exactly one VM, with the right bytes.
func TestRestoreInterruptedAndRerun(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	backUpTagged(t, e)
	r := e.repo(t)
	p := e.points(t, r, simulator.BigDiskVM)[0]
	m, err := r.ReadManifest(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	opts := e.restoreOpts()
	opts.Point = p.ID
	opts.Target = restore.Target{Name: "erp-db01-dr"}

	// Cut mid-disk: the repository fails after 1 MiB.
	opts.wrapDisk = func(_ string, body io.Reader) io.Reader { return &failAfter{r: body, n: 1 << 20} }
	sum, err := Restore(ctx, e.c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res := restoreResult(t, sum, simulator.BigDiskVM); res.Status != VMFailed {
		t.Fatalf("restore cut mid-disk: %+v, want failed", res)
	}
	if ids := findVMs(t, e.c, "erp-db01-dr"); len(ids) != 0 {
		t.Fatalf("VMs left after the cut restore: %v", ids)
	}

	// A process that died mid-import leaves the VM under its pending name, stamped.
	plan, err := restore.Prepare(ctx, e.c, r, p, opts.Target)
	if err != nil {
		t.Fatal(err)
	}
	folder, err := e.c.ResolveFolder(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	pool := object.NewResourcePool(e.c.Vim(), types.ManagedObjectReference{Type: "ResourcePool", Value: plan.Spec.PoolID})
	task, err := folder.CreateVM(ctx, types.VirtualMachineConfigSpec{
		Name: plan.Spec.Request.PendingName(), GuestId: "otherGuest64", NumCPUs: 1, MemoryMB: 128,
		Files:       &types.VirtualMachineFileInfo{VmPathName: "[" + plan.Spec.Datastore + "]"},
		ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: vsphere.StampRequest, Value: plan.Spec.Request.Token}},
	}, pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	info, err := task.WaitForResult(ctx)
	if err != nil {
		t.Fatal(err)
	}
	halfMade := info.Result.(types.ManagedObjectReference).Value

	opts.wrapDisk = nil
	sum, err = Restore(ctx, e.c, opts)
	if err != nil {
		t.Fatal(err)
	}
	res := restoreResult(t, sum, simulator.BigDiskVM)
	if res.Status != VMOK || res.Discarded != halfMade {
		t.Fatalf("the rerun: %+v, want ok with the half-made VM %s discarded", res, halfMade)
	}
	ids := findVMs(t, e.c, "erp-db01-dr")
	if len(ids) != 1 || ids[0] != res.ID {
		t.Fatalf("VMs after the rerun: %v, want only %s", ids, res.ID)
	}
	if got := readRestored(t, e, res.ID); len(got.diskSHAs) != 1 || got.diskSHAs[0] != m.Disks[0].SHA256 {
		t.Errorf("disk after the rerun %v, want %s", got.diskSHAs, m.Disks[0].SHA256)
	}
}

// flipStoredByte inverts one byte of the point's first disk as stored in the file repository.
func (e *env) flipStoredByte(t *testing.T, p repo.Point, at int64) {
	t.Helper()
	file := filepath.Join(e.dir, e.job.Name, p.VM, p.ID, "disk-0.vmdk")
	f, err := os.OpenFile(file, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, at); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, at); err != nil {
		t.Fatal(err)
	}
}

// failAfter fails after n bytes.
type failAfter struct {
	r io.Reader
	n int64
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("repository connection reset")
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

// An application (the VMs tagged app/erp) is restored from one run into another folder, and
// powered on in boot order: erp-db01 (boot 1) before erp-app01 (boot 2); erp-web01, untagged, is
// not restored.
func TestRestoreApplicationInBootOrder(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	backUpTagged(t, e)
	folder := makeFolder(t, e.c, "recovered")
	var mu sync.Mutex
	var order []string
	opts := e.restoreOpts()
	opts.App = "app/erp"
	opts.Target = restore.Target{Folder: folder, PowerOn: true}
	opts.onPowerOn = func(vm string) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, vm)
	}
	sum, err := Restore(ctx, e.c, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Results) != 2 || sum.Failed() {
		t.Fatalf("application restore: %+v, want erp-db01 and erp-app01 restored", sum.Results)
	}
	if strings.Join(order, ",") != "erp-db01,erp-app01" {
		t.Errorf("powered on in the order %v, want erp-db01 (boot 1) then erp-app01 (boot 2)", order)
	}
	db, app := restoreResult(t, sum, "erp-db01"), restoreResult(t, sum, "erp-app01")
	if db.BootGroup != 1 || app.BootGroup != 2 || app.Duration < db.Duration {
		t.Errorf("boot groups %d, %d and recovery times %s, %s: want 1 then 2, the second no sooner", db.BootGroup, app.BootGroup, db.Duration, app.Duration)
	}
	for _, res := range sum.Results {
		got := readRestored(t, e, res.ID)
		if got.Parent == nil || got.Parent.Value != folder || got.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
			t.Errorf("%s: in %v, %s; want in %s, powered on", res.Name, got.Parent, got.Runtime.PowerState, folder)
		}
	}

	// A tag no point carries is refused before anything is made.
	opts.App = "app/none"
	if _, err := Restore(ctx, e.c, opts); err == nil || !strings.Contains(err.Error(), "app/none") {
		t.Errorf("restore of an application no VM carries: %v", err)
	}
}

// makeFolder makes a VM folder under the datacenter's vm folder and returns its ID.
func makeFolder(t testing.TB, c *vsphere.Client, name string) string {
	t.Helper()
	root, err := c.ResolveFolder(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	f, err := root.CreateFolder(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return f.Reference().Value
}

// The disaster-recovery proof: the job is backed up on simulator A, A is stopped, and every VM
// of the job is restored on a fresh simulator B from the repository alone (B holds no job
// definition): each VM exists with the recorded hardware, tags and stamps, and its disks' bytes
// match the manifest.
func TestRestoreAllOnSecondSimulator(t *testing.T) {
	ctx := context.Background()
	a := newEnv(t)
	backUpTagged(t, a)
	r := a.repo(t)
	points, err := r.JobPoints(ctx, a.job.Name)
	if err != nil {
		t.Fatal(err)
	}
	manifests := map[string]*repo.Manifest{}
	for _, p := range points {
		if m, err := r.ReadManifest(ctx, p); err == nil && !p.IsHost() {
			manifests[p.VM] = m
		}
	}
	a.sim.Close()

	b := newEnvWithoutJob(t)
	folder := makeFolder(t, b.c, "dr")
	var out strings.Builder
	sum, err := Restore(ctx, b.c, RestoreOptions{
		Job: a.job.Name, Repository: a.job.Repository, All: true, Concurrency: 3,
		Target: restore.Target{Folder: folder, PowerOn: true}, Output: NewJSONLines(&out),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Results) != len(simulator.Workloads) || sum.Failed() {
		t.Fatalf("DR restore: %+v, want all %d VMs", sum.Results, len(simulator.Workloads))
	}
	for _, res := range sum.Results {
		m := manifests[res.VM]
		got := readRestored(t, b, res.ID)
		if got.Parent == nil || got.Parent.Value != folder || got.Name != res.VM {
			t.Errorf("%s: restored as %s in %v, want in the dr folder", res.VM, got.Name, got.Parent)
		}
		if int(got.Config.Hardware.NumCPU) != m.Hardware.CPUs || int64(got.Config.Hardware.MemoryMB) != m.Hardware.MemoryMB || got.Config.GuestId != m.Hardware.GuestID {
			t.Errorf("%s: hardware %d/%d/%s, manifest %+v", res.VM, got.Config.Hardware.NumCPU, got.Config.Hardware.MemoryMB, got.Config.GuestId, *m.Hardware)
		}
		if len(got.diskSHAs) != len(m.Disks) {
			t.Fatalf("%s: %d disks, manifest %d", res.VM, len(got.diskSHAs), len(m.Disks))
		}
		for i, d := range m.Disks {
			if got.diskSHAs[i] != d.SHA256 {
				t.Errorf("%s disk %d: SHA-256 %s on B, manifest %s", res.VM, i, got.diskSHAs[i], d.SHA256)
			}
		}
		for _, tag := range m.Tags {
			if !hasTag(got.tags, tag) {
				t.Errorf("%s: tags on B %v lack %s", res.VM, got.tags, tag)
			}
		}
		var nics []string
		for _, n := range m.Networks {
			mac := "generated"
			if n.AddressType == "manual" {
				mac = n.MAC
			}
			nics = append(nics, n.Adapter+" "+mac)
		}
		if got := nicsOf(got); len(nics) == 0 || !slices.Equal(got, nics) {
			t.Errorf("%s: adapters on B %q, manifest %q", res.VM, got, nics)
		}
		ec := extraConfigOf(got)
		for k, v := range m.ExtraConfig {
			if strings.HasPrefix(k, "vmgmt.") && k != vsphere.StampRequest && ec[k] != v {
				t.Errorf("%s: stamp %s on B %q, manifest %q", res.VM, k, ec[k], v)
			}
		}
	}
	if !strings.Contains(out.String(), `"event":"restore_done"`) {
		t.Errorf("no restore_done events:\n%s", out.String())
	}
}

// newEnvWithoutJob is a fresh simulator and client, with no job definition in it.
func newEnvWithoutJob(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	sim, err := simulator.Start(ctx, simulator.Options{BigDiskSize: testDisk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	c, err := vsphere.Connect(ctx, vsphere.Config{Server: sim.URL.Host, User: sim.User, Password: sim.Password, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return &env{sim: sim, c: c}
}

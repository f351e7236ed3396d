package vsphere

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vapi/library"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// The seeded vm-template item resolves by path (with or without a leading slash) and by ID, the
// second time without a request; what does not exist is NotFound; items that are not VM images
// are refused by type.
func TestFindLibraryItem(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	proxy := newRequestCounter(t, sim)
	c := connect(t, sim, func(cfg *Config) { cfg.Server = proxy.host })
	seeded := simulator.LibraryItems[0]
	path := simulator.Library + "/" + seeded.Item

	it, err := c.FindLibraryItem(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if it.Name != seeded.Item || it.Library != simulator.Library || it.Type != LibraryItemVMTemplate || it.Path != path || it.ID == "" || it.LibraryID == "" {
		t.Fatalf("FindLibraryItem(%s) = %+v", path, it)
	}
	for _, ref := range []string{"/" + path, it.ID, " " + path + " "} {
		before := proxy.requests()
		got, err := c.FindLibraryItem(ctx, ref)
		if err != nil {
			t.Fatalf("FindLibraryItem(%q): %v", ref, err)
		}
		if *got != *it {
			t.Fatalf("FindLibraryItem(%q) = %+v, want %+v", ref, got, it)
		}
		if ref == it.ID {
			if n := proxy.requests() - before; n != 0 {
				t.Errorf("the ID of an item found by path took %d requests, want 0 (remembered)", n)
			}
		}
	}
	c.Refresh()
	if got, err := c.FindLibraryItem(ctx, it.ID); err != nil || *got != *it {
		t.Fatalf("by ID after Refresh: %+v %v", got, err)
	}

	for _, ref := range []string{
		"no-such-library/" + seeded.Item,
		simulator.Library + "/no-such-item",
		"0b7e4a52-6b1e-4e1c-9a53-4b7d0c3d9f10",
	} {
		_, err := c.FindLibraryItem(ctx, ref)
		if !IsNotFound(err) {
			t.Errorf("FindLibraryItem(%q): %v, want NotFound", ref, err)
		}
	}
	for _, ref := range []string{"", seeded.Item, simulator.Library + "/", "/" + seeded.Item} {
		if _, err := c.FindLibraryItem(ctx, ref); err == nil || IsNotFound(err) {
			t.Errorf("FindLibraryItem(%q): %v, want a usage error", ref, err)
		}
	}

	if err := c.withLibrary(ctx, func(m *library.Manager) error {
		_, err := m.CreateLibraryItem(ctx, library.Item{Name: "tools.iso", Type: library.ItemTypeISO, LibraryID: it.LibraryID})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	_, err = c.FindLibraryItem(ctx, simulator.Library+"/tools.iso")
	if err == nil || IsNotFound(err) || !strings.Contains(err.Error(), `"iso"`) {
		t.Fatalf("an ISO item: %v, want an error naming its type", err)
	}
}

// A VM deployed from the seeded vm-template item lands in the requested pool and folder as a VM
// (vcsim returns a template), keeps the template's device keys, takes the caller's reconfigure,
// and a second VM of the same name in the same folder is refused with a NameConflictError.
func TestDeployLibraryItemVMTemplate(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	proxy := newRequestCounter(t, sim)
	c := connect(t, sim, func(cfg *Config) { cfg.Server = proxy.host })

	soapBefore, reqBefore := c.Stats().RoundTrips(), proxy.snapshot()
	it, err := c.FindLibraryItem(ctx, simulator.Library+"/"+simulator.LibraryItems[0].Item)
	if err != nil {
		t.Fatal(err)
	}
	got := proxy.since(reqBefore)
	t.Logf("first FindLibraryItem by path: %d SOAP round trips, %d vAPI requests %v", c.Stats().RoundTrips()-soapBefore, got.rest, got.paths)
	pool := mustCreatePool(t, c, rootPool(t, c), uniqueName("lib"), spec(0, 0))
	folder, err := c.ResolveFolder(ctx, simulator.WorkloadFolder)
	if err != nil {
		t.Fatal(err)
	}
	s := DeploySpec{ItemID: it.ID, Name: "lib-app01", FolderID: folder.Reference().Value, PoolID: pool.ID()}
	soapBefore, reqBefore = c.Stats().RoundTrips(), proxy.snapshot()
	id, err := c.DeployLibraryItem(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	got = proxy.since(reqBefore)
	t.Logf("first deploy into a new pool: %d SOAP round trips, %d vAPI requests", c.Stats().RoundTrips()-soapBefore, got.rest)
	t.Cleanup(func() { _ = c.DestroyVM(context.Background(), id) })
	if err := c.ReconfigureVM(ctx, id, ReconfigSpec{CPUs: 4, MemoryMB: 8192}); err != nil {
		t.Fatal(err)
	}
	vm, err := c.GetVM(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	wantPath := "/" + simulator.Datacenter + "/vm/" + simulator.WorkloadFolder + "/lib-app01"
	if vm.Template || vm.PoolID != pool.ID() || vm.Path != wantPath || vm.CPUs != 4 || vm.MemoryMB != 8192 || vm.DiskGB != 40 || vm.PowerState != "poweredOff" {
		t.Fatalf("deployed VM read as %+v", vm)
	}
	if len(vm.Networks) != 1 || vm.Networks[0] != simulator.PortGroups[0] {
		t.Errorf("networks %v, want the template's %s", vm.Networks, simulator.PortGroups[0])
	}
	keys := deviceKeys(t, c, id)
	t.Logf("deployed VM device keys: %v", keys)
	if keys["scsi"] != 1000 || keys["disk"] != 2000 || keys["nic"] != 4000 {
		t.Errorf("device keys %v, want the seeded scsi 1000, disk 2000, nic 4000", keys)
	}
	// In the pool's VM list, where capacity reads count it.
	var rp mo.ResourcePool
	if err := c.retrieveOne(ctx, pool.Ref, []string{"vm"}, &rp); err != nil {
		t.Fatal(err)
	}
	if len(rp.Vm) != 1 || rp.Vm[0].Value != id {
		t.Errorf("pool %s lists VMs %v, want [%s]", pool.ID(), rp.Vm, id)
	}
	if err := c.SetPower(ctx, id, true); err != nil {
		t.Fatalf("powering on the deployed VM: %v", err)
	}

	_, err = c.DeployLibraryItem(ctx, s)
	var conflict *NameConflictError
	if !errors.As(err, &conflict) || conflict.ExistingID != id || !strings.Contains(err.Error(), `"lib-app01"`) {
		t.Fatalf("deploying the same name twice: %v, want a NameConflictError naming %s", err, id)
	}

	// Cost of one more deploy once the item and the pool's placement are known.
	soapBefore, reqBefore, start := c.Stats().RoundTrips(), proxy.snapshot(), time.Now()
	id2, err := c.DeployLibraryItem(ctx, DeploySpec{ItemID: it.ID, Name: "lib-app02", FolderID: s.FolderID, PoolID: s.PoolID})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	t.Cleanup(func() { _ = c.DestroyVM(context.Background(), id2) })
	soapN := c.Stats().RoundTrips() - soapBefore
	got = proxy.since(reqBefore)
	t.Logf("one deploy (item and placement remembered): %d SOAP round trips, %d vAPI requests %v, %v", soapN, got.rest, got.paths, elapsed)
	if got.rest != 1 {
		t.Errorf("a deploy with everything remembered made %d vAPI requests, want 1", got.rest)
	}
	// vcsim: read config.template + MarkAsVirtualMachine; vCenter: the read only.
	if soapN != 2 {
		t.Errorf("a deploy with everything remembered made %d SOAP round trips, want 2", soapN)
	}
	if vm, err := c.GetVM(ctx, id2); err != nil || vm.Template || vm.PoolID != pool.ID() {
		t.Fatalf("second VM: %+v %v", vm, err)
	}
}

// A host and datastore given are used; a host outside the pool's cluster is refused before
// anything is created; an item that does not exist is NotFound; a spec without a name is refused.
func TestDeployLibraryItemPlacement(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	c := connect(t, sim)
	it, err := c.FindLibraryItem(ctx, simulator.Library+"/"+simulator.LibraryItems[0].Item)
	if err != nil {
		t.Fatal(err)
	}
	root := rootPool(t, c)
	folder, err := c.ResolveFolder(ctx, simulator.WorkloadFolder)
	if err != nil {
		t.Fatal(err)
	}
	hosts, err := c.Refs(ctx, "HostSystem")
	if err != nil {
		t.Fatal(err)
	}
	dss, err := c.Refs(ctx, "Datastore")
	if err != nil {
		t.Fatal(err)
	}
	host := hosts[len(hosts)-1].Value
	id, err := c.DeployLibraryItem(ctx, DeploySpec{ItemID: it.ID, Name: "pinned", FolderID: folder.Reference().Value, PoolID: root.ID(), HostID: host, DatastoreID: dss[0].Value})
	if err != nil {
		t.Fatal(err)
	}
	var vm mo.VirtualMachine
	if err := c.retrieveOne(ctx, types.ManagedObjectReference{Type: "VirtualMachine", Value: id}, []string{"runtime.host", "resourcePool", "datastore", "config.template"}, &vm); err != nil {
		t.Fatal(err)
	}
	if vm.Runtime.Host == nil || vm.Runtime.Host.Value != host || vm.ResourcePool == nil || vm.ResourcePool.Value != root.ID() || vm.Config.Template ||
		len(vm.Datastore) != 1 || vm.Datastore[0] != dss[0] {
		t.Fatalf("pinned VM: host %v pool %v datastores %v template %v", vm.Runtime.Host, vm.ResourcePool, vm.Datastore, vm.Config.Template)
	}

	before := len(mustVMs(t, c))
	_, err = c.DeployLibraryItem(ctx, DeploySpec{ItemID: it.ID, Name: "elsewhere", FolderID: folder.Reference().Value, PoolID: root.ID(), HostID: "host-999999"})
	if err == nil || !strings.Contains(err.Error(), "host-999999") {
		t.Fatalf("a host outside the cluster: %v", err)
	}
	_, err = c.DeployLibraryItem(ctx, DeploySpec{ItemID: "0b7e4a52-6b1e-4e1c-9a53-4b7d0c3d9f10", Name: "ghost", FolderID: folder.Reference().Value, PoolID: root.ID()})
	if !IsNotFound(err) {
		t.Fatalf("an unknown item: %v, want NotFound", err)
	}
	_, err = c.DeployLibraryItem(ctx, DeploySpec{ItemID: it.ID, FolderID: folder.Reference().Value, PoolID: root.ID()})
	if err == nil || !strings.Contains(err.Error(), "no VM name") {
		t.Fatalf("no name: %v", err)
	}
	_, err = c.DeployLibraryItem(ctx, DeploySpec{ItemID: it.ID, Name: "lost", FolderID: "group-v999999", PoolID: root.ID()})
	if err == nil || IsNotFound(err) {
		t.Fatalf("a folder that does not exist: %v, want an error that is not the item's NotFound", err)
	}
	t.Logf("a folder that does not exist: %v", err)

	// vcsim's cluster has DRS on: vCenter picks the host; the datastore is the one all hosts share.
	p, err := c.readPlacement(ctx, root.ID())
	if err != nil {
		t.Fatal(err)
	}
	if !p.drs || len(p.hosts) != simulator.HostCount || p.pickDatastore("") != dss[0].Value {
		t.Fatalf("placement facts of the seeded cluster: %+v", p)
	}
	if after := len(mustVMs(t, c)); after != before {
		t.Fatalf("refused deploys left %d VMs behind", after-before)
	}
}

// An OVF item (uploaded here: vcsim cannot capture one) deploys into the pool and folder without
// the NIC loss vcsim has with a VmConfigSpec; a second deploy of the same name is a conflict.
func TestDeployLibraryItemOVF(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	c := connect(t, sim)
	seeded, err := c.FindLibraryItem(ctx, simulator.Library+"/"+simulator.LibraryItems[0].Item)
	if err != nil {
		t.Fatal(err)
	}
	uploadOVF(t, c, seeded.LibraryID, "rhel9-ovf", testOVF)
	it, err := c.FindLibraryItem(ctx, simulator.Library+"/rhel9-ovf")
	if err != nil {
		t.Fatal(err)
	}
	if it.Type != LibraryItemOVF {
		t.Fatalf("uploaded item %+v", it)
	}
	pool := mustCreatePool(t, c, rootPool(t, c), uniqueName("ovf"), spec(0, 0))
	folder, err := c.ResolveFolder(ctx, simulator.WorkloadFolder)
	if err != nil {
		t.Fatal(err)
	}
	s := DeploySpec{ItemID: it.ID, Name: "ovf-app01", FolderID: folder.Reference().Value, PoolID: pool.ID(), Network: simulator.PortGroups[1]}
	id, err := c.DeployLibraryItem(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.DestroyVM(context.Background(), id) })
	if err := c.ReconfigureVM(ctx, id, ReconfigSpec{CPUs: 4, MemoryMB: 8192}); err != nil {
		t.Fatal(err)
	}
	vm, err := c.GetVM(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if vm.Template || vm.PoolID != pool.ID() || vm.FolderPath != "/"+simulator.Datacenter+"/vm/"+simulator.WorkloadFolder || vm.CPUs != 4 || vm.MemoryMB != 8192 {
		t.Fatalf("deployed OVF VM read as %+v", vm)
	}
	t.Logf("deployed OVF VM: networks %v, device keys %v", vm.Networks, deviceKeys(t, c, id))
	if keys := deviceKeys(t, c, id); keys["nic"] == 0 || keys["disk"] == 0 {
		t.Errorf("the OVF VM lost devices: %v", keys)
	}
	_, err = c.DeployLibraryItem(ctx, s)
	var conflict *NameConflictError
	if !errors.As(err, &conflict) || conflict.ExistingID != id {
		t.Fatalf("deploying the same name twice: %v, want a NameConflictError", err)
	}
}

// Without DRS the usable host running the fewest VMs is chosen; the datastore is one mounted on
// that host, shared by the most usable hosts, then with the most free space.
func TestPlacementChoice(t *testing.T) {
	ds := func(ids ...string) map[string]bool {
		m := map[string]bool{}
		for _, id := range ids {
			m[id] = true
		}
		return m
	}
	p := &poolPlacement{
		hosts: []placementHost{
			{id: "host-1", usable: false, vms: 0, ds: ds("ds-local1", "ds-shared")},
			{id: "host-2", usable: true, vms: 5, ds: ds("ds-local2", "ds-shared", "ds-big")},
			{id: "host-3", usable: true, vms: 2, ds: ds("ds-local3", "ds-shared", "ds-big", "ds-mm")},
			{id: "host-4", usable: true, vms: 2, ds: ds("ds-shared", "ds-big")},
		},
		ds: []placementDatastore{
			{id: "ds-big", usable: true, free: 900},
			{id: "ds-local1", usable: true, free: 5000},
			{id: "ds-local2", usable: true, free: 5000},
			{id: "ds-local3", usable: true, free: 5000},
			{id: "ds-mm", usable: false, free: 9999},
			{id: "ds-shared", usable: true, free: 100},
		},
	}
	if got := p.pickHost(); got != "host-3" {
		t.Errorf("pickHost = %s, want host-3 (usable, fewest VMs, lowest ID)", got)
	}
	for host, want := range map[string]string{"": "ds-big", "host-3": "ds-big", "host-1": "ds-shared"} {
		if got := p.pickDatastore(host); got != want {
			t.Errorf("pickDatastore(%q) = %s, want %s", host, got, want)
		}
	}
	p.ds[0].usable = false
	if got := p.pickDatastore("host-2"); got != "ds-shared" {
		t.Errorf("pickDatastore(host-2) without ds-big = %s, want ds-shared (shared by 3 usable hosts)", got)
	}
	for i := range p.hosts {
		p.hosts[i].usable = false
	}
	if got, ds := p.pickHost(), p.pickDatastore(""); got != "" || ds != "" {
		t.Errorf("no usable host: pickHost = %q, pickDatastore = %q, want none", got, ds)
	}
}

func mustVMs(tb testing.TB, c *Client) map[string]*VM {
	tb.Helper()
	c.InvalidateVMs()
	m, err := c.VMs(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// deviceKeys returns the keys of a VM's first SCSI controller, disk and NIC.
func deviceKeys(tb testing.TB, c *Client, id string) map[string]int32 {
	tb.Helper()
	devices, err := object.NewVirtualMachine(c.vim, types.ManagedObjectReference{Type: "VirtualMachine", Value: id}).Device(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	keys := map[string]int32{}
	for _, d := range devices {
		kind := ""
		switch d.(type) {
		case types.BaseVirtualSCSIController:
			kind = "scsi"
		case *types.VirtualDisk:
			kind = "disk"
		case types.BaseVirtualEthernetCard:
			kind = "nic"
		}
		if _, seen := keys[kind]; kind != "" && !seen {
			keys[kind] = d.GetVirtualDevice().Key
		}
	}
	return keys
}

// uploadOVF creates an OVF item holding one descriptor (no disk payload) in a library.
func uploadOVF(tb testing.TB, c *Client, libID, name, ovf string) {
	tb.Helper()
	ctx := context.Background()
	err := c.withLibrary(ctx, func(m *library.Manager) error {
		id, err := m.CreateLibraryItem(ctx, library.Item{Name: name, Type: library.ItemTypeOVF, LibraryID: libID})
		if err != nil {
			return err
		}
		sid, err := m.CreateLibraryItemUpdateSession(ctx, library.Session{LibraryItemID: id})
		if err != nil {
			return err
		}
		uf, err := m.AddLibraryItemFile(ctx, sid, library.UpdateFile{Name: name + ".ovf", SourceType: "PUSH", Size: int64(len(ovf))})
		if err != nil {
			return err
		}
		u, err := url.Parse(uf.UploadEndpoint.URI)
		if err != nil {
			return err
		}
		p := soap.DefaultUpload
		p.ContentLength = int64(len(ovf))
		if err := m.Upload(ctx, strings.NewReader(ovf), u, &p); err != nil {
			return err
		}
		// The file is stored once uploaded. Not waiting on the session: vcsim marks it done in a
		// goroutine that races with the session reads (go test -race).
		return m.CompleteLibraryItemUpdateSession(ctx, sid)
	})
	if err != nil {
		tb.Fatalf("uploading OVF item %s: %v", name, err)
	}
}

// testOVF is a minimal OVF descriptor: 2 vCPU, 4 GiB, one 40 GiB disk on SCSI, one NIC.
const testOVF = `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References><File ovf:href="rhel9-disk1.vmdk" ovf:id="file1" ovf:size="0"/></References>
  <DiskSection><Info>disks</Info><Disk ovf:capacity="40960" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk1" ovf:fileRef="file1"/></DiskSection>
  <NetworkSection><Info>networks</Info><Network ovf:name="VM Network"><Description>net</Description></Network></NetworkSection>
  <VirtualSystem ovf:id="rhel9">
    <Info>A virtual machine</Info><Name>rhel9</Name>
    <OperatingSystemSection ovf:id="80" vmw:osType="rhel9_64Guest"><Info>os</Info></OperatingSystemSection>
    <VirtualHardwareSection><Info>hw</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemType>vmx-19</vssd:VirtualSystemType></System>
      <Item><rasd:ElementName>cpu</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>mem</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>4096</rasd:VirtualQuantity></Item>
      <Item><rasd:Address>0</rasd:Address><rasd:ElementName>scsi0</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>VirtualSCSI</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:ElementName>disk0</rasd:ElementName><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>7</rasd:AddressOnParent><rasd:AutomaticAllocation>true</rasd:AutomaticAllocation><rasd:Connection>VM Network</rasd:Connection><rasd:ElementName>nic0</rasd:ElementName><rasd:InstanceID>5</rasd:InstanceID><rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
`

// requestCounter is a reverse proxy in front of the simulator that counts the vAPI (REST)
// requests, which the client's Stats (SOAP round trips) do not see.
type requestCounter struct {
	host  string
	rest  atomic.Int64
	mu    sync.Mutex
	paths []string
}

type requestCounts struct {
	rest  int64
	paths []string
}

func newRequestCounter(tb testing.TB, sim *simulator.Sim) *requestCounter {
	tb.Helper()
	rc := &requestCounter{}
	target := sim.URL.Host
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host, r.Out.Host = "https", target, target
		},
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // the simulator's self-signed certificate
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/sdk" {
			rc.mu.Lock()
			rc.rest.Add(1)
			rc.paths = append(rc.paths, r.Method+" "+r.URL.Path)
			rc.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	rc.host = strings.TrimPrefix(srv.URL, "https://")
	return rc
}

func (rc *requestCounter) requests() int64 { return rc.rest.Load() }

func (rc *requestCounter) snapshot() requestCounts {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return requestCounts{rest: rc.rest.Load(), paths: append([]string(nil), rc.paths...)}
}

func (rc *requestCounter) since(before requestCounts) requestCounts {
	now := rc.snapshot()
	return requestCounts{rest: now.rest - before.rest, paths: now.paths[len(before.paths):]}
}

package vsphere

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// VMSnapshotMaxAge is how long one bulk read of all VMs serves the Read calls of a plan.
const VMSnapshotMaxAge = 5 * time.Second

// PowerState is a VM's power state as vCenter reports it.
type PowerState string

// The power states of a VM.
const (
	PoweredOn  PowerState = "poweredOn"
	PoweredOff PowerState = "poweredOff"
	Suspended  PowerState = "suspended"
)

// VM is a virtual machine (or template) as vmgmt sees it.
type VM struct {
	ID         string
	UUID       string
	Name       string
	Path       string // inventory path
	FolderID   string // managed object ID of the folder it is in
	FolderPath string
	PoolID     string
	Template   bool
	CPUs       int32
	MemoryMB   int64
	DiskGB     int64 // capacity of the first disk, rounded up
	PowerState PowerState
	IPAddress  string
	// CPUHotAdd and MemoryHotAdd say whether the VM can grow without a power cycle.
	CPUHotAdd    bool
	MemoryHotAdd bool
	// ExtraConfig holds the vmgmt.* extraConfig keys (vmgmt's stamps).
	ExtraConfig map[string]string
	// Custom holds custom attribute values by attribute name.
	Custom map[string]string
	// Networks are the names of the networks the VM's NICs attach to.
	Networks []string
	// Datastore is the name of the datastore that holds the VM's configuration file.
	Datastore string
	// NetworkIDs names those networks by managed object ID (a distributed port group's ID is
	// its key, which its NICs' backings give).
	NetworkIDs map[string]string
}

// datastoreOf is the datastore of a datastore path ("[name] dir/file.vmx"), "" when it names none.
func datastoreOf(p string) string {
	if name, _, ok := strings.Cut(strings.TrimPrefix(p, "["), "]"); ok && strings.HasPrefix(p, "[") {
		return name
	}
	return ""
}

// NICNetwork names the network an adapter of the VM is on: a standard backing names it; a
// distributed port group's or an opaque network's is looked up among the VM's networks (its
// key or ID when it is not there).
func (vm *VM) NICNetwork(n NICDevice) string {
	switch {
	case n.Network != "":
		return n.Network
	case n.PortgroupKey != "":
		if name, ok := vm.NetworkIDs[n.PortgroupKey]; ok {
			return name
		}
		return n.PortgroupKey
	}
	return n.OpaqueID
}

// vmCache is one bulk snapshot of every VM, shared by concurrent readers, and kept current with
// this client's own writes: a VM this client creates, changes or destroys is marked dirty and read
// again on its own (all dirty VMs together, in one round trip) the next time the snapshot is
// used, instead of reading every VM again. Changes made by others show after VMSnapshotMaxAge.
type vmCache struct {
	mu   sync.Mutex
	at   time.Time // when byID was read in bulk; zero when it must be read again
	byID map[string]*VM
	// names resolves the folders and networks of byID's VMs, for reading VMs on their own.
	names *vmNames
	// gen counts the writes of this client to VMs and pools (writeGen: pool capacity caches).
	gen uint64
	// inval counts InvalidateVMs calls: a bulk read that began before the latest one is stored
	// but not fresh.
	inval uint64
	// seq numbers the marks in dirty (VM ID -> mark): a read that began after a mark covers it.
	seq     uint64
	dirty   map[string]uint64
	loads   uint64  // bulk reads stored so far; a merge begun before the latest one is dropped
	loading *vmLoad // a bulk read in flight
	merging *vmLoad // a read of the dirty VMs in flight
	// tasks holds the IDs of the clone tasks this client started (never another process's).
	tasks sync.Map

	// lookups memoizes folder, network, library item and default pool resolutions (key ->
	// result) for the life of the client: the finder walks the inventory in many round trips and
	// every clone of an apply asks the same questions. A key is resolved once at a time (lookupCalls).
	lookupMu    sync.Mutex
	lookups     map[string]any
	lookupCalls map[string]*lookupCall
	lookupGen   uint64 // counts forgetLookups: an answer begun before the latest is not kept
}

// vmLoad is a read in flight; callers that arrive meanwhile wait for it and then look again.
type vmLoad struct {
	done chan struct{}
	err  error
}

// InvalidateVMs marks the whole snapshot stale: the next use reads every VM again.
func (c *Client) InvalidateVMs() {
	c.logCache(context.Background(), "invalidated", "VM snapshot")
	c.vms.mu.Lock()
	c.vms.at = time.Time{}
	c.vms.gen++
	c.vms.inval++
	c.vms.mu.Unlock()
}

// vmChanged follows a write of this client to one VM (created, reconfigured, powered, destroyed).
func (c *Client) vmChanged(id string) {
	c.vms.mu.Lock()
	c.vms.gen++
	c.markLocked(id)
	c.vms.mu.Unlock()
}

// reread marks a VM to be read on its own at the next use of the snapshot (it is not in it).
func (c *Client) reread(id string) {
	c.vms.mu.Lock()
	c.markLocked(id)
	c.vms.mu.Unlock()
}

func (c *Client) markLocked(id string) {
	if c.vms.dirty == nil {
		c.vms.dirty = map[string]uint64{}
	}
	c.vms.seq++
	c.vms.dirty[id] = c.vms.seq
}

// writeGen counts the writes of this client to VMs and pools; cached reads taken under an older
// value are stale.
func (c *Client) writeGen() uint64 {
	c.vms.mu.Lock()
	defer c.vms.mu.Unlock()
	return c.vms.gen
}

// poolsChanged follows a pool write: pool capacities are stale (VMs' pools may have moved too),
// and so are remembered path resolutions (a pool may have been renamed or removed).
func (c *Client) poolsChanged() {
	c.InvalidateVMs()
	c.forgetLookups()
}

// Refresh starts a new Terraform command from a fresh view of the inventory: the VM snapshot,
// pool capacities, remembered lookups and cached values (Cached) are dropped; the session is kept.
func (c *Client) Refresh() {
	c.InvalidateVMs()
	c.forgetLookups()
	c.forgetCaches()
}

func (c *Client) forgetLookups() {
	c.vms.lookupMu.Lock()
	c.vms.lookups = nil
	c.vms.lookupGen++
	c.vms.lookupMu.Unlock()
}

// VMs returns every VM and template of the inventory, read in one PropertyCollector round trip
// (VMs, folders, datacenters, networks and custom attribute names together) and shared for
// VMSnapshotMaxAge by all callers of this client: the Read calls of one plan cost the same
// whatever the number of VMs. The VMs this client wrote since are read again first, together in
// one round trip. The map returned is never modified: callers may keep and range over it.
func (c *Client) VMs(ctx context.Context) (map[string]*VM, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c.vms.mu.Lock()
		fresh := c.vms.byID != nil && !c.vms.at.IsZero() && time.Since(c.vms.at) < VMSnapshotMaxAge
		if fresh && len(c.vms.dirty) == 0 {
			m := c.vms.byID
			c.vms.mu.Unlock()
			c.logCache(ctx, "hit", "VM snapshot")
			return m, nil
		}
		if l := c.vms.loading; l != nil || (fresh && c.vms.merging != nil) {
			if l == nil {
				l = c.vms.merging
			}
			c.vms.mu.Unlock()
			// Whatever became of that read, look again: a failure of another caller (its
			// context canceled, say) is not this caller's.
			select {
			case <-l.done:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		l := &vmLoad{done: make(chan struct{})}
		if fresh {
			c.vms.merging = l
			ids := make([]string, 0, len(c.vms.dirty))
			for id := range c.vms.dirty {
				ids = append(ids, id)
			}
			seq, loads, names := c.vms.seq, c.vms.loads, c.vms.names
			c.vms.mu.Unlock()
			err := c.mergeDirty(ctx, ids, seq, loads, names)
			c.vms.mu.Lock()
			c.vms.merging = nil
			if err != nil && ctx.Err() == nil {
				// A VM that cannot be read on its own (or a folder the snapshot does not know):
				// read everything again instead.
				c.vms.at = time.Time{}
			}
			c.vms.mu.Unlock()
			close(l.done)
			continue
		}
		c.vms.loading = l
		seq, inval := c.vms.seq, c.vms.inval
		c.vms.mu.Unlock()

		c.logCache(ctx, "miss", "VM snapshot")
		m, names, err := c.loadVMs(ctx)
		c.vms.mu.Lock()
		c.vms.loading = nil
		if err == nil {
			c.vms.byID, c.vms.names, c.vms.at = m, names, time.Now()
			c.vms.loads++
			if c.vms.inval != inval {
				c.vms.at = time.Time{} // the whole snapshot was made stale while it was read
			}
			// Writes marked before the read began are in it; later ones stay dirty.
			for id, s := range c.vms.dirty {
				if s <= seq {
					delete(c.vms.dirty, id)
				}
			}
		}
		c.vms.mu.Unlock()
		l.err = err
		close(l.done)
		if err != nil {
			return nil, err
		}
	}
}

// errRereadAll says that VMs read on their own cannot be merged into the snapshot (a folder or
// network it does not know): every VM must be read again.
var errRereadAll = errors.New("the VM snapshot must be read again")

// mergeDirty reads the given VMs again (one round trip) and merges them into a copy of the
// snapshot: a VM that no longer exists leaves it. When a bulk read was stored meanwhile, what
// was read here may be older than it: nothing is merged, and the VMs marked after that bulk
// read began are still dirty.
func (c *Client) mergeDirty(ctx context.Context, ids []string, seq, loads uint64, names *vmNames) error {
	got, err := c.readVMs(ctx, ids, names)
	if err != nil {
		return err
	}
	c.vms.mu.Lock()
	defer c.vms.mu.Unlock()
	if c.vms.loads != loads {
		return nil
	}
	m := make(map[string]*VM, len(c.vms.byID)+len(got))
	for id, vm := range c.vms.byID {
		m[id] = vm
	}
	for _, id := range ids {
		if vm := got[id]; vm != nil {
			m[id] = vm
		} else {
			delete(m, id)
		}
		if c.vms.dirty[id] <= seq {
			delete(c.vms.dirty, id)
		}
	}
	c.vms.byID = m
	return nil
}

// GetVM returns one VM from the shared snapshot (where the VMs this client wrote are read again
// first). A VM that is not in it, created since by someone else, is read on its own. A VM that
// does not exist is NotFound.
func (c *Client) GetVM(ctx context.Context, id string) (*VM, error) {
	m, err := c.VMs(ctx)
	if err != nil {
		return nil, err
	}
	if vm := m[id]; vm != nil {
		return vm, nil
	}
	c.reread(id)
	if m, err = c.VMs(ctx); err != nil {
		return nil, err
	}
	if vm := m[id]; vm != nil {
		return vm, nil
	}
	return nil, notFound("virtual machine", id, nil)
}

// vmProps are the properties of a VM read on its own: everything VM holds, the whole device list
// included.
var vmProps = append(vmBulkProps[:len(vmBulkProps)-1:len(vmBulkProps)-1], "config.hardware.device")

// vmBulkProps are the properties of every VM in the snapshot. The device list is the heaviest
// property of a VM (a dozen devices, each a deep object) and the snapshot needs one device of it,
// the first disk: it asks for that device alone, by the key vCenter gives the disk at SCSI 0:0
// (firstDiskKey). VMs whose first disk has another key (IDE, SATA or NVMe boot disks) are read in
// one more round trip, their device lists only (diskFallback).
var vmBulkProps = []string{
	"name", "parent", "resourcePool", "config.template", "config.uuid", "config.hardware.numCPU",
	"config.hardware.memoryMB", "config.extraConfig", "runtime.powerState",
	"guest.ipAddress", "customValue", "network", "config.cpuHotAddEnabled", "config.memoryHotAddEnabled",
	"config.files.vmPathName", firstDiskProp,
}

// firstDiskKey is the device key vCenter gives the first disk on the first SCSI controller.
const firstDiskKey = 2000

var firstDiskProp = fmt.Sprintf("config.hardware.device[%d]", firstDiskKey)

// vmNames resolves the references a VM holds to names.
type vmNames struct {
	folders  map[types.ManagedObjectReference]string // folder -> inventory path
	networks map[types.ManagedObjectReference]string // network -> name
	dcCustom map[string]map[string]string            // datacenter ID -> custom attribute values by name
}

// snapshotSpec selects, from the root folder down through folders, datacenters and vApps, every
// VM, folder, datacenter and network, and the custom attribute definitions.
func (c *Client) snapshotSpec() types.PropertyFilterSpec {
	trav := func(name, kind, path string, next ...string) types.BaseSelectionSpec {
		ts := &types.TraversalSpec{SelectionSpec: types.SelectionSpec{Name: name}, Type: kind, Path: path, Skip: types.NewBool(false)}
		for _, n := range next {
			ts.SelectSet = append(ts.SelectSet, &types.SelectionSpec{Name: n})
		}
		return ts
	}
	walk := []types.BaseSelectionSpec{
		trav("folder", "Folder", "childEntity", "folder", "dcVMs", "dcNets", "vappVMs", "vappChildren"),
		trav("dcVMs", "Datacenter", "vmFolder", "folder"),
		trav("dcNets", "Datacenter", "networkFolder", "folder"),
		trav("vappVMs", "VirtualApp", "vm"),
		trav("vappChildren", "VirtualApp", "resourcePool", "vappVMs", "vappChildren"),
	}
	spec := types.PropertyFilterSpec{
		ObjectSet: []types.ObjectSpec{{Obj: c.vim.ServiceContent.RootFolder, Skip: types.NewBool(false), SelectSet: walk}},
		PropSet: []types.PropertySpec{
			{Type: "VirtualMachine", PathSet: vmBulkProps},
			{Type: "Folder", PathSet: []string{"name", "parent"}},
			{Type: "Datacenter", PathSet: []string{"name", "parent", "customValue"}},
			{Type: "Network", PathSet: []string{"name"}},
		},
	}
	if cfm := c.vim.ServiceContent.CustomFieldsManager; cfm != nil {
		spec.ObjectSet = append(spec.ObjectSet, types.ObjectSpec{Obj: *cfm})
		spec.PropSet = append(spec.PropSet, types.PropertySpec{Type: "CustomFieldsManager", PathSet: []string{"field"}})
	}
	return spec
}

func (c *Client) loadVMs(ctx context.Context) (map[string]*VM, *vmNames, error) {
	res, err := property.DefaultCollector(c.vim).RetrieveProperties(ctx, types.RetrieveProperties{SpecSet: []types.PropertyFilterSpec{c.snapshotSpec()}})
	if err != nil {
		return nil, nil, fmt.Errorf("reading all VMs: %w", err)
	}
	var vms []mo.VirtualMachine
	disks := map[string]*types.VirtualDisk{}
	dcValues := map[string][]types.BaseCustomFieldValue{}
	names := &vmNames{networks: map[types.ManagedObjectReference]string{}}
	tree := map[types.ManagedObjectReference]treeNode{}
	for _, oc := range res.Returnval {
		if oc.Obj.Type == "VirtualMachine" {
			oc.PropSet, disks[oc.Obj.Value] = takeFirstDisk(oc.PropSet)
		}
		switch oc.Obj.Type {
		case "VirtualMachine", "Folder", "Datacenter", "CustomFieldsManager":
			obj, err := mo.ObjectContentToType(oc)
			if err != nil {
				return nil, nil, fmt.Errorf("reading all VMs: %s: %w", oc.Obj, err)
			}
			switch o := obj.(type) {
			case mo.VirtualMachine:
				vms = append(vms, o)
			case mo.Folder:
				tree[o.Self] = treeNode{o.Name, o.Parent}
			case mo.Datacenter:
				tree[o.Self] = treeNode{o.Name, o.Parent}
				dcValues[o.Self.Value] = o.CustomValue
			case mo.CustomFieldsManager:
				c.learnCustomFields(o.Field)
			}
		default: // a network of any kind
			for _, p := range oc.PropSet {
				if name, ok := p.Val.(string); ok && p.Name == "name" {
					names.networks[oc.Obj] = name
				}
			}
		}
	}
	names.folders = folderPaths(tree)
	names.dcCustom = map[string]map[string]string{}
	dcFields := c.customFieldNames(true)
	for dc, values := range dcValues {
		names.dcCustom[dc] = customValues(values, dcFields)
	}
	fields := c.customFieldNames()
	out := make(map[string]*VM, len(vms))
	var elsewhere []types.ManagedObjectReference
	for i := range vms {
		vm := names.vm(&vms[i], fields)
		if d := disks[vm.ID]; d != nil {
			vm.DiskGB = diskGB(d)
		} else {
			elsewhere = append(elsewhere, vms[i].Self)
		}
		out[vm.ID] = vm
	}
	if err := c.diskFallback(ctx, elsewhere, out); err != nil {
		return nil, nil, err
	}
	return out, names, nil
}

// takeFirstDisk removes the first-disk property (a keyed path that mo.VirtualMachine has no field
// for) from a VM's properties and returns it.
func takeFirstDisk(props []types.DynamicProperty) ([]types.DynamicProperty, *types.VirtualDisk) {
	for i, p := range props {
		if p.Name != firstDiskProp {
			continue
		}
		rest := append(props[:i:i], props[i+1:]...)
		switch d := p.Val.(type) {
		case types.VirtualDisk:
			return rest, &d
		case *types.VirtualDisk:
			return rest, d
		}
		return rest, nil // the device with that key is not a disk
	}
	return props, nil
}

// diskFallback reads, in one round trip, the device lists of the VMs whose first disk does not
// have the SCSI 0:0 key, and sets their DiskGB.
func (c *Client) diskFallback(ctx context.Context, refs []types.ManagedObjectReference, out map[string]*VM) error {
	if len(refs) == 0 {
		return nil
	}
	vms, err := c.existingVMs(ctx, refs, []string{"config.hardware.device"})
	if err != nil {
		return fmt.Errorf("reading the disks of VMs: %w", err)
	}
	for i := range vms {
		if vm := out[vms[i].Self.Value]; vm != nil && vms[i].Config != nil {
			vm.DiskGB = firstDiskGB(vms[i].Config.Hardware.Device)
		}
	}
	return nil
}

// existingVMs reads properties of the given VMs in one round trip. vCenter fails the whole call
// when one of them no longer exists: the rest are then read one by one, and the missing ones are
// left out of the result.
func (c *Client) existingVMs(ctx context.Context, refs []types.ManagedObjectReference, props []string) ([]mo.VirtualMachine, error) {
	pc := property.DefaultCollector(c.vim)
	var vms []mo.VirtualMachine
	err := pc.Retrieve(ctx, refs, props, &vms)
	if !IsNotFound(err) {
		if err != nil {
			return nil, fmt.Errorf("reading %d VMs: %w", len(refs), err)
		}
		return vms, nil
	}
	vms = nil
	for _, ref := range refs {
		var v mo.VirtualMachine
		if err := pc.RetrieveOne(ctx, ref, props, &v); err == nil {
			vms = append(vms, v)
		} else if !IsNotFound(err) {
			return nil, fmt.Errorf("reading VM %s: %w", ref.Value, err)
		}
	}
	return vms, nil
}

// firstDiskGB is the capacity of the first disk of a device list, in GB rounded up (0: no disk).
func firstDiskGB(devices []types.BaseVirtualDevice) int64 {
	for _, d := range devices {
		if disk, ok := d.(*types.VirtualDisk); ok {
			return diskGB(disk)
		}
	}
	return 0
}

func diskGB(d *types.VirtualDisk) int64 {
	return (d.CapacityInKB + 1024*1024 - 1) / (1024 * 1024)
}

// readVMs reads the given VMs, with every property of VM, in one round trip (one by one when one
// of them no longer exists). VMs that do not exist are missing from the result. It returns
// errRereadAll when a VM sits in a folder or on a network that names does not know.
func (c *Client) readVMs(ctx context.Context, ids []string, names *vmNames) (map[string]*VM, error) {
	if names == nil {
		return nil, errRereadAll
	}
	refs := make([]types.ManagedObjectReference, len(ids))
	for i, id := range ids {
		refs[i] = types.ManagedObjectReference{Type: "VirtualMachine", Value: id}
	}
	vms, err := c.existingVMs(ctx, refs, vmProps)
	if err != nil {
		return nil, err
	}
	fields := c.customFieldNames()
	out := make(map[string]*VM, len(vms))
	for i := range vms {
		v := &vms[i]
		if v.Parent != nil {
			if _, ok := names.folders[*v.Parent]; !ok {
				return nil, errRereadAll
			}
		}
		for _, n := range v.Network {
			if _, ok := names.networks[n]; !ok {
				return nil, errRereadAll
			}
		}
		out[v.Self.Value] = names.vm(v, fields)
	}
	return out, nil
}

func (names *vmNames) vm(v *mo.VirtualMachine, fields map[int32]string) *VM {
	vm := &VM{ID: v.Self.Value, Name: v.Name, ExtraConfig: map[string]string{}}
	if v.Parent != nil {
		vm.FolderID = v.Parent.Value
		vm.FolderPath = names.folders[*v.Parent]
		vm.Path = vm.FolderPath + "/" + v.Name
	}
	if v.ResourcePool != nil {
		vm.PoolID = v.ResourcePool.Value
	}
	if cfg := v.Config; cfg != nil {
		vm.Template = cfg.Template
		vm.UUID = cfg.Uuid
		vm.CPUs = cfg.Hardware.NumCPU
		vm.MemoryMB = int64(cfg.Hardware.MemoryMB)
		vm.CPUHotAdd = cfg.CpuHotAddEnabled != nil && *cfg.CpuHotAddEnabled
		vm.MemoryHotAdd = cfg.MemoryHotAddEnabled != nil && *cfg.MemoryHotAddEnabled
		vm.DiskGB = firstDiskGB(cfg.Hardware.Device)
		vm.Datastore = datastoreOf(cfg.Files.VmPathName)
		for _, o := range cfg.ExtraConfig {
			if ov := o.GetOptionValue(); ov != nil && strings.HasPrefix(ov.Key, "vmgmt.") {
				vm.ExtraConfig[ov.Key] = fmt.Sprint(ov.Value)
			}
		}
	}
	vm.PowerState = PowerState(v.Runtime.PowerState)
	if v.Guest != nil {
		vm.IPAddress = v.Guest.IpAddress
	}
	vm.Custom = customValues(v.CustomValue, fields)
	for _, n := range v.Network {
		if name := names.networks[n]; name != "" {
			vm.Networks = append(vm.Networks, name)
			if vm.NetworkIDs == nil {
				vm.NetworkIDs = map[string]string{}
			}
			vm.NetworkIDs[n.Value] = name
		}
	}
	sort.Strings(vm.Networks)
	return vm
}

// customValues names an object's custom attribute values (those whose attribute fields knows).
func customValues(values []types.BaseCustomFieldValue, fields map[int32]string) map[string]string {
	out := map[string]string{}
	for _, cv := range values {
		if s, ok := cv.(*types.CustomFieldStringValue); ok {
			if name, ok := fields[s.Key]; ok {
				out[name] = s.Value
			}
		}
	}
	return out
}

type treeNode struct {
	name   string
	parent *types.ManagedObjectReference
}

// snapshotDatacenter finds the client's datacenter in a loaded VM snapshot, which holds every
// datacenter with its path, without a round trip of its own: the configured one (by name or
// path), else the only one. Nil when no snapshot is loaded or it does not tell.
func (c *Client) snapshotDatacenter() *object.Datacenter {
	c.vms.mu.Lock()
	names := c.vms.names
	c.vms.mu.Unlock()
	if names == nil {
		return nil
	}
	want := strings.Trim(c.cfg.Datacenter, "/")
	var match []types.ManagedObjectReference
	for ref, p := range names.folders {
		if ref.Type == "Datacenter" && (want == "" || strings.TrimPrefix(p, "/") == want || path.Base(p) == want) {
			match = append(match, ref)
		}
	}
	if len(match) != 1 {
		return nil
	}
	dc := object.NewDatacenter(c.vim, match[0])
	dc.InventoryPath = names.folders[match[0]]
	return dc
}

// folderPaths computes the inventory path of every folder and datacenter.
func folderPaths(nodes map[types.ManagedObjectReference]treeNode) map[types.ManagedObjectReference]string {
	out := map[types.ManagedObjectReference]string{}
	var resolve func(ref types.ManagedObjectReference, depth int) string
	resolve = func(ref types.ManagedObjectReference, depth int) string {
		if p, ok := out[ref]; ok {
			return p
		}
		n, ok := nodes[ref]
		if !ok || n.parent == nil || depth > 64 {
			return "" // the root folder
		}
		p := resolve(*n.parent, depth+1) + "/" + n.name
		out[ref] = p
		return p
	}
	for ref := range nodes {
		resolve(ref, 0)
	}
	return out
}

// FindVM resolves a VM or template by managed object ID (vm-42), BIOS UUID or inventory path
// (absolute, or relative to the datacenter's vm folder).
func (c *Client) FindVM(ctx context.Context, ref string) (*VM, error) {
	ref = strings.TrimSpace(ref)
	m, err := c.VMs(ctx)
	if err != nil {
		return nil, err
	}
	match := func(m map[string]*VM) *VM {
		if vm := m[ref]; vm != nil {
			return vm
		}
		want := ref
		if IsInventoryPath(ref) && !strings.HasPrefix(ref, "/") {
			if dc, err := c.Datacenter(ctx); err == nil {
				want = dc.InventoryPath + "/vm/" + ref
			}
		}
		for _, vm := range m {
			if vm.UUID == ref || vm.Path == want {
				return vm
			}
		}
		return nil
	}
	if vm := match(m); vm != nil {
		return vm, nil
	}
	c.InvalidateVMs()
	if m, err = c.VMs(ctx); err != nil {
		return nil, err
	}
	if vm := match(m); vm != nil {
		return vm, nil
	}
	return nil, notFound("virtual machine", ref, nil)
}

// ResolveFolder resolves a VM folder by inventory path (absolute, or relative to the datacenter's
// vm folder) or managed object ID; "" is the datacenter's vm folder. A folder that does not exist
// is NotFound, whichever way it is named.
func (c *Client) ResolveFolder(ctx context.Context, ref string) (*object.Folder, error) {
	ref = strings.TrimSpace(ref)
	v, err := c.lookup(ctx, "folder:"+ref, func(f *find.Finder) (any, error) {
		switch {
		case ref == "":
			dc, err := c.Datacenter(ctx)
			if err != nil {
				return nil, err
			}
			folders, err := dc.Folders(ctx)
			if err != nil {
				return nil, fmt.Errorf("reading the vm folder of datacenter %s: %w", dc.Name(), err)
			}
			return folders.VmFolder, nil
		case !IsInventoryPath(ref):
			folder := object.NewFolder(c.vim, types.ManagedObjectReference{Type: "Folder", Value: ref})
			var o mo.Folder
			if err := c.retrieveOne(ctx, folder.Reference(), []string{"name"}, &o); err != nil {
				return nil, wrapNotFound("folder", ref, err)
			}
			return folder, nil
		}
		folder, err := f.Folder(ctx, ref)
		if err != nil {
			return nil, notFound("folder", ref, err)
		}
		return folder, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*object.Folder), nil
}

// ResolveNetwork resolves a network or distributed port group by name or path.
func (c *Client) ResolveNetwork(ctx context.Context, ref string) (object.NetworkReference, error) {
	v, err := c.lookup(ctx, "network:"+ref, func(f *find.Finder) (any, error) {
		n, err := f.Network(ctx, ref)
		if err != nil {
			return nil, notFound("network", ref, err)
		}
		return n, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(object.NetworkReference), nil
}

// DefaultPool returns the datacenter's only cluster root pool (an error when there are several).
func (c *Client) DefaultPool(ctx context.Context) (string, error) {
	v, err := c.lookup(ctx, "default pool", func(f *find.Finder) (any, error) {
		p, err := f.DefaultResourcePool(ctx)
		if err != nil {
			return nil, err
		}
		return p.Reference().Value, nil
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// lookup answers a finder question once per client; failures are not remembered. Callers asking
// the same question while it is being answered wait for that answer; other questions are
// answered meanwhile.
func (c *Client) lookup(ctx context.Context, key string, resolve func(*find.Finder) (any, error)) (any, error) {
	for {
		c.vms.lookupMu.Lock()
		if v, ok := c.vms.lookups[key]; ok {
			c.vms.lookupMu.Unlock()
			c.logCache(ctx, "hit", key)
			return v, nil
		}
		if call := c.vms.lookupCalls[key]; call != nil {
			c.vms.lookupMu.Unlock()
			select {
			case <-call.done:
				continue // answered (or failed for that caller: ask again)
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		call := &lookupCall{done: make(chan struct{})}
		if c.vms.lookupCalls == nil {
			c.vms.lookupCalls = map[string]*lookupCall{}
		}
		c.vms.lookupCalls[key] = call
		gen := c.vms.lookupGen
		c.vms.lookupMu.Unlock()
		c.logCache(ctx, "miss", key)

		v, err := func() (any, error) {
			f, err := c.Finder(ctx)
			if err != nil {
				return nil, err
			}
			return resolve(f)
		}()
		c.vms.lookupMu.Lock()
		delete(c.vms.lookupCalls, key)
		if err == nil && gen == c.vms.lookupGen {
			if c.vms.lookups == nil {
				c.vms.lookups = map[string]any{}
			}
			c.vms.lookups[key] = v
		}
		c.vms.lookupMu.Unlock()
		close(call.done)
		return v, err
	}
}

// lookupCall is a lookup being answered.
type lookupCall struct{ done chan struct{} }

package vsphere

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// VMSnapshotMaxAge is how long one bulk read of all VMs serves the Read calls of a plan.
const VMSnapshotMaxAge = 5 * time.Second

// VM is a virtual machine (or template) as vmgmt sees it.
type VM struct {
	ID         string
	UUID       string
	Name       string
	Path       string // inventory path
	FolderPath string
	PoolID     string
	Template   bool
	CPUs       int32
	MemoryMB   int64
	DiskGB     int64 // capacity of the first disk, rounded up
	PowerState string
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
}

// vmCache is one bulk snapshot of every VM, shared by concurrent readers.
type vmCache struct {
	mu      sync.Mutex
	at      time.Time
	byID    map[string]*VM
	loading chan struct{}
	err     error
}

// InvalidateVMs drops the VM snapshot; every write this client makes to a VM calls it.
func (c *Client) InvalidateVMs() {
	c.vms.mu.Lock()
	c.vms.at = time.Time{}
	c.vms.mu.Unlock()
}

// VMs returns every VM and template of the inventory, read in three round trips (VMs, folders,
// datacenters) and shared for VMSnapshotMaxAge by all callers of this client: the Read calls of
// one plan cost the same whatever the number of VMs.
func (c *Client) VMs(ctx context.Context) (map[string]*VM, error) {
	for {
		c.vms.mu.Lock()
		if c.vms.byID != nil && time.Since(c.vms.at) < VMSnapshotMaxAge {
			m := c.vms.byID
			c.vms.mu.Unlock()
			return m, nil
		}
		if ch := c.vms.loading; ch != nil {
			c.vms.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		ch := make(chan struct{})
		c.vms.loading = ch
		c.vms.mu.Unlock()

		m, err := c.loadVMs(ctx)
		c.vms.mu.Lock()
		c.vms.loading = nil
		if err == nil {
			c.vms.byID, c.vms.at = m, time.Now()
		}
		c.vms.mu.Unlock()
		close(ch)
		if err != nil {
			return nil, err
		}
		return m, nil
	}
}

// GetVM returns one VM from the shared snapshot; a VM missing from a fresh snapshot is NotFound.
func (c *Client) GetVM(ctx context.Context, id string) (*VM, error) {
	m, err := c.VMs(ctx)
	if err != nil {
		return nil, err
	}
	if vm := m[id]; vm != nil {
		return vm, nil
	}
	// Maybe created after the snapshot was taken: look again, once, with a fresh one.
	c.InvalidateVMs()
	if m, err = c.VMs(ctx); err != nil {
		return nil, err
	}
	if vm := m[id]; vm != nil {
		return vm, nil
	}
	return nil, notFound("virtual machine", id, nil)
}

var vmProps = []string{
	"name", "parent", "resourcePool", "config.template", "config.uuid", "config.hardware.numCPU",
	"config.hardware.memoryMB", "config.hardware.device", "config.extraConfig", "runtime.powerState",
	"guest.ipAddress", "customValue", "network", "config.cpuHotAddEnabled", "config.memoryHotAddEnabled",
}

func (c *Client) loadVMs(ctx context.Context) (map[string]*VM, error) {
	var vms []mo.VirtualMachine
	if err := c.RetrieveAll(ctx, "VirtualMachine", vmProps, &vms); err != nil {
		return nil, err
	}
	paths, err := c.folderPaths(ctx)
	if err != nil {
		return nil, err
	}
	netNames, err := c.networkNames(ctx)
	if err != nil {
		return nil, err
	}
	fields := c.customFieldNames()
	out := make(map[string]*VM, len(vms))
	for i := range vms {
		v := &vms[i]
		vm := &VM{ID: v.Self.Value, Name: v.Name, ExtraConfig: map[string]string{}, Custom: map[string]string{}}
		if v.Parent != nil {
			vm.FolderPath = paths[*v.Parent]
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
			for _, d := range cfg.Hardware.Device {
				if disk, ok := d.(*types.VirtualDisk); ok {
					vm.DiskGB = (disk.CapacityInKB + 1024*1024 - 1) / (1024 * 1024)
					break
				}
			}
			for _, o := range cfg.ExtraConfig {
				if ov := o.GetOptionValue(); ov != nil && strings.HasPrefix(ov.Key, "vmgmt.") {
					vm.ExtraConfig[ov.Key] = fmt.Sprint(ov.Value)
				}
			}
		}
		vm.PowerState = string(v.Runtime.PowerState)
		if v.Guest != nil {
			vm.IPAddress = v.Guest.IpAddress
		}
		for _, cv := range v.CustomValue {
			if s, ok := cv.(*types.CustomFieldStringValue); ok {
				if name, ok := fields[s.Key]; ok {
					vm.Custom[name] = s.Value
				}
			}
		}
		for _, n := range v.Network {
			if name := netNames[n]; name != "" {
				vm.Networks = append(vm.Networks, name)
			}
		}
		sort.Strings(vm.Networks)
		out[vm.ID] = vm
	}
	return out, nil
}

// folderPaths computes the inventory path of every folder from two bulk reads.
func (c *Client) folderPaths(ctx context.Context) (map[types.ManagedObjectReference]string, error) {
	var folders []mo.Folder
	if err := c.RetrieveAll(ctx, "Folder", []string{"name", "parent"}, &folders); err != nil {
		return nil, err
	}
	var dcs []mo.Datacenter
	if err := c.RetrieveAll(ctx, "Datacenter", []string{"name", "parent"}, &dcs); err != nil {
		return nil, err
	}
	type node struct {
		name   string
		parent *types.ManagedObjectReference
	}
	nodes := map[types.ManagedObjectReference]node{}
	for _, f := range folders {
		nodes[f.Self] = node{f.Name, f.Parent}
	}
	for _, d := range dcs {
		nodes[d.Self] = node{d.Name, d.Parent}
	}
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
	return out, nil
}

func (c *Client) networkNames(ctx context.Context) (map[types.ManagedObjectReference]string, error) {
	var nets []mo.Network
	if err := c.RetrieveAll(ctx, "Network", []string{"name"}, &nets); err != nil {
		return nil, err
	}
	out := make(map[types.ManagedObjectReference]string, len(nets))
	for _, n := range nets {
		out[n.Self] = n.Name
	}
	return out, nil
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
// vm folder) or managed object ID.
func (c *Client) ResolveFolder(ctx context.Context, ref string) (*object.Folder, error) {
	if !IsInventoryPath(ref) {
		return object.NewFolder(c.vim, types.ManagedObjectReference{Type: "Folder", Value: ref}), nil
	}
	f, err := c.Finder(ctx)
	if err != nil {
		return nil, err
	}
	folder, err := f.Folder(ctx, ref)
	if err != nil {
		return nil, notFound("folder", ref, err)
	}
	return folder, nil
}

// ResolveNetwork resolves a network or distributed port group by name or path.
func (c *Client) ResolveNetwork(ctx context.Context, ref string) (object.NetworkReference, error) {
	f, err := c.Finder(ctx)
	if err != nil {
		return nil, err
	}
	n, err := f.Network(ctx, ref)
	if err != nil {
		return nil, notFound("network", ref, err)
	}
	return n, nil
}

// DefaultPool returns the datacenter's only cluster root pool (an error when there are several).
func (c *Client) DefaultPool(ctx context.Context) (string, error) {
	f, err := c.Finder(ctx)
	if err != nil {
		return "", err
	}
	p, err := f.DefaultResourcePool(ctx)
	if err != nil {
		return "", err
	}
	return p.Reference().Value, nil
}

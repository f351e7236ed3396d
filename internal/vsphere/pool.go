package vsphere

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// Shares levels as vSphere names them.
const (
	SharesLow    = string(types.SharesLevelLow)
	SharesNormal = string(types.SharesLevelNormal)
	SharesHigh   = string(types.SharesLevelHigh)
	SharesCustom = string(types.SharesLevelCustom)
)

// SharesLevels lists the valid shares levels.
var SharesLevels = []string{SharesLow, SharesNormal, SharesHigh, SharesCustom}

// Allocation is one resource's allocation of a pool: CPU in MHz or memory in MB.
type Allocation struct {
	Reservation int64
	Limit       int64 // -1 means unlimited
	Expandable  bool
	SharesLevel string
	Shares      int32 // meaningful for SharesCustom; vCenter computes it for the other levels
}

// PoolSpec is the whole allocation of a resource pool.
type PoolSpec struct {
	CPU    Allocation
	Memory Allocation
}

func (a Allocation) toVim() types.ResourceAllocationInfo {
	level := a.SharesLevel
	if level == "" {
		level = SharesNormal
	}
	shares := a.Shares
	if level != SharesCustom {
		shares = 0
	}
	// vCenter (and vcsim) require all four fields on create; we always send all of them.
	return types.ResourceAllocationInfo{
		Reservation:           types.NewInt64(a.Reservation),
		Limit:                 types.NewInt64(a.Limit),
		ExpandableReservation: types.NewBool(a.Expandable),
		Shares:                &types.SharesInfo{Level: types.SharesLevel(level), Shares: shares},
	}
}

func allocationFromVim(i types.ResourceAllocationInfo) Allocation {
	a := Allocation{Limit: -1, SharesLevel: SharesNormal}
	if i.Reservation != nil {
		a.Reservation = *i.Reservation
	}
	if i.Limit != nil {
		a.Limit = *i.Limit
	}
	if i.ExpandableReservation != nil {
		a.Expandable = *i.ExpandableReservation
	}
	if i.Shares != nil {
		a.SharesLevel = string(i.Shares.Level)
		a.Shares = i.Shares.Shares
	}
	return a
}

func (s PoolSpec) toVim() types.ResourceConfigSpec {
	return types.ResourceConfigSpec{
		CpuAllocation:    s.CPU.toVim(),
		MemoryAllocation: s.Memory.toVim(),
	}
}

// Pool is a resource pool as read from vCenter.
type Pool struct {
	ID   string // managed object ID, e.g. resgroup-42
	Name string
	Path string // inventory path, e.g. /dc1/host/cluster1/Resources/tier-1
	// ParentID is the managed object ID of the parent pool (the cluster's root pool for a top-level pool).
	ParentID string
	// ParentPath is the inventory path of the parent: the cluster's path when the parent is a root pool.
	ParentPath string
	Spec       PoolSpec
	// Root is true for the invisible root pool of a cluster or host.
	Root bool
	// Capacity is what the pool has left for its own children.
	Capacity *Capacity
}

// PoolRef is a resolved reference to a resource pool.
type PoolRef struct {
	Ref types.ManagedObjectReference
	// Path is the inventory path the caller used, or empty when resolved by ID.
	Path string
}

// ID returns the managed object ID.
func (p PoolRef) ID() string { return p.Ref.Value }

// refFromID guesses the managed object type from a vCenter managed object ID.
func refFromID(id string) types.ManagedObjectReference {
	switch {
	case strings.HasPrefix(id, "domain-c"):
		return types.ManagedObjectReference{Type: "ClusterComputeResource", Value: id}
	case strings.HasPrefix(id, "domain-s"):
		return types.ManagedObjectReference{Type: "ComputeResource", Value: id}
	case strings.HasPrefix(id, "resgroup-v"):
		return types.ManagedObjectReference{Type: "VirtualApp", Value: id}
	default:
		return types.ManagedObjectReference{Type: "ResourcePool", Value: id}
	}
}

var moidPattern = regexp.MustCompile(`^[a-zA-Z]+-[a-zA-Z]*[0-9]+$`)

// IsInventoryPath reports whether s is an inventory path (absolute, or relative to the
// datacenter's host folder) rather than a managed object ID such as resgroup-42 or domain-c7.
func IsInventoryPath(s string) bool { return strings.Contains(s, "/") || !moidPattern.MatchString(s) }

// absPath makes an inventory path absolute: "cluster1/pool" is taken relative to the datacenter's
// host folder, "host/cluster1" relative to the datacenter.
func (c *Client) absPath(ctx context.Context, p string) (string, error) {
	if strings.HasPrefix(p, "/") {
		return path.Clean(p), nil
	}
	dc, err := c.Datacenter(ctx)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(p, "host/") {
		return path.Join(dc.InventoryPath, p), nil
	}
	return path.Join(dc.InventoryPath, "host", p), nil
}

// ResolvePool resolves a cluster, host or pool given by inventory path or managed object ID to the
// resource pool that children are created in (a cluster's root pool for a cluster).
//
// Answers are remembered until the next Refresh or pool write of this client: every reservation
// of a plan under the same cluster names the same parent.
func (c *Client) ResolvePool(ctx context.Context, ref string) (PoolRef, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return PoolRef{}, errors.New("empty resource pool or cluster reference")
	}
	v, err := c.lookup(ctx, "pool:"+ref, func(*find.Finder) (any, error) { return c.resolvePool(ctx, ref) })
	if err != nil {
		return PoolRef{}, err
	}
	return v.(PoolRef), nil
}

func (c *Client) resolvePool(ctx context.Context, ref string) (PoolRef, error) {
	var mor types.ManagedObjectReference
	var usedPath string
	if IsInventoryPath(ref) {
		p, err := c.absPath(ctx, ref)
		if err != nil {
			return PoolRef{}, err
		}
		found, err := object.NewSearchIndex(c.vim).FindByInventoryPath(ctx, p)
		if err != nil {
			return PoolRef{}, fmt.Errorf("looking up %q: %w", p, err)
		}
		if found != nil {
			mor = found.Reference()
		} else {
			// Some servers (vcsim among them) do not descend into nested resource pools in
			// FindByInventoryPath; the finder walks them.
			rp, ferr := find.NewFinder(c.vim, false).ResourcePool(ctx, p)
			if ferr != nil {
				return PoolRef{}, notFound("cluster or resource pool", ref, ferr)
			}
			mor = rp.Reference()
		}
		usedPath = p
	} else {
		mor = refFromID(ref)
	}
	switch mor.Type {
	case "ResourcePool", "VirtualApp":
		if usedPath == "" {
			// Named by ID: make sure it exists, so that a plan naming a pool that is not there fails.
			var rp mo.ResourcePool
			if err := c.retrieveOne(ctx, mor, []string{"name"}, &rp); err != nil {
				return PoolRef{}, wrapNotFound("resource pool", ref, err)
			}
		}
		return PoolRef{Ref: mor, Path: usedPath}, nil
	case "ClusterComputeResource", "ComputeResource":
		var cr mo.ComputeResource
		if err := c.retrieveOne(ctx, mor, []string{"resourcePool"}, &cr); err != nil {
			return PoolRef{}, wrapNotFound("cluster", ref, err)
		}
		if cr.ResourcePool == nil {
			return PoolRef{}, fmt.Errorf("%s %q has no root resource pool", mor.Type, ref)
		}
		return PoolRef{Ref: *cr.ResourcePool, Path: usedPath}, nil
	default:
		return PoolRef{}, fmt.Errorf("%q is a %s, not a cluster, host or resource pool", ref, mor.Type)
	}
}

func (c *Client) retrieveOne(ctx context.Context, ref types.ManagedObjectReference, props []string, dst any) error {
	return c.collector().RetrieveOne(ctx, ref, props, dst)
}

func (c *Client) collector() *property.Collector { return property.DefaultCollector(c.vim) }

// CreatePool creates a resource pool under parent and returns its managed object ID.
func (c *Client) CreatePool(ctx context.Context, parent PoolRef, name string, spec PoolSpec) (string, error) {
	defer c.poolsChanged()
	ctx, cancel := context.WithTimeout(ctx, c.cfg.APITimeout)
	defer cancel()
	res, err := methods.CreateResourcePool(ctx, c.vim, &types.CreateResourcePool{
		This: parent.Ref,
		Name: name,
		Spec: spec.toVim(),
	})
	if err != nil {
		if IsNotFound(err) {
			return "", notFound("parent resource pool", parent.ID(), err)
		}
		return "", fmt.Errorf("creating resource pool %q under %s: %w", name, parent.ID(), err)
	}
	return res.Returnval.Value, nil
}

// UpdatePool renames a pool (when name is not empty) and replaces its whole allocation.
func (c *Client) UpdatePool(ctx context.Context, id, name string, spec PoolSpec) error {
	defer c.poolsChanged()
	ctx, cancel := context.WithTimeout(ctx, c.cfg.APITimeout)
	defer cancel()
	ref := refFromID(id)
	cfg := spec.toVim()
	cfg.Entity = &ref
	_, err := methods.UpdateConfig(ctx, c.vim, &types.UpdateConfig{This: ref, Name: name, Config: &cfg})
	if err != nil {
		return wrapNotFound("resource pool", id, fmt.Errorf("updating resource pool %s: %w", id, err))
	}
	return nil
}

// PoolContentsError is returned when a pool that still holds VMs or pools is asked to be destroyed.
type PoolContentsError struct {
	ID, Path   string
	VMs, Pools []string
}

func (e *PoolContentsError) Error() string {
	var parts []string
	if n := len(e.VMs); n > 0 {
		parts = append(parts, fmt.Sprintf("%d virtual machine(s) (%s)", n, strings.Join(head(e.VMs, 5), ", ")))
	}
	if n := len(e.Pools); n > 0 {
		parts = append(parts, fmt.Sprintf("%d resource pool(s) (%s)", n, strings.Join(head(e.Pools, 5), ", ")))
	}
	return fmt.Sprintf("resource pool %s still holds %s; destroying it would move them to its parent and change their "+
		"resource guarantees, so vmgmt refuses: move or destroy them first", e.Path, strings.Join(parts, " and "))
}

func head(s []string, n int) []string { //nolint:unparam // the call site says how many names it lists
	if len(s) <= n {
		return s
	}
	return append(append([]string{}, s[:n]...), "...")
}

// DestroyPool destroys an empty resource pool. A pool that still holds VMs or pools is not
// destroyed (PoolContentsError), so nobody's VM silently changes pool. Child pools that are being
// destroyed at the same moment (Terraform destroys siblings in parallel) are waited for briefly.
// A pool that is already gone is not an error.
func (c *Client) DestroyPool(ctx context.Context, id string) error {
	defer c.poolsChanged()
	ctx, cancel := context.WithTimeout(ctx, c.cfg.APITimeout)
	defer cancel()
	ref := refFromID(id)
	wait := 250 * time.Millisecond
	for attempt := 0; ; attempt++ {
		snap, err := c.snapshot(ctx, ref, true)
		if err != nil {
			if IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("reading resource pool %s before destroying it: %w", id, err)
		}
		if len(snap.vms) == 0 && len(snap.children) == 0 {
			break
		}
		if len(snap.vms) > 0 || attempt >= 8 {
			e := &PoolContentsError{ID: id, Path: snap.path()}
			for _, vm := range snap.vms {
				e.VMs = append(e.VMs, vm.Name)
			}
			for _, ch := range snap.children {
				e.Pools = append(e.Pools, ch.Name)
			}
			return e
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 2*time.Second)
	}
	task, err := object.NewResourcePool(c.vim, ref).Destroy(ctx)
	if err == nil {
		_, err = c.waitTask(ctx, task)
	}
	if err != nil {
		if IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("destroying resource pool %s: %w", id, err)
	}
	return nil
}

// InventoryPath returns the inventory path of any managed entity in one round trip.
func (c *Client) InventoryPath(ctx context.Context, ref types.ManagedObjectReference) (string, error) {
	ents, err := mo.Ancestors(ctx, c.vim, c.vim.ServiceContent.PropertyCollector, ref)
	if err != nil {
		return "", wrapNotFound(ref.Type, ref.Value, err)
	}
	return entityPath(ents), nil
}

// entityPath joins the names of an ancestor chain (root folder first), leaving out the root folder.
func entityPath(ents []mo.ManagedEntity) string {
	var b strings.Builder
	for i, e := range ents {
		if i == 0 && e.Parent == nil {
			continue
		}
		b.WriteString("/")
		b.WriteString(e.Name)
	}
	return b.String()
}

// poolSnapshot is one RetrieveProperties answer about a pool: the pool, its direct children
// (pools and VMs) and, when asked, its ancestors up to the root folder.
type poolSnapshot struct {
	self     *mo.ResourcePool
	children []mo.ResourcePool
	vms      []mo.VirtualMachine
	up       map[types.ManagedObjectReference]*mo.ManagedEntity
}

// snapshot reads a pool, its children and (optionally) its ancestors in a single round trip.
func (c *Client) snapshot(ctx context.Context, ref types.ManagedObjectReference, ancestors bool) (*poolSnapshot, error) {
	sel := []types.BaseSelectionSpec{
		&types.TraversalSpec{Type: "ResourcePool", Path: "resourcePool", Skip: types.NewBool(false)},
		&types.TraversalSpec{Type: "ResourcePool", Path: "vm", Skip: types.NewBool(false)},
	}
	props := []types.PropertySpec{
		{Type: "ResourcePool", PathSet: []string{"name", "parent", "owner", "config.cpuAllocation", "config.memoryAllocation", "runtime", "customValue"}},
		{Type: "VirtualMachine", PathSet: []string{"name", "resourceConfig"}},
	}
	if ancestors {
		sel = append(sel, &types.TraversalSpec{
			SelectionSpec: types.SelectionSpec{Name: "up"},
			Type:          "ManagedEntity",
			Path:          "parent",
			Skip:          types.NewBool(false),
			SelectSet:     []types.BaseSelectionSpec{&types.SelectionSpec{Name: "up"}},
		})
		props = append(props, types.PropertySpec{Type: "ManagedEntity", PathSet: []string{"name", "parent"}})
	}
	objects := []types.ObjectSpec{{Obj: ref, Skip: types.NewBool(false), SelectSet: sel}}
	if cfm := c.vim.ServiceContent.CustomFieldsManager; cfm != nil && !c.fields.requestChecked.Load() {
		// The custom attribute definitions come along once, so that child pools' stamps can be
		// named without a round trip of their own.
		objects = append(objects, types.ObjectSpec{Obj: *cfm})
		props = append(props, types.PropertySpec{Type: "CustomFieldsManager", PathSet: []string{"field"}})
	}
	req := types.RetrievePropertiesEx{
		This:    c.vim.ServiceContent.PropertyCollector,
		SpecSet: []types.PropertyFilterSpec{{ObjectSet: objects, PropSet: props}},
	}
	content, err := mo.RetrievePropertiesEx(ctx, c.vim, req)
	if err != nil {
		return nil, wrapNotFound("resource pool", ref.Value, err)
	}
	snap := &poolSnapshot{up: map[types.ManagedObjectReference]*mo.ManagedEntity{}}
	for _, oc := range content {
		obj, err := mo.ObjectContentToType(oc, true)
		if err != nil {
			return nil, fmt.Errorf("decoding %s: %w", oc.Obj, err)
		}
		var rp *mo.ResourcePool
		switch o := obj.(type) {
		case *mo.ResourcePool:
			rp = o
		case *mo.VirtualApp:
			rp = &o.ResourcePool
		case *mo.VirtualMachine:
			snap.vms = append(snap.vms, *o)
			continue
		case *mo.CustomFieldsManager:
			c.learnCustomFields(o.Field)
			continue
		case mo.Entity:
			me := *o.Entity()
			me.Self = oc.Obj
			snap.up[oc.Obj] = &me
			continue
		default:
			continue
		}
		rp.Self = oc.Obj
		me := rp.ManagedEntity
		me.Self = oc.Obj
		snap.up[oc.Obj] = &me
		switch {
		case oc.Obj == ref:
			snap.self = rp
		case rp.Parent != nil && *rp.Parent == ref:
			snap.children = append(snap.children, *rp)
		}
	}
	if snap.self == nil {
		return nil, notFound("resource pool", ref.Value, nil)
	}
	return snap, nil
}

func (s *poolSnapshot) isRoot() bool {
	p := s.self.Parent
	return p != nil && (p.Type == "ClusterComputeResource" || p.Type == "ComputeResource")
}

// path builds the inventory path of the pool from the ancestors in the snapshot.
func (s *poolSnapshot) path() string {
	var chain []mo.ManagedEntity
	for cur := s.self.Self; len(chain) < 64; {
		e := s.up[cur]
		if e == nil {
			break
		}
		chain = append(chain, *e)
		if e.Parent == nil {
			break
		}
		cur = *e.Parent
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	return entityPath(chain)
}

// capacity sums up the snapshot. requestKey is the key of the StampRequest attribute (noKey: not
// defined, so no child carries it).
func (s *poolSnapshot) capacity(requestKey int32) *Capacity {
	self := s.self
	out := &Capacity{ID: self.Self.Value, Name: self.Name, Kind: "pool", VMs: len(s.vms), OwnerID: self.Owner.Value}
	cpu := allocationFromVim(self.Config.CpuAllocation)
	mem := allocationFromVim(self.Config.MemoryAllocation)
	out.CPU = ResourceCapacity{Capacity: cpu.Reservation, Expandable: cpu.Expandable, Limit: cpu.Limit}
	out.Memory = ResourceCapacity{Capacity: mem.Reservation, Expandable: mem.Expandable, Limit: mem.Limit}
	if s.isRoot() {
		// A root pool hands out the whole cluster: its runtime maximum (memory in bytes).
		out.Kind = "cluster"
		out.CPU.Capacity = self.Runtime.Cpu.MaxUsage
		out.Memory.Capacity = self.Runtime.Memory.MaxUsage / bytesPerMB
		out.CPU.Expandable, out.Memory.Expandable = false, false
	}
	for _, ch := range s.children {
		cc := allocationFromVim(ch.Config.CpuAllocation)
		mc := allocationFromVim(ch.Config.MemoryAllocation)
		out.CPU.Reserved += cc.Reservation
		out.Memory.Reserved += mc.Reservation
		out.Children = append(out.Children, ChildPool{ID: ch.Self.Value, Name: ch.Name, CPUReservationMHz: cc.Reservation, MemoryReservationMB: mc.Reservation,
			Request: customValue(ch.CustomValue, requestKey)})
	}
	sort.Slice(out.Children, func(i, j int) bool { return out.Children[i].Name < out.Children[j].Name })
	for _, vm := range s.vms {
		if vm.ResourceConfig == nil {
			continue
		}
		if r := vm.ResourceConfig.CpuAllocation.Reservation; r != nil {
			out.CPU.Reserved += *r
		}
		if r := vm.ResourceConfig.MemoryAllocation.Reservation; r != nil {
			out.Memory.Reserved += *r
		}
	}
	out.CPU.Unreserved = max(0, out.CPU.Capacity-out.CPU.Reserved)
	out.Memory.Unreserved = max(0, out.Memory.Capacity-out.Memory.Reserved)
	return out
}

// GetPool reads a resource pool: its allocation, its place in the inventory and the capacity it
// has left for its children, in one round trip.
func (c *Client) GetPool(ctx context.Context, id string) (*Pool, error) {
	snap, err := c.snapshot(ctx, refFromID(id), true)
	if err != nil {
		return nil, err
	}
	self := snap.self
	p := &Pool{ID: id, Name: self.Name, Path: snap.path(), Root: snap.isRoot(), Capacity: snap.capacity(noKey), Spec: PoolSpec{
		CPU:    allocationFromVim(self.Config.CpuAllocation),
		Memory: allocationFromVim(self.Config.MemoryAllocation),
	}}
	if self.Parent != nil && !p.Root {
		p.ParentID = self.Parent.Value
		p.ParentPath = path.Dir(p.Path)
		// A top-level pool's parent is the cluster's root pool: name the cluster, as users do.
		if parent := snap.up[*self.Parent]; parent != nil && parent.Parent != nil &&
			(parent.Parent.Type == "ClusterComputeResource" || parent.Parent.Type == "ComputeResource") {
			p.ParentPath = path.Dir(p.ParentPath)
		}
	}
	return p, nil
}

// Capacity is what a cluster or pool can hand out to child pools and VMs, and how much of it is
// already reserved. CPU in MHz, memory in MB.
type Capacity struct {
	ID   string // the pool's managed object ID (a cluster's root pool for a cluster)
	Name string
	// Kind is "cluster" when the pool is the root pool of a cluster or host, else "pool".
	Kind string
	// OwnerID is the managed object ID of the cluster (or host compute resource) that owns the pool.
	OwnerID string

	CPU, Memory ResourceCapacity
	// Children are the pools directly below this one.
	Children []ChildPool
	// VMs is the number of virtual machines directly in this pool.
	VMs int
}

// ResourceCapacity is the capacity of one resource of a pool.
type ResourceCapacity struct {
	// Capacity is what the pool can give to its children: its reservation, or for a root pool the
	// cluster's total capacity.
	Capacity int64
	// Reserved is the sum of the reservations of the child pools and VMs directly in the pool.
	Reserved int64
	// Unreserved is Capacity - Reserved, never negative.
	Unreserved int64
	// Expandable is true when the pool may borrow unreserved capacity from its parent.
	Expandable bool
	// Limit of the pool itself (-1 unlimited).
	Limit int64
}

// ChildPool is one child of a pool as seen by the capacity read.
type ChildPool struct {
	ID                  string
	Name                string
	CPUReservationMHz   int64
	MemoryReservationMB int64
	// Request is the token of the request that created the pool ("" when vmgmt did not, or made
	// it without a stamp).
	Request string
}

// Child returns the child pool with the given name, if any.
func (c *Capacity) Child(name string) (ChildPool, bool) {
	for _, ch := range c.Children {
		if ch.Name == name {
			return ch, true
		}
	}
	return ChildPool{}, false
}

const bytesPerMB = 1024 * 1024

// PoolCapacity reads the capacity of a pool (a cluster's root pool when given a cluster) with its
// child pools and VMs in a single PropertyCollector round trip.
//
// A read is shared until this client changes a pool or a VM, or VMSnapshotMaxAge passes: the
// ModifyPlan calls of many reservations under one parent cost one round trip, while an apply
// always judges against what the previous write left.
func (c *Client) PoolCapacity(ctx context.Context, pool PoolRef) (*Capacity, error) {
	gen := c.writeGen()
	c.capacities.mu.Lock()
	if e, ok := c.capacities.m[pool.Ref]; ok && e.gen == gen && time.Since(e.at) < VMSnapshotMaxAge {
		c.capacities.mu.Unlock()
		c.logCache(ctx, "hit", "pool capacity "+pool.ID())
		return e.capa, nil
	}
	c.capacities.mu.Unlock()
	c.logCache(ctx, "miss", "pool capacity "+pool.ID())
	capa, err := c.freshCapacity(ctx, pool)
	if err != nil {
		return nil, err
	}
	c.capacities.mu.Lock()
	if c.capacities.m == nil {
		c.capacities.m = map[types.ManagedObjectReference]cachedCapacity{}
	}
	c.capacities.m[pool.Ref] = cachedCapacity{capa: capa, gen: gen, at: time.Now()}
	c.capacities.mu.Unlock()
	return capa, nil
}

// capacityCache holds recent PoolCapacity answers.
type capacityCache struct {
	mu sync.Mutex
	m  map[types.ManagedObjectReference]cachedCapacity
}

type cachedCapacity struct {
	capa *Capacity
	gen  uint64
	at   time.Time
}

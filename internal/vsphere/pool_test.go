package vsphere

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

func TestResolvePool(t *testing.T) {
	t.Parallel()
	sim := sharedSim(t)
	ctx := context.Background()
	c := connect(t, sim)

	root := rootPool(t, c)
	if root.Ref.Type != "ResourcePool" || root.ID() == "" {
		t.Fatalf("ResolvePool(cluster) = %+v, want a ResourcePool", root)
	}
	if root.Path != simulator.ClusterPath {
		t.Errorf("PoolRef.Path = %q, want %q", root.Path, simulator.ClusterPath)
	}
	rp, err := c.GetPool(ctx, root.ID())
	if err != nil {
		t.Fatal(err)
	}
	if !rp.Root || rp.Path != simulator.RootPoolPath {
		t.Fatalf("the cluster resolved to %s (root=%v), want the root pool %s", rp.Path, rp.Root, simulator.RootPoolPath)
	}
	pc, err := c.PoolCapacity(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	clusterID := pc.OwnerID
	if !strings.HasPrefix(clusterID, "domain-c") {
		t.Fatalf("the root pool's owner is %q, want a cluster ID", clusterID)
	}

	child := mustCreatePool(t, c, root, uniqueName("resolve"), spec(0, 0))
	childPool, err := c.GetPool(ctx, child.ID())
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		ref  string
		want string // managed object ID
	}{
		{simulator.ClusterPath, root.ID()},
		{simulator.ClusterPath + "/", root.ID()},
		{"  " + simulator.ClusterPath + "  ", root.ID()},
		{simulator.RootPoolPath, root.ID()},
		{simulator.Cluster, root.ID()},                // relative to the datacenter's host folder
		{"host/" + simulator.Cluster, root.ID()},      // relative to the datacenter
		{simulator.Cluster + "/Resources", root.ID()}, // relative path of the root pool
		{clusterID, root.ID()},                        // cluster managed object ID
		{root.ID(), root.ID()},                        // pool managed object ID
		{childPool.Path, child.ID()},                  // absolute pool path
		{simulator.Cluster + "/Resources/" + childPool.Name, child.ID()},
		{child.ID(), child.ID()},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got, err := c.ResolvePool(ctx, tt.ref)
			if err != nil {
				t.Fatalf("ResolvePool(%q): %v", tt.ref, err)
			}
			if got.ID() != tt.want || got.Ref.Type != "ResourcePool" {
				t.Errorf("ResolvePool(%q) = %v, want ResourcePool:%s", tt.ref, got.Ref, tt.want)
			}
		})
	}

	notFoundTests := []string{
		"/dc1/host/no-such-cluster",
		"no-such-cluster",
		"no-such-cluster/Resources/x",
		simulator.RootPoolPath + "/no-such-pool",
		"/no-such-dc/host/prod",
		"domain-c99999",
	}
	for _, ref := range notFoundTests {
		t.Run("missing "+ref, func(t *testing.T) {
			_, err := c.ResolvePool(ctx, ref)
			if !IsNotFound(err) {
				t.Fatalf("ResolvePool(%q) error = %v, want a NotFound error", ref, err)
			}
			if !strings.Contains(err.Error(), ref) && !strings.Contains(err.Error(), "not found") {
				t.Errorf("error %q does not say what is missing", err)
			}
		})
	}

	t.Run("empty", func(t *testing.T) {
		if _, err := c.ResolvePool(ctx, "  "); err == nil || IsNotFound(err) {
			t.Errorf("ResolvePool(empty) error = %v, want a plain error", err)
		}
	})
	t.Run("not a pool", func(t *testing.T) {
		// A folder and a VM are entities but not places to create pools in.
		for _, ref := range []string{"/dc1/vm/" + simulator.WorkloadFolder, "/dc1/vm/" + simulator.WorkloadFolder + "/" + simulator.Workloads[0]} {
			_, err := c.ResolvePool(ctx, ref)
			if err == nil {
				t.Errorf("ResolvePool(%q) succeeded", ref)
				continue
			}
			if IsNotFound(err) || !strings.Contains(err.Error(), "not a cluster") {
				t.Errorf("ResolvePool(%q) error = %v, want one that says it is not a cluster or pool", ref, err)
			}
		}
	})
}

func TestPoolLifecycle(t *testing.T) {
	t.Parallel()
	sim := sharedSim(t)
	ctx := context.Background()
	c := connect(t, sim)
	root := rootPool(t, c)

	name := uniqueName("life")
	want := PoolSpec{
		CPU:    Allocation{Reservation: 2000, Limit: 8000, Expandable: true, SharesLevel: SharesHigh},
		Memory: Allocation{Reservation: 4096, Limit: -1, Expandable: false, SharesLevel: SharesLow},
	}
	id, err := c.CreatePool(ctx, root, name, want)
	if err != nil {
		t.Fatalf("CreatePool: %v", err)
	}
	if !strings.HasPrefix(id, "resgroup-") {
		t.Errorf("CreatePool returned %q, want a resgroup ID", id)
	}
	t.Cleanup(func() { _ = c.DestroyPool(context.Background(), id) })

	p, err := c.GetPool(ctx, id)
	if err != nil {
		t.Fatalf("GetPool: %v", err)
	}
	if p.ID != id || p.Name != name || p.Root {
		t.Errorf("GetPool = {ID:%s Name:%s Root:%v}, want {%s %s false}", p.ID, p.Name, p.Root, id, name)
	}
	if want := simulator.RootPoolPath + "/" + name; p.Path != want {
		t.Errorf("Path = %q, want %q", p.Path, want)
	}
	if p.ParentID != root.ID() {
		t.Errorf("ParentID = %q, want the root pool %q", p.ParentID, root.ID())
	}
	if p.ParentPath != simulator.ClusterPath {
		t.Errorf("ParentPath = %q, want the cluster %q", p.ParentPath, simulator.ClusterPath)
	}
	assertAllocation(t, "created cpu", p.Spec.CPU, want.CPU)
	assertAllocation(t, "created memory", p.Spec.Memory, want.Memory)
	if p.Capacity == nil || p.Capacity.Kind != "pool" || p.Capacity.CPU.Capacity != 2000 || p.Capacity.Memory.Capacity != 4096 {
		t.Errorf("Capacity = %+v, want a pool with its reservations as capacity", p.Capacity)
	}

	// Rename and change every field, custom shares included.
	newName := uniqueName("life-renamed")
	updated := PoolSpec{
		CPU:    Allocation{Reservation: 500, Limit: -1, Expandable: false, SharesLevel: SharesCustom, Shares: 1234},
		Memory: Allocation{Reservation: 1024, Limit: 2048, Expandable: true, SharesLevel: SharesCustom, Shares: 777},
	}
	if err := c.UpdatePool(ctx, id, newName, updated); err != nil {
		t.Fatalf("UpdatePool: %v", err)
	}
	p, err = c.GetPool(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != newName || p.Path != simulator.RootPoolPath+"/"+newName {
		t.Errorf("after rename: Name %q Path %q, want %q", p.Name, p.Path, newName)
	}
	assertAllocation(t, "updated cpu", p.Spec.CPU, updated.CPU)
	assertAllocation(t, "updated memory", p.Spec.Memory, updated.Memory)

	// An empty name keeps the name; the allocation is replaced as a whole.
	back := PoolSpec{
		CPU:    Allocation{Reservation: 0, Limit: 100, Expandable: true, SharesLevel: SharesNormal},
		Memory: Allocation{Reservation: 0, Limit: -1, Expandable: false, SharesLevel: SharesHigh, Shares: 99}, // Shares ignored: not custom
	}
	if err := c.UpdatePool(ctx, id, "", back); err != nil {
		t.Fatalf("UpdatePool without a name: %v", err)
	}
	p, err = c.GetPool(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != newName {
		t.Errorf("UpdatePool with an empty name renamed the pool to %q", p.Name)
	}
	assertAllocation(t, "reverted cpu", p.Spec.CPU, back.CPU)
	if p.Spec.Memory.SharesLevel != SharesHigh || p.Spec.Memory.Limit != -1 || p.Spec.Memory.Reservation != 0 {
		t.Errorf("reverted memory = %+v", p.Spec.Memory)
	}
	if p.Spec.Memory.Shares == 99 {
		t.Error("shares of a non-custom level were sent to vCenter")
	}

	if err := c.DestroyPool(ctx, id); err != nil {
		t.Fatalf("DestroyPool: %v", err)
	}
	if _, err := c.GetPool(ctx, id); !IsNotFound(err) {
		t.Fatalf("GetPool after DestroyPool error = %v, want NotFound", err)
	}
	if err := c.DestroyPool(ctx, id); err != nil {
		t.Errorf("DestroyPool of a destroyed pool = %v, want nil", err)
	}
	if err := c.UpdatePool(ctx, id, "", back); !IsNotFound(err) {
		t.Errorf("UpdatePool of a destroyed pool error = %v, want NotFound", err)
	}
}

func assertAllocation(t *testing.T, what string, got, want Allocation) {
	t.Helper()
	if got.Reservation != want.Reservation || got.Limit != want.Limit || got.Expandable != want.Expandable || got.SharesLevel != want.SharesLevel {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
	if want.SharesLevel == SharesCustom && got.Shares != want.Shares {
		t.Errorf("%s custom shares = %d, want %d", what, got.Shares, want.Shares)
	}
}

func TestCreatePoolErrors(t *testing.T) {
	t.Parallel()
	sim := sharedSim(t)
	ctx := context.Background()
	c := connect(t, sim)
	root := rootPool(t, c)

	name := uniqueName("dup")
	mustCreatePool(t, c, root, name, spec(0, 0))
	_, err := c.CreatePool(ctx, root, name, spec(0, 0))
	if err == nil {
		t.Fatal("creating a second pool with the same name succeeded")
	}
	if IsNotFound(err) || !strings.Contains(err.Error(), name) {
		t.Errorf("duplicate name error = %v, want one naming %q", err, name)
	}

	missing := PoolRef{Ref: refFromID("resgroup-99999")}
	_, err = c.CreatePool(ctx, missing, uniqueName("orphan"), spec(0, 0))
	if !IsNotFound(err) {
		t.Errorf("CreatePool under a missing parent error = %v, want NotFound", err)
	}

	bad := spec(-5, 0)
	if _, err := c.CreatePool(ctx, root, uniqueName("bad"), bad); err == nil || IsNotFound(err) {
		t.Errorf("CreatePool with a negative reservation error = %v, want an invalid argument", err)
	}
}

func TestNestedPoolPaths(t *testing.T) {
	t.Parallel()
	sim := sharedSim(t)
	ctx := context.Background()
	c := connect(t, sim)
	root := rootPool(t, c)

	parentName, childName, grandName := uniqueName("outer"), uniqueName("inner"), uniqueName("innermost")
	parent := mustCreatePool(t, c, root, parentName, spec(4000, 8192))
	child := mustCreatePool(t, c, parent, childName, spec(1000, 1024))
	grand := mustCreatePool(t, c, child, grandName, spec(10, 10))

	parentPath := simulator.RootPoolPath + "/" + parentName
	childPath := parentPath + "/" + childName
	tests := []struct {
		ref                                    PoolRef
		wantPath, wantParentPath, wantParentID string
	}{
		{parent, parentPath, simulator.ClusterPath, root.ID()},
		{child, childPath, parentPath, parent.ID()},
		{grand, childPath + "/" + grandName, childPath, child.ID()},
	}
	for _, tt := range tests {
		p, err := c.GetPool(ctx, tt.ref.ID())
		if err != nil {
			t.Fatal(err)
		}
		if p.Path != tt.wantPath || p.ParentPath != tt.wantParentPath || p.ParentID != tt.wantParentID {
			t.Errorf("GetPool(%s) = {Path:%s ParentPath:%s ParentID:%s}, want {%s %s %s}",
				tt.ref.ID(), p.Path, p.ParentPath, p.ParentID, tt.wantPath, tt.wantParentPath, tt.wantParentID)
		}
		// The path GetPool reports resolves back to the same pool.
		back, err := c.ResolvePool(ctx, p.Path)
		if err != nil || back.ID() != tt.ref.ID() {
			t.Errorf("ResolvePool(%s) = %v, %v, want %s", p.Path, back.Ref, err, tt.ref.ID())
		}
		// And InventoryPath agrees with the snapshot's path.
		ip, err := c.InventoryPath(ctx, tt.ref.Ref)
		if err != nil || ip != p.Path {
			t.Errorf("InventoryPath(%s) = %q, %v, want %q", tt.ref.ID(), ip, err, p.Path)
		}
	}

	root2, err := c.GetPool(ctx, root.ID())
	if err != nil {
		t.Fatal(err)
	}
	if !root2.Root || root2.ParentID != "" || root2.ParentPath != "" {
		t.Errorf("root pool: Root=%v ParentID=%q ParentPath=%q, want a root without a parent pool", root2.Root, root2.ParentID, root2.ParentPath)
	}
}

func TestDestroyPoolRefusesNonEmpty(t *testing.T) {
	t.Parallel()
	sim := sharedSim(t)
	ctx := context.Background()
	c := connect(t, sim)
	root := rootPool(t, c)

	parentName := uniqueName("holder")
	parent := mustCreatePool(t, c, root, parentName, spec(0, 0))
	var childNames []string
	for i := 0; i < 7; i++ {
		n := uniqueName("held")
		childNames = append(childNames, n)
		mustCreatePool(t, c, parent, n, spec(0, 0))
	}

	err := c.DestroyPool(ctx, parent.ID())
	var pce *PoolContentsError
	if !errors.As(err, &pce) {
		t.Fatalf("DestroyPool of a pool with children = %v, want *PoolContentsError", err)
	}
	if pce.ID != parent.ID() || pce.Path != simulator.RootPoolPath+"/"+parentName {
		t.Errorf("PoolContentsError = {ID:%s Path:%s}", pce.ID, pce.Path)
	}
	if len(pce.Pools) != len(childNames) || len(pce.VMs) != 0 {
		t.Errorf("PoolContentsError lists pools %v and VMs %v, want the %d child pools", pce.Pools, pce.VMs, len(childNames))
	}
	for _, n := range childNames {
		found := false
		for _, p := range pce.Pools {
			found = found || p == n
		}
		if !found {
			t.Errorf("PoolContentsError does not list child %q: %v", n, pce.Pools)
		}
	}
	msg := err.Error()
	if !strings.Contains(msg, "7 resource pool(s)") || !strings.Contains(msg, "...") || !strings.Contains(msg, pce.Path) {
		t.Errorf("message %q should count the pools, list the first five and name the pool", msg)
	}
	if len(pce.Pools) == 7 {
		if want := "(" + strings.Join(pce.Pools[:5], ", ") + ", ...)"; !strings.Contains(msg, want) || strings.Contains(msg, pce.Pools[5]) {
			t.Errorf("message %q does not cut the list at five names: want %q", msg, want)
		}
	}

	// Nothing was destroyed.
	p, err := c.GetPool(ctx, parent.ID())
	if err != nil {
		t.Fatalf("the refused pool is gone: %v", err)
	}
	if len(p.Capacity.Children) != len(childNames) {
		t.Errorf("the refused pool has %d children left, want %d", len(p.Capacity.Children), len(childNames))
	}
}

func TestPoolContentsErrorMessage(t *testing.T) {
	e := &PoolContentsError{ID: "resgroup-1", Path: "/dc/host/c/Resources/p", VMs: []string{"vm1", "vm2"}, Pools: []string{"a"}}
	want := "resource pool /dc/host/c/Resources/p still holds 2 virtual machine(s) (vm1, vm2) and 1 resource pool(s) (a)"
	if !strings.HasPrefix(e.Error(), want) {
		t.Errorf("Error() = %q, want it to start with %q", e.Error(), want)
	}
	if got := head([]string{"a", "b"}, 5); len(got) != 2 {
		t.Errorf("head of a short list = %v", got)
	}
	long := []string{"1", "2", "3", "4", "5", "6"}
	if got := head(long, 5); len(got) != 6 || got[5] != "..." || long[5] != "6" {
		t.Errorf("head(long, 5) = %v (input now %v)", got, long)
	}
}

func TestPoolNotFound(t *testing.T) {
	t.Parallel()
	sim := sharedSim(t)
	ctx := context.Background()
	c := connect(t, sim)

	for _, id := range []string{"resgroup-99999", "resgroup-v99999"} {
		_, err := c.GetPool(ctx, id)
		if !IsNotFound(err) {
			t.Errorf("GetPool(%s) error = %v, want NotFound", id, err)
		}
		var nf *NotFoundError
		if errors.As(err, &nf) && nf.Name != id {
			t.Errorf("NotFoundError names %q, want %q", nf.Name, id)
		}
		if err := c.DestroyPool(ctx, id); err != nil {
			t.Errorf("DestroyPool(%s) = %v, want nil for a missing pool", id, err)
		}
		if _, err := c.PoolCapacity(ctx, PoolRef{Ref: refFromID(id)}); !IsNotFound(err) {
			t.Errorf("PoolCapacity(%s) error = %v, want NotFound", id, err)
		}
	}
	if _, err := c.InventoryPath(ctx, refFromID("resgroup-99999")); !IsNotFound(err) {
		t.Errorf("InventoryPath of a missing pool error = %v, want NotFound", err)
	}
}

func TestClusterCapacity(t *testing.T) {
	t.Parallel()
	sim := newSim(t) // asserts on the whole cluster: nobody else may add pools
	ctx := context.Background()
	c := connect(t, sim)
	root := rootPool(t, c)

	before, err := c.PoolCapacity(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if before.Kind != "cluster" {
		t.Errorf("Kind = %q, want cluster", before.Kind)
	}
	if before.ID != root.ID() || before.Name != "Resources" || !strings.HasPrefix(before.OwnerID, "domain-c") {
		t.Errorf("Capacity = {ID:%s Name:%s OwnerID:%s}", before.ID, before.Name, before.OwnerID)
	}
	if before.CPU.Capacity != simulator.ClusterCPUMHz {
		t.Errorf("CPU.Capacity = %d, want %d", before.CPU.Capacity, simulator.ClusterCPUMHz)
	}
	if before.Memory.Capacity != simulator.ClusterMemMB {
		t.Errorf("Memory.Capacity = %d, want %d", before.Memory.Capacity, simulator.ClusterMemMB)
	}
	if before.CPU.Expandable || before.Memory.Expandable {
		t.Error("a cluster's root pool is reported expandable")
	}
	if want := simulator.SeededVMs(); before.VMs != want {
		t.Errorf("VMs = %d, want the %d seeded VMs", before.VMs, want)
	}
	if len(before.Children) != 0 {
		t.Errorf("Children = %v, want none in a fresh inventory", before.Children)
	}
	if before.CPU.Unreserved != before.CPU.Capacity-before.CPU.Reserved ||
		before.Memory.Unreserved != before.Memory.Capacity-before.Memory.Reserved {
		t.Errorf("Unreserved does not add up: %+v %+v", before.CPU, before.Memory)
	}

	a := mustCreatePool(t, c, root, "tier-b", spec(30000, 65536))
	b := mustCreatePool(t, c, root, "tier-a", spec(12000, 16384))
	// A grandchild's reservation is its parent's business, not the cluster's.
	mustCreatePool(t, c, a, "nested", spec(1000, 1024))

	after, err := c.PoolCapacity(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := after.CPU.Reserved, before.CPU.Reserved+30000+12000; got != want {
		t.Errorf("CPU.Reserved = %d, want %d", got, want)
	}
	if got, want := after.Memory.Reserved, before.Memory.Reserved+65536+16384; got != want {
		t.Errorf("Memory.Reserved = %d, want %d", got, want)
	}
	if after.CPU.Reserved+after.CPU.Unreserved != simulator.ClusterCPUMHz {
		t.Errorf("CPU: reserved %d + unreserved %d != capacity %d", after.CPU.Reserved, after.CPU.Unreserved, simulator.ClusterCPUMHz)
	}
	if after.Memory.Reserved+after.Memory.Unreserved != simulator.ClusterMemMB {
		t.Errorf("memory: reserved %d + unreserved %d != capacity %d", after.Memory.Reserved, after.Memory.Unreserved, simulator.ClusterMemMB)
	}
	if len(after.Children) != 2 {
		t.Fatalf("Children = %+v, want the two top-level pools", after.Children)
	}
	// Sorted by name.
	wantChildren := []ChildPool{
		{ID: b.ID(), Name: "tier-a", CPUReservationMHz: 12000, MemoryReservationMB: 16384},
		{ID: a.ID(), Name: "tier-b", CPUReservationMHz: 30000, MemoryReservationMB: 65536},
	}
	for i, w := range wantChildren {
		if after.Children[i] != w {
			t.Errorf("Children[%d] = %+v, want %+v", i, after.Children[i], w)
		}
	}
	if ch, ok := after.Child("tier-b"); !ok || ch.ID != a.ID() {
		t.Errorf("Child(tier-b) = %+v, %v", ch, ok)
	}
	if _, ok := after.Child("nested"); ok {
		t.Error("Child(nested) found a grandchild")
	}

	// Over-reserved: Unreserved never goes negative.
	mustCreatePool(t, c, root, "greedy", spec(simulator.ClusterCPUMHz, 0))
	over, err := c.PoolCapacity(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if over.CPU.Unreserved != 0 || over.CPU.Reserved <= over.CPU.Capacity {
		t.Errorf("over-reserved CPU = %+v, want Unreserved 0 and Reserved above Capacity", over.CPU)
	}
}

func TestChildPoolCapacity(t *testing.T) {
	t.Parallel()
	sim := sharedSim(t)
	ctx := context.Background()
	c := connect(t, sim)
	root := rootPool(t, c)

	parentSpec := PoolSpec{
		CPU:    Allocation{Reservation: 10000, Limit: 20000, Expandable: true, SharesLevel: SharesNormal},
		Memory: Allocation{Reservation: 32768, Limit: -1, Expandable: false, SharesLevel: SharesNormal},
	}
	parent := mustCreatePool(t, c, root, uniqueName("cap-parent"), parentSpec)
	mustCreatePool(t, c, parent, uniqueName("cap-child"), spec(2500, 8192))
	mustCreatePool(t, c, parent, uniqueName("cap-child"), spec(1500, 4096))

	got, err := c.PoolCapacity(ctx, parent)
	if err != nil {
		t.Fatal(err)
	}
	want := Capacity{
		CPU:    ResourceCapacity{Capacity: 10000, Reserved: 4000, Unreserved: 6000, Expandable: true, Limit: 20000},
		Memory: ResourceCapacity{Capacity: 32768, Reserved: 12288, Unreserved: 20480, Expandable: false, Limit: -1},
	}
	if got.Kind != "pool" || got.CPU != want.CPU || got.Memory != want.Memory || len(got.Children) != 2 || got.VMs != 0 {
		t.Errorf("PoolCapacity = {Kind:%s CPU:%+v Memory:%+v Children:%d VMs:%d}, want {pool %+v %+v 2 0}",
			got.Kind, got.CPU, got.Memory, len(got.Children), got.VMs, want.CPU, want.Memory)
	}
	rootCap, err := c.PoolCapacity(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if got.OwnerID != rootCap.OwnerID {
		t.Errorf("child pool OwnerID = %q, want the cluster %q", got.OwnerID, rootCap.OwnerID)
	}

	// GetPool carries the same capacity.
	p, err := c.GetPool(ctx, parent.ID())
	if err != nil {
		t.Fatal(err)
	}
	if p.Capacity.CPU != got.CPU || p.Capacity.Memory != got.Memory {
		t.Errorf("GetPool capacity %+v %+v differs from PoolCapacity %+v %+v", p.Capacity.CPU, p.Capacity.Memory, got.CPU, got.Memory)
	}
}

// TestRoundTrips holds the design promise: a pool read, with its children and its place in the
// inventory, is one PropertyCollector call.
func TestRoundTrips(t *testing.T) {
	t.Parallel()
	sim := sharedSim(t)
	ctx := context.Background()
	c := connect(t, sim)
	root := rootPool(t, c)
	parent := mustCreatePool(t, c, root, uniqueName("rt"), spec(100, 100))
	for i := 0; i < 5; i++ {
		mustCreatePool(t, c, parent, uniqueName("rt-child"), spec(1, 1))
	}

	cost := func(name string, f func() error) {
		t.Helper()
		before := c.Stats().RoundTrips()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d := c.Stats().RoundTrips() - before; d != 1 {
			t.Errorf("%s cost %d round trips, want 1", name, d)
		}
	}
	cost("GetPool(child pool)", func() error { _, err := c.GetPool(ctx, parent.ID()); return err })
	cost("GetPool(root pool)", func() error { _, err := c.GetPool(ctx, root.ID()); return err })
	cost("PoolCapacity(child pool)", func() error { _, err := c.PoolCapacity(ctx, parent); return err })
	cost("PoolCapacity(cluster)", func() error { _, err := c.PoolCapacity(ctx, root); return err })
	cost("InventoryPath", func() error { _, err := c.InventoryPath(ctx, parent.Ref); return err })
	cost("ResolvePool(path)", func() error {
		_, err := c.ResolvePool(ctx, simulator.RootPoolPath)
		return err
	})
}

func TestAllocationConversion(t *testing.T) {
	v := Allocation{Reservation: 5, Limit: -1, Expandable: true}.toVim()
	if v.Reservation == nil || v.Limit == nil || v.ExpandableReservation == nil || v.Shares == nil {
		t.Fatalf("toVim left a field unset (vCenter needs all four): %+v", v)
	}
	if v.Shares.Level != types.SharesLevelNormal || v.Shares.Shares != 0 {
		t.Errorf("default shares = %+v, want normal", v.Shares)
	}
	v = Allocation{SharesLevel: SharesHigh, Shares: 50}.toVim()
	if v.Shares.Shares != 0 {
		t.Errorf("shares for level high = %d, want 0 (vCenter computes them)", v.Shares.Shares)
	}
	v = Allocation{SharesLevel: SharesCustom, Shares: 50}.toVim()
	if v.Shares.Level != types.SharesLevelCustom || v.Shares.Shares != 50 {
		t.Errorf("custom shares = %+v", v.Shares)
	}

	if a := allocationFromVim(types.ResourceAllocationInfo{}); a.Limit != -1 || a.SharesLevel != SharesNormal || a.Reservation != 0 {
		t.Errorf("allocationFromVim(empty) = %+v, want unlimited, normal shares", a)
	}
	for _, in := range []Allocation{
		{Reservation: 1, Limit: 2, Expandable: true, SharesLevel: SharesLow},
		{Reservation: 0, Limit: -1, SharesLevel: SharesCustom, Shares: 9},
	} {
		if out := allocationFromVim(in.toVim()); out != in {
			t.Errorf("round trip of %+v = %+v", in, out)
		}
	}
	if len(SharesLevels) != 4 {
		t.Errorf("SharesLevels = %v", SharesLevels)
	}
}

func TestRefFromID(t *testing.T) {
	tests := map[string]string{
		"domain-c7":    "ClusterComputeResource",
		"domain-s12":   "ComputeResource",
		"resgroup-v55": "VirtualApp",
		"resgroup-42":  "ResourcePool",
	}
	for id, typ := range tests {
		if got := refFromID(id); got.Type != typ || got.Value != id {
			t.Errorf("refFromID(%q) = %v, want %s:%s", id, got, typ, id)
		}
	}
	for s, want := range map[string]bool{"/dc1/host/prod": true, "prod/Resources": true, "resgroup-1": false} {
		if got := IsInventoryPath(s); got != want {
			t.Errorf("IsInventoryPath(%q) = %v, want %v", s, got, want)
		}
	}
}

func BenchmarkGetPool(b *testing.B) {
	sim := sharedSim(b)
	ctx := context.Background()
	c := connect(b, sim)
	root := rootPool(b, c)
	parent := mustCreatePool(b, c, root, uniqueName("bench"), spec(1000, 1000))
	for i := 0; i < 10; i++ {
		mustCreatePool(b, c, parent, uniqueName("bench-child"), spec(10, 10))
	}
	before := c.Stats().RoundTrips()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.GetPool(ctx, parent.ID()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(c.Stats().RoundTrips()-before)/float64(b.N), "roundtrips/op")
}

func TestPoolWithVM(t *testing.T) {
	t.Parallel()
	// Own simulator, and nothing destroyed at the end: vcsim's VM Destroy does not see the
	// harness's wrapped pools, leaves the VM listed in the pool, and destroying the pool then
	// panics inside the simulator.
	sim := newSim(t)
	ctx := context.Background()
	c := connect(t, sim)
	root := rootPool(t, c)
	id, err := c.CreatePool(ctx, root, "with-vm", spec(1000, 2048))
	if err != nil {
		t.Fatal(err)
	}
	pool := PoolRef{Ref: refFromID(id)}

	f, err := c.Finder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	folder, err := f.Folder(ctx, "/"+simulator.Datacenter+"/vm/"+simulator.WorkloadFolder)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := f.DefaultDatastore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vmName := "vm-in-pool"
	task, err := folder.CreateVM(ctx, types.VirtualMachineConfigSpec{
		Name:     vmName,
		GuestId:  "otherGuest64",
		NumCPUs:  1,
		MemoryMB: 128,
		Files:    &types.VirtualMachineFileInfo{VmPathName: "[" + ds.Name() + "]"},
	}, object.NewResourcePool(c.Vim(), pool.Ref), nil)
	if err != nil {
		t.Fatal(err)
	}
	info, err := task.WaitForResult(ctx)
	if err != nil {
		t.Fatalf("creating a VM in the pool: %v", err)
	}
	if _, ok := info.Result.(types.ManagedObjectReference); !ok {
		t.Fatalf("CreateVM result = %#v", info.Result)
	}

	capa, err := c.PoolCapacity(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if capa.VMs != 1 || len(capa.Children) != 0 {
		t.Errorf("PoolCapacity: VMs %d, children %d, want 1 VM and no pools", capa.VMs, len(capa.Children))
	}

	// A pool that holds a VM is refused at once: destroying it would move the VM.
	err = c.DestroyPool(ctx, pool.ID())
	var pce *PoolContentsError
	if !errors.As(err, &pce) {
		t.Fatalf("DestroyPool of a pool with a VM = %v, want *PoolContentsError", err)
	}
	if len(pce.VMs) != 1 || pce.VMs[0] != vmName || len(pce.Pools) != 0 {
		t.Errorf("PoolContentsError lists VMs %v and pools %v, want [%s]", pce.VMs, pce.Pools, vmName)
	}
	if !strings.Contains(err.Error(), "1 virtual machine(s) ("+vmName+")") {
		t.Errorf("message %q does not name the VM", err)
	}
	if _, err := c.GetPool(ctx, pool.ID()); err != nil {
		t.Errorf("the refused pool is gone: %v", err)
	}
}

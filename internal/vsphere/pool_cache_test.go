package vsphere

import (
	"context"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// Within one command, many reservations under one cluster share one path resolution and one
// capacity read; a pool write of this client, or Refresh, makes the next read fresh.
func TestPoolReadsShared(t *testing.T) {
	ctx := context.Background()
	c := connect(t, newSim(t))
	trips := func(f func()) int64 {
		before := c.Stats().RoundTrips()
		f()
		return c.Stats().RoundTrips() - before
	}
	var root PoolRef
	if n := trips(func() {
		var err error
		if root, err = c.ResolvePool(ctx, simulator.ClusterPath); err != nil {
			t.Fatal(err)
		}
	}); n == 0 {
		t.Fatal("the first resolution cost no round trip")
	}
	if n := trips(func() {
		if _, err := c.ResolvePool(ctx, simulator.ClusterPath); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("a repeated resolution cost %d round trips, want 0", n)
	}
	read := func() *Capacity {
		capa, err := c.PoolCapacity(ctx, root)
		if err != nil {
			t.Fatal(err)
		}
		return capa
	}
	first := read()
	if n := trips(func() { read() }); n != 0 {
		t.Fatalf("a repeated capacity read cost %d round trips, want 0", n)
	}
	mustCreatePool(t, c, root, uniqueName("shared"), spec(5000, 1024))
	var after *Capacity
	if n := trips(func() { after = read() }); n != 1 {
		t.Fatalf("the read after a pool write cost %d round trips, want 1", n)
	}
	if after.CPU.Reserved != first.CPU.Reserved+5000 {
		t.Fatalf("reserved CPU after the write = %d, want %d", after.CPU.Reserved, first.CPU.Reserved+5000)
	}
	c.Refresh()
	if n := trips(func() {
		if _, err := c.ResolvePool(ctx, simulator.ClusterPath); err != nil {
			t.Fatal(err)
		}
	}); n == 0 {
		t.Fatal("a resolution after Refresh cost no round trip")
	}
}

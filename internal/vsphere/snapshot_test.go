package vsphere

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
)

// gateRT holds one bulk read of the snapshot (a RetrievePropertiesEx from the root folder) at a
// chosen point: before it is sent, or once its answer is in, until released.
type gateRT struct {
	next    soap.RoundTripper
	root    func(*methods.RetrievePropertiesExBody) bool
	mu      sync.Mutex
	armed   bool
	before  bool // block before the call instead of after
	reached chan struct{}
	release chan struct{}
}

func (g *gateRT) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	b, ok := req.(*methods.RetrievePropertiesExBody)
	g.mu.Lock()
	hit := ok && g.armed && g.root(b)
	if hit {
		g.armed = false
	}
	g.mu.Unlock()
	if hit && g.before {
		close(g.reached)
		select {
		case <-g.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := g.next.RoundTrip(ctx, req, res)
	if hit && !g.before {
		close(g.reached)
		<-g.release
	}
	return err
}

func installGate(c *Client, before bool) *gateRT {
	root := c.vim.ServiceContent.RootFolder
	g := &gateRT{next: c.vim.RoundTripper, before: before, reached: make(chan struct{}), release: make(chan struct{}),
		root: func(b *methods.RetrievePropertiesExBody) bool {
			return b.Req != nil && len(b.Req.SpecSet) > 0 && len(b.Req.SpecSet[0].ObjectSet) > 0 && b.Req.SpecSet[0].ObjectSet[0].Obj == root
		}}
	c.vim.RoundTripper = g
	return g
}

// A write that makes the snapshot stale while a bulk read is in flight is not lost: that older
// read is stored, but not as fresh, and this client reads its own write.
func TestSnapshotInvalidatedDuringBulkRead(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	c := connect(t, sim)
	if err := c.SetDatacenterCustomValue(ctx, "vmgmt.review", "v1"); err != nil {
		t.Fatal(err)
	}
	g := installGate(c, false)
	c.InvalidateVMs()
	g.mu.Lock()
	g.armed = true
	g.mu.Unlock()
	done := make(chan error)
	go func() { _, err := c.VMs(ctx); done <- err }()
	<-g.reached // the bulk read has its answer (v1) but is not stored yet
	if err := c.SetDatacenterCustomValue(ctx, "vmgmt.review", "v2"); err != nil {
		t.Fatal(err)
	}
	close(g.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	v, err := c.DatacenterCustomValue(ctx, "vmgmt.review", false)
	if err != nil {
		t.Fatal(err)
	}
	if v != "v2" {
		t.Fatalf("after this client wrote v2, the snapshot serves %q", v)
	}
}

// When the caller that started a shared read gives up (its context ends), the callers that
// waited for that read do not fail with it: they read themselves.
func TestSnapshotWaitersOutliveLeaderCancel(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	c := connect(t, sim)
	g := installGate(c, true)
	g.mu.Lock()
	g.armed = true
	g.mu.Unlock()
	lctx, cancel := context.WithCancel(ctx)
	lead := make(chan error)
	go func() { _, err := c.VMs(lctx); lead <- err }()
	<-g.reached
	wait := make(chan error)
	go func() { _, err := c.VMs(ctx); wait <- err }()
	time.Sleep(200 * time.Millisecond) // the waiter is parked on the leader's load
	cancel()
	<-lead
	if err := <-wait; err != nil {
		t.Fatalf("a waiter with a live context failed: %v (canceled: %v)", err, errors.Is(err, context.Canceled))
	}
}

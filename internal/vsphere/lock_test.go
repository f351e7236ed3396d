package vsphere

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
)

// lockDefs lists the lock definitions left in vCenter.
func lockDefs(t *testing.T, c *Client) []string {
	t.Helper()
	m, err := object.GetCustomFieldsManager(c.vim)
	if err != nil {
		t.Fatal(err)
	}
	defs, err := m.Field(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range defs {
		if strings.HasPrefix(d.Name, lockPrefix) {
			out = append(out, d.Name)
		}
	}
	return out
}

// A held lock keeps a second client out for as long as its heartbeat runs, even past the TTL, and
// the refusal names the holder; once released, the second client gets it and nothing is left.
func TestLockExcludesWhileHeartbeatRuns(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	a, b := connect(t, sim), connect(t, sim)
	opts := LockOptions{TTL: 150 * time.Millisecond, Wait: 600 * time.Millisecond}
	la, err := a.Lock(ctx, "test", opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Lock(ctx, "test", opts)
	var held *LockHeldError
	if !errors.As(err, &held) {
		t.Fatalf("second holder: %v, want LockHeldError after waiting 4 TTLs of a live holder", err)
	}
	if !strings.Contains(held.Holder, "holder="+holderName()) || !strings.Contains(err.Error(), "vmgmt.lock.") {
		t.Errorf("the refusal does not name the holder: %v", err)
	}
	if err := la.Release(ctx); err != nil {
		t.Fatal(err)
	}
	lb, err := b.Lock(ctx, "test", opts)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	if err := lb.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if left := lockDefs(t, a); len(left) != 0 {
		t.Errorf("lock definitions left in vCenter: %v", left)
	}
}

// A holder that died (its heartbeat stopped, its definition left behind) is taken over once its
// value has not changed for the TTL; the dead holder's late release reports the loss and does
// not remove the new holder's lock.
func TestLockStaleHolderTakenOver(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	a, b, c := connect(t, sim), connect(t, sim), connect(t, sim)
	opts := LockOptions{TTL: 150 * time.Millisecond, Wait: 5 * time.Second}
	la, err := a.Lock(ctx, "test", opts)
	if err != nil {
		t.Fatal(err)
	}
	close(la.stop) // the holder dies: no heartbeat, no release
	<-la.done
	start := time.Now()
	lb, err := b.Lock(ctx, "test", opts)
	if err != nil {
		t.Fatalf("taking over a dead holder: %v", err)
	}
	if waited := time.Since(start); waited < opts.TTL {
		t.Errorf("taken over after %s, before the TTL of %s", waited, opts.TTL)
	}
	la.stop = make(chan struct{}) // Release closes them again
	la.done = make(chan struct{})
	close(la.done)
	if err := la.Release(ctx); !errors.Is(err, ErrLockLost) {
		t.Errorf("the dead holder's release: %v, want ErrLockLost", err)
	}
	_, err = c.Lock(ctx, "test", LockOptions{TTL: time.Minute, Wait: 100 * time.Millisecond})
	var held *LockHeldError
	if !errors.As(err, &held) {
		t.Fatalf("a third client got the lock the new holder holds: %v", err)
	}
	if err := lb.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// A cancelled context ends the wait with the context's error.
func TestLockWaitCancelled(t *testing.T) {
	sim := newSim(t)
	a, b := connect(t, sim), connect(t, sim)
	la, err := a.Lock(context.Background(), "test", LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = la.Release(context.Background()) }()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := b.Lock(ctx, "test", LockOptions{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled wait: %v, want the context's error", err)
	}
}

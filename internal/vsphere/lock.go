package vsphere

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// A lock in vCenter serializes vmgmt's writers across processes: Terraform runs on two machines,
// the backup runner beside an apply. vCenter has no lock object and no compare-and-swap on a
// custom attribute value, but defining a custom attribute is atomic: a second definition of the
// same name fails with DuplicateName. So a lock is the custom attribute definition
// "vmgmt.lock.<datacenter>.<name>" on Datacenter objects:
//   - acquire defines it; its key (vCenter never reuses one) is the holder's generation;
//   - the holder writes "holder=<host>:<pid> since=<time> beat=<n>" into its value on the
//     datacenter, and rewrites it (a heartbeat) while it holds the lock;
//   - release removes the definition by key, so a holder that lost the lock never removes the
//     next holder's;
//   - a waiter that sees the same generation with the same value for longer than the TTL, by its
//     own clock (no clock skew between machines matters), takes the holder for dead and removes
//     that generation by key: of two waiters doing so, one removes it and the other's removal
//     fails, and both then race to define the next one as at the start.
//
// A holder that crashed leaves its definition behind; the next acquirer breaks it after the TTL.

// LockOptions tune a lock. Zero values take the defaults.
type LockOptions struct {
	// TTL: a holder whose heartbeat has not changed for this long is taken for dead (30 s).
	TTL time.Duration
	// Wait bounds the time spent waiting for another holder (2 min); the context may end it sooner.
	Wait time.Duration
}

const (
	lockPrefix     = "vmgmt.lock."
	defaultLockTTL = 30 * time.Second
	defaultLockMax = 2 * time.Minute
)

func (o LockOptions) withDefaults() LockOptions {
	if o.TTL <= 0 {
		o.TTL = defaultLockTTL
	}
	if o.Wait <= 0 {
		o.Wait = defaultLockMax
	}
	return o
}

// LockHeldError means another holder kept the lock for the whole wait.
type LockHeldError struct {
	Name   string
	Holder string // the holder's value: host, pid, since when, heartbeat
	Waited time.Duration
}

func (e *LockHeldError) Error() string {
	holder := e.Holder
	if holder == "" {
		holder = "a holder that has not written its name yet"
	}
	return fmt.Sprintf("the vCenter lock %q is held by %s (waited %s): another vmgmt process is changing the same thing; "+
		"try again when it is done (a holder that died is taken over once its heartbeat stops for the lock's TTL)",
		e.Name, holder, e.Waited.Round(time.Millisecond))
}

// ErrLockLost means the lock was taken over while held (the holder's heartbeat stopped for the TTL).
var ErrLockLost = errors.New("the vCenter lock was taken over by another process after this one's heartbeat stopped")

// Lock is a held lock; Release it (always, also after an error).
type Lock struct {
	c    *Client
	name string // the custom attribute's name
	key  int32  // this holder's generation
	dc   types.ManagedObjectReference
	ttl  time.Duration

	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	lost bool
}

// Lock acquires the named lock on the client's datacenter, waiting for another holder to release
// it (or to die) up to opts.Wait. name says what is serialized, such as "records.<attribute>" or
// "backup-job.<name>".
func (c *Client) Lock(ctx context.Context, name string, opts LockOptions) (*Lock, error) {
	opts = opts.withDefaults()
	dc, err := c.Datacenter(ctx)
	if err != nil {
		return nil, err
	}
	m, err := object.GetCustomFieldsManager(c.vim)
	if err != nil {
		return nil, fmt.Errorf("custom attributes are not available on this server: %w", err)
	}
	attr := lockPrefix + dc.Reference().Value + "." + name
	start := time.Now()
	var seen lockObservation
	for attempt := 0; ; attempt++ {
		def, err := m.Add(ctx, attr, "Datacenter", nil, nil)
		if err == nil {
			l := &Lock{c: c, name: attr, key: def.Key, dc: dc.Reference(), ttl: opts.TTL,
				stop: make(chan struct{}), done: make(chan struct{})}
			if err := l.beat(ctx, 0); err != nil {
				_ = l.remove(context.WithoutCancel(ctx))
				return nil, err
			}
			go l.heartbeat()
			c.log.Debug(ctx, "vmgmt vCenter lock acquired", map[string]any{"lock": attr, "waited_ms": time.Since(start).Milliseconds()})
			return l, nil
		}
		if !fault.Is(err, &types.DuplicateName{}) {
			return nil, fmt.Errorf("acquiring the vCenter lock %q: %w", attr, err)
		}
		now, err := c.lockState(ctx, m, dc.Reference(), attr)
		if err != nil {
			return nil, err
		}
		if seen.stale(now, time.Now(), opts.TTL) {
			// The holder is dead: remove its generation; whoever loses this race finds it gone.
			if err := m.Remove(ctx, now.key); err != nil && !fault.Is(err, &types.NotFound{}) {
				return nil, fmt.Errorf("taking over the stale vCenter lock %q: %w", attr, err)
			}
			c.log.Debug(ctx, "vmgmt stale vCenter lock taken over", map[string]any{"lock": attr, "holder": now.value})
			seen = lockObservation{}
			continue
		}
		seen.observe(now, time.Now())
		if waited := time.Since(start); waited >= opts.Wait {
			return nil, &LockHeldError{Name: attr, Holder: now.value, Waited: waited}
		}
		if err := sleepCtx(ctx, lockBackoff(attempt)); err != nil {
			return nil, err
		}
	}
}

// lockBackoff is the pause between two attempts: 20 ms doubling to 500 ms.
func lockBackoff(attempt int) time.Duration {
	d := 20 * time.Millisecond << min(attempt, 5)
	return min(d, 500*time.Millisecond)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// lockGeneration is what a waiter sees of a lock: its generation and its holder's value.
type lockGeneration struct {
	key   int32
	value string
	found bool
}

// lockObservation remembers since when, by the waiter's clock, a generation has not changed.
type lockObservation struct {
	gen   lockGeneration
	since time.Time
}

func (o *lockObservation) observe(g lockGeneration, now time.Time) {
	if !o.since.IsZero() && o.gen == g {
		return
	}
	o.gen, o.since = g, now
}

// stale: the same generation with the same heartbeat for at least ttl.
func (o *lockObservation) stale(g lockGeneration, now time.Time, ttl time.Duration) bool {
	return g.found && !o.since.IsZero() && o.gen == g && now.Sub(o.since) >= ttl
}

// lockState reads the lock's definition and its value on the datacenter in one round trip.
func (c *Client) lockState(ctx context.Context, m *object.CustomFieldsManager, dc types.ManagedObjectReference, attr string) (lockGeneration, error) {
	req := types.RetrieveProperties{
		This: c.vim.ServiceContent.PropertyCollector,
		SpecSet: []types.PropertyFilterSpec{{
			ObjectSet: []types.ObjectSpec{{Obj: m.Reference()}, {Obj: dc}},
			PropSet: []types.PropertySpec{
				{Type: "CustomFieldsManager", PathSet: []string{"field"}},
				{Type: "Datacenter", PathSet: []string{"customValue"}},
			},
		}},
	}
	res, err := methods.RetrieveProperties(ctx, c.vim, &req)
	if err != nil {
		return lockGeneration{}, fmt.Errorf("reading the vCenter lock %q: %w", attr, err)
	}
	var g lockGeneration
	var values []types.BaseCustomFieldValue
	for _, oc := range res.Returnval {
		switch oc.Obj.Type {
		case "CustomFieldsManager":
			var fm mo.CustomFieldsManager
			if err := mo.LoadObjectContent([]types.ObjectContent{oc}, &fm); err != nil {
				return g, err
			}
			for _, f := range fm.Field {
				if f.Name == attr {
					g.key, g.found = f.Key, true
				}
			}
		case "Datacenter":
			var d mo.Datacenter
			if err := mo.LoadObjectContent([]types.ObjectContent{oc}, &d); err != nil {
				return g, err
			}
			values = d.CustomValue
		}
	}
	if g.found {
		g.value = customValue(values, g.key)
	}
	return g, nil
}

// holderName names this process in a lock's value.
func holderName() string {
	host, _ := os.Hostname()
	return host + ":" + strconv.Itoa(os.Getpid())
}

// beat writes the holder's value; a failure because the definition is gone means the lock was lost.
func (l *Lock) beat(ctx context.Context, n int) error {
	m, err := object.GetCustomFieldsManager(l.c.vim)
	if err != nil {
		return err
	}
	value := fmt.Sprintf("holder=%s since=%s beat=%d", holderName(), time.Now().UTC().Format(time.RFC3339), n)
	if err := m.Set(ctx, l.dc, l.key, value); err != nil {
		if fault.Is(err, &types.InvalidArgument{}) || fault.Is(err, &types.NotFound{}) {
			l.mu.Lock()
			l.lost = true
			l.mu.Unlock()
			return fmt.Errorf("%w (%s)", ErrLockLost, l.name)
		}
		return fmt.Errorf("writing the vCenter lock %q: %w", l.name, err)
	}
	return nil
}

// heartbeat rewrites the value every third of the TTL until Release.
func (l *Lock) heartbeat() {
	defer close(l.done)
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-l.stop:
			return
		case <-t.C:
			if err := l.beat(context.Background(), n); errors.Is(err, ErrLockLost) {
				return
			}
		}
	}
}

// Held reports whether the lock is still this holder's, as far as its heartbeat knows: check it
// before a write that must not race.
func (l *Lock) Held() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost {
		return fmt.Errorf("%w (%s)", ErrLockLost, l.name)
	}
	return nil
}

// Release stops the heartbeat and removes this holder's generation. It returns ErrLockLost when
// the lock had been taken over.
func (l *Lock) Release(ctx context.Context) error {
	close(l.stop)
	<-l.done
	if err := l.Held(); err != nil {
		return err
	}
	return l.remove(context.WithoutCancel(ctx))
}

func (l *Lock) remove(ctx context.Context) error {
	m, err := object.GetCustomFieldsManager(l.c.vim)
	if err != nil {
		return err
	}
	if err := m.Remove(ctx, l.key); err != nil {
		if fault.Is(err, &types.NotFound{}) {
			return fmt.Errorf("%w (%s)", ErrLockLost, l.name)
		}
		return fmt.Errorf("releasing the vCenter lock %q: %w", l.name, err)
	}
	l.c.log.Debug(ctx, "vmgmt vCenter lock released", map[string]any{"lock": l.name})
	return nil
}

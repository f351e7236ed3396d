package vsphere

import (
	"context"
	"sync"
	"time"
)

// Caches of what callers derive from vCenter (the published catalog, say) belong to the client
// that read it, so that nothing outlives the client or is shared between two: a small registry of
// entries, each stale when its maximum age passed, when this client's writes of the kind it
// depends on moved since it was read, or when the client started a new command (Refresh).

// Depends names the writes of this client that make a cached value stale.
type Depends int

const (
	// CustomValueWrites: the value is read from custom attributes (CustomWrites).
	CustomValueWrites Depends = iota
	// RoleWrites: the value is read from the roles (this client's role changes).
	RoleWrites
	// NoWrites: nothing this client writes changes the value; only its age or Refresh does.
	NoWrites
)

type cacheRegistry struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	value  any
	writes uint64
	at     time.Time
}

// Cached returns the value kept under key when it is younger than maxAge and this client's writes
// it depends on did not move since; else it calls load, keeps and returns its value (a failed load
// is not kept). Callers that ask at the same time may both load.
func (c *Client) Cached(ctx context.Context, key string, maxAge time.Duration, dep Depends, load func(context.Context) (any, error)) (any, error) {
	writes := c.writesOf(dep)
	c.caches.mu.Lock()
	if e, ok := c.caches.entries[key]; ok && e.writes == writes && time.Since(e.at) < maxAge {
		c.caches.mu.Unlock()
		c.logCache(ctx, "hit", key)
		return e.value, nil
	}
	c.caches.mu.Unlock()
	c.logCache(ctx, "miss", key)
	v, err := load(ctx)
	if err != nil {
		return nil, err
	}
	c.caches.mu.Lock()
	if c.caches.entries == nil {
		c.caches.entries = map[string]cacheEntry{}
	}
	c.caches.entries[key] = cacheEntry{value: v, writes: writes, at: time.Now()}
	c.caches.mu.Unlock()
	return v, nil
}

// Forget drops one cached value.
func (c *Client) Forget(key string) {
	c.logCache(context.Background(), "invalidated", key)
	c.caches.mu.Lock()
	delete(c.caches.entries, key)
	c.caches.mu.Unlock()
}

func (c *Client) forgetCaches() {
	c.caches.mu.Lock()
	c.caches.entries = nil
	c.caches.mu.Unlock()
}

func (c *Client) writesOf(dep Depends) uint64 {
	switch dep {
	case CustomValueWrites:
		return c.CustomWrites()
	case RoleWrites:
		return c.authz.roleWrites.Load()
	}
	return 0
}

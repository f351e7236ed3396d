package vsphere

import (
	"context"
	"fmt"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

// EnsurePool creates a resource pool under parent, crash-safe (see create.go). The creating call
// cannot carry a stamp, so the pool is created under the request's pending name, stamped
// (StampRequest), then given its name and allocation: an interruption at any point leaves a pool
// that the rerun of the same request recognizes, adopts and finishes. A pool of that name that
// vmgmt did not make for this request is a ForeignObjectError. Once the pool exists, errors
// return its ID too.
func (c *Client) EnsurePool(ctx context.Context, parent PoolRef, name string, spec PoolSpec, req Request) (Created, error) {
	capa, err := c.freshCapacity(ctx, parent) // judged live: another process may have made it a moment ago
	if err != nil {
		return Created{}, err
	}
	if existing, err := capa.CreatedBy(parent, name, req); existing != nil || err != nil {
		return c.adoptPool(ctx, existing, name, spec, req, err)
	}
	id, err := c.CreatePool(ctx, parent, req.PendingName(), spec)
	if err != nil {
		if !IsNameConflict(err) {
			return Created{}, err
		}
		// Made meanwhile under the pending name by another run of this request.
		if capa, err = c.freshCapacity(ctx, parent); err != nil {
			return Created{}, err
		}
		existing, err := capa.CreatedBy(parent, name, req)
		if existing == nil && err == nil {
			err = fmt.Errorf("creating resource pool %q under %s: its pending name %s is taken, but no such pool is there", name, parent.ID(), req.PendingName())
		}
		return c.adoptPool(ctx, existing, name, spec, req, err)
	}
	if err := c.finishPool(ctx, id, name, spec, req, true); err != nil {
		if IsNameConflict(err) {
			// The name was taken between the read and the rename: the pending pool is this
			// create's own and empty; remove it rather than leave it behind.
			if derr := c.DestroyPool(ctx, id); derr != nil {
				return Created{ID: id}, fmt.Errorf("%w (and removing the pending pool %s failed: %v)", err, id, derr)
			}
			return Created{}, &ForeignObjectError{Kind: "resource pool", Name: name, Path: capaChildPath(parent, capa, name)}
		}
		return Created{ID: id}, err
	}
	return Created{ID: id}, nil
}

// freshCapacity reads a pool's capacity and children now, bypassing the shared cache.
func (c *Client) freshCapacity(ctx context.Context, pool PoolRef) (*Capacity, error) {
	snap, err := c.snapshot(ctx, pool.Ref, false)
	if err != nil {
		return nil, err
	}
	return snap.capacity(c.requestKey(ctx)), nil
}

// CreatedBy finds, among the pool's children, the pool a create request may already have made:
// under its real name with the request's stamp, or under its pending name. It returns nil when
// there is none, and a ForeignObjectError when the name is held by a pool not made for this
// request. parent is how the pool was resolved (for the error's path).
func (capa *Capacity) CreatedBy(parent PoolRef, name string, req Request) (*ChildPool, error) {
	var pending *ChildPool
	for i := range capa.Children {
		ch := &capa.Children[i]
		switch ch.Name {
		case name:
			if ch.Request != req.Token {
				return nil, &ForeignObjectError{Kind: "resource pool", Name: name, ID: ch.ID, Path: capaChildPath(parent, capa, name), Stamped: ch.Request != ""}
			}
			return ch, nil
		case req.PendingName():
			pending = ch
		}
	}
	return pending, nil
}

func capaChildPath(parent PoolRef, capa *Capacity, name string) string {
	base := parent.Path
	if base == "" {
		base = capa.Name
	}
	return base + "/" + name
}

func (c *Client) adoptPool(ctx context.Context, ch *ChildPool, name string, spec PoolSpec, req Request, err error) (Created, error) {
	if err != nil {
		return Created{}, err
	}
	done := []string{"allocation set as planned"}
	if ch.Name != name {
		done = append(done, "renamed from "+ch.Name)
	}
	err = c.finishPool(ctx, ch.ID, name, spec, req, ch.Request != req.Token)
	return Created{ID: ch.ID, Adopted: true, Finished: done}, err
}

// finishPool stamps a pool (when asked) and gives it its name and allocation.
func (c *Client) finishPool(ctx context.Context, id, name string, spec PoolSpec, req Request, stamp bool) error {
	if stamp {
		if err := c.setField(ctx, refFromID(id), "", StampRequest, req.Token); err != nil {
			return fmt.Errorf("stamping resource pool %s: %w", id, wrapNotFound("resource pool", id, err))
		}
	}
	return c.UpdatePool(ctx, id, name, spec)
}

// noKey stands for a custom attribute that is not defined (vcsim numbers keys from 0).
const noKey = -1

// requestKey is the key of the global StampRequest attribute, noKey when it is not defined
// (nothing carries it then). The definitions are read once per client.
func (c *Client) requestKey(ctx context.Context) int32 {
	known := func() (int32, bool) {
		c.fields.mu.Lock()
		defer c.fields.mu.Unlock()
		k, ok := c.fields.keys[StampRequest]
		return k, ok
	}
	if k, ok := known(); ok {
		return k
	}
	if !c.fields.requestChecked.Load() {
		if m, err := object.GetCustomFieldsManager(c.vim); err == nil {
			if defs, err := m.Field(ctx); err == nil {
				c.learnCustomFields(defs)
			}
		}
	}
	if k, ok := known(); ok {
		return k
	}
	return noKey
}

// customValue is the string value of one custom attribute key in a list of values.
func customValue(values []types.BaseCustomFieldValue, key int32) string {
	if key == noKey {
		return ""
	}
	for _, cv := range values {
		if s, ok := cv.(*types.CustomFieldStringValue); ok && s.Key == key {
			return s.Value
		}
	}
	return ""
}

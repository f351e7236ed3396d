package vsphere

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/types"
)

// views keeps one ContainerView per managed object type for the life of the client, so a bulk
// read of every VM (or pool, or host) costs a single RetrieveProperties round trip.
type views struct {
	mu sync.Mutex
	m  map[string]*view.ContainerView
}

// kind is one managed object type, or several separated by commas for a view that holds them all.
func (c *Client) containerView(ctx context.Context, kind string) (*view.ContainerView, error) {
	c.views.mu.Lock()
	defer c.views.mu.Unlock()
	if v := c.views.m[kind]; v != nil {
		return v, nil
	}
	v, err := view.NewManager(c.vim).CreateContainerView(ctx, c.vim.ServiceContent.RootFolder, strings.Split(kind, ","), true)
	if err != nil {
		return nil, fmt.Errorf("creating a container view of %s: %w", kind, err)
	}
	if c.views.m == nil {
		c.views.m = map[string]*view.ContainerView{}
	}
	c.views.m[kind] = v
	return v, nil
}

// RetrieveAll loads the given properties of every object of one type in the inventory into dst
// (a pointer to a slice of mo types, e.g. *[]mo.VirtualMachine) in one round trip once the view
// exists. Objects deleted since the view was created are simply absent.
func (c *Client) RetrieveAll(ctx context.Context, kind string, props []string, dst any) error {
	err := c.withView(ctx, kind, func(v *view.ContainerView) error { return v.Retrieve(ctx, []string{kind}, props, dst) })
	if err != nil {
		return fmt.Errorf("reading all %s objects: %w", kind, err)
	}
	return nil
}

// withView runs f on the container view of kind. A view belongs to the session that made it: when
// that session was replaced (a re-login), the view is gone, and f runs once more on a new one.
func (c *Client) withView(ctx context.Context, kind string, f func(*view.ContainerView) error) error {
	gen := c.reauth.generation()
	v, err := c.containerView(ctx, kind)
	if err != nil {
		return err
	}
	err = f(v)
	if err == nil || !(isNotAuthenticated(err) || IsNotFound(err) || c.reauth.generation() != gen) {
		return err
	}
	c.views.mu.Lock()
	if c.views.m[kind] == v {
		delete(c.views.m, kind)
	}
	c.views.mu.Unlock()
	if v, err = c.containerView(ctx, kind); err != nil {
		return err
	}
	return f(v)
}

// destroyViews removes the container views this client made (they belong to its session).
func (c *Client) destroyViews(ctx context.Context) {
	c.views.mu.Lock()
	defer c.views.mu.Unlock()
	for k, v := range c.views.m {
		_ = v.Destroy(ctx)
		delete(c.views.m, k)
	}
}

// Refs returns the references of every object of one type, in one round trip once the view exists.
func (c *Client) Refs(ctx context.Context, kind string) ([]types.ManagedObjectReference, error) {
	var refs []types.ManagedObjectReference
	err := c.withView(ctx, kind, func(v *view.ContainerView) error {
		var err error
		refs, err = v.Find(ctx, []string{kind}, nil)
		return err
	})
	return refs, err
}

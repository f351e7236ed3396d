package vsphere

import (
	"context"
	"fmt"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// FindHost resolves a host by managed object ID (host-42) or by name, in one round trip.
func (c *Client) FindHost(ctx context.Context, ref string) (HostRef, error) {
	ref = strings.TrimSpace(ref)
	if strings.HasPrefix(ref, "host-") {
		var o mo.HostSystem
		if err := c.collector().RetrieveOne(ctx, types.ManagedObjectReference{Type: "HostSystem", Value: ref}, []string{"name"}, &o); err == nil {
			return HostRef{ID: ref, Name: o.Name}, nil
		}
	}
	f, err := c.Finder(ctx)
	if err != nil {
		return HostRef{}, err
	}
	list, err := f.HostSystemList(ctx, "*")
	if err != nil {
		return HostRef{}, notFound("host", ref, err)
	}
	refs := make([]types.ManagedObjectReference, len(list))
	for i, h := range list {
		refs[i] = h.Reference()
	}
	var hosts []mo.HostSystem
	if err := c.collector().Retrieve(ctx, refs, []string{"name"}, &hosts); err != nil {
		return HostRef{}, fmt.Errorf("reading the hosts' names: %w", err)
	}
	var names []string
	for _, h := range hosts {
		if h.Name == ref {
			return HostRef{ID: h.Self.Value, Name: h.Name}, nil
		}
		names = append(names, h.Name)
	}
	return HostRef{}, &NotFoundError{Kind: "host", Name: ref, Hint: "hosts: " + strings.Join(names, ", ")}
}

// EnterMaintenance puts a host in maintenance mode (a no-op when it is already), waiting for
// vCenter to move its powered-on VMs away (DRS) or failing when it cannot.
func (c *Client) EnterMaintenance(ctx context.Context, hostID string) error {
	h := object.NewHostSystem(c.vim, types.ManagedObjectReference{Type: "HostSystem", Value: hostID})
	var o mo.HostSystem
	if err := c.collector().RetrieveOne(ctx, h.Reference(), []string{"runtime.inMaintenanceMode"}, &o); err != nil {
		return wrapNotFound("host", hostID, err)
	}
	if o.Runtime.InMaintenanceMode {
		return nil
	}
	task, err := h.EnterMaintenanceMode(ctx, 0, false, nil)
	if err == nil {
		_, err = c.waitTask(ctx, task)
	}
	if err != nil {
		return fmt.Errorf("putting host %s in maintenance mode (its powered-on VMs must be able to move away): %w", hostID, err)
	}
	return nil
}

package vsphere

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

// customFields caches custom attribute keys by name for the life of the client.
type customFields struct {
	mu   sync.Mutex
	keys map[string]int32
	// writes counts the custom attribute values this client has set.
	writes atomic.Uint64
}

// CustomWrites counts the custom attribute values this client has set; a cache of what
// custom attributes hold (the catalog) is stale when it changed.
func (c *Client) CustomWrites() uint64 { return c.fields.writes.Load() }

// CustomFieldKey returns the key of a custom attribute (custom field) on VirtualMachine objects,
// defining it on first use. vmgmt keeps what vSphere has no object for (catalog definitions,
// backup jobs) in such attributes, so it is visible outside Terraform state.
func (c *Client) CustomFieldKey(ctx context.Context, name string) (int32, error) {
	c.fields.mu.Lock()
	defer c.fields.mu.Unlock()
	if k, ok := c.fields.keys[name]; ok {
		return k, nil
	}
	m, err := object.GetCustomFieldsManager(c.vim)
	if err != nil {
		return 0, fmt.Errorf("custom attributes are not available on this server: %w", err)
	}
	defs, err := m.Field(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading custom attribute definitions: %w", err)
	}
	if c.fields.keys == nil {
		c.fields.keys = map[string]int32{}
	}
	for _, d := range defs {
		if d.ManagedObjectType == "VirtualMachine" || d.ManagedObjectType == "" {
			c.fields.keys[d.Name] = d.Key
		}
	}
	if k, ok := c.fields.keys[name]; ok {
		return k, nil
	}
	def, err := m.Add(ctx, name, "VirtualMachine", nil, nil)
	if err != nil {
		// Another process defined it in the meantime.
		if defs, err2 := m.Field(ctx); err2 == nil {
			for _, d := range defs {
				if d.Name == name {
					c.fields.keys[name] = d.Key
					return d.Key, nil
				}
			}
		}
		return 0, fmt.Errorf("defining custom attribute %q: %w", name, err)
	}
	c.fields.keys[name] = def.Key
	return def.Key, nil
}

// SetCustomValue sets a custom attribute on a VM (an empty value clears it).
func (c *Client) SetCustomValue(ctx context.Context, vmID, name, value string) error {
	key, err := c.CustomFieldKey(ctx, name)
	if err != nil {
		return err
	}
	m, err := object.GetCustomFieldsManager(c.vim)
	if err != nil {
		return err
	}
	ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: vmID}
	if err := m.Set(ctx, ref, key, value); err != nil {
		return wrapNotFound("virtual machine", vmID, fmt.Errorf("setting custom attribute %q on %s: %w", name, vmID, err))
	}
	c.fields.writes.Add(1)
	c.vmChanged(vmID)
	return nil
}

// customFieldNames maps keys back to names (only the fields this client has looked up).
func (c *Client) customFieldNames() map[int32]string {
	c.fields.mu.Lock()
	defer c.fields.mu.Unlock()
	out := make(map[int32]string, len(c.fields.keys))
	for n, k := range c.fields.keys {
		out[k] = n
	}
	return out
}

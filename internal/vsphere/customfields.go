package vsphere

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// customFields caches custom attribute keys by name for the life of the client: keys of the
// attributes on VMs, and of those on datacenters (vSphere defines an attribute per object type).
type customFields struct {
	mu     sync.Mutex
	keys   map[string]int32 // VirtualMachine (and global) attributes
	dcKeys map[string]int32 // Datacenter (and global) attributes
	// writes counts the custom attribute values this client has set.
	writes atomic.Uint64
	// requestChecked is set once the definitions were read for StampRequest (see requestKey).
	requestChecked atomic.Bool
}

// CustomWrites counts the custom attribute values this client has set; a cache of what
// custom attributes hold (the catalog) is stale when it changed.
func (c *Client) CustomWrites() uint64 { return c.fields.writes.Load() }

// CustomFieldKey returns the key of a custom attribute (custom field) on VirtualMachine objects,
// defining it on first use. vmgmt keeps what vSphere has no object for (catalog definitions,
// backup jobs) in such attributes, so it is visible outside Terraform state.
func (c *Client) CustomFieldKey(ctx context.Context, name string) (int32, error) {
	return c.fieldKey(ctx, name, "VirtualMachine")
}

func (c *Client) fieldKey(ctx context.Context, name, moType string) (int32, error) {
	k, _, err := c.lookupFieldKey(ctx, name, moType, true)
	return k, err
}

// existingFieldKey is the key of a custom attribute definition, and whether it is defined: a read
// defines nothing (a read-only user can read, and a plan writes nothing to vCenter).
func (c *Client) existingFieldKey(ctx context.Context, name, moType string) (int32, bool, error) {
	return c.lookupFieldKey(ctx, name, moType, false)
}

// lookupFieldKey finds a custom attribute definition's key, and defines it when add is set.
func (c *Client) lookupFieldKey(ctx context.Context, name, moType string, add bool) (int32, bool, error) {
	c.fields.mu.Lock()
	defer c.fields.mu.Unlock()
	keys := func() map[string]int32 {
		if moType == "Datacenter" {
			return c.fields.dcKeys
		}
		return c.fields.keys
	}
	if k, ok := keys()[name]; ok {
		return k, true, nil
	}
	m, err := object.GetCustomFieldsManager(c.vim)
	if err != nil {
		return 0, false, fmt.Errorf("custom attributes are not available on this server: %w", err)
	}
	defs, err := m.Field(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("reading custom attribute definitions: %w", err)
	}
	c.learnFieldsLocked(defs)
	if k, ok := keys()[name]; ok || !add {
		return k, ok, nil
	}
	def, err := m.Add(ctx, name, moType, nil, nil)
	if err != nil {
		// Another process defined it in the meantime.
		if defs, err2 := m.Field(ctx); err2 == nil {
			c.learnFieldsLocked(defs)
			if k, ok := keys()[name]; ok {
				return k, true, nil
			}
		}
		return 0, false, fmt.Errorf("defining custom attribute %q on %s objects: %w", name, moType, err)
	}
	c.learnFieldsLocked([]types.CustomFieldDef{*def})
	return def.Key, true, nil
}

// learnCustomFields records custom attribute definitions, so that the snapshot names every custom
// value whatever the attributes this client has looked up so far.
func (c *Client) learnCustomFields(defs []types.CustomFieldDef) {
	c.fields.mu.Lock()
	defer c.fields.mu.Unlock()
	c.learnFieldsLocked(defs)
	c.fields.requestChecked.Store(true) // every definition is known now
}

func (c *Client) learnFieldsLocked(defs []types.CustomFieldDef) {
	if c.fields.keys == nil {
		c.fields.keys, c.fields.dcKeys = map[string]int32{}, map[string]int32{}
	}
	for _, d := range defs {
		switch d.ManagedObjectType {
		case "VirtualMachine":
			c.fields.keys[d.Name] = d.Key
		case "Datacenter":
			c.fields.dcKeys[d.Name] = d.Key
		case "":
			c.fields.keys[d.Name] = d.Key
			c.fields.dcKeys[d.Name] = d.Key
		}
	}
}

// DatacenterCustomValue returns a custom attribute of the client's datacenter ("" when unset):
// from the VM snapshot (no round trip of its own), or read now when fresh is set (one round
// trip; for a read-modify-write).
func (c *Client) DatacenterCustomValue(ctx context.Context, name string, fresh bool) (string, error) {
	dc, err := c.Datacenter(ctx)
	if err != nil {
		return "", err
	}
	if !fresh {
		if _, err := c.VMs(ctx); err != nil {
			return "", err
		}
		c.vms.mu.Lock()
		defer c.vms.mu.Unlock()
		if c.vms.names != nil {
			return c.vms.names.dcCustom[dc.Reference().Value][name], nil
		}
		return "", nil
	}
	key, defined, err := c.existingFieldKey(ctx, name, "Datacenter")
	if err != nil || !defined {
		return "", err // not defined: nothing was ever recorded
	}
	var o mo.Datacenter
	if err := c.retrieveOne(ctx, dc.Reference(), []string{"customValue"}, &o); err != nil {
		return "", fmt.Errorf("reading custom attribute %q of datacenter %s: %w", name, dc.Name(), err)
	}
	for _, cv := range o.CustomValue {
		if s, ok := cv.(*types.CustomFieldStringValue); ok && s.Key == key {
			return s.Value, nil
		}
	}
	return "", nil
}

// SetDatacenterCustomValue sets a custom attribute on the client's datacenter (an empty value
// clears it), defining the attribute on first use.
func (c *Client) SetDatacenterCustomValue(ctx context.Context, name, value string) error {
	dc, err := c.Datacenter(ctx)
	if err != nil {
		return err
	}
	if err := c.setField(ctx, dc.Reference(), "Datacenter", name, value); err != nil {
		return fmt.Errorf("on datacenter %s: %w", dc.Name(), err)
	}
	c.InvalidateVMs() // the snapshot carries the datacenter's custom values; stale before the count moves
	c.fields.writes.Add(1)
	return nil
}

// SetCustomValue sets a custom attribute on a VM (an empty value clears it).
func (c *Client) SetCustomValue(ctx context.Context, vmID, name, value string) error {
	ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: vmID}
	if err := c.setField(ctx, ref, "VirtualMachine", name, value); err != nil {
		return wrapNotFound("virtual machine", vmID, err)
	}
	c.vmChanged(vmID) // before the count moves: a catalog read under the new count sees the value
	c.fields.writes.Add(1)
	return nil
}

// setField sets custom attribute name on an entity, defining it for moType objects ("" for every
// type) on first use.
func (c *Client) setField(ctx context.Context, ref types.ManagedObjectReference, moType, name, value string) error {
	key, err := c.fieldKey(ctx, name, moType)
	if err != nil {
		return err
	}
	m, err := object.GetCustomFieldsManager(c.vim)
	if err != nil {
		return err
	}
	if err := m.Set(ctx, ref, key, value); err != nil {
		return fmt.Errorf("setting custom attribute %q on %s: %w", name, ref.Value, err)
	}
	return nil
}

// customFieldNames maps keys back to names (only the fields this client knows), for VMs or, with
// datacenter set, for datacenters.
func (c *Client) customFieldNames(datacenter ...bool) map[int32]string {
	c.fields.mu.Lock()
	defer c.fields.mu.Unlock()
	keys := c.fields.keys
	if len(datacenter) > 0 && datacenter[0] {
		keys = c.fields.dcKeys
	}
	out := make(map[int32]string, len(keys))
	for n, k := range keys {
		out[k] = n
	}
	return out
}

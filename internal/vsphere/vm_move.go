package vsphere

import (
	"context"
	"fmt"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

// MoveVM puts a VM into a VM folder (by managed object ID). A VM already in it is left alone.
func (c *Client) MoveVM(ctx context.Context, vmID, folderID string) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.APITimeout)
	defer cancel()
	defer c.vmChanged(vmID)
	folder := object.NewFolder(c.vim, types.ManagedObjectReference{Type: "Folder", Value: folderID})
	task, err := folder.MoveInto(ctx, []types.ManagedObjectReference{vmRef(vmID)})
	if err == nil {
		_, err = c.waitTask(ctx, task)
	}
	if err != nil {
		return fmt.Errorf("moving %s into folder %s: %w", vmID, folderID, wrapNotFound("virtual machine", vmID, err))
	}
	return nil
}

// RelocateVM moves a running or stopped VM to a resource pool (by managed object ID; a pool of
// another cluster is a vMotion, vCenter's DRS choosing the host) and its files and disks to a
// datastore (by name: a storage vMotion); an empty one is left as it is. It waits for vCenter to
// finish, as long as the move takes: only ctx bounds it (a storage vMotion of big disks takes
// longer than any API timeout).
func (c *Client) RelocateVM(ctx context.Context, vmID, poolID, datastore string) error {
	if poolID == "" && datastore == "" {
		return nil
	}
	defer c.vmChanged(vmID)
	var spec types.VirtualMachineRelocateSpec
	if poolID != "" {
		ref := types.ManagedObjectReference{Type: "ResourcePool", Value: poolID}
		spec.Pool = &ref
	}
	if datastore != "" {
		ds, err := c.datastoreRef(ctx, datastore)
		if err != nil {
			return fmt.Errorf("moving %s: %w", vmID, err)
		}
		spec.Datastore = &ds
	}
	task, err := object.NewVirtualMachine(c.vim, vmRef(vmID)).Relocate(ctx, spec, types.VirtualMachineMovePriorityDefaultPriority)
	if err == nil {
		_, err = c.waitTask(ctx, task)
	}
	if err != nil {
		return fmt.Errorf("moving %s (pool %q, datastore %q): %w", vmID, poolID, datastore, wrapNotFound("virtual machine", vmID, err))
	}
	return nil
}

// datastoreRef finds a datastore of the datacenter by name; answers are remembered until the next
// Refresh.
func (c *Client) datastoreRef(ctx context.Context, name string) (types.ManagedObjectReference, error) {
	v, err := c.lookup(ctx, "datastore:"+name, func(f *find.Finder) (any, error) {
		ds, err := f.Datastore(ctx, name)
		if err != nil {
			return nil, notFound("datastore", name, err)
		}
		return ds.Reference(), nil
	})
	if err != nil {
		return types.ManagedObjectReference{}, err
	}
	return v.(types.ManagedObjectReference), nil
}

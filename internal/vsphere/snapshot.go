package vsphere

import (
	"context"
	"fmt"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// VMSnapshot is one snapshot of a VM, as a backup runner looks for the snapshots it left: by the
// name or description it stamped on them.
type VMSnapshot struct {
	ID          string // managed object ID, e.g. snapshot-42
	Name        string
	Description string
	Created     time.Time
	Quiesced    bool
}

// CreateSnapshot takes a disk-only snapshot of a VM (no memory), quiesced through VMware Tools
// when asked, and returns its ID.
func (c *Client) CreateSnapshot(ctx context.Context, vmID, name, description string, quiesce bool) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.APITimeout)
	defer cancel()
	defer c.vmChanged(vmID)
	vm := object.NewVirtualMachine(c.vim, vmRef(vmID))
	task, err := vm.CreateSnapshot(ctx, name, description, false, quiesce)
	var info *types.TaskInfo
	if err == nil {
		info, err = c.waitTask(ctx, task)
	}
	if err != nil {
		return "", fmt.Errorf("taking snapshot %q of %s: %w", name, vmID, wrapNotFound("virtual machine", vmID, err))
	}
	ref, ok := info.Result.(types.ManagedObjectReference)
	if !ok {
		return "", fmt.Errorf("taking snapshot %q of %s: the task returned no snapshot", name, vmID)
	}
	return ref.Value, nil
}

// RemoveSnapshot removes one snapshot of a VM (not its children), consolidating its disks. A
// snapshot that is already gone is not an error: a runner cleaning up after a crash may find it
// removed.
func (c *Client) RemoveSnapshot(ctx context.Context, vmID, snapshotID string) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.APITimeout)
	defer cancel()
	defer c.vmChanged(vmID)
	consolidate := true
	res, err := methods.RemoveSnapshot_Task(ctx, c.vim, &types.RemoveSnapshot_Task{
		This:        snapshotRef(snapshotID),
		Consolidate: &consolidate,
	})
	if err == nil {
		_, err = c.waitTask(ctx, object.NewTask(c.vim, res.Returnval))
	}
	if err != nil && !IsNotFound(err) {
		return fmt.Errorf("removing snapshot %s of %s: %w", snapshotID, vmID, err)
	}
	return nil
}

// Snapshots lists a VM's snapshots, parents before their children, in one round trip.
func (c *Client) Snapshots(ctx context.Context, vmID string) ([]VMSnapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.APITimeout)
	defer cancel()
	var vm mo.VirtualMachine
	if err := c.collector().RetrieveOne(ctx, vmRef(vmID), []string{"snapshot"}, &vm); err != nil {
		return nil, fmt.Errorf("reading the snapshots of %s: %w", vmID, wrapNotFound("virtual machine", vmID, err))
	}
	var out []VMSnapshot
	if vm.Snapshot == nil {
		return out, nil
	}
	var walk func([]types.VirtualMachineSnapshotTree)
	walk = func(tree []types.VirtualMachineSnapshotTree) {
		for _, s := range tree {
			out = append(out, VMSnapshot{ID: s.Snapshot.Value, Name: s.Name, Description: s.Description, Created: s.CreateTime, Quiesced: s.Quiesced})
			walk(s.ChildSnapshotList)
		}
	}
	walk(vm.Snapshot.RootSnapshotList)
	return out, nil
}

func vmRef(id string) types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "VirtualMachine", Value: id}
}

func snapshotRef(id string) types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "VirtualMachineSnapshot", Value: id}
}

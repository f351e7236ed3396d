package vsphere

import (
	"context"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// MoveVM puts a VM into another folder; RelocateVM moves it into another pool and onto a
// datastore by name (one it is on changes nothing), and names a datastore that is not there.
func TestMoveAndRelocateVM(t *testing.T) {
	ctx := context.Background()
	_, c, rootPool, recovery := restoreTarget(t, simulator.RecoveryFolder)
	vm, err := c.FindVM(ctx, "workloads/"+simulator.Workloads[0])
	if err != nil {
		t.Fatal(err)
	}
	if vm.Datastore != "LocalDS_0" {
		t.Errorf("VM datastore %q, want LocalDS_0", vm.Datastore)
	}
	if err := c.MoveVM(ctx, vm.ID, recovery); err != nil {
		t.Fatal(err)
	}
	root := object.NewResourcePool(c.vim, types.ManagedObjectReference{Type: "ResourcePool", Value: rootPool})
	child, err := root.Create(ctx, "vmgmt-move-test", types.DefaultResourceConfigSpec())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RelocateVM(ctx, vm.ID, child.Reference().Value, "LocalDS_0"); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetVM(ctx, vm.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.FolderID != recovery || got.PoolID != child.Reference().Value || got.Datastore != "LocalDS_0" {
		t.Errorf("after the moves: folder %s pool %s datastore %s; want %s, %s, LocalDS_0", got.FolderID, got.PoolID, got.Datastore, recovery, child.Reference().Value)
	}
	if err := c.RelocateVM(ctx, vm.ID, "", "no-such-ds"); !IsNotFound(err) {
		t.Errorf("relocating onto a datastore that is not there: %v, want NotFound", err)
	}
	if err := c.RelocateVM(ctx, vm.ID, "", ""); err != nil {
		t.Errorf("a relocation to nowhere: %v, want nothing done", err)
	}
}

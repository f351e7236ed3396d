package simulator

import (
	"context"
	"fmt"
	"path"
	"sync"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

// BulkFolder is the VM folder that holds the VMs Options.ExtraVMs asks for.
const BulkFolder = "bulk"

// BulkVMName is the name of the i-th extra VM (from 0).
func BulkVMName(i int) string { return fmt.Sprintf("bulk-%04d", i) }

// extraVMs creates n bare, powered-off VMs in BulkFolder under the cluster's root pool, a few
// at a time: enough VMs for a benchmark to show how a bulk read scales.
func (sd *seeder) extraVMs(ctx context.Context, n int) error {
	if n <= 0 {
		return nil
	}
	pool, ds, folder, err := sd.placement(ctx, BulkFolder)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	const workers = 8
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := createBareVM(ctx, folder, pool, ds, BulkVMName(i)); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		}()
	}
	go func() {
		defer close(next)
		for i := 0; i < n; i++ {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	return <-errs
}

func createBareVM(ctx context.Context, folder *object.Folder, pool *object.ResourcePool, ds *object.Datastore, name string) error {
	spec := types.VirtualMachineConfigSpec{
		Name:     name,
		GuestId:  "otherGuest64",
		NumCPUs:  1,
		MemoryMB: 512,
		Files:    &types.VirtualMachineFileInfo{VmPathName: fmt.Sprintf("[%s]", ds.Name())},
	}
	task, err := folder.CreateVM(ctx, spec, pool, nil)
	if err != nil {
		return fmt.Errorf("creating VM %s: %w", name, err)
	}
	if err := task.Wait(ctx); err != nil {
		return fmt.Errorf("creating VM %s: %w", name, err)
	}
	return nil
}

// placement is where seeded objects go: the cluster's root pool, the default datastore and a new
// VM folder of the given name under the datacenter's vm folder.
func (sd *seeder) placement(ctx context.Context, folderName string) (*object.ResourcePool, *object.Datastore, *object.Folder, error) {
	f, err := sd.finder(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	pool, err := f.ResourcePool(ctx, RootPoolPath)
	if err != nil {
		return nil, nil, nil, err
	}
	ds, err := f.DefaultDatastore(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	vmFolder, err := f.Folder(ctx, path.Join("/", Datacenter, "vm"))
	if err != nil {
		return nil, nil, nil, err
	}
	folder, err := vmFolder.CreateFolder(ctx, folderName)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("creating folder %s: %w", folderName, err)
	}
	return pool, ds, folder, nil
}

package vsphere

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
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

// DiskDevice is one virtual disk of a VM as a snapshot holds it: what a restore needs to put
// the disk back where it was.
type DiskDevice struct {
	Key   int32
	Label string
	// Controller is the kind of controller the disk is on (lsilogic, lsilogic-sas, pvscsi,
	// buslogic, nvme, sata or ide), Bus its bus number and Unit the disk's unit on it.
	Controller string
	Bus        int32
	Unit       int32
	// CapacityBytes is the disk's size; Thin whether it is thin provisioned (nil: not said).
	CapacityBytes int64
	Thin          *bool
	// File is the disk's descriptor on the datastore, as "[datastore] path.vmdk".
	File string
}

// NICDevice is one network adapter of a VM as a snapshot holds it: what a restore needs to make
// the adapter again.
type NICDevice struct {
	Key   int32
	Label string
	// Adapter is the adapter's kind: vmxnet3, vmxnet2, vmxnet, e1000e, e1000, pcnet32 or sriov.
	Adapter string
	// Network is the name of the network a standard backing names; PortgroupKey the key of a
	// distributed port group (VM.NICNetwork names it) and OpaqueID an opaque network's ID.
	Network      string
	PortgroupKey string
	OpaqueID     string
	// MAC is the adapter's MAC address; AddressType how it got it: manual, generated or assigned.
	MAC         string
	AddressType string
}

// SnapshotHardware is the devices of a snapshot a restore recreates: disks and network adapters,
// each in device order.
type SnapshotHardware struct {
	Disks []DiskDevice
	NICs  []NICDevice
}

// SnapshotHardware reads the virtual disks (with their controllers) and network adapters of a
// snapshot, in device order (the order in which its export lease lists the disks), in one round
// trip.
func (c *Client) SnapshotHardware(ctx context.Context, snapshotID string) (SnapshotHardware, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.APITimeout)
	defer cancel()
	var snap mo.VirtualMachineSnapshot
	pc := property.DefaultCollector(c.vim)
	if err := pc.RetrieveOne(ctx, snapshotRef(snapshotID), []string{"config.hardware.device"}, &snap); err != nil {
		return SnapshotHardware{}, fmt.Errorf("reading the devices of snapshot %s: %w", snapshotID, wrapNotFound("snapshot", snapshotID, err))
	}
	devices := snap.Config.Hardware.Device
	return SnapshotHardware{Disks: diskDevices(devices), NICs: nicDevices(devices)}, nil
}

// nicDevices picks the network adapters of a device list.
func nicDevices(devices []types.BaseVirtualDevice) []NICDevice {
	var out []NICDevice
	for _, d := range devices {
		card, ok := d.(types.BaseVirtualEthernetCard)
		if !ok {
			continue
		}
		e := card.GetVirtualEthernetCard()
		n := NICDevice{Key: e.Key, Adapter: adapterKind(d), MAC: e.MacAddress, AddressType: strings.ToLower(e.AddressType)}
		if info := e.DeviceInfo.GetDescription(); info != nil {
			n.Label = info.Label
		}
		switch b := e.Backing.(type) {
		case *types.VirtualEthernetCardNetworkBackingInfo:
			n.Network = b.DeviceName
		case *types.VirtualEthernetCardDistributedVirtualPortBackingInfo:
			n.PortgroupKey = b.Port.PortgroupKey
		case *types.VirtualEthernetCardOpaqueNetworkBackingInfo:
			n.OpaqueID = b.OpaqueNetworkId
		}
		out = append(out, n)
	}
	return out
}

// adapterKind names a network adapter's kind as a restore makes it again (newNIC).
func adapterKind(d types.BaseVirtualDevice) string {
	switch d.(type) {
	case *types.VirtualVmxnet3, *types.VirtualVmxnet3Vrdma:
		return "vmxnet3"
	case *types.VirtualVmxnet2:
		return "vmxnet2"
	case *types.VirtualVmxnet:
		return "vmxnet"
	case *types.VirtualE1000e:
		return "e1000e"
	case *types.VirtualE1000:
		return "e1000"
	case *types.VirtualPCNet32:
		return "pcnet32"
	case *types.VirtualSriovEthernetCard:
		return "sriov"
	}
	return "vmxnet3"
}

// diskDevices picks the disks of a device list, each with its controller.
func diskDevices(devices []types.BaseVirtualDevice) []DiskDevice {
	controllers := map[int32]types.BaseVirtualDevice{}
	for _, d := range devices {
		controllers[d.GetVirtualDevice().Key] = d
	}
	var out []DiskDevice
	for _, d := range devices {
		disk, ok := d.(*types.VirtualDisk)
		if !ok {
			continue
		}
		dd := DiskDevice{Key: disk.Key, CapacityBytes: disk.CapacityInBytes}
		if disk.CapacityInBytes == 0 {
			dd.CapacityBytes = disk.CapacityInKB * 1024
		}
		if info := disk.DeviceInfo.GetDescription(); info != nil {
			dd.Label = info.Label
		}
		if disk.UnitNumber != nil {
			dd.Unit = *disk.UnitNumber
		}
		if ctl, ok := controllers[disk.ControllerKey]; ok {
			dd.Controller = controllerKind(ctl)
			if bc, ok := ctl.(types.BaseVirtualController); ok {
				dd.Bus = bc.GetVirtualController().BusNumber
			}
		}
		if b, ok := disk.Backing.(types.BaseVirtualDeviceFileBackingInfo); ok {
			dd.File = b.GetVirtualDeviceFileBackingInfo().FileName
		}
		if b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok {
			dd.Thin = b.ThinProvisioned
		}
		out = append(out, dd)
	}
	return out
}

// controllerKind names a disk controller's kind as the vSphere API's device types do.
func controllerKind(d types.BaseVirtualDevice) string {
	switch d.(type) {
	case *types.VirtualLsiLogicController:
		return "lsilogic"
	case *types.VirtualLsiLogicSASController:
		return "lsilogic-sas"
	case *types.ParaVirtualSCSIController:
		return "pvscsi"
	case *types.VirtualBusLogicController:
		return "buslogic"
	case *types.VirtualNVMEController:
		return "nvme"
	case *types.VirtualAHCIController:
		return "sata"
	case *types.VirtualIDEController:
		return "ide"
	}
	return "unknown"
}

package vsphere

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/nfc"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// Restoring a VM from a restore point.
//
// # Which path, and why
//
// A restore point holds each disk as the backup's export lease served it: on vCenter a
// stream-optimized VMDK, which only an NFC import can turn back into a disk (a datastore upload
// would store the compressed stream as a file, not a disk). So a VM is restored with
// ResourcePool.ImportVApp: a VirtualMachineImportSpec whose ConfigSpec is the VM's hardware from
// the manifest (CPUs, memory, firmware, guest OS, hardware version, controllers, disks, NICs,
// extraConfig with the request stamp), and an HttpNfcLease to which each disk's bytes are POSTed
// as they stream from the repository, one disk after the other, never held in memory. No OVF
// descriptor is needed. This is the path ovftool and `govc import.vmdk` take to vCenter, and it
// works the same on a standalone ESXi host.
//
// vcsim's import lease hashes what is uploaded and discards it; vmgmt's simulator keeps it as the
// disk's flat extent (internal/simulator), decoding a stream-optimized VMDK as vCenter does, so
// that the tests see the bytes round-trip for both kinds of point: a vCenter-made one
// (stream-optimized) and a simulator-made one (a flat image, which the simulator stores as it
// comes; vCenter's import would refuse it).
//
// # Crash safety
//
// The VM is made under its Request's PendingName, stamped (extraConfig vmgmt.request) by the
// ImportVApp call itself, and gets its real name only once every disk's bytes are in and
// checked. So a VM under the pending name is always a half-made restore: a rerun destroys it and
// starts again. A VM under the real name with the request's stamp is a finished import, adopted;
// the caller finishes what it did not (tags, power).

// RestoreSpec describes a VM to recreate from a restore point.
type RestoreSpec struct {
	Name     string
	FolderID string
	PoolID   string
	// HostID places the VM on this host; empty lets vCenter (DRS) choose.
	HostID string
	// Datastore is the name of the datastore the VM's files and disks go to.
	Datastore string

	GuestID  string
	CPUs     int32
	MemoryMB int64
	// Firmware is bios or efi (empty: vCenter's default); HardwareVersion "vmx-19" or empty.
	Firmware        string
	HardwareVersion string
	Disks           []RestoreDisk
	// NICs are the VM's network adapters, in order.
	NICs        []RestoreNIC
	ExtraConfig map[string]string
	// Request makes the restore crash-safe (see above); zero: no stamp, no adoption.
	Request Request
}

// RestoreDisk is one disk of a restored VM: where it sits and how big it is.
type RestoreDisk struct {
	// Controller is lsilogic, lsilogic-sas, pvscsi, buslogic, nvme, sata or ide (empty:
	// lsilogic); Bus its bus number and Unit the disk's unit on it.
	Controller    string
	Bus, Unit     int32
	CapacityBytes int64
	Thin          bool
}

// RestoreNIC is one network adapter of a restored VM.
type RestoreNIC struct {
	// Network is the network's name or path.
	Network string
	// Adapter is vmxnet3 (empty: vmxnet3), vmxnet2, vmxnet, e1000e, e1000 or pcnet32.
	Adapter string
	// MAC, when set, is kept as the adapter's manual MAC address; empty: vCenter generates one.
	MAC string
}

// DiskData opens the data of disk i of a RestoreSpec: its bytes as stored (the reader may fail
// at its end when they do not check out, which fails the restore) and their length (-1 when not
// known). The restore closes it.
type DiskData func(ctx context.Context, i int) (io.ReadCloser, int64, error)

// Restored is the outcome of RestoreVM.
type Restored struct {
	Created
	// Discarded is set when a half-made VM of an interrupted restore of the same request (under
	// its pending name) was found and destroyed before the restore started again.
	Discarded string
}

// RestoreVM recreates a VM from s, streaming its disks from data, crash-safe when s carries a
// Request. Any failure (a disk that cannot be read, a reader that fails at its end because the
// bytes do not match, vCenter refusing the upload) aborts the import and destroys the VM: nothing
// half-made is left under the real name. The VM is left powered off.
func (c *Client) RestoreVM(ctx context.Context, s RestoreSpec, data DiskData) (Restored, error) {
	var out Restored
	if err := s.check(); err != nil {
		return out, err
	}
	name := s.Name
	if !s.Request.IsZero() {
		stamps := make(map[string]string, len(s.ExtraConfig)+1)
		for k, v := range s.ExtraConfig {
			stamps[k] = v
		}
		stamps[StampRequest] = s.Request.Token
		s.ExtraConfig = stamps
		name = s.Request.PendingName()

		vm, err := c.createdVM(ctx, CloneSpec{Name: s.Name, FolderID: s.FolderID, Request: s.Request}, true)
		if err != nil {
			return out, err
		}
		switch {
		case vm != nil && vm.Name == s.Name:
			out.ID, out.Adopted = vm.ID, true
			return out, nil
		case vm != nil:
			// Under its pending name: its disks were never all in and checked.
			if err := c.DestroyVM(ctx, vm.ID); err != nil {
				return out, fmt.Errorf("destroying the half-made VM %s (%s) an interrupted restore left: %w", vm.Name, vm.ID, err)
			}
			out.Discarded = vm.ID
		}
	}
	cfg, err := c.restoreConfig(ctx, s, name)
	if err != nil {
		return out, err
	}
	id, err := c.importVM(ctx, s, cfg, data)
	if err != nil {
		if id != "" {
			if derr := c.DestroyVM(context.WithoutCancel(ctx), id); derr != nil {
				err = fmt.Errorf("%w (and the half-made VM %s could not be destroyed: %v; the next restore of the same request destroys it)", err, id, derr)
			}
		}
		return out, err
	}
	out.ID = id
	if name != s.Name {
		if err := c.renameVM(ctx, id, s.Name); err != nil {
			return out, err
		}
	}
	return out, nil
}

// check refuses a spec vCenter would refuse less clearly.
func (s RestoreSpec) check() error {
	switch {
	case s.Name == "":
		return errors.New("restoring a VM: no name given")
	case s.Datastore == "":
		return fmt.Errorf("restoring %s: no datastore given", s.Name)
	case s.PoolID == "":
		return fmt.Errorf("restoring %s: no resource pool given", s.Name)
	case s.CPUs <= 0 || s.MemoryMB <= 0:
		return fmt.Errorf("restoring %s: %d CPUs and %d MB of memory: both must be positive", s.Name, s.CPUs, s.MemoryMB)
	}
	seen := map[[3]any]bool{}
	for i, d := range s.Disks {
		if d.CapacityBytes <= 0 {
			return fmt.Errorf("restoring %s: disk %d has capacity %d bytes", s.Name, i, d.CapacityBytes)
		}
		k := [3]any{controllerOrDefault(d.Controller), d.Bus, d.Unit}
		if seen[k] {
			return fmt.Errorf("restoring %s: two disks at %s %d:%d", s.Name, k[0], d.Bus, d.Unit)
		}
		seen[k] = true
		if _, err := newController(controllerOrDefault(d.Controller), d.Bus, -1); err != nil {
			return fmt.Errorf("restoring %s: disk %d: %w", s.Name, i, err)
		}
	}
	for i, n := range s.NICs {
		if _, err := newNIC(n, nil, -1); err != nil {
			return fmt.Errorf("restoring %s: network adapter %d: %w", s.Name, i+1, err)
		}
	}
	return nil
}

func controllerOrDefault(kind string) string {
	if kind == "" || kind == "unknown" {
		return "lsilogic"
	}
	return kind
}

// restoreConfig is the ConfigSpec of the import: the hardware, controllers (negative keys, one
// per kind and bus), disks (created thin or thick, at their units), NICs and extraConfig.
func (c *Client) restoreConfig(ctx context.Context, s RestoreSpec, name string) (types.VirtualMachineConfigSpec, error) {
	// The VM's directory and every disk are named, as govmomi's own VMDK import does: a disk
	// given only its datastore gets a name vCenter picks, and vcsim gives two such disks the same
	// one.
	ds := "[" + s.Datastore + "]"
	dir := ds + " " + name + "/"
	cfg := types.VirtualMachineConfigSpec{
		Name:        name,
		GuestId:     s.GuestID,
		NumCPUs:     s.CPUs,
		MemoryMB:    s.MemoryMB,
		Firmware:    s.Firmware,
		Version:     s.HardwareVersion,
		Files:       &types.VirtualMachineFileInfo{VmPathName: dir + name + ".vmx"},
		ExtraConfig: extraConfig(s.ExtraConfig),
	}
	if cfg.GuestId == "" {
		cfg.GuestId = string(types.VirtualMachineGuestOsIdentifierOtherGuest64)
	}
	key := int32(-100)
	controllers := map[[2]any]int32{}
	// Controllers in a stable order, so that their keys (and vCenter's numbering) do not depend
	// on the order of the disks.
	var kinds [][2]any
	for _, d := range s.Disks {
		k := [2]any{controllerOrDefault(d.Controller), d.Bus}
		if _, ok := controllers[k]; !ok {
			controllers[k] = 0
			kinds = append(kinds, k)
		}
	}
	sort.Slice(kinds, func(i, j int) bool {
		if kinds[i][0] != kinds[j][0] {
			return kinds[i][0].(string) < kinds[j][0].(string)
		}
		return kinds[i][1].(int32) < kinds[j][1].(int32)
	})
	for _, k := range kinds {
		key--
		ctl, err := newController(k[0].(string), k[1].(int32), key)
		if err != nil {
			return cfg, err
		}
		controllers[k] = key
		cfg.DeviceChange = append(cfg.DeviceChange, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd, Device: ctl})
	}
	for i, d := range s.Disks {
		key--
		unit := d.Unit
		file := dir + name + ".vmdk"
		if i > 0 {
			file = fmt.Sprintf("%s%s_%d.vmdk", dir, name, i)
		}
		thin := d.Thin
		disk := &types.VirtualDisk{
			VirtualDevice: types.VirtualDevice{
				Key:           key,
				ControllerKey: controllers[[2]any{controllerOrDefault(d.Controller), d.Bus}],
				UnitNumber:    &unit,
				Backing: &types.VirtualDiskFlatVer2BackingInfo{
					VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: file},
					DiskMode:                     string(types.VirtualDiskModePersistent),
					ThinProvisioned:              &thin,
				},
			},
			CapacityInKB:    (d.CapacityBytes + 1023) / 1024,
			CapacityInBytes: d.CapacityBytes,
		}
		cfg.DeviceChange = append(cfg.DeviceChange, &types.VirtualDeviceConfigSpec{
			Operation:     types.VirtualDeviceConfigSpecOperationAdd,
			FileOperation: types.VirtualDeviceConfigSpecFileOperationCreate,
			Device:        disk,
		})
	}
	for _, n := range s.NICs {
		backing, err := c.networkBacking(ctx, n.Network)
		if err != nil {
			return cfg, fmt.Errorf("restoring %s: %w", s.Name, err)
		}
		key--
		nic, err := newNIC(n, backing, key)
		if err != nil {
			return cfg, fmt.Errorf("restoring %s: %w", s.Name, err)
		}
		cfg.DeviceChange = append(cfg.DeviceChange, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd, Device: nic})
	}
	return cfg, nil
}

// newNIC makes a network adapter of a kind (as SnapshotHardware names them) on a backing, with
// n's MAC address as a manual one when it has one, else one vCenter generates.
func newNIC(n RestoreNIC, backing types.BaseVirtualDeviceBackingInfo, key int32) (types.BaseVirtualDevice, error) {
	card := types.VirtualEthernetCard{
		VirtualDevice: types.VirtualDevice{Key: key, Backing: backing},
		AddressType:   string(types.VirtualEthernetCardMacTypeGenerated),
	}
	if n.MAC != "" {
		if _, err := net.ParseMAC(n.MAC); err != nil {
			return nil, fmt.Errorf("MAC address %q: %w", n.MAC, err)
		}
		card.AddressType, card.MacAddress = string(types.VirtualEthernetCardMacTypeManual), n.MAC
	}
	switch n.Adapter {
	case "", "vmxnet3":
		return &types.VirtualVmxnet3{VirtualVmxnet: types.VirtualVmxnet{VirtualEthernetCard: card}}, nil
	case "vmxnet2":
		return &types.VirtualVmxnet2{VirtualVmxnet: types.VirtualVmxnet{VirtualEthernetCard: card}}, nil
	case "vmxnet":
		return &types.VirtualVmxnet{VirtualEthernetCard: card}, nil
	case "e1000e":
		return &types.VirtualE1000e{VirtualEthernetCard: card}, nil
	case "e1000":
		return &types.VirtualE1000{VirtualEthernetCard: card}, nil
	case "pcnet32":
		return &types.VirtualPCNet32{VirtualEthernetCard: card}, nil
	}
	return nil, fmt.Errorf("adapter kind %q: not one vmgmt makes (vmxnet3, vmxnet2, vmxnet, e1000e, e1000, pcnet32)", n.Adapter)
}

// newController makes a disk controller of a kind (as SnapshotDisks names them) on a bus.
func newController(kind string, bus, key int32) (types.BaseVirtualDevice, error) {
	scsi := types.VirtualSCSIController{
		VirtualController: types.VirtualController{VirtualDevice: types.VirtualDevice{Key: key}, BusNumber: bus},
		SharedBus:         types.VirtualSCSISharingNoSharing,
	}
	switch kind {
	case "lsilogic":
		return &types.VirtualLsiLogicController{VirtualSCSIController: scsi}, nil
	case "lsilogic-sas":
		return &types.VirtualLsiLogicSASController{VirtualSCSIController: scsi}, nil
	case "pvscsi":
		return &types.ParaVirtualSCSIController{VirtualSCSIController: scsi}, nil
	case "buslogic":
		return &types.VirtualBusLogicController{VirtualSCSIController: scsi}, nil
	case "nvme":
		return &types.VirtualNVMEController{VirtualController: scsi.VirtualController}, nil
	case "sata":
		return &types.VirtualAHCIController{VirtualSATAController: types.VirtualSATAController{VirtualController: scsi.VirtualController}}, nil
	case "ide":
		return &types.VirtualIDEController{VirtualController: scsi.VirtualController}, nil
	}
	return nil, fmt.Errorf("controller kind %q is not one vmgmt restores (lsilogic, lsilogic-sas, pvscsi, buslogic, nvme, sata, ide)", kind)
}

// importVM makes the VM through an import lease and uploads its disks. Once the VM exists its ID
// is returned, with an error too, so that the caller destroys it.
func (c *Client) importVM(ctx context.Context, s RestoreSpec, cfg types.VirtualMachineConfigSpec, data DiskData) (string, error) {
	req := types.ImportVApp{
		This:   types.ManagedObjectReference{Type: "ResourcePool", Value: s.PoolID},
		Spec:   &types.VirtualMachineImportSpec{ConfigSpec: cfg},
		Folder: &types.ManagedObjectReference{Type: "Folder", Value: s.FolderID},
	}
	if s.HostID != "" {
		req.Host = &types.ManagedObjectReference{Type: "HostSystem", Value: s.HostID}
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.APITimeout)
	res, err := methods.ImportVApp(actx, c.vim, &req)
	if err != nil {
		cancel()
		c.InvalidateVMs()
		return "", fmt.Errorf("restoring %s: importing it: %w", s.Name, wrapNotFound("resource pool", s.PoolID, err))
	}
	lease := nfc.NewLease(c.vim, res.Returnval)
	info, err := lease.Wait(actx, nil)
	cancel()
	if err != nil {
		// The import's VM, if it was made, is found by its pending name on the next attempt.
		c.InvalidateVMs()
		err = fmt.Errorf("restoring %s: waiting for the import lease: %w", s.Name, err)
		abortLease(ctx, lease, err)
		return "", err
	}
	id := info.Entity.Value
	c.vmChanged(id)
	var disks []nfc.FileItem
	var total int64
	for i, u := range info.DeviceUrl {
		if u.Disk != nil && *u.Disk {
			disks = append(disks, info.Items[i])
		}
	}
	if len(disks) != len(s.Disks) {
		err := fmt.Errorf("restoring %s: the import lease has %d disks, the restore point %d", s.Name, len(disks), len(s.Disks))
		abortLease(ctx, lease, err)
		return id, err
	}
	for i := range disks {
		disks[i].Size = s.Disks[i].CapacityBytes
		total += disks[i].Size
	}
	tracked := info
	tracked.Items = disks
	done := func() {}
	if total > 0 {
		done = lease.StartUpdater(ctx, tracked).Done
	}
	for i, item := range disks {
		if err := c.uploadDisk(ctx, item, i, total > 0, data); err != nil {
			done()
			err = fmt.Errorf("restoring %s: disk %d: %w", s.Name, i, err)
			abortLease(ctx, lease, err)
			return id, err
		}
	}
	done()
	cctx, ccancel := context.WithTimeout(ctx, c.cfg.APITimeout)
	defer ccancel()
	if err := lease.Complete(cctx); err != nil {
		return id, fmt.Errorf("restoring %s: completing the import: %w", s.Name, err)
	}
	return id, nil
}

// uploadDisk streams disk i's data to its device URL of the import lease, reporting progress to
// the lease updater when it runs (track).
func (c *Client) uploadDisk(ctx context.Context, item nfc.FileItem, i int, track bool, data DiskData) (err error) {
	body, size, err := data(ctx, i)
	if err != nil {
		return err
	}
	defer func() { _ = body.Close() }()
	var r io.Reader = body
	if track {
		pr := &leaseProgress{ctx: ctx, r: body, sink: item.Sink(), size: item.Size}
		defer func() { pr.done(err) }()
		r = pr
	}
	// The reader's own failure (a checksum that does not match at its end) is what to report,
	// not the HTTP client's wrapping of it.
	rr := &readErr{r: r}
	opts := soap.Upload{Method: "POST", Type: "application/x-vnd.vmware-streamVmdk", ContentLength: size}
	if size < 0 {
		opts.ContentLength = 0 // unknown: sent chunked
	}
	if err := c.vim.Upload(ctx, rr, item.URL, &opts); err != nil {
		if rr.err != nil {
			return rr.err
		}
		return fmt.Errorf("uploading its data: %w", err)
	}
	if rr.err != nil {
		return rr.err
	}
	return nil
}

// readErr remembers the first error other than io.EOF its reader returned.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

// renameVM gives a VM its real name.
func (c *Client) renameVM(ctx context.Context, id, name string) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.APITimeout)
	defer cancel()
	defer c.vmChanged(id)
	task, err := object.NewVirtualMachine(c.vim, vmRef(id)).Rename(ctx, name)
	if err == nil {
		_, err = c.waitTask(ctx, task)
	}
	if err != nil {
		return fmt.Errorf("naming the restored VM %s %q: %w", id, name, err)
	}
	return nil
}

// DatastoreNames lists the names of the datacenter's datastores, sorted: a restore picks its
// datastore among them. The answer is remembered until the client's next Refresh, so that the
// restores of a whole job read it once.
func (c *Client) DatastoreNames(ctx context.Context) ([]string, error) {
	v, err := c.lookup(ctx, "datastore names", func(f *find.Finder) (any, error) {
		ctx, cancel := context.WithTimeout(ctx, c.cfg.APITimeout)
		defer cancel()
		list, err := f.DatastoreList(ctx, "*")
		if err != nil {
			var nf *find.NotFoundError
			if errors.As(err, &nf) {
				return []string{}, nil
			}
			return nil, fmt.Errorf("listing the datastores: %w", err)
		}
		out := make([]string, 0, len(list))
		for _, ds := range list {
			out = append(out, ds.Name())
		}
		sort.Strings(out)
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]string), nil
}

package simulator

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"slices"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vapi/library"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/vapi/vcenter"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

type seeder struct {
	c       *govmomi.Client
	user    *url.Userinfo
	bigDisk int64 // BigDiskVM's disk size in bytes
}

func (sd *seeder) finder(ctx context.Context) (*find.Finder, error) {
	f := find.NewFinder(sd.c.Client, false)
	dc, err := f.Datacenter(ctx, Datacenter)
	if err != nil {
		return nil, err
	}
	f.SetDatacenter(dc)
	return f, nil
}

func rename(ctx context.Context, obj object.Common, name string) error {
	task, err := obj.Rename(ctx, name)
	if err != nil {
		return fmt.Errorf("renaming %s to %s: %w", obj.Reference(), name, err)
	}
	return task.Wait(ctx)
}

// rename gives vcsim's generated names (DC0, DC0_C0, DC0_DVS, ...) the demo's names.
func (sd *seeder) rename(ctx context.Context) error {
	f := find.NewFinder(sd.c.Client, false)
	dc, err := f.Datacenter(ctx, "DC0")
	if err != nil {
		return err
	}
	if err := rename(ctx, dc.Common, Datacenter); err != nil {
		return err
	}
	dc.InventoryPath = "/" + Datacenter
	f.SetDatacenter(dc)
	cl, err := f.ClusterComputeResource(ctx, "DC0_C0")
	if err != nil {
		return err
	}
	if err := rename(ctx, cl.Common, Cluster); err != nil {
		return err
	}
	pg, err := sd.first(ctx, "DistributedVirtualPortgroup")
	if err != nil {
		return err
	}
	return rename(ctx, object.NewCommon(sd.c.Client, pg), PortGroups[0])
}

// first returns the first object of a type in the inventory.
func (sd *seeder) first(ctx context.Context, kind string) (types.ManagedObjectReference, error) {
	m := view.NewManager(sd.c.Client)
	v, err := m.CreateContainerView(ctx, sd.c.ServiceContent.RootFolder, []string{kind}, true)
	if err != nil {
		return types.ManagedObjectReference{}, err
	}
	defer func() { _ = v.Destroy(ctx) }()
	refs, err := v.Find(ctx, []string{kind}, nil)
	if err != nil {
		return types.ManagedObjectReference{}, err
	}
	for _, r := range refs {
		// Skip the uplink port group vcsim adds to every switch.
		if kind == "DistributedVirtualPortgroup" {
			var pg mo.DistributedVirtualPortgroup
			if err := sd.c.PropertyCollector().RetrieveOne(ctx, r, []string{"config.uplink"}, &pg); err == nil && pg.Config.Uplink != nil && *pg.Config.Uplink {
				continue
			}
		}
		return r, nil
	}
	return types.ManagedObjectReference{}, fmt.Errorf("no %s in the simulator inventory", kind)
}

func (sd *seeder) folders(ctx context.Context) error {
	f, err := sd.finder(ctx)
	if err != nil {
		return err
	}
	vmFolder, err := f.DefaultFolder(ctx)
	if err != nil {
		return err
	}
	for _, name := range []string{TemplateFolder, WorkloadFolder, RecoveryFolder} {
		if _, err := vmFolder.CreateFolder(ctx, name); err != nil {
			return fmt.Errorf("creating folder %s: %w", name, err)
		}
	}
	return nil
}

func (sd *seeder) network(ctx context.Context) error {
	n, err := object.NewSearchIndex(sd.c.Client).FindByInventoryPath(ctx, "/"+Datacenter+"/network/"+DVSwitch)
	if err != nil || n == nil {
		return fmt.Errorf("finding %s: %v", DVSwitch, err)
	}
	dvs := object.NewDistributedVirtualSwitch(sd.c.Client, n.Reference())
	var specs []types.DVPortgroupConfigSpec
	for _, name := range slices.Concat(PortGroups[1:], []string{IsolatedPortGroup}) {
		specs = append(specs, types.DVPortgroupConfigSpec{Name: name, Type: string(types.DistributedVirtualPortgroupPortgroupTypeEarlyBinding), NumPorts: 128})
	}
	task, err := dvs.AddPortgroup(ctx, specs)
	if err != nil {
		return err
	}
	return task.Wait(ctx)
}

// nicBackings returns the NIC backing of each of PortGroups, by name.
func nicBackings(ctx context.Context, f *find.Finder) (map[string]types.BaseVirtualDeviceBackingInfo, error) {
	backings := map[string]types.BaseVirtualDeviceBackingInfo{}
	for _, name := range PortGroups {
		net, err := f.Network(ctx, name)
		if err != nil {
			return nil, err
		}
		if backings[name], err = net.EthernetCardBackingInfo(ctx); err != nil {
			return nil, fmt.Errorf("reading the backing of port group %s: %w", name, err)
		}
	}
	return backings, nil
}

func (sd *seeder) vms(ctx context.Context) error {
	f, err := sd.finder(ctx)
	if err != nil {
		return err
	}
	pool, err := f.ResourcePool(ctx, RootPoolPath)
	if err != nil {
		return err
	}
	ds, err := f.DefaultDatastore(ctx)
	if err != nil {
		return err
	}
	backings, err := nicBackings(ctx, f)
	if err != nil {
		return err
	}
	type vmDef struct {
		name, folder, guest, network string
		cpus                         int32
		memMB                        int64
		diskKB                       int64
		template                     bool
	}
	var defs []vmDef
	guests := map[string]string{"win2022-base": "windows2019srvNext_64Guest"}
	for _, t := range Templates {
		guest := guests[t]
		if guest == "" {
			guest = "rhel9_64Guest"
		}
		defs = append(defs, vmDef{name: t, folder: TemplateFolder, guest: guest, network: PortGroups[0], cpus: 2, memMB: 4096, diskKB: 40 << 20, template: true})
	}
	for _, w := range Workloads {
		disk := int64(80 << 20)
		if w == BigDiskVM {
			disk = sd.bigDisk / 1024
		}
		defs = append(defs, vmDef{name: w, folder: WorkloadFolder, guest: "rhel9_64Guest", network: WorkloadPortGroups[w], cpus: 4, memMB: 8192, diskKB: disk})
	}
	for _, d := range defs {
		folder, err := f.Folder(ctx, path.Join("/", Datacenter, "vm", d.folder))
		if err != nil {
			return err
		}
		var devices object.VirtualDeviceList
		scsi, err := devices.CreateSCSIController("pvscsi")
		if err != nil {
			return err
		}
		// The keys vCenter gives these devices (vcsim would number them 202, 203, 204...), so that
		// the simulator's VMs look like real ones to code that reads a device by its key.
		scsi.GetVirtualDevice().Key = 1000
		devices = append(devices, scsi)
		ctrl := devices.PickController(scsi.(types.BaseVirtualController))
		disk := devices.CreateDisk(ctrl, ds.Reference(), "")
		disk.Key = 2000
		disk.CapacityInKB = d.diskKB
		devices = append(devices, disk)
		nic, err := devices.CreateEthernetCard("vmxnet3", backings[d.network])
		if err != nil {
			return err
		}
		nic.GetVirtualDevice().Key = 4000
		devices = append(devices, nic)
		changes, err := devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)
		if err != nil {
			return err
		}
		spec := types.VirtualMachineConfigSpec{
			Name:         d.name,
			GuestId:      d.guest,
			NumCPUs:      d.cpus,
			MemoryMB:     d.memMB,
			Files:        &types.VirtualMachineFileInfo{VmPathName: fmt.Sprintf("[%s]", ds.Name())},
			DeviceChange: changes,
			// UEFI and the hardware version of vSphere 8.0 U2, as vSphere 8 creates VMs: secure
			// boot (the SCG's guest-8.secure-boot) can only be turned on for an EFI VM, and the
			// SCG asks for vmx-19 or later (guest-8.virtual-hardware).
			Firmware: string(types.GuestOsDescriptorFirmwareTypeEfi),
			Version:  HardwareVersion,
		}
		task, err := folder.CreateVM(ctx, spec, pool, nil)
		if err != nil {
			return fmt.Errorf("creating VM %s: %w", d.name, err)
		}
		info, err := task.WaitForResult(ctx)
		if err != nil {
			return fmt.Errorf("creating VM %s: %w", d.name, err)
		}
		vm := object.NewVirtualMachine(sd.c.Client, info.Result.(types.ManagedObjectReference))
		if d.template {
			if err := vm.MarkAsTemplate(ctx); err != nil {
				return fmt.Errorf("marking %s as a template: %w", d.name, err)
			}
			continue
		}
		task, err = vm.PowerOn(ctx)
		if err != nil {
			return err
		}
		if err := task.Wait(ctx); err != nil {
			return fmt.Errorf("powering on %s: %w", d.name, err)
		}
	}
	return nil
}

func (sd *seeder) tags(ctx context.Context) error {
	rc := rest.NewClient(sd.c.Client)
	if err := rc.Login(ctx, sd.user); err != nil {
		return fmt.Errorf("logging in to the vAPI endpoint: %w", err)
	}
	defer func() { _ = rc.Logout(ctx) }()
	m := tags.NewManager(rc)
	for cat, names := range TagCategories {
		id, err := m.CreateCategory(ctx, &tags.Category{
			Name:            cat,
			Description:     "seeded by the vmgmt simulator",
			Cardinality:     "SINGLE",
			AssociableTypes: []string{"VirtualMachine", "ResourcePool", "Folder"},
		})
		if err != nil {
			return fmt.Errorf("creating tag category %s: %w", cat, err)
		}
		for _, n := range names {
			if _, err := m.CreateTag(ctx, &tags.Tag{Name: n, CategoryID: id}); err != nil {
				return fmt.Errorf("creating tag %s: %w", n, err)
			}
		}
	}
	return nil
}

// library creates the local content library on the seeded datastore and publishes its vm-template
// items from the seeded templates, as an administrator would with "New VM Template in Library".
// vcsim's handler needs a placement folder (it dereferences it) and a resource pool (a template
// has none to inherit); the item's backing template goes to LibraryFolder.
func (sd *seeder) library(ctx context.Context) error {
	pool, ds, folder, err := sd.placement(ctx, LibraryFolder)
	if err != nil {
		return err
	}
	f, err := sd.finder(ctx)
	if err != nil {
		return err
	}
	rc := rest.NewClient(sd.c.Client)
	if err := rc.Login(ctx, sd.user); err != nil {
		return fmt.Errorf("logging in to the vAPI endpoint: %w", err)
	}
	defer func() { _ = rc.Logout(ctx) }()
	desc := "vmgmt catalog images (seeded by the vmgmt simulator)"
	libID, err := library.NewManager(rc).CreateLibrary(ctx, library.Library{
		Name:        Library,
		Description: &desc,
		Type:        "LOCAL",
		Storage:     []library.StorageBacking{{DatastoreID: ds.Reference().Value, Type: "DATASTORE"}},
	})
	if err != nil {
		return fmt.Errorf("creating content library %s: %w", Library, err)
	}
	vcm := vcenter.NewManager(rc)
	for _, it := range LibraryItems {
		tmpl, err := f.VirtualMachine(ctx, path.Join("/", Datacenter, "vm", TemplateFolder, it.Template))
		if err != nil {
			return err
		}
		if _, err := vcm.CreateTemplate(ctx, vcenter.Template{
			Name:      it.Item,
			Library:   libID,
			SourceVM:  tmpl.Reference().Value,
			Placement: &vcenter.Placement{Folder: folder.Reference().Value, ResourcePool: pool.Reference().Value},
		}); err != nil {
			return fmt.Errorf("publishing %s as %s/%s: %w", it.Template, Library, it.Item, err)
		}
	}
	return nil
}

// fixPools fixes a vcsim gap: UpdateConfig ignores expandableReservation, which vCenter applies.
// A registry Handler sees every call before vcsim dispatches it; for a valid UpdateConfig of a
// resource pool it applies the expandable flags, and vcsim then applies the rest. Nothing is
// wrapped, so vcsim's own type checks on *ResourcePool keep working.
func fixPools(model *simulator.Model) {
	m := model.Map()
	m.Handler = func(ctx *simulator.Context, method *simulator.Method) (mo.Reference, types.BaseMethodFault) {
		if method.Name != "UpdateConfig" {
			return nil, nil
		}
		req, ok := method.Body.(*types.UpdateConfig)
		if !ok || req.Config == nil {
			return nil, nil
		}
		rp, ok := ctx.Map.Get(method.This).(*simulator.ResourcePool)
		if !ok || !validAllocation(req.Config.CpuAllocation) || !validAllocation(req.Config.MemoryAllocation) {
			return nil, nil
		}
		ctx.WithLock(rp, func() {
			if v := req.Config.CpuAllocation.ExpandableReservation; v != nil {
				rp.Config.CpuAllocation.ExpandableReservation = types.NewBool(*v)
			}
			if v := req.Config.MemoryAllocation.ExpandableReservation; v != nil {
				rp.Config.MemoryAllocation.ExpandableReservation = types.NewBool(*v)
			}
		})
		return nil, nil
	}
}

// validAllocation mirrors vcsim's own check, so a request it will refuse changes nothing.
func validAllocation(a types.ResourceAllocationInfo) bool {
	if a.Reservation != nil && *a.Reservation < 0 {
		return false
	}
	if a.Limit != nil && *a.Limit < -1 {
		return false
	}
	if a.Shares != nil && a.Shares.Level == types.SharesLevelCustom && a.Shares.Shares < 0 {
		return false
	}
	return a.OverheadLimit == nil
}

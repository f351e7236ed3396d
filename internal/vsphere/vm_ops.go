package vsphere

import (
	"context"
	"fmt"
	"sort"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// Customization is the guest customization applied to a clone (Linux prep).
type Customization struct {
	Hostname string
	Domain   string
	// IPv4 is an address with prefix (10.0.0.5/24); empty means DHCP.
	IPv4       string
	Gateway    string
	DNSServers []string
	DNSSuffix  []string
}

// CloneSpec describes a VM cloned from a template VM or deployed from a content library item.
type CloneSpec struct {
	TemplateID    string
	LibraryItemID string // instead of TemplateID: a vm-template or OVF content library item
	Name          string
	FolderID      string
	PoolID        string
	Network       string // network name or path; empty keeps the template's
	CPUs          int32
	MemoryMB      int64
	DiskGB        int64 // grow the first disk to this size; 0 keeps the template's
	// ExtraConfig stamps (clones do not inherit extraConfig from the template).
	ExtraConfig   map[string]string
	Customization *Customization
	PowerOn       bool
	// Request makes CreateVM crash-safe: the VM is stamped with it and, after an interruption,
	// adopted (see create.go). Zero: no stamp, no adoption.
	Request Request
	// Preserve names the ExtraConfig keys whose existing value an adopted VM keeps (when it was
	// created, say).
	Preserve []string
	// Flags are the configuration flags the new VM is made with (a configuration baseline's:
	// secure boot, CPU and memory hot add, logging, vMotion and FT encryption), in the clone's
	// ConfigSpec, or in the reconfigure that finishes a deploy. Only those fields are used:
	// advanced settings go in ExtraConfig, and a hardware version is not set. Secure boot is left
	// out when the source's firmware is not EFI: vCenter refuses it there, and changing the
	// firmware is the owner's work.
	Flags Remediation
}

// CloneVM clones a template and returns the new VM's managed object ID. The clone goes into the
// given pool (vcsim and vCenter both need Location.Pool when the source is a template).
func (c *Client) CloneVM(ctx context.Context, s CloneSpec) (string, error) {
	if s.LibraryItemID != "" {
		return c.deployVM(ctx, s)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.APITimeout)
	defer cancel()
	tmpl := object.NewVirtualMachine(c.vim, types.ManagedObjectReference{Type: "VirtualMachine", Value: s.TemplateID})
	pool := types.ManagedObjectReference{Type: "ResourcePool", Value: s.PoolID}
	cfg := &types.VirtualMachineConfigSpec{NumCPUs: s.CPUs, MemoryMB: s.MemoryMB, ExtraConfig: extraConfig(s.ExtraConfig)}
	base, err := c.cloneBase(ctx, s.TemplateID, s.Network)
	if err != nil {
		return "", err
	}
	s.Flags.setFlags(cfg, base.firmware == efiFirmware)
	growDisk := false
	if s.DiskGB > 0 && base.diskKB > 0 {
		want := s.DiskGB * 1024 * 1024
		if want < base.diskKB {
			return "", fmt.Errorf("disk of %d GB is smaller than the template's %d GB: disks can only grow", s.DiskGB, base.diskKB/1024/1024)
		}
		// Grown after the clone, on the clone's own disk: an edit in the clone spec would carry
		// the template's backing file name.
		growDisk = want > base.diskKB
	}
	if base.nic != nil {
		cfg.DeviceChange = append(cfg.DeviceChange, base.nic)
	}
	spec := types.VirtualMachineCloneSpec{
		Location: types.VirtualMachineRelocateSpec{Pool: &pool},
		Config:   cfg,
		PowerOn:  s.PowerOn && !growDisk,
	}
	if s.Customization != nil {
		spec.Customization = s.Customization.toVim()
	}
	folder := object.NewFolder(c.vim, types.ManagedObjectReference{Type: "Folder", Value: s.FolderID})
	task, err := tmpl.Clone(ctx, folder, s.Name, spec)
	if err != nil {
		return "", wrapNotFound("template", s.TemplateID, fmt.Errorf("cloning %s: %w", s.Name, err))
	}
	c.noteOwnTask(task)
	info, err := c.waitTask(ctx, task)
	if err != nil {
		c.InvalidateVMs() // a failed clone may leave a VM behind: read everything again
		return "", fmt.Errorf("cloning %s: %w", s.Name, err)
	}
	ref, ok := info.Result.(types.ManagedObjectReference)
	if !ok {
		c.InvalidateVMs()
		return "", fmt.Errorf("cloning %s: the task returned %T, not the new VM", s.Name, info.Result)
	}
	c.vmChanged(ref.Value)
	if growDisk {
		// The clone exists: errors from here on return its ID too, so the caller records it.
		if err := c.ReconfigureVM(ctx, ref.Value, ReconfigSpec{DiskGB: s.DiskGB}); err != nil {
			return ref.Value, fmt.Errorf("growing the disk of %s: %w", s.Name, err)
		}
		if s.PowerOn {
			if err := c.SetPower(ctx, ref.Value, true); err != nil {
				return ref.Value, err
			}
		}
	}
	return ref.Value, nil
}

// deployVM makes a VM from a content library item: deployed powered off into the folder and pool
// (under the request's pending name: a deploy cannot carry a stamp), then sized, stamped, attached
// to its network, customized, named and powered on by finishVM. Once the VM exists, errors return
// its ID too.
func (c *Client) deployVM(ctx context.Context, s CloneSpec) (string, error) {
	name := s.Name
	if !s.Request.IsZero() {
		name = s.Request.PendingName()
	}
	id, err := c.DeployLibraryItem(ctx, DeploySpec{ItemID: s.LibraryItemID, Name: name, FolderID: s.FolderID, PoolID: s.PoolID, Network: s.Network})
	if err != nil {
		return id, err
	}
	vm, err := c.GetVM(ctx, id)
	if err != nil {
		return id, fmt.Errorf("reading %s after the deploy: %w", s.Name, err)
	}
	if _, err := c.finishVM(ctx, vm, s, true); err != nil {
		return id, fmt.Errorf("finishing %s after the deploy: %w", s.Name, err)
	}
	return id, nil
}

// customize applies guest customization to a powered-off VM.
func (c *Client) customize(ctx context.Context, id string, cu *Customization) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.APITimeout)
	defer cancel()
	defer c.vmChanged(id)
	task, err := object.NewVirtualMachine(c.vim, types.ManagedObjectReference{Type: "VirtualMachine", Value: id}).Customize(ctx, *cu.toVim())
	if err == nil {
		_, err = c.waitTask(ctx, task)
	}
	if err != nil {
		return fmt.Errorf("customizing the guest of %s: %w", id, err)
	}
	return nil
}

// cloneTemplate is what the clones of one template onto one network need from vCenter: the
// capacity of the template's first disk and the device edit that puts its first NIC on the
// network. It is read once per client and shared by the clones of an apply (the edit is only
// ever serialized, never changed), instead of costing each clone a read of the template's
// devices and of the network's backing.
type cloneTemplate struct {
	diskKB   int64                             // 0: the template has no disk
	nic      types.BaseVirtualDeviceConfigSpec // nil: keep the template's network
	firmware string                            // config.firmware: bios or efi
}

func (c *Client) cloneBase(ctx context.Context, templateID, network string) (*cloneTemplate, error) {
	var backing types.BaseVirtualDeviceBackingInfo
	if network != "" {
		var err error
		if backing, err = c.networkBacking(ctx, network); err != nil {
			return nil, err
		}
	}
	v, err := c.lookup(ctx, "clone:"+templateID+"\x00"+network, func(*find.Finder) (any, error) {
		tmpl := object.NewVirtualMachine(c.vim, types.ManagedObjectReference{Type: "VirtualMachine", Value: templateID})
		var t mo.VirtualMachine
		if err := tmpl.Properties(ctx, tmpl.Reference(), []string{"config.hardware.device", propFirmware}, &t); err != nil || t.Config == nil {
			if err == nil {
				err = fmt.Errorf("vCenter returned no configuration")
			}
			return nil, wrapNotFound("template", templateID, fmt.Errorf("reading the template's devices: %w", err))
		}
		devices := object.VirtualDeviceList(t.Config.Hardware.Device)
		base := &cloneTemplate{diskKB: firstDiskKB(devices), firmware: t.Config.Firmware}
		if nic := firstNIC(devices); nic != nil && backing != nil {
			nic.GetVirtualEthernetCard().Backing = backing
			base.nic = &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationEdit, Device: nic.(types.BaseVirtualDevice)}
		}
		return base, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*cloneTemplate), nil
}

// networkBacking is the NIC backing that attaches to a network (name or path), read once per
// client. The value is shared: callers put it in device edits that are only serialized.
func (c *Client) networkBacking(ctx context.Context, network string) (types.BaseVirtualDeviceBackingInfo, error) {
	net, err := c.ResolveNetwork(ctx, network)
	if err != nil {
		return nil, err
	}
	v, err := c.lookup(ctx, "backing:"+network, func(*find.Finder) (any, error) {
		b, err := net.EthernetCardBackingInfo(ctx)
		if err != nil {
			return nil, fmt.Errorf("network %s: %w", network, err)
		}
		return b, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(types.BaseVirtualDeviceBackingInfo), nil
}

func firstDiskKB(devices object.VirtualDeviceList) int64 {
	if disks := devices.SelectByType((*types.VirtualDisk)(nil)); len(disks) > 0 {
		return disks[0].(*types.VirtualDisk).CapacityInKB
	}
	return 0
}

func firstNIC(devices object.VirtualDeviceList) types.BaseVirtualEthernetCard {
	if nics := devices.SelectByType((*types.VirtualEthernetCard)(nil)); len(nics) > 0 {
		return nics[0].(types.BaseVirtualEthernetCard)
	}
	return nil
}

func extraConfig(m map[string]string) []types.BaseOptionValue {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]types.BaseOptionValue, 0, len(keys))
	for _, k := range keys {
		out = append(out, &types.OptionValue{Key: k, Value: m[k]})
	}
	return out
}

func (cu *Customization) toVim() *types.CustomizationSpec {
	ip := types.CustomizationAdapterMapping{Adapter: types.CustomizationIPSettings{DnsServerList: cu.DNSServers}}
	if cu.IPv4 == "" {
		ip.Adapter.Ip = &types.CustomizationDhcpIpGenerator{}
	} else {
		addr, mask := splitCIDR(cu.IPv4)
		ip.Adapter.Ip = &types.CustomizationFixedIp{IpAddress: addr}
		ip.Adapter.SubnetMask = mask
		if cu.Gateway != "" {
			ip.Adapter.Gateway = []string{cu.Gateway}
		}
	}
	host := cu.Hostname
	return &types.CustomizationSpec{
		Identity: &types.CustomizationLinuxPrep{
			HostName: &types.CustomizationFixedName{Name: host},
			Domain:   cu.Domain,
		},
		GlobalIPSettings: types.CustomizationGlobalIPSettings{DnsServerList: cu.DNSServers, DnsSuffixList: cu.DNSSuffix},
		NicSettingMap:    []types.CustomizationAdapterMapping{ip},
	}
}

// ReconfigSpec changes a VM in place. Zero values leave a setting alone.
type ReconfigSpec struct {
	Name        string
	CPUs        int32
	MemoryMB    int64
	DiskGB      int64  // grow the first disk to this size
	Network     string // attach the first NIC to this network (name or path)
	ExtraConfig map[string]string
	// Flags sets configuration flags, as CloneSpec.Flags does; EFI says the VM's firmware is
	// EFI (secure boot is set only then).
	Flags Remediation
	EFI   bool
}

// ReconfigureVM applies a ReconfigSpec.
func (c *Client) ReconfigureVM(ctx context.Context, id string, s ReconfigSpec) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.APITimeout)
	defer cancel()
	defer c.vmChanged(id)
	vm := object.NewVirtualMachine(c.vim, types.ManagedObjectReference{Type: "VirtualMachine", Value: id})
	spec := types.VirtualMachineConfigSpec{Name: s.Name, NumCPUs: s.CPUs, MemoryMB: s.MemoryMB, ExtraConfig: extraConfig(s.ExtraConfig)}
	s.Flags.setFlags(&spec, s.EFI)
	if s.DiskGB > 0 || s.Network != "" {
		devices, err := vm.Device(ctx)
		if err != nil {
			return wrapNotFound("virtual machine", id, fmt.Errorf("reading the devices of %s: %w", id, err))
		}
		if disks := devices.SelectByType((*types.VirtualDisk)(nil)); s.DiskGB > 0 && len(disks) > 0 {
			disk := disks[0].(*types.VirtualDisk)
			want := s.DiskGB * 1024 * 1024
			if want < disk.CapacityInKB {
				return fmt.Errorf("disk of %s cannot shrink from %d GB to %d GB", id, disk.CapacityInKB/1024/1024, s.DiskGB)
			}
			if want > disk.CapacityInKB {
				disk.CapacityInKB = want
				spec.DeviceChange = append(spec.DeviceChange, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationEdit, Device: disk})
			}
		}
		if nic := firstNIC(devices); nic != nil && s.Network != "" {
			backing, err := c.networkBacking(ctx, s.Network)
			if err != nil {
				return err
			}
			nic.GetVirtualEthernetCard().Backing = backing
			spec.DeviceChange = append(spec.DeviceChange, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationEdit, Device: nic.(types.BaseVirtualDevice)})
		}
	}
	task, err := vm.Reconfigure(ctx, spec)
	if err == nil {
		_, err = c.waitTask(ctx, task)
	}
	if err != nil {
		return wrapNotFound("virtual machine", id, fmt.Errorf("reconfiguring %s: %w", id, err))
	}
	return nil
}

// SetPower powers a VM on or off (a no-op when it already is).
func (c *Client) SetPower(ctx context.Context, id string, on bool) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.APITimeout)
	defer cancel()
	defer c.vmChanged(id)
	vm := object.NewVirtualMachine(c.vim, types.ManagedObjectReference{Type: "VirtualMachine", Value: id})
	state, err := vm.PowerState(ctx)
	if err != nil {
		return wrapNotFound("virtual machine", id, err)
	}
	var task *object.Task
	switch {
	case on && state != types.VirtualMachinePowerStatePoweredOn:
		task, err = vm.PowerOn(ctx)
	case !on && state == types.VirtualMachinePowerStatePoweredOn:
		task, err = vm.PowerOff(ctx)
	default:
		return nil
	}
	if err == nil {
		_, err = c.waitTask(ctx, task)
	}
	if err != nil {
		return fmt.Errorf("powering %s %s: %w", id, map[bool]string{true: "on", false: "off"}[on], err)
	}
	return nil
}

// DestroyVM powers a VM off and destroys it. A VM that is already gone is not an error.
func (c *Client) DestroyVM(ctx context.Context, id string) error {
	if err := c.SetPower(ctx, id, false); err != nil {
		if IsNotFound(err) {
			return nil
		}
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.APITimeout)
	defer cancel()
	defer c.vmChanged(id)
	task, err := object.NewVirtualMachine(c.vim, types.ManagedObjectReference{Type: "VirtualMachine", Value: id}).Destroy(ctx)
	if err == nil {
		_, err = c.waitTask(ctx, task)
	}
	if err != nil && !IsNotFound(err) {
		return fmt.Errorf("destroying %s: %w", id, err)
	}
	return nil
}

func splitCIDR(s string) (addr, mask string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			var bits int
			_, _ = fmt.Sscanf(s[i+1:], "%d", &bits)
			m := uint32(0xffffffff) << (32 - uint(bits))
			if bits <= 0 {
				m = 0
			}
			return s[:i], fmt.Sprintf("%d.%d.%d.%d", m>>24, m>>16&0xff, m>>8&0xff, m&0xff)
		}
	}
	return s, "255.255.255.0"
}

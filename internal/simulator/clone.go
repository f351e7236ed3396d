package simulator

import (
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// cloneFirmware makes CloneVM_Task keep the source's firmware and boot options (secure boot among
// them), and apply the clone spec's flags, as vCenter does. vcsim builds the clone from a fresh
// config spec that carries the source's hardware version but neither its firmware nor its boot
// options, and applies only the extraConfig, UUIDs, CPU count and memory of the clone spec: the
// clone of a UEFI template is a BIOS VM on which secure boot cannot be set, and a catalog VM born
// with its baseline's flags (CPU and memory hot add, logging, vMotion and FT encryption) would lose
// them.
//
// vcsim builds the clone inside its own task, out of reach of a method handler, and names the VM
// only after putting it into the inventory. So the registry Handler notes, for each clone request
// vcsim will carry out, what the new VM must carry, by folder and name; and a RegisterObject
// handler gives it to the VM that vcsim puts into that folder with that name's directory, which it
// does with the VM's default (BIOS) configuration, before it applies the clone's spec (which sets
// neither field) and before the clone task completes. One task, as vCenter shows it.
func cloneFirmware(model *simulator.Model) {
	m := model.Map()
	c := &cloneFixer{self: types.ManagedObjectReference{Type: "VmgmtCloneFixer", Value: "clone-fixer"}, pending: map[cloneKey]cloneBoot{}}
	m.AddHandler(c)
	beforeCalls(m, func(ctx *simulator.Context, method *simulator.Method) types.BaseMethodFault {
		c.note(ctx, method)
		return nil
	})
}

// cloneKey names a VM that a clone request will create: its folder and name.
type cloneKey struct {
	folder types.ManagedObjectReference
	name   string
}

// cloneBoot is what a clone must carry that vcsim drops.
type cloneBoot struct {
	firmware string
	boot     *types.VirtualMachineBootOptions
	// flags: the clone spec's, applied over the source's configuration.
	cpuHotAdd, memoryHotAdd, logging *bool
	migrateEncryption, ftEncryption  string
}

// cloneFixer gives new clones what cloneFirmware noted for them.
type cloneFixer struct {
	self    types.ManagedObjectReference
	mu      sync.Mutex
	pending map[cloneKey]cloneBoot
}

// note notes a CloneVM_Task request that vcsim will carry out: the source's firmware and boot
// options, or the clone spec's own where it sets them. A request vcsim refuses up front (no pool,
// a name taken in the folder) is not noted. A clone that fails later, before vcsim makes its VM,
// leaves its note for the next VM made under that name in that folder (the next clone of that
// name replaces it).
func (c *cloneFixer) note(ctx *simulator.Context, method *simulator.Method) {
	req, ok := method.Body.(*types.CloneVM_Task)
	if !ok {
		return
	}
	src, ok := ctx.Map.Get(method.This).(*simulator.VirtualMachine)
	if !ok {
		return
	}
	folder, ok := ctx.Map.Get(req.Folder).(*simulator.Folder)
	if !ok {
		return
	}
	var boot cloneBoot
	refused := false
	ctx.WithLock(src, func() {
		refused = src.Config == nil || req.Spec.Location.Pool == nil && (src.Config.Template || src.ResourcePool == nil)
		if !refused {
			boot = cloneBoot{firmware: src.Config.Firmware, boot: copyBootOptions(src.Config.BootOptions)}
		}
	})
	ctx.WithLock(folder, func() {
		refused = refused || ctx.Map.FindByName(req.Name, folder.ChildEntity) != nil
	})
	if refused {
		return
	}
	if spec := req.Spec.Config; spec != nil {
		if spec.Firmware != "" {
			boot.firmware = spec.Firmware
		}
		if spec.BootOptions != nil {
			boot.boot = copyBootOptions(spec.BootOptions)
		}
		boot.cpuHotAdd, boot.memoryHotAdd = spec.CpuHotAddEnabled, spec.MemoryHotAddEnabled
		if spec.Flags != nil {
			boot.logging = spec.Flags.EnableLogging
		}
		boot.migrateEncryption, boot.ftEncryption = spec.MigrateEncryption, spec.FtEncryptionMode
	}
	c.mu.Lock()
	c.pending[cloneKey{folder: req.Folder, name: req.Name}] = boot
	c.mu.Unlock()
}

// take removes and returns the note for a folder and name.
func (c *cloneFixer) take(key cloneKey) (cloneBoot, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	boot, ok := c.pending[key]
	delete(c.pending, key)
	return boot, ok
}

// renamedDir is the suffix vcsim gives a VM's directory when one of that name exists already.
var renamedDir = regexp.MustCompile(` \([0-9]+\)$`)

// PutObject gives a new VM the firmware and boot options noted for its clone request. vcsim puts
// the VM into its folder before naming it, but after making its directory, named after the VM
// ("name", or "name (1)" when taken): that directory names the request.
func (c *cloneFixer) PutObject(_ *simulator.Context, obj mo.Reference) {
	vm, ok := obj.(*simulator.VirtualMachine)
	if !ok || vm.Parent == nil || vm.Config == nil || vm.Config.Files.LogDirectory == "" {
		return
	}
	dir := vm.Config.Files.LogDirectory // "[datastore] directory"
	if i := strings.Index(dir, "] "); i >= 0 {
		dir = dir[i+2:]
	}
	dir = path.Base(dir)
	boot, ok := c.take(cloneKey{folder: *vm.Parent, name: dir})
	if !ok {
		if boot, ok = c.take(cloneKey{folder: *vm.Parent, name: renamedDir.ReplaceAllString(dir, "")}); !ok {
			return
		}
	}
	if boot.firmware != "" {
		vm.Config.Firmware = boot.firmware
	}
	if boot.boot != nil {
		vm.Config.BootOptions = boot.boot
	}
	cfg := vm.Config
	if boot.cpuHotAdd != nil {
		cfg.CpuHotAddEnabled = boot.cpuHotAdd
	}
	if boot.memoryHotAdd != nil {
		cfg.MemoryHotAddEnabled = boot.memoryHotAdd
	}
	if boot.logging != nil {
		cfg.Flags.EnableLogging = boot.logging
	}
	if boot.migrateEncryption != "" {
		cfg.MigrateEncryption = boot.migrateEncryption
	}
	if boot.ftEncryption != "" {
		cfg.FtEncryptionMode = boot.ftEncryption
	}
}

// Reference names the handler in the registry's handler list.
func (c *cloneFixer) Reference() types.ManagedObjectReference { return c.self }

// UpdateObject is part of simulator.RegisterObject; property updates need nothing here.
func (c *cloneFixer) UpdateObject(*simulator.Context, mo.Reference, []types.PropertyChange) {}

// RemoveObject is part of simulator.RegisterObject; removals need nothing here.
func (c *cloneFixer) RemoveObject(*simulator.Context, types.ManagedObjectReference) {}

// copyBootOptions copies boot options, so that the clone shares no flag with its source.
func copyBootOptions(b *types.VirtualMachineBootOptions) *types.VirtualMachineBootOptions {
	if b == nil {
		return nil
	}
	out := *b
	copyBool := func(p *bool) *bool {
		if p == nil {
			return nil
		}
		v := *p
		return &v
	}
	out.EnterBIOSSetup = copyBool(b.EnterBIOSSetup)
	out.EfiSecureBootEnabled = copyBool(b.EfiSecureBootEnabled)
	out.BootRetryEnabled = copyBool(b.BootRetryEnabled)
	out.BootOrder = append([]types.BaseVirtualMachineBootOptionsBootableDevice(nil), b.BootOrder...)
	return &out
}

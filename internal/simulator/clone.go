package simulator

import (
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// keepCloneFlags fixes a vcsim gap: a clone applies only the extraConfig, UUIDs, CPU count and
// memory of its spec's ConfigSpec, where vCenter applies all of it. Catalog VMs are born with their
// baseline's flags in that ConfigSpec (secure boot, CPU and memory hot add, logging, vMotion and
// FT encryption), so the simulator must keep them. The registry Handler notes the flags of each
// CloneVM_Task by destination (folder and name); vcsim names the new VM last, through a property
// update, and a registry handler then sets the noted flags on it, before the clone task ends.
// Nothing is wrapped, so vcsim's own type checks on *VirtualMachine keep working. It runs before
// the handler already installed, if any.
func keepCloneFlags(model *simulator.Model) {
	m := model.Map()
	pending := &cloneFlags{Self: types.ManagedObjectReference{Type: "vmgmtCloneFlags", Value: "clone-flags"}, byDest: map[string]types.VirtualMachineConfigSpec{}}
	m.AddHandler(pending)
	next := m.Handler
	m.Handler = func(ctx *simulator.Context, method *simulator.Method) (mo.Reference, types.BaseMethodFault) {
		if req, ok := method.Body.(*types.CloneVM_Task); ok && method.Name == "CloneVM_Task" && hasFlags(req.Spec.Config) {
			pending.note(req.Folder.Value+"/"+req.Name, *req.Spec.Config)
		}
		if next != nil {
			return next(ctx, method)
		}
		return nil, nil
	}
}

// cloneFlags holds the flags of the clones in flight, by destination folder ID + "/" + name.
type cloneFlags struct {
	Self   types.ManagedObjectReference
	mu     sync.Mutex
	byDest map[string]types.VirtualMachineConfigSpec
}

func hasFlags(s *types.VirtualMachineConfigSpec) bool {
	return s != nil && (s.BootOptions != nil || s.CpuHotAddEnabled != nil || s.MemoryHotAddEnabled != nil ||
		s.Flags != nil || s.MigrateEncryption != "" || s.FtEncryptionMode != "")
}

func (p *cloneFlags) note(dest string, s types.VirtualMachineConfigSpec) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.byDest[dest] = s
}

func (p *cloneFlags) take(dest string) (types.VirtualMachineConfigSpec, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.byDest[dest]
	delete(p.byDest, dest)
	return s, ok
}

// Reference implements simulator.RegisterObject.
func (p *cloneFlags) Reference() types.ManagedObjectReference { return p.Self }

// PutObject implements simulator.RegisterObject.
func (p *cloneFlags) PutObject(*simulator.Context, mo.Reference) {}

// RemoveObject implements simulator.RegisterObject.
func (p *cloneFlags) RemoveObject(*simulator.Context, types.ManagedObjectReference) {}

// UpdateObject sets the noted flags on a VM when it is named into a clone's destination.
func (p *cloneFlags) UpdateObject(_ *simulator.Context, obj mo.Reference, changes []types.PropertyChange) {
	vm, ok := obj.(*mo.VirtualMachine)
	if !ok || vm.Parent == nil || vm.Config == nil || !named(changes) {
		return
	}
	s, ok := p.take(vm.Parent.Value + "/" + vm.Name)
	if !ok {
		return
	}
	c := vm.Config
	if s.BootOptions != nil && s.BootOptions.EfiSecureBootEnabled != nil {
		if c.BootOptions == nil {
			c.BootOptions = &types.VirtualMachineBootOptions{}
		}
		c.BootOptions.EfiSecureBootEnabled = s.BootOptions.EfiSecureBootEnabled
	}
	if s.CpuHotAddEnabled != nil {
		c.CpuHotAddEnabled = s.CpuHotAddEnabled
	}
	if s.MemoryHotAddEnabled != nil {
		c.MemoryHotAddEnabled = s.MemoryHotAddEnabled
	}
	if s.Flags != nil && s.Flags.EnableLogging != nil {
		c.Flags.EnableLogging = s.Flags.EnableLogging
	}
	if s.MigrateEncryption != "" {
		c.MigrateEncryption = s.MigrateEncryption
	}
	if s.FtEncryptionMode != "" {
		c.FtEncryptionMode = s.FtEncryptionMode
	}
}

func named(changes []types.PropertyChange) bool {
	for _, ch := range changes {
		if ch.Name == "name" {
			return true
		}
	}
	return false
}

package simulator

import (
	"slices"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// cloneFirmware makes CloneVM_Task keep the source's firmware and boot options (secure boot among
// them), as vCenter does. vcsim builds the clone from a fresh config spec that carries the source's
// hardware version but neither its firmware nor its boot options, and ignores those of the clone
// spec, so the clone of a UEFI template is a BIOS VM on which secure boot cannot be set.
//
// vcsim builds the clone inside its own task, where no method handler reaches, and a session's
// calls always go to the registry's object. So the registry Handler sends CloneVM_Task to a
// cloner, a managed object of ours: it runs vcsim's clone as a subtask of its own task, then gives
// the new VM the firmware and boot options before its task completes, and so before the client
// can read the clone.
func cloneFirmware(model *simulator.Model) {
	m := model.Map()
	c := &cloner{Self: types.ManagedObjectReference{Type: "VmgmtCloner", Value: "cloner"}}
	m.Put(c)
	next := m.Handler
	m.Handler = func(ctx *simulator.Context, method *simulator.Method) (mo.Reference, types.BaseMethodFault) {
		if method.Name == "CloneVM_Task" {
			if vm, ok := ctx.Map.Get(method.This).(*simulator.VirtualMachine); ok && !slices.Contains(vm.DisabledMethod, "CloneVMTask") {
				method.This = c.Self
			}
		}
		if next != nil {
			return next(ctx, method)
		}
		return nil, nil
	}
}

// cloner carries out CloneVM_Task for the VM named in the request (req.This).
type cloner struct {
	Self types.ManagedObjectReference
}

// Reference names the cloner in the registry.
func (c *cloner) Reference() types.ManagedObjectReference { return c.Self }

// CloneVMTask clones as vcsim does, then gives the clone the source's firmware and boot options,
// or the clone spec's own where it sets them. Its task is the source's, as vcsim's is.
func (c *cloner) CloneVMTask(ctx *simulator.Context, req *types.CloneVM_Task) soap.HasFault {
	src, ok := ctx.Map.Get(req.This).(*simulator.VirtualMachine)
	if !ok {
		return &methods.CloneVM_TaskBody{Fault_: simulator.Fault("", &types.ManagedObjectNotFound{Obj: req.This})}
	}
	task := simulator.CreateTask(src, "cloneVm", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		// The task holds the source's lock, as vcsim's own clone task does.
		firmware, boot := src.Config.Firmware, copyBootOptions(src.Config.BootOptions)
		if spec := req.Spec.Config; spec != nil {
			if spec.Firmware != "" {
				firmware = spec.Firmware
			}
			if spec.BootOptions != nil {
				boot = copyBootOptions(spec.BootOptions)
			}
		}
		body, ok := src.CloneVMTask(ctx, req).(*methods.CloneVM_TaskBody)
		if !ok || body.Res == nil {
			if ok && body.Fault_ != nil {
				if f, isFault := body.Fault_.Detail.Fault.(types.BaseMethodFault); isFault {
					return nil, f
				}
			}
			return nil, &types.RuntimeFault{}
		}
		sub, ok := ctx.Map.Get(body.Res.Returnval).(*simulator.Task)
		if !ok {
			return nil, &types.RuntimeFault{}
		}
		sub.Wait()
		if sub.Info.Error != nil {
			return nil, sub.Info.Error.Fault
		}
		ref, ok := sub.Info.Result.(types.ManagedObjectReference)
		if !ok {
			return nil, &types.RuntimeFault{}
		}
		if clone, ok := ctx.Map.Get(ref).(*simulator.VirtualMachine); ok {
			changes := []types.PropertyChange{{Name: "config.firmware", Val: firmware}}
			if boot != nil {
				changes = append(changes, types.PropertyChange{Name: "config.bootOptions", Val: boot})
			}
			ctx.WithLock(clone, func() { ctx.Update(clone, changes) })
		}
		return ref, nil
	})
	return &methods.CloneVM_TaskBody{Res: &types.CloneVM_TaskResponse{Returnval: task.Run(ctx)}}
}

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
	out.BootOrder = slices.Clone(b.BootOrder)
	return &out
}

package vsphere

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"time"

	"github.com/vmware/govmomi/event"
	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// CreateVM makes the VM a CloneSpec describes, crash-safe when the spec carries a Request (see
// create.go): a VM of that name in that folder made by an interrupted create of the same request
// is adopted and finished; a clone of it still running in vCenter is waited for; a VM of that
// name that vmgmt did not make for this request is a ForeignObjectError. Once a VM exists, errors
// return its ID too, so the caller records it.
func (c *Client) CreateVM(ctx context.Context, s CloneSpec) (Created, error) {
	if s.Request.IsZero() {
		id, err := c.CloneVM(ctx, s)
		return Created{ID: id}, err
	}
	stamps := make(map[string]string, len(s.ExtraConfig)+1)
	for k, v := range s.ExtraConfig {
		stamps[k] = v
	}
	stamps[StampRequest] = s.Request.Token
	s.ExtraConfig = stamps

	if vm, err := c.createdVM(ctx, s, false); vm != nil || err != nil {
		return c.adoptVM(ctx, vm, s, err)
	}
	if s.TemplateID != "" {
		waited, err := c.waitForeignClone(ctx, s)
		if err != nil {
			return Created{}, err
		}
		if waited {
			if vm, err := c.createdVM(ctx, s, true); vm != nil || err != nil {
				return c.adoptVM(ctx, vm, s, err)
			}
		}
	}
	id, err := c.CloneVM(ctx, s)
	if err != nil && id == "" && IsNameConflict(err) {
		// Made meanwhile (a clone of the interrupted apply that finished just now), or not ours.
		if vm, ferr := c.createdVM(ctx, s, true); vm != nil || ferr != nil {
			return c.adoptVM(ctx, vm, s, ferr)
		}
	}
	return Created{ID: id}, err
}

// IsNameConflict reports whether a create or rename failed because the name is taken where the
// object was to go (vCenter's DuplicateName, AlreadyExists for a role, or a library deploy's
// conflict).
func IsNameConflict(err error) bool {
	var taken *NameConflictError
	return fault.Is(err, &types.DuplicateName{}) || fault.Is(err, &types.AlreadyExists{}) || errors.As(err, &taken)
}

// createdVM finds the VM a create request may already have made: in the request's folder, under
// its real name or its pending name. It returns nil when there is none, and a ForeignObjectError
// when the name is held by a VM not made for this request. With fresh, the VM snapshot is read
// again first.
func (c *Client) createdVM(ctx context.Context, s CloneSpec, fresh bool) (*VM, error) {
	var vms map[string]*VM
	var err error
	if fresh {
		c.InvalidateVMs()
		vms, err = c.VMs(ctx)
	} else {
		vms, err = c.loadedVMs(ctx)
	}
	if err != nil {
		return nil, err
	}
	var pending *VM
	for _, vm := range vms {
		if vm.FolderID != s.FolderID {
			continue
		}
		switch vm.Name {
		case s.Name:
			if vm.ExtraConfig[StampRequest] != s.Request.Token {
				return nil, &ForeignObjectError{Kind: "virtual machine", Name: s.Name, ID: vm.ID, Path: vm.Path, Stamped: vm.ExtraConfig[StampRequest] != ""}
			}
			return vm, nil
		case s.Request.PendingName():
			pending = vm
		}
	}
	return pending, nil
}

// loadedVMs is the VM snapshot as last read, without reading again the VMs this client wrote
// since (VMs does): enough to find what an earlier process made, which this client's own writes
// cannot have changed, and no round trip while the parallel creates of an apply keep marking VMs.
func (c *Client) loadedVMs(ctx context.Context) (map[string]*VM, error) {
	c.vms.mu.Lock()
	m, fresh := c.vms.byID, !c.vms.at.IsZero() && time.Since(c.vms.at) < VMSnapshotMaxAge
	c.vms.mu.Unlock()
	if m != nil && fresh {
		return m, nil
	}
	return c.VMs(ctx)
}

func (c *Client) adoptVM(ctx context.Context, vm *VM, s CloneSpec, err error) (Created, error) {
	if err != nil {
		return Created{}, err
	}
	done, err := c.finishVM(ctx, vm, s, false)
	return Created{ID: vm.ID, Adopted: true, Finished: done}, err
}

// finishVM brings a VM made for a CloneSpec to what the spec asks, doing only what is missing:
// size, disk, network, stamps (an existing value of a key in s.Preserve is kept), guest
// customization of a deployed VM (deployed just now, or still under its pending name), its real
// name, and power. It returns what it did, for the adoption warning.
func (c *Client) finishVM(ctx context.Context, vm *VM, s CloneSpec, deployed bool) ([]string, error) {
	spec, done := missingConfig(vm, s)
	pending := vm.Name != s.Name
	// A clone was customized by the clone call itself; a deploy is customized before it gets its
	// real name, so a VM still under its pending name may not be.
	customize := s.Customization != nil && s.LibraryItemID != "" && (pending || deployed)
	if pending && !customize {
		spec.Name = s.Name
	}
	if s.LibraryItemID != "" && (pending || deployed) && s.Flags.hasFlags() {
		// A deploy takes no ConfigSpec flags: they go in the reconfigure that finishes it (a
		// clone had them in its own spec).
		efi, err := c.efiFirmware(ctx, vm.ID, s.Flags)
		if err != nil {
			return done, err
		}
		spec.Flags, spec.EFI = s.Flags, efi
		done = append(done, "configuration flags")
	}
	on := vm.PowerState == PoweredOn
	if !spec.isZero() {
		if on && (spec.CPUs != 0 || spec.MemoryMB != 0) {
			// A VM of an interrupted create was never handed over: resizing it needs no consent.
			if err := c.SetPower(ctx, vm.ID, false); err != nil {
				return done, err
			}
			on = false
		}
		if err := c.ReconfigureVM(ctx, vm.ID, spec); err != nil {
			return done, fmt.Errorf("finishing %s: %w", s.Name, err)
		}
	}
	if customize {
		if err := c.customizeAndName(ctx, vm.ID, s, pending); err != nil {
			return done, err
		}
		done = append(done, "guest customization")
	}
	if pending {
		done = append(done, "renamed from "+vm.Name)
	}
	if s.PowerOn && !on {
		if err := c.SetPower(ctx, vm.ID, true); err != nil {
			return done, err
		}
		if vm.PowerState != PoweredOn {
			done = append(done, "powered on")
		}
	}
	return done, nil
}

// missingConfig is the reconfigure that brings a VM to the spec's size, disk, network and stamps
// (an existing value of a key in s.Preserve is kept), and what it changes, for the adoption
// warning.
func missingConfig(vm *VM, s CloneSpec) (ReconfigSpec, []string) {
	var done []string
	spec := ReconfigSpec{ExtraConfig: map[string]string{}}
	if s.CPUs > 0 && s.CPUs != vm.CPUs {
		spec.CPUs = s.CPUs
		done = append(done, fmt.Sprintf("%d vCPUs", s.CPUs))
	}
	if s.MemoryMB > 0 && s.MemoryMB != vm.MemoryMB {
		spec.MemoryMB = s.MemoryMB
		done = append(done, fmt.Sprintf("%d MB memory", s.MemoryMB))
	}
	if s.DiskGB > vm.DiskGB {
		spec.DiskGB = s.DiskGB
		done = append(done, fmt.Sprintf("disk grown to %d GB", s.DiskGB))
	}
	if s.Network != "" && !slices.Contains(vm.Networks, path.Base(s.Network)) {
		spec.Network = s.Network
		done = append(done, "network "+s.Network)
	}
	for k, v := range s.ExtraConfig {
		if have, ok := vm.ExtraConfig[k]; have != v && (!ok || have == "" || !slices.Contains(s.Preserve, k)) {
			spec.ExtraConfig[k] = v
		}
	}
	if len(spec.ExtraConfig) > 0 {
		done = append(done, "stamps")
	}
	return spec, done
}

// isZero reports whether a reconfigure would change nothing.
func (s ReconfigSpec) isZero() bool {
	return s.CPUs == 0 && s.MemoryMB == 0 && s.DiskGB == 0 && s.Network == "" && len(s.ExtraConfig) == 0 && s.Name == "" &&
		!s.Flags.hasFlags()
}

// efiFirmware reports whether a VM's firmware is EFI, reading it only when the flags ask for
// secure boot (the one flag that needs it).
func (c *Client) efiFirmware(ctx context.Context, id string, flags Remediation) (bool, error) {
	if flags.SecureBoot == nil {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.APITimeout)
	defer cancel()
	vm := object.NewVirtualMachine(c.vim, types.ManagedObjectReference{Type: "VirtualMachine", Value: id})
	var v mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{propFirmware}, &v); err != nil {
		return false, wrapNotFound("virtual machine", id, fmt.Errorf("reading the firmware of %s: %w", id, err))
	}
	return v.Config != nil && v.Config.Firmware == efiFirmware, nil
}

// customizeAndName customizes a deployed VM and, when it is still under its pending name, gives it
// its real name.
func (c *Client) customizeAndName(ctx context.Context, id string, s CloneSpec, pending bool) error {
	if err := c.customize(ctx, id, s.Customization); err != nil {
		return err
	}
	if !pending {
		return nil
	}
	if err := c.ReconfigureVM(ctx, id, ReconfigSpec{Name: s.Name}); err != nil {
		return fmt.Errorf("naming %s: %w", s.Name, err)
	}
	return nil
}

// foreignClones are the clone tasks of one template that were running or queued when this client
// first looked and that it did not start itself (an interrupted apply's), by destination
// (folder ID + "/" + VM name) as their VmBeingClonedEvent names it.
type foreignClones map[string][]types.ManagedObjectReference

// waitForeignClone waits for the clone tasks of another process that make the spec's VM, and
// reports whether there were any. Their outcome is not this create's: afterwards the VM is
// looked for again.
func (c *Client) waitForeignClone(ctx context.Context, s CloneSpec) (bool, error) {
	v, err := c.lookup(ctx, "clones in flight:"+s.TemplateID, func(*find.Finder) (any, error) {
		return c.readForeignClones(ctx, s.TemplateID)
	})
	if err != nil {
		return false, err
	}
	tasks := v.(foreignClones)[s.FolderID+"/"+s.Name]
	for _, ref := range tasks {
		// A failed clone made no VM: that is for the lookup that follows to find out.
		_, _ = c.waitTask(ctx, object.NewTask(c.vim, ref))
	}
	return len(tasks) > 0, nil
}

// readForeignClones reads the template's recent tasks with their state in one round trip and, when
// some clone is still running that this client did not start, the template's VmBeingClonedEvents
// (one more).
func (c *Client) readForeignClones(ctx context.Context, templateID string) (foreignClones, error) {
	tmpl := types.ManagedObjectReference{Type: "VirtualMachine", Value: templateID}
	spec := types.PropertyFilterSpec{
		ObjectSet: []types.ObjectSpec{{Obj: tmpl, Skip: types.NewBool(true), SelectSet: []types.BaseSelectionSpec{
			&types.TraversalSpec{Type: "VirtualMachine", Path: "recentTask", Skip: types.NewBool(false)},
		}}},
		PropSet: []types.PropertySpec{{Type: "Task", PathSet: []string{"info"}}},
	}
	content, err := mo.RetrievePropertiesEx(ctx, c.vim, types.RetrievePropertiesEx{This: c.vim.ServiceContent.PropertyCollector, SpecSet: []types.PropertyFilterSpec{spec}})
	if err != nil {
		return nil, wrapNotFound("template", templateID, fmt.Errorf("reading the recent tasks of the template: %w", err))
	}
	var running []types.TaskInfo
	var since time.Time
	for _, oc := range content {
		for _, p := range oc.PropSet {
			info, ok := p.Val.(types.TaskInfo)
			if !ok || !isCloneTask(info) || c.ownTask(info.Task) ||
				(info.State != types.TaskInfoStateRunning && info.State != types.TaskInfoStateQueued) {
				continue
			}
			running = append(running, info)
			if since.IsZero() || info.QueueTime.Before(since) {
				since = info.QueueTime
			}
		}
	}
	out := foreignClones{}
	if len(running) == 0 {
		return out, nil
	}
	begin := since.Add(-time.Minute) // the event is posted just before the task is queued
	events, err := event.NewManager(c.vim).QueryEvents(ctx, types.EventFilterSpec{
		Entity:      &types.EventFilterSpecByEntity{Entity: tmpl, Recursion: types.EventFilterSpecRecursionOptionSelf},
		EventTypeId: []string{"VmBeingClonedEvent"},
		Time:        &types.EventFilterSpecByTime{BeginTime: &begin},
	})
	if err != nil {
		return nil, fmt.Errorf("reading the clone events of the template: %w", err)
	}
	for _, e := range events {
		ev, ok := e.(*types.VmBeingClonedEvent)
		if !ok || ev.DestFolder.Folder.Value == "" {
			continue
		}
		dest := ev.DestFolder.Folder.Value + "/" + ev.DestName
		// vCenter chains the event to its task; a server that does not (vcsim) leaves every
		// running clone of the template as the candidate.
		var tasks []types.ManagedObjectReference
		for _, t := range running {
			if t.EventChainId != 0 && t.EventChainId == ev.ChainId {
				tasks = []types.ManagedObjectReference{t.Task}
				break
			}
			tasks = append(tasks, t.Task)
		}
		out[dest] = tasks
	}
	return out, nil
}

// isCloneTask tells a clone task by its description ID: VirtualMachine.clone in vCenter,
// VirtualMachine.cloneVm in vcsim.
func isCloneTask(info types.TaskInfo) bool {
	return info.DescriptionId == "VirtualMachine.clone" || info.DescriptionId == "VirtualMachine.cloneVm"
}

// noteOwnTask records a task this client started, so it is never taken for another process's.
func (c *Client) noteOwnTask(t *object.Task) { c.vms.tasks.Store(t.Reference().Value, true) }

func (c *Client) ownTask(ref types.ManagedObjectReference) bool {
	_, ok := c.vms.tasks.Load(ref.Value)
	return ok
}

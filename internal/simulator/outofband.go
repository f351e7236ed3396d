package simulator

import (
	"context"
	"fmt"
	"net/url"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/vim25/types"
)

// TagVM attaches (or, with detach, removes) a tag on a VM of the simulator at server, as an
// administrator would in the vSphere Client, outside Terraform: `make demo` uses it to show a VM
// joining a security group in the plan.
func TagVM(ctx context.Context, server, user, password, vmName, category, tag string, detach bool) error {
	c, vm, err := openVM(ctx, server, user, password, vmName)
	if err != nil {
		return err
	}
	defer func() { _ = c.Logout(ctx) }()
	rc := rest.NewClient(c.Client)
	if err := rc.Login(ctx, url.UserPassword(user, password)); err != nil {
		return fmt.Errorf("logging in to the vAPI endpoint: %w", err)
	}
	defer func() { _ = rc.Logout(ctx) }()
	m := tags.NewManager(rc)
	cat, err := m.GetCategory(ctx, category)
	if err != nil {
		return fmt.Errorf("tag category %s: %w", category, err)
	}
	t, err := m.GetTagForCategory(ctx, tag, cat.ID)
	if err != nil {
		return fmt.Errorf("tag %s/%s: %w", category, tag, err)
	}
	if detach {
		return m.DetachTag(ctx, t.ID, vm.Reference())
	}
	return m.AttachTag(ctx, t.ID, vm.Reference())
}

// SetExtraConfig sets one advanced setting (extraConfig key) on a VM of the simulator at server,
// as an administrator would outside Terraform, under the given user's session: `make demo` uses
// it to show drift from a baseline, attributed in the plan to who made it.
func SetExtraConfig(ctx context.Context, server, user, password, vmName, key, value string) error {
	c, vm, err := openVM(ctx, server, user, password, vmName)
	if err != nil {
		return err
	}
	defer func() { _ = c.Logout(ctx) }()
	task, err := vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: key, Value: value}}})
	if err != nil {
		return err
	}
	return task.Wait(ctx)
}

// openVM logs in to the simulator at server and finds a VM of its datacenter by name; log the
// client out when done.
func openVM(ctx context.Context, server, user, password, vmName string) (*govmomi.Client, *object.VirtualMachine, error) {
	u := &url.URL{Scheme: "https", Host: server, Path: "/sdk", User: url.UserPassword(user, password)}
	c, err := govmomi.NewClient(ctx, u, true)
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to %s: %w", server, err)
	}
	f := find.NewFinder(c.Client, true)
	dc, err := f.Datacenter(ctx, Datacenter)
	if err == nil {
		f.SetDatacenter(dc)
		var vm *object.VirtualMachine
		if vm, err = f.VirtualMachine(ctx, vmName); err == nil {
			return c, vm, nil
		}
	}
	_ = c.Logout(ctx)
	return nil, nil, err
}

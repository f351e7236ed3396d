package simulator

import (
	"context"
	"fmt"
	"net/url"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/tags"
)

// TagVM attaches (or, with detach, removes) a tag on a VM of the simulator at server, as an
// administrator would in the vSphere Client, outside Terraform: `make demo` uses it to show a VM
// joining a security group in the plan.
func TagVM(ctx context.Context, server, user, password, vmName, category, tag string, detach bool) error {
	u := &url.URL{Scheme: "https", Host: server, Path: "/sdk", User: url.UserPassword(user, password)}
	c, err := govmomi.NewClient(ctx, u, true)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", server, err)
	}
	defer func() { _ = c.Logout(ctx) }()
	f := find.NewFinder(c.Client, true)
	dc, err := f.Datacenter(ctx, Datacenter)
	if err != nil {
		return err
	}
	f.SetDatacenter(dc)
	vm, err := f.VirtualMachine(ctx, vmName)
	if err != nil {
		return err
	}
	rc := rest.NewClient(c.Client)
	if err := rc.Login(ctx, u.User); err != nil {
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

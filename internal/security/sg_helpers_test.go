package security_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// sgVC is a govmomi session to the test's simulator, for arranging and inspecting it as an
// administrator would outside Terraform.
type sgVC struct {
	t   *testing.T
	ctx context.Context
	c   *govmomi.Client
	tm  *tags.Manager
}

func sgConnect(t *testing.T, sim *acctest.Sim) *sgVC {
	t.Helper()
	ctx := context.Background()
	c, err := sim.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rc := rest.NewClient(c.Client)
	if err := rc.Login(ctx, simUser(sim)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rc.Logout(ctx); _ = c.Logout(ctx) })
	return &sgVC{t: t, ctx: ctx, c: c, tm: tags.NewManager(rc)}
}

func (v *sgVC) vm(name string) types.ManagedObjectReference {
	v.t.Helper()
	f := find.NewFinder(v.c.Client, true)
	dc, err := f.Datacenter(v.ctx, simulator.Datacenter)
	if err != nil {
		v.t.Fatal(err)
	}
	f.SetDatacenter(dc)
	vm, err := f.VirtualMachine(v.ctx, name)
	if err != nil {
		v.t.Fatal(err)
	}
	return vm.Reference()
}

func (v *sgVC) tag(vmName, category, tag string) {
	v.t.Helper()
	if err := v.tm.AttachTag(v.ctx, v.tagID(category, tag), v.vm(vmName)); err != nil {
		v.t.Fatal(err)
	}
}

func (v *sgVC) untag(vmName, category, tag string) {
	v.t.Helper()
	if err := v.tm.DetachTag(v.ctx, v.tagID(category, tag), v.vm(vmName)); err != nil {
		v.t.Fatal(err)
	}
}

func (v *sgVC) tagID(category, tag string) string {
	v.t.Helper()
	cat, err := v.tm.GetCategory(v.ctx, category)
	if err != nil {
		v.t.Fatal(err)
	}
	tg, err := v.tm.GetTagForCategory(v.ctx, tag, cat.ID)
	if err != nil {
		v.t.Fatal(err)
	}
	return tg.ID
}

func (v *sgVC) auth() *object.AuthorizationManager { return object.NewAuthorizationManager(v.c.Client) }

// permissions are the permissions defined on the VM itself, by principal.
func (v *sgVC) permissions(vmName string) map[string]types.Permission {
	v.t.Helper()
	perms, err := v.auth().RetrieveEntityPermissions(v.ctx, v.vm(vmName), false)
	if err != nil {
		v.t.Fatal(err)
	}
	out := map[string]types.Permission{}
	for _, p := range perms {
		out[p.Principal] = p
	}
	return out
}

// grantForeign sets a permission on the VM as someone else would, keeping the others (the
// simulator replaces the whole list).
func (v *sgVC) grantForeign(vmName, principal string, group bool, role string) {
	v.t.Helper()
	ref := v.vm(vmName)
	roles, err := v.auth().RoleList(v.ctx)
	if err != nil {
		v.t.Fatal(err)
	}
	r := roles.ByName(role)
	if r == nil {
		v.t.Fatalf("no role %s", role)
	}
	list := []types.Permission{{Entity: &ref, Principal: principal, Group: group, RoleId: r.RoleId, Propagate: true}}
	for p, perm := range v.permissions(vmName) {
		if p != principal {
			list = append(list, perm)
		}
	}
	if err := v.auth().SetEntityPermissions(v.ctx, ref, list); err != nil {
		v.t.Fatal(err)
	}
}

func (v *sgVC) role(name string) *types.AuthorizationRole {
	v.t.Helper()
	roles, err := v.auth().RoleList(v.ctx)
	if err != nil {
		v.t.Fatal(err)
	}
	return roles.ByName(name)
}

func simUser(sim *acctest.Sim) *url.Userinfo { return url.UserPassword(sim.User, sim.Password) }

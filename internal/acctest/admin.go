package acctest

import (
	"context"
	"net/url"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// Admin is an administrator's session to a test's simulator (SOAP and vAPI), for arranging and
// inspecting it as someone outside Terraform would: finding VMs, tagging them. It is logged out
// when the test ends.
type Admin struct {
	T      testing.TB
	Ctx    context.Context
	Client *govmomi.Client
	Tags   *tags.Manager
}

// NewAdmin opens an administrator's session to the simulator.
func NewAdmin(t testing.TB, sim *Sim) *Admin {
	t.Helper()
	ctx := context.Background()
	c, err := sim.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rc := rest.NewClient(c.Client)
	if err := rc.Login(ctx, url.UserPassword(sim.User, sim.Password)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rc.Logout(ctx); _ = c.Logout(ctx) })
	return &Admin{T: t, Ctx: ctx, Client: c, Tags: tags.NewManager(rc)}
}

// VM is the reference of the seeded datacenter's VM of this name.
func (a *Admin) VM(name string) types.ManagedObjectReference {
	a.T.Helper()
	f := find.NewFinder(a.Client.Client, true)
	dc, err := f.Datacenter(a.Ctx, simulator.Datacenter)
	if err != nil {
		a.T.Fatal(err)
	}
	f.SetDatacenter(dc)
	vm, err := f.VirtualMachine(a.Ctx, name)
	if err != nil {
		a.T.Fatal(err)
	}
	return vm.Reference()
}

// TagID is the ID of an existing tag.
func (a *Admin) TagID(category, tag string) string {
	a.T.Helper()
	cat, err := a.Tags.GetCategory(a.Ctx, category)
	if err != nil {
		a.T.Fatal(err)
	}
	tg, err := a.Tags.GetTagForCategory(a.Ctx, tag, cat.ID)
	if err != nil {
		a.T.Fatal(err)
	}
	return tg.ID
}

// Tag attaches an existing tag to the VM (by name).
func (a *Admin) Tag(vmName, category, tag string) {
	a.T.Helper()
	if err := a.Tags.AttachTag(a.Ctx, a.TagID(category, tag), a.VM(vmName)); err != nil {
		a.T.Fatal(err)
	}
}

// Untag detaches the tag from the VM.
func (a *Admin) Untag(vmName, category, tag string) {
	a.T.Helper()
	if err := a.Tags.DetachTag(a.Ctx, a.TagID(category, tag), a.VM(vmName)); err != nil {
		a.T.Fatal(err)
	}
}

// CreateTag makes a tag, and its category when missing, as the catalog would.
func (a *Admin) CreateTag(category, tag string) {
	a.T.Helper()
	catID := ""
	if cat, err := a.Tags.GetCategory(a.Ctx, category); err == nil {
		catID = cat.ID
	} else if catID, err = a.Tags.CreateCategory(a.Ctx, &tags.Category{Name: category, Cardinality: "MULTIPLE"}); err != nil {
		a.T.Fatal(err)
	}
	if _, err := a.Tags.CreateTag(a.Ctx, &tags.Tag{Name: tag, CategoryID: catID}); err != nil {
		a.T.Fatal(err)
	}
}

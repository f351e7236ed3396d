package vsphere

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// Privileges every custom role in these tests is made of (both exist in vcsim's Admin role).
var (
	privPowerOn = "VirtualMachine.Interact.PowerOn"
	privConsole = "VirtualMachine.Interact.ConsoleInteract"
	privSnap    = "VirtualMachine.State.CreateSnapshot"
)

// workloadID is the managed object ID of a seeded workload VM.
func workloadID(tb testing.TB, sim *simulator.Sim, name string) string {
	tb.Helper()
	ctx := context.Background()
	gc, err := sim.Connect(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = gc.Logout(ctx) }()
	vm, err := find.NewFinder(gc.Client, false).VirtualMachine(ctx, "/dc1/vm/"+simulator.WorkloadFolder+"/"+name)
	if err != nil {
		tb.Fatal(err)
	}
	return vm.Reference().Value
}

// setForeign writes the entity's whole permission list as another tool would, behind vmgmt's back.
func setForeign(tb testing.TB, sim *simulator.Sim, ref ObjectRef, perms ...Permission) {
	tb.Helper()
	ctx := context.Background()
	gc, err := sim.Connect(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = gc.Logout(ctx) }()
	list := make([]types.Permission, len(perms))
	for i, p := range perms {
		p.Entity = ref
		list[i] = p.vim()
	}
	if err := object.NewAuthorizationManager(gc.Client).SetEntityPermissions(ctx, ref.mor(), list); err != nil {
		tb.Fatalf("SetEntityPermissions(%s): %v", ref.ID, err)
	}
}

func mustRole(tb testing.TB, c *Client, name string) Role {
	tb.Helper()
	r, err := c.RoleByName(context.Background(), name)
	if err != nil {
		tb.Fatalf("RoleByName(%s): %v", name, err)
	}
	return r
}

func hasAll(have []string, want ...string) bool {
	set := map[string]bool{}
	for _, h := range have {
		set[h] = true
	}
	for _, w := range want {
		if !set[w] {
			return false
		}
	}
	return true
}

// A role is created, read back by name with its privileges sorted, updated in place (same ID),
// and seen by Roles at once: this client's writes invalidate its cached role list.
func TestRoleLifecycle(t *testing.T) {
	sim := newSim(t)
	c := connect(t, sim)
	ctx := context.Background()

	// Warm the role cache first: the create must invalidate it.
	before, err := c.Roles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) == 0 {
		t.Fatal("Roles: no roles at all")
	}

	// Two roles: the simulator numbers custom roles from 0, so each must get its own ID back.
	first, err := c.CreateRole(ctx, "vt-first", []string{privSnap})
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.CreateRole(ctx, "vt-operators", []string{privPowerOn, privConsole})
	if err != nil {
		t.Fatal(err)
	}
	if id == first {
		t.Fatalf("CreateRole returned ID %d for two different roles", id)
	}
	roles, err := c.Roles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var listed *Role
	for i := range roles {
		if roles[i].Name == "vt-operators" {
			listed = &roles[i]
		}
	}
	if listed == nil {
		t.Fatal("Roles right after CreateRole does not list the new role (stale cache)")
	}
	if listed.ID != id {
		t.Errorf("Roles lists vt-operators with ID %d, CreateRole returned %d", listed.ID, id)
	}

	r := mustRole(t, c, "vt-operators")
	if r.ID != id || r.System {
		t.Errorf("RoleByName = %+v, want ID %d, not system", r, id)
	}
	if !hasAll(r.Privileges, privPowerOn, privConsole) || hasAll(r.Privileges, privSnap) {
		t.Errorf("privileges %v: want %s and %s, not %s", r.Privileges, privPowerOn, privConsole, privSnap)
	}
	if !sort.StringsAreSorted(r.Privileges) {
		t.Errorf("privileges not sorted: %v", r.Privileges)
	}

	if err := c.UpdateRole(ctx, id, "vt-operators", []string{privPowerOn, privSnap}); err != nil {
		t.Fatal(err)
	}
	u := mustRole(t, c, "vt-operators")
	if u.ID != id {
		t.Errorf("after UpdateRole the role has ID %d, want %d (updated in place)", u.ID, id)
	}
	if !hasAll(u.Privileges, privPowerOn, privSnap) || hasAll(u.Privileges, privConsole) {
		t.Errorf("after UpdateRole privileges %v: want %s and %s, not %s", u.Privileges, privPowerOn, privSnap, privConsole)
	}
	if got, ok, err := c.RoleByID(ctx, id); err != nil || !ok || got.Name != "vt-operators" {
		t.Errorf("RoleByID(%d) = %+v, %v, %v", id, got, ok, err)
	}

	if _, err := c.CreateRole(ctx, "vt-operators", []string{privPowerOn}); err == nil {
		t.Error("CreateRole of a name already taken succeeded")
	}
}

// RemoveRole keeps a role a permission still uses (ErrRoleInUse), with the permission, and
// removes an unused one; a role already gone is no error.
func TestRemoveRole(t *testing.T) {
	sim := newSim(t)
	c := connect(t, sim)
	ctx := context.Background()
	used, err := c.CreateRole(ctx, "vt-used", []string{privPowerOn})
	if err != nil {
		t.Fatal(err)
	}
	unused, err := c.CreateRole(ctx, "vt-unused", []string{privPowerOn})
	if err != nil {
		t.Fatal(err)
	}
	vm := VMRef(workloadID(t, sim, "web01"))
	if err := c.SetPermission(ctx, Permission{Entity: vm, Principal: "root", RoleID: used}); err != nil {
		t.Fatal(err)
	}

	err = c.RemoveRole(ctx, used)
	if !errors.Is(err, ErrRoleInUse) {
		t.Fatalf("RemoveRole of a role in use: %v, want ErrRoleInUse", err)
	}
	if _, ok, err := c.RoleByID(ctx, used); err != nil || !ok {
		t.Errorf("the role in use is gone after RemoveRole (%v)", err)
	}
	perms, err := c.EntityPermissions(ctx, vm)
	if err != nil {
		t.Fatal(err)
	}
	if len(perms) != 1 || perms[0].RoleID != used || perms[0].Principal != "root" {
		t.Errorf("the permission using the role: %+v, want root's with role %d", perms, used)
	}

	if err := c.RemoveRole(ctx, unused); err != nil {
		t.Fatalf("RemoveRole of an unused role: %v", err)
	}
	if _, ok, err := c.RoleByID(ctx, unused); err != nil || ok {
		t.Errorf("the unused role is still there after RemoveRole (%v)", err)
	}
	if err := c.RemoveRole(ctx, unused); err != nil {
		t.Errorf("RemoveRole of a role already gone: %v", err)
	}
}

// A misspelt role name is a NotFoundError naming the nearest role.
func TestRoleByNameSuggests(t *testing.T) {
	c := connect(t, sharedSim(t))
	_, err := c.RoleByName(context.Background(), "ReadOnyl")
	if !IsNotFound(err) {
		t.Fatalf("RoleByName(ReadOnyl): %v, want a NotFoundError", err)
	}
	if !strings.Contains(err.Error(), `"ReadOnly"`) {
		t.Errorf("error %q does not name ReadOnly", err)
	}
}

// The privilege list comes from the AuthorizationManager (vcsim fills it only when
// internal/simulator seeds it).
func TestPrivileges(t *testing.T) {
	c := connect(t, sharedSim(t))
	privs, err := c.Privileges(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(privs) == 0 {
		t.Skip("the simulator's AuthorizationManager has an empty privilegeList (internal/simulator does not seed it on this branch)")
	}
	if !sort.StringsAreSorted(privs) {
		t.Error("privileges not sorted")
	}
	if !hasAll(privs, privPowerOn, "System.Read") {
		t.Errorf("privileges lack %s or System.Read: %d listed", privPowerOn, len(privs))
	}
}

func TestNormalizePrincipal(t *testing.T) {
	cases := []struct{ in, want, domain string }{
		{"alice@vsphere.local", `VSPHERE.LOCAL\alice`, "VSPHERE.LOCAL"},
		{`vsphere.local\alice`, `VSPHERE.LOCAL\alice`, "VSPHERE.LOCAL"},
		{`VSPHERE.LOCAL\alice`, `VSPHERE.LOCAL\alice`, "VSPHERE.LOCAL"},
		{" alice@corp.example ", `CORP.EXAMPLE\alice`, "CORP.EXAMPLE"},
		{"a@b@corp", `CORP\a@b`, "CORP"},
		{"root", "root", ""},
		{"@x", "@x", ""},
		{"x@", "x@", ""},
		{`\x`, `\x`, ""},
	}
	for _, tc := range cases {
		if got := NormalizePrincipal(tc.in); got != tc.want {
			t.Errorf("NormalizePrincipal(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := PrincipalDomain(tc.in); got != tc.domain {
			t.Errorf("PrincipalDomain(%q) = %q, want %q", tc.in, got, tc.domain)
		}
	}
	same := []struct {
		a, b string
		want bool
	}{
		{"alice@vsphere.local", `VSPHERE.LOCAL\alice`, true},
		{"Alice@vsphere.local", `vsphere.local\alice`, true},
		{"alice@vsphere.local", `CORP\alice`, false},
		{"alice", `VSPHERE.LOCAL\alice`, false},
		{"root", "ROOT", true},
		{"bob@vsphere.local", "alice@vsphere.local", false},
	}
	for _, tc := range same {
		if got := SamePrincipal(tc.a, tc.b); got != tc.want {
			t.Errorf("SamePrincipal(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// vcsim's directory (simulator.DefaultUserGroup) holds the user "admin" and the user and group
// "root".
func TestLookupPrincipal(t *testing.T) {
	c := connect(t, sharedSim(t))
	ctx := context.Background()
	p, err := c.LookupPrincipal(ctx, "admin", false)
	if err != nil {
		t.Fatalf("LookupPrincipal(admin): %v", err)
	}
	if p.Name != "admin" || p.Group || p.FullName != "administrator" {
		t.Errorf("LookupPrincipal(admin) = %+v", p)
	}
	if g, err := c.LookupPrincipal(ctx, "root", true); err != nil || !g.Group {
		t.Errorf("LookupPrincipal(root, group) = %+v, %v", g, err)
	}

	_, err = c.LookupPrincipal(ctx, "admni", false)
	if !IsNotFound(err) {
		t.Fatalf("LookupPrincipal(admni): %v, want a NotFoundError", err)
	}
	if !strings.Contains(err.Error(), `"admin"`) || !strings.Contains(err.Error(), "user") {
		t.Errorf("error %q does not call it a user or suggest admin", err)
	}

	_, err = c.LookupPrincipal(ctx, "admin", true)
	if !IsNotFound(err) {
		t.Fatalf("LookupPrincipal(admin, group): %v, want a NotFoundError (admin is a user)", err)
	}
	if !strings.Contains(err.Error(), "group") {
		t.Errorf("error %q does not say it looked for a group", err)
	}
}

// principals lists an entity's permissions as principal -> role.
func principals(tb testing.TB, c *Client, ref ObjectRef) map[string]int32 {
	tb.Helper()
	perms, err := c.EntityPermissions(context.Background(), ref)
	if err != nil {
		tb.Fatalf("EntityPermissions(%s): %v", ref.ID, err)
	}
	out := map[string]int32{}
	for _, p := range perms {
		if p.Entity != ref {
			tb.Errorf("permission %+v names entity %v, want %v", p, p.Entity, ref)
		}
		out[p.Principal] = p.RoleID
	}
	return out
}

// SetPermission and RemovePermission touch only their principal's permission: another's set
// behind vmgmt's back survives both, and a permission that now holds another role is kept.
func TestPermissionsNonAuthoritative(t *testing.T) {
	sim := newSim(t)
	c := connect(t, sim)
	ctx := context.Background()
	vm := VMRef(workloadID(t, sim, "erp-db01"))
	readOnly, admin := mustRole(t, c, "ReadOnly"), mustRole(t, c, "Admin")
	setForeign(t, sim, vm, Permission{Principal: "root", RoleID: admin.ID, Propagate: true})

	if err := c.SetPermission(ctx, Permission{Entity: vm, Principal: "admin", RoleID: readOnly.ID}); err != nil {
		t.Fatal(err)
	}
	want := map[string]int32{"root": admin.ID, "admin": readOnly.ID}
	if got := principals(t, c, vm); !reflect.DeepEqual(got, want) {
		t.Fatalf("after SetPermission(admin): %v, want %v", got, want)
	}

	if err := c.SetPermission(ctx, Permission{Entity: vm, Principal: "admin", RoleID: admin.ID}); err != nil {
		t.Fatal(err)
	}
	want["admin"] = admin.ID
	if got := principals(t, c, vm); !reflect.DeepEqual(got, want) {
		t.Fatalf("after SetPermission(admin) with another role: %v, want %v", got, want)
	}

	removed, err := c.RemovePermission(ctx, vm, "admin", false, readOnly.ID)
	if err != nil || removed {
		t.Fatalf("RemovePermission with a role admin no longer holds = %v, %v; want false, nil", removed, err)
	}
	if got := principals(t, c, vm); !reflect.DeepEqual(got, want) {
		t.Fatalf("after RemovePermission with the wrong role: %v, want %v", got, want)
	}
	// A group of the same name is another principal.
	if removed, err := c.RemovePermission(ctx, vm, "admin", true, admin.ID); err != nil || removed {
		t.Fatalf("RemovePermission of group admin = %v, %v; want false, nil", removed, err)
	}

	removed, err = c.RemovePermission(ctx, vm, "admin", false, admin.ID)
	if err != nil || !removed {
		t.Fatalf("RemovePermission = %v, %v; want true, nil", removed, err)
	}
	delete(want, "admin")
	if got := principals(t, c, vm); !reflect.DeepEqual(got, want) {
		t.Fatalf("after RemovePermission: %v, want %v (root's survives)", got, want)
	}

	removed, err = c.RemovePermission(ctx, VMRef("vm-does-not-exist"), "admin", false, admin.ID)
	if err != nil || removed {
		t.Errorf("RemovePermission on a VM that does not exist = %v, %v; want false, nil", removed, err)
	}
}

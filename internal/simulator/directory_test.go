package simulator

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator/esx"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// startSim starts a seeded simulator and returns a logged-in client to it.
func startSim(t *testing.T) *govmomi.Client {
	t.Helper()
	ctx := context.Background()
	s, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	c, err := s.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Logout(context.Background()) })
	return c
}

// TestRetrieveUserGroups calls RetrieveUserGroups over SOAP against the running simulator: the
// seeded principals are found by domain, by name (exact or substring, case-insensitive when not
// exact) and by kind, and vcsim's own principals still answer when no domain is given.
func TestRetrieveUserGroups(t *testing.T) {
	c := startSim(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name                string
		domain, search      string
		exact, findU, findG bool
		want                []string
	}{
		{name: "exact user in its domain", domain: "VSPHERE.LOCAL", search: "alice", exact: true, findU: true, findG: true,
			want: []string{`VSPHERE.LOCAL\alice`}},
		{name: "domain is case-insensitive", domain: "vsphere.local", search: "db-admins", exact: true, findU: true, findG: true,
			want: []string{`VSPHERE.LOCAL\db-admins`}},
		{name: "exact match is exact", domain: "VSPHERE.LOCAL", search: "Alice", exact: true, findU: true, findG: true},
		{name: "exact match on the name, not the whole principal", domain: "VSPHERE.LOCAL", search: `VSPHERE.LOCAL\alice`, exact: true, findU: true, findG: true},
		{name: "substring is case-insensitive", domain: "VSPHERE.LOCAL", search: "ALI", findU: true, findG: true,
			want: []string{`VSPHERE.LOCAL\alice`}},
		{name: "substring matches the name part only", domain: "VSPHERE.LOCAL", search: "local", findU: true, findG: true},
		{name: "wrong domain finds nothing", domain: "CORP.EXAMPLE", search: "alice", exact: true, findU: true, findG: true},
		{name: "other domain", domain: "CORP.EXAMPLE", findU: true, findG: true,
			want: []string{`CORP.EXAMPLE\jdoe`, `CORP.EXAMPLE\contractors`}},
		{name: "groups only", domain: "VSPHERE.LOCAL", findG: true,
			want: []string{`VSPHERE.LOCAL\db-admins`, `VSPHERE.LOCAL\app-operators`, `VSPHERE.LOCAL\auditors`, `VSPHERE.LOCAL\platform-team`}},
		{name: "users only", domain: "VSPHERE.LOCAL", findU: true,
			want: []string{`VSPHERE.LOCAL\alice`, `VSPHERE.LOCAL\bob`, `VSPHERE.LOCAL\carol`, `VSPHERE.LOCAL\mallory`}},
		{name: "neither kind", domain: "VSPHERE.LOCAL", search: "alice", exact: true},
		{name: "no domain searches every domain and vcsim's principals", search: "o", findU: true, findG: true,
			want: []string{"root", "root", `VSPHERE.LOCAL\app-operators`, `VSPHERE.LOCAL\auditors`, `VSPHERE.LOCAL\platform-team`, `VSPHERE.LOCAL\bob`, `VSPHERE.LOCAL\carol`, `VSPHERE.LOCAL\mallory`, `CORP.EXAMPLE\jdoe`, `CORP.EXAMPLE\contractors`}},
		{name: "vcsim's admin keeps its values", search: "admin", exact: true, findU: true, findG: true,
			want: []string{"admin"}},
		{name: "a domain leaves out vcsim's domainless principals", domain: "VSPHERE.LOCAL", search: "admin", findU: true, findG: true,
			want: []string{`VSPHERE.LOCAL\db-admins`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := retrieve(ctx, t, c, &types.RetrieveUserGroups{Domain: tc.domain, SearchStr: tc.search, ExactMatch: tc.exact, FindUsers: tc.findU, FindGroups: tc.findG})
			var names []string
			for _, r := range got {
				names = append(names, r.GetUserSearchResult().Principal)
			}
			if !slices.Equal(names, tc.want) {
				t.Fatalf("found %q, want %q", names, tc.want)
			}
		})
	}
}

// TestRetrieveUserGroups_listsAll: an empty substring search lists every seeded principal and
// vcsim's three, with the seeded full names and kinds.
func TestRetrieveUserGroups_listsAll(t *testing.T) {
	c := startSim(t)
	got := retrieve(context.Background(), t, c, &types.RetrieveUserGroups{FindUsers: true, FindGroups: true})
	if len(got) != len(Principals)+3 {
		t.Fatalf("found %d principals, want %d seeded and vcsim's 3", len(got), len(Principals))
	}
	byName := map[string]*types.UserSearchResult{}
	for _, r := range got {
		u := r.GetUserSearchResult()
		byName[u.Principal] = u
	}
	for _, p := range Principals {
		u := byName[p.Name]
		if u == nil || u.Group != p.Group || u.FullName != p.FullName {
			t.Errorf("%s read as %+v, want %+v", p.Name, u, p)
		}
	}
	if u := byName["admin"]; u == nil || u.FullName != "administrator" || u.Group {
		t.Errorf("vcsim's admin read as %+v", u)
	}
}

// TestRetrieveUserGroups_grantsNothing: the seeded principals hold no permissions; only vcsim's
// own principals are granted Admin on the root folder, as before.
func TestRetrieveUserGroups_grantsNothing(t *testing.T) {
	c := startSim(t)
	ctx := context.Background()
	perms, err := object.NewAuthorizationManager(c.Client).RetrieveAllPermissions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(perms) != 3 {
		t.Fatalf("%d permissions, want vcsim's 3: %+v", len(perms), perms)
	}
	for _, p := range perms {
		if strings.Contains(p.Principal, `\`) {
			t.Errorf("seeded principal %s holds a permission", p.Principal)
		}
	}
}

func retrieve(ctx context.Context, t *testing.T, c *govmomi.Client, req *types.RetrieveUserGroups) []types.BaseUserSearchResult {
	t.Helper()
	req.This = *c.ServiceContent.UserDirectory
	res, err := methods.RetrieveUserGroups(ctx, c.Client, req)
	if err != nil {
		t.Fatal(err)
	}
	return res.Returnval
}

// TestPrivilegeList reads AuthorizationManager.privilegeList through the property collector: one
// entry per privilege of the Admin role, split into group and name as vCenter does.
func TestPrivilegeList(t *testing.T) {
	c := startSim(t)
	ctx := context.Background()
	var am mo.AuthorizationManager
	if err := c.PropertyCollector().RetrieveOne(ctx, *c.ServiceContent.AuthorizationManager, []string{"privilegeList"}, &am); err != nil {
		t.Fatal(err)
	}
	admin := object.AuthorizationRoleList(esx.RoleList).ByName("Admin")
	if len(am.PrivilegeList) != len(admin.Privilege) {
		t.Fatalf("%d privileges, want the Admin role's %d", len(am.PrivilegeList), len(admin.Privilege))
	}
	byID := map[string]types.AuthorizationPrivilege{}
	for _, p := range am.PrivilegeList {
		byID[p.PrivId] = p
	}
	for id, want := range map[string]types.AuthorizationPrivilege{
		"VirtualMachine.Interact.PowerOn": {PrivId: "VirtualMachine.Interact.PowerOn", Name: "PowerOn", PrivGroupName: "VirtualMachine.Interact"},
		"Global.Settings":                 {PrivId: "Global.Settings", Name: "Settings", PrivGroupName: "Global"},
		"Sessions.TerminateSession":       {PrivId: "Sessions.TerminateSession", Name: "TerminateSession", PrivGroupName: "Sessions"},
		"System.View":                     {PrivId: "System.View", Name: "View", PrivGroupName: "System"},
	} {
		if got, ok := byID[id]; !ok || got != want {
			t.Errorf("%s read as %+v, want %+v", id, got, want)
		}
	}
	for _, id := range admin.Privilege {
		if _, ok := byID[id]; !ok {
			t.Errorf("privilege %s of the Admin role is not listed", id)
		}
	}
}

package vsphere

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/view"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/suggest"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// vCenter's access control: roles (named sets of privileges), permissions (a principal holds a
// role on an entity, optionally propagating to the entity's descendants) and the directory of
// principals. The security functions read all of it in bulk (one role list, one permission list)
// and write permissions per entity, never touching another principal's.

// Role is a vCenter role.
type Role struct {
	ID         int32
	Name       string
	Privileges []string // privilege IDs, sorted; a system role lists what it implies
	System     bool
}

// roleCacheKey keys the role list in the client's cache registry.
const roleCacheKey = "vsphere.roles"

// roleCacheAge bounds how long a role list read by this client is reused.
const roleCacheAge = 30 * time.Second

// Roles returns every role (one round trip, reused until this client changes a role).
func (c *Client) Roles(ctx context.Context) ([]Role, error) {
	v, err := c.Cached(ctx, roleCacheKey, roleCacheAge, RoleWrites, func(ctx context.Context) (any, error) {
		var am mo.AuthorizationManager
		if err := c.retrieveOne(ctx, c.authManager(), []string{"roleList"}, &am); err != nil {
			return nil, fmt.Errorf("reading the roles: %w", err)
		}
		out := make([]Role, 0, len(am.RoleList))
		for _, r := range am.RoleList {
			privs := append([]string(nil), r.Privilege...)
			sort.Strings(privs)
			out = append(out, Role{ID: r.RoleId, Name: r.Name, Privileges: privs, System: r.System})
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]Role), nil //nolint:forcetypeassert // the loader stores []Role
}

// RoleByName returns the role of this name (a NotFoundError naming the nearest names when none).
func (c *Client) RoleByName(ctx context.Context, name string) (Role, error) {
	roles, err := c.Roles(ctx)
	if err != nil {
		return Role{}, err
	}
	names := make([]string, 0, len(roles))
	for _, r := range roles {
		if r.Name == name {
			return r, nil
		}
		names = append(names, r.Name)
	}
	return Role{}, &NotFoundError{Kind: "role", Name: name, Hint: suggest.Phrase(name, names, 12)}
}

// RoleByID returns the role with this ID, and whether there is one.
func (c *Client) RoleByID(ctx context.Context, id int32) (Role, bool, error) {
	roles, err := c.Roles(ctx)
	if err != nil {
		return Role{}, false, err
	}
	for _, r := range roles {
		if r.ID == id {
			return r, true, nil
		}
	}
	return Role{}, false, nil
}

// Privileges returns the IDs of every privilege vCenter defines, sorted (read once per client:
// the list changes only with vCenter's version).
func (c *Client) Privileges(ctx context.Context) ([]string, error) {
	v, err := c.Cached(ctx, "vsphere.privileges", 24*time.Hour, NoWrites, func(ctx context.Context) (any, error) {
		var am mo.AuthorizationManager
		if err := c.retrieveOne(ctx, c.authManager(), []string{"privilegeList"}, &am); err != nil {
			return nil, fmt.Errorf("reading the privilege list: %w", err)
		}
		out := make([]string, 0, len(am.PrivilegeList))
		for _, p := range am.PrivilegeList {
			out = append(out, p.PrivId)
		}
		sort.Strings(out)
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]string), nil //nolint:forcetypeassert // the loader stores []string
}

// CreateRole defines a role and returns its ID. A name already taken is a name conflict
// (IsNameConflict).
func (c *Client) CreateRole(ctx context.Context, name string, privileges []string) (int32, error) {
	defer c.rolesChanged()
	res, err := methods.AddAuthorizationRole(ctx, c.vim, &types.AddAuthorizationRole{
		This: c.authManager(), Name: name, PrivIds: privileges,
	})
	if err != nil {
		return 0, fmt.Errorf("creating role %q: %w", name, err)
	}
	if res.Returnval != 0 {
		return res.Returnval, nil
	}
	// vCenter never numbers a custom role 0, but the simulator answers without the ID (0 for
	// every role): read the role back by name.
	c.rolesChanged()
	r, err := c.RoleByName(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("reading back role %q: %w", name, err)
	}
	return r.ID, nil
}

// UpdateRole renames a role and sets its privileges.
func (c *Client) UpdateRole(ctx context.Context, id int32, name string, privileges []string) error {
	defer c.rolesChanged()
	_, err := methods.UpdateAuthorizationRole(ctx, c.vim, &types.UpdateAuthorizationRole{
		This: c.authManager(), RoleId: id, NewName: name, PrivIds: privileges,
	})
	if err != nil {
		return wrapNotFound("role", fmt.Sprint(id), fmt.Errorf("updating role %q (%d): %w", name, id, err))
	}
	return nil
}

// ErrRoleInUse means a role still has permissions and was kept.
var ErrRoleInUse = errors.New("the role is still used by permissions")

// RemoveRole deletes a role that no permission uses: a role still in use is kept (ErrRoleInUse),
// since deleting it would remove permissions someone else set. A role already gone is no error.
func (c *Client) RemoveRole(ctx context.Context, id int32) error {
	defer c.rolesChanged()
	// vCenter honours FailIfUsed; the simulator ignores it and deletes the role with its
	// permissions, so the role's permissions are looked up first.
	used, err := methods.RetrieveRolePermissions(ctx, c.vim, &types.RetrieveRolePermissions{This: c.authManager(), RoleId: id})
	switch {
	case err == nil && len(used.Returnval) > 0:
		return fmt.Errorf("role %d (%d permissions): %w", id, len(used.Returnval), ErrRoleInUse)
	case err != nil && !fault.Is(err, &types.NotFound{}) && !IsNotFound(err):
		return fmt.Errorf("reading the permissions of role %d: %w", id, err)
	}
	_, err = methods.RemoveAuthorizationRole(ctx, c.vim, &types.RemoveAuthorizationRole{
		This: c.authManager(), RoleId: id, FailIfUsed: true,
	})
	switch {
	case err == nil, fault.Is(err, &types.NotFound{}), IsNotFound(err):
		return nil
	case fault.Is(err, &types.RemoveFailed{}):
		return fmt.Errorf("role %d: %w", id, ErrRoleInUse)
	}
	return fmt.Errorf("deleting role %d: %w", id, err)
}

func (c *Client) authManager() types.ManagedObjectReference {
	return *c.vim.ServiceContent.AuthorizationManager
}

func (c *Client) rolesChanged() {
	c.authz.roleWrites.Add(1)
	c.Forget(roleCacheKey)
}

// Principal is a user or group of vCenter's directory.
type Principal struct {
	Name     string // DOMAIN\name
	Group    bool
	FullName string
}

// NormalizePrincipal writes a principal the way vCenter's permissions name it: DOMAIN\name, with
// the domain upper-case. "name@domain" (the UPN form) becomes DOMAIN\name; a name without a
// domain is returned as is.
func NormalizePrincipal(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, `\`); i > 0 {
		return strings.ToUpper(s[:i]) + s[i:]
	}
	if i := strings.LastIndex(s, "@"); i > 0 && i < len(s)-1 {
		return strings.ToUpper(s[i+1:]) + `\` + s[:i]
	}
	return s
}

// PrincipalDomain is the upper-case domain of a principal ("" when it has none).
func PrincipalDomain(s string) string {
	n := NormalizePrincipal(s)
	if i := strings.Index(n, `\`); i > 0 {
		return n[:i]
	}
	return ""
}

// SamePrincipal reports whether two spellings name the same principal (domains and names compare
// case-insensitively, as vCenter's directory does).
func SamePrincipal(a, b string) bool {
	return strings.EqualFold(NormalizePrincipal(a), NormalizePrincipal(b))
}

// LookupPrincipal looks a user or group up in vCenter's directory (one round trip). When it is
// not there, the error is a NotFoundError naming the nearest principals of its domain.
func (c *Client) LookupPrincipal(ctx context.Context, name string, group bool) (Principal, error) {
	kind := "user"
	if group {
		kind = "group"
	}
	norm := NormalizePrincipal(name)
	domain, short := "", norm
	if i := strings.Index(norm, `\`); i > 0 {
		domain, short = norm[:i], norm[i+1:]
	}
	// A substring search on the name, then the exact match here: how servers spell the principal
	// of a result (with or without the domain) differs.
	found, err := c.searchDirectory(ctx, domain, short, group)
	if err != nil {
		return Principal{}, err
	}
	for _, p := range found {
		if SamePrincipal(p.Name, norm) || (domain == "" && strings.EqualFold(p.Name, short)) ||
			(domain != "" && !strings.Contains(p.Name, `\`) && strings.EqualFold(p.Name, short)) {
			p.Name = norm
			return p, nil
		}
	}
	// Not there: list the domain's principals of this kind for suggestions.
	all, err := c.searchDirectory(ctx, domain, "", group)
	if err != nil {
		return Principal{}, err
	}
	names := make([]string, 0, len(all))
	for _, p := range all {
		n := p.Name
		if domain != "" && !strings.Contains(n, `\`) {
			n = domain + `\` + n
		}
		names = append(names, n)
	}
	return Principal{}, &NotFoundError{Kind: kind, Name: norm, Hint: suggest.Phrase(norm, names, 12)}
}

func (c *Client) searchDirectory(ctx context.Context, domain, search string, group bool) ([]Principal, error) {
	if c.vim.ServiceContent.UserDirectory == nil {
		return nil, errors.New("this server has no user directory to check principals against")
	}
	res, err := methods.RetrieveUserGroups(ctx, c.vim, &types.RetrieveUserGroups{
		This: *c.vim.ServiceContent.UserDirectory, Domain: domain, SearchStr: search,
		ExactMatch: false, FindUsers: !group, FindGroups: group,
	})
	if err != nil {
		return nil, fmt.Errorf("searching vCenter's directory for %q: %w", search, err)
	}
	var out []Principal
	for _, r := range res.Returnval {
		u := r.GetUserSearchResult()
		if u.Group != group {
			continue
		}
		out = append(out, Principal{Name: u.Principal, Group: u.Group, FullName: u.FullName})
	}
	return out, nil
}

// Permission is one permission: a principal holds a role on an entity.
type Permission struct {
	Entity    ObjectRef
	Principal string
	Group     bool
	RoleID    int32
	Propagate bool
}

// ObjectRef names a managed object by type and ID, without govmomi's types.
type ObjectRef struct {
	Type string // VirtualMachine, Folder, Datacenter, ...
	ID   string
}

func (r ObjectRef) mor() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: r.Type, Value: r.ID}
}

// VMRef is the reference of a VM by ID.
func VMRef(id string) ObjectRef { return ObjectRef{Type: "VirtualMachine", ID: id} }

func permissionFrom(p types.Permission) Permission {
	out := Permission{Principal: p.Principal, Group: p.Group, RoleID: p.RoleId, Propagate: p.Propagate}
	if p.Entity != nil {
		out.Entity = ObjectRef{Type: p.Entity.Type, ID: p.Entity.Value}
	}
	return out
}

func (p Permission) vim() types.Permission {
	e := p.Entity.mor()
	return types.Permission{Entity: &e, Principal: p.Principal, Group: p.Group, RoleId: p.RoleID, Propagate: p.Propagate}
}

// AllPermissions returns every permission defined in vCenter, on any entity (one round trip,
// whatever the number of VMs).
func (c *Client) AllPermissions(ctx context.Context) ([]Permission, error) {
	res, err := methods.RetrieveAllPermissions(ctx, c.vim, &types.RetrieveAllPermissions{This: c.authManager()})
	if err != nil {
		return nil, fmt.Errorf("reading the permissions: %w", err)
	}
	out := make([]Permission, 0, len(res.Returnval))
	for _, p := range res.Returnval {
		out = append(out, permissionFrom(p))
	}
	return out, nil
}

// EntityPermissions returns the permissions defined on the entity itself (not inherited).
func (c *Client) EntityPermissions(ctx context.Context, ref ObjectRef) ([]Permission, error) {
	// The entity must exist first: vCenter answers ManagedObjectNotFound, but the simulator
	// panics while holding the AuthorizationManager's lock, which hangs every later call.
	var me mo.ManagedEntity
	if err := c.retrieveOne(ctx, ref.mor(), []string{"name"}, &me); err != nil {
		return nil, wrapNotFound(strings.ToLower(ref.Type), ref.ID, fmt.Errorf("reading %s: %w", ref.ID, err))
	}
	res, err := methods.RetrieveEntityPermissions(ctx, c.vim, &types.RetrieveEntityPermissions{
		This: c.authManager(), Entity: ref.mor(), Inherited: false,
	})
	if err != nil {
		return nil, wrapNotFound(strings.ToLower(ref.Type), ref.ID, fmt.Errorf("reading the permissions of %s: %w", ref.ID, err))
	}
	out := make([]Permission, 0, len(res.Returnval))
	for _, p := range res.Returnval {
		q := permissionFrom(p)
		q.Entity = ref
		out = append(out, q)
	}
	return out, nil
}

// SetPermission grants p on its entity, leaving every other principal's permission there as it
// is: the entity's permissions are read, p replaces only the same principal's, and the list is
// written back (vCenter sets the principals it is given; the simulator replaces the whole list,
// so the others must be in it). Writes to one entity are serialized within the client.
func (c *Client) SetPermission(ctx context.Context, p Permission) error {
	unlock := c.authz.lockEntity(p.Entity.ID)
	defer unlock()
	current, err := c.EntityPermissions(ctx, p.Entity)
	if err != nil {
		return err
	}
	list := []types.Permission{p.vim()}
	for _, q := range current {
		if q.Group == p.Group && SamePrincipal(q.Principal, p.Principal) {
			continue
		}
		list = append(list, q.vim())
	}
	_, err = methods.SetEntityPermissions(ctx, c.vim, &types.SetEntityPermissions{
		This: c.authManager(), Entity: p.Entity.mor(), Permission: list,
	})
	if err != nil {
		return wrapNotFound(strings.ToLower(p.Entity.Type), p.Entity.ID,
			fmt.Errorf("granting %s a role on %s: %w", p.Principal, p.Entity.ID, err))
	}
	return nil
}

// RemovePermission removes the principal's permission on the entity when it still holds role
// (another role there is someone else's now and is kept). It reports whether one was removed.
// An entity that no longer exists has nothing to remove.
func (c *Client) RemovePermission(ctx context.Context, ref ObjectRef, principal string, group bool, role int32) (bool, error) {
	unlock := c.authz.lockEntity(ref.ID)
	defer unlock()
	current, err := c.EntityPermissions(ctx, ref)
	if IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var held *Permission
	for i, q := range current {
		if q.Group == group && SamePrincipal(q.Principal, principal) {
			held = &current[i]
		}
	}
	if held == nil || held.RoleID != role {
		return false, nil
	}
	_, err = methods.RemoveEntityPermission(ctx, c.vim, &types.RemoveEntityPermission{
		This: c.authManager(), Entity: ref.mor(), User: held.Principal, IsGroup: group,
	})
	switch {
	case err == nil:
		return true, nil
	case fault.Is(err, &types.NotFound{}), IsNotFound(err):
		return false, nil
	}
	return false, fmt.Errorf("revoking %s's permission on %s: %w", principal, ref.ID, err)
}

// authzState is the client's access-control bookkeeping.
type authzState struct {
	roleWrites atomic.Uint64
	mu         sync.Mutex
	entities   map[string]*sync.Mutex
}

func (a *authzState) lockEntity(id string) func() {
	a.mu.Lock()
	if a.entities == nil {
		a.entities = map[string]*sync.Mutex{}
	}
	m := a.entities[id]
	if m == nil {
		m = &sync.Mutex{}
		a.entities[id] = m
	}
	a.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// Ancestors maps each inventory container and VM to its parent (for permissions that propagate
// from folders and the datacenter), with each object's name: one round trip over the views.
type Ancestors struct {
	Parent map[ObjectRef]ObjectRef
	Name   map[ObjectRef]string
}

// Chain is ref, then its parent, up to the root folder.
func (a *Ancestors) Chain(ref ObjectRef) []ObjectRef {
	out := []ObjectRef{ref}
	for i := 0; i < 64; i++ {
		p, ok := a.Parent[ref]
		if !ok {
			break
		}
		out = append(out, p)
		ref = p
	}
	return out
}

// ancestorKinds are the objects a permission can be inherited through, and the VMs.
const ancestorKinds = selectionInventoryKinds + ",VirtualMachine"

// rootFolderName is what vCenter calls its root folder (which no container view holds).
const rootFolderName = "Datacenters"

// InventoryAncestors reads the name and parent of every VM and container (datacenters, folders,
// compute resources, pools) in one property read, plus the root folder's name.
func (c *Client) InventoryAncestors(ctx context.Context) (*Ancestors, error) {
	var objs []mo.ManagedEntity
	err := c.withView(ctx, ancestorKinds, func(v *view.ContainerView) error {
		return v.Retrieve(ctx, strings.Split(ancestorKinds, ","), []string{"name", "parent"}, &objs)
	})
	if err != nil {
		return nil, fmt.Errorf("reading the inventory's folders: %w", err)
	}
	a := &Ancestors{Parent: map[ObjectRef]ObjectRef{}, Name: map[ObjectRef]string{}}
	for _, o := range objs {
		ref := ObjectRef{Type: o.Self.Type, ID: o.Self.Value}
		a.Name[ref] = o.Name
		if o.Parent != nil {
			a.Parent[ref] = ObjectRef{Type: o.Parent.Type, ID: o.Parent.Value}
		}
	}
	root := c.vim.ServiceContent.RootFolder
	if _, ok := a.Name[ObjectRef{Type: root.Type, ID: root.Value}]; !ok {
		a.Name[ObjectRef{Type: root.Type, ID: root.Value}] = rootFolderName
	}
	return a, nil
}

package vsphere

import (
	"context"
	"sort"

	"golang.org/x/sync/errgroup"
)

// AccessSnapshot is everything access questions are answered from, read in three round trips
// side by side whatever the number of VMs: every permission, every role, and the inventory's
// parents (through which permissions propagate).
type AccessSnapshot struct {
	Permissions []Permission
	Roles       map[int32]Role
	Ancestors   *Ancestors
	// byEntity indexes Permissions by entity.
	byEntity map[ObjectRef][]Permission
}

// ReadAccess reads an AccessSnapshot.
func (c *Client) ReadAccess(ctx context.Context) (*AccessSnapshot, error) {
	s := &AccessSnapshot{Roles: map[int32]Role{}}
	var roles []Role
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { s.Permissions, err = c.AllPermissions(gctx); return err })
	g.Go(func() (err error) { roles, err = c.Roles(gctx); return err })
	g.Go(func() (err error) { s.Ancestors, err = c.InventoryAncestors(gctx); return err })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, r := range roles {
		s.Roles[r.ID] = r
	}
	s.byEntity = map[ObjectRef][]Permission{}
	for _, p := range s.Permissions {
		// A permission on an object that no longer exists (the simulator keeps them) applies to
		// nothing.
		if _, ok := s.Ancestors.Name[p.Entity]; ok || p.Entity == s.root() {
			s.byEntity[p.Entity] = append(s.byEntity[p.Entity], p)
		}
	}
	return s, nil
}

func (s *AccessSnapshot) root() ObjectRef {
	for ref, name := range s.Ancestors.Name {
		if name == rootFolderName && s.Ancestors.Parent[ref] == (ObjectRef{}) {
			return ref
		}
	}
	return ObjectRef{}
}

// EffectivePermission is a principal's permission in force on an object: defined on the object
// itself, or inherited from the nearest ancestor that defines one for that principal and
// propagates it.
type EffectivePermission struct {
	Principal string
	Group     bool
	Role      Role
	// DefinedOn is the object the permission is defined on (the object itself when not
	// inherited), and DefinedOnName its name.
	DefinedOn     ObjectRef
	DefinedOnName string
	Inherited     bool
	Propagate     bool
}

// Effective returns the permissions in force on ref, one per principal (user or group), sorted
// by principal. vCenter's rule: a permission defined on an object overrides the same principal's
// inherited one; an ancestor's permission reaches ref only when it propagates.
func (s *AccessSnapshot) Effective(ref ObjectRef) []EffectivePermission {
	type key struct {
		principal string
		group     bool
	}
	seen := map[key]bool{}
	var out []EffectivePermission
	for depth, obj := range s.Ancestors.Chain(ref) {
		for _, p := range s.byEntity[obj] {
			k := key{NormalizePrincipal(p.Principal), p.Group}
			if seen[k] || (depth > 0 && !p.Propagate) {
				continue
			}
			seen[k] = true
			role, ok := s.Roles[p.RoleID]
			if !ok {
				role = Role{ID: p.RoleID}
			}
			out = append(out, EffectivePermission{
				Principal: p.Principal, Group: p.Group, Role: role,
				DefinedOn: obj, DefinedOnName: s.Ancestors.Name[obj], Inherited: depth > 0, Propagate: p.Propagate,
			})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Principal != out[j].Principal {
			return out[i].Principal < out[j].Principal
		}
		return !out[i].Group && out[j].Group
	})
	return out
}

// Defined returns the permissions defined on ref itself.
func (s *AccessSnapshot) Defined(ref ObjectRef) []Permission { return s.byEntity[ref] }

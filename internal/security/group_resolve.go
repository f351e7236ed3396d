package security

import (
	"context"
	"fmt"
	"sort"

	"golang.org/x/sync/errgroup"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/suggest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// groupInput is what a group declares, in plain Go values.
type groupInput struct {
	Name        string
	Description string
	Members     vsphere.Selection
	RoleName    string   // an existing role; empty when the group owns one
	Privileges  []string // the owned role's privileges, sorted
	Principals  []principalRecord
	Network     *networkRecord
	Trusted     []string
	Ceiling     []string // empty: the role's privileges
}

func (in *groupInput) owned() bool { return in.RoleName == "" }

func (in *groupInput) ownedRoleName() string { return ownedRolePrefix + in.Name }

func (in *groupInput) request() vsphere.Request {
	return request(in.Name, in.RoleName, in.Privileges, in.Principals)
}

// selection is the members' selection plus the catalog's composition tag for this group.
func (in *groupInput) selection() vsphere.Selection {
	sel := in.Members
	sel.Also = append(append([]vsphere.TagRef(nil), sel.Also...), vsphere.TagRef{Category: CompositionCategory, Name: in.Name})
	return sel
}

// resolution is what a group reaches now: computed from live inventory at plan time, and again
// at apply time to make exactly the difference.
type resolution struct {
	members []member // sorted by ID
	role    vsphere.Role
	// roleKnown is false for a role the group has yet to create (its ID comes at apply).
	roleKnown bool
	// grants are the permissions the group will hold: principal key -> VM IDs (sorted).
	grants map[string][]string
	// skipped are member and principal pairs where the principal already holds a permission that
	// this group did not grant: it is left as it is.
	skipped []skip
	// narrowed are member and principal pairs where the principal inherits a broader role that
	// the group's permission on the VM will override (vCenter: the object's own permission wins).
	narrowed   []skip
	portGroups []portGroupState
	foreign    []foreignGrant
	access     *vsphere.AccessSnapshot
}

type member struct{ ID, Name string }

type skip struct {
	VMID, VMName, Principal, Role string
}

type portGroupState struct {
	ID, Name string
	Security vsphere.NetSecurity // as planned (or, after refresh, as found)
	Members  []string            // members on it
	Other    int                 // VMs on it that are not members
}

// foreignGrant is one permission in force on members that the group did not grant and whose
// role exceeds the ceiling, with the members it reaches: one entry for a permission on a folder
// that reaches a thousand members.
type foreignGrant struct {
	Principal              string
	Group                  bool
	Role                   string
	DefinedOn, DefinedOnNm string
	Excess                 []string // sorted
	VMIDs                  []string // sorted
	VMNames                []string // in VMIDs' order
}

func (f *foreignGrant) key() string { return foreignKey(f.Principal, f.Group, f.DefinedOn) }

func (r *resolution) memberIDs() []string {
	out := make([]string, len(r.members))
	for i, m := range r.members {
		out[i] = m.ID
	}
	return out
}

func (r *resolution) permissionCount() int {
	n := 0
	for _, vms := range r.grants {
		n += len(vms)
	}
	return n
}

// resolve computes what the group reaches, reading the members, the access snapshot, the role
// and (with a network policy) the port groups side by side. rec is the group's record (nil
// before it is created). fixed, when not nil, are the members (an apply makes what its plan
// showed), and the selection is not resolved again.
func resolve(ctx context.Context, c *vsphere.Client, in *groupInput, rec *groupRecord, fixed []string) (*resolution, error) {
	res := &resolution{}
	var selected []vsphere.SelectedVM
	var pgs []vsphere.PortGroup
	g, gctx := errgroup.WithContext(ctx)
	if fixed == nil {
		g.Go(func() (err error) { selected, err = c.Select(gctx, in.selection(), []string{"name"}); return err })
	}
	g.Go(func() (err error) { res.access, err = c.ReadAccess(gctx); return err })
	if in.Network != nil {
		g.Go(func() (err error) { pgs, err = c.PortGroups(gctx); return err })
	}
	g.Go(func() error { return resolveRole(gctx, c, in, rec, res) })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, vm := range selected {
		name, _ := vm.Props["name"].(string)
		res.members = append(res.members, member{ID: vm.ID, Name: name})
	}
	for _, id := range fixed {
		res.members = append(res.members, member{ID: id, Name: res.access.Ancestors.Name[vsphere.VMRef(id)]})
	}
	sort.Slice(res.members, func(i, j int) bool { return res.members[i].ID < res.members[j].ID })
	res.grants, res.skipped = planGrants(in, rec, res)
	res.narrowed = narrowedBy(in, rec, res)
	var err error
	if res.portGroups, err = planPortGroups(in, pgs, res.memberIDs()); err != nil {
		return nil, err
	}
	res.foreign = foreignGrants(in, rec, res.access, res.members, res.role, res.grants)
	return res, nil
}

// resolveRole finds the role the principals get: the existing role by name, or the group's own
// (live when it exists, else planned from the privileges).
func resolveRole(ctx context.Context, c *vsphere.Client, in *groupInput, rec *groupRecord, res *resolution) error {
	if !in.owned() {
		role, err := c.RoleByName(ctx, in.RoleName)
		if err != nil {
			return err
		}
		res.role, res.roleKnown = role, true
		return nil
	}
	res.role = vsphere.Role{Name: in.ownedRoleName(), Privileges: withSystem(in.Privileges)}
	if rec != nil && rec.Role.Owned && rec.Role.Name != "" {
		if _, ok, err := c.RoleByID(ctx, rec.Role.ID); err != nil {
			return err
		} else if ok {
			res.role.ID, res.roleKnown = rec.Role.ID, true
		}
	}
	return nil
}

// planGrants lists, for each principal, the members it gets the group's permission on: all of
// them, except those where it already holds a permission the group did not grant.
func planGrants(in *groupInput, rec *groupRecord, res *resolution) (map[string][]string, []skip) {
	grants := map[string][]string{}
	var skipped []skip
	for _, p := range in.Principals {
		key := p.key()
		grants[key] = []string{}
		for _, m := range res.members {
			if other := heldByOther(res.access, rec, p, m.ID); other != nil {
				skipped = append(skipped, skip{VMID: m.ID, VMName: m.Name, Principal: p.Name, Role: roleName(res.access, other.RoleID)})
				continue
			}
			grants[key] = append(grants[key], m.ID)
		}
	}
	return grants, skipped
}

// narrowedBy lists the grants that will override a broader role the principal inherits on the VM.
func narrowedBy(in *groupInput, rec *groupRecord, res *resolution) []skip {
	ours := map[string]bool{}
	for _, p := range res.role.Privileges {
		ours[p] = true
	}
	names := map[string]string{}
	for _, m := range res.members {
		names[m.ID] = m.Name
	}
	var out []skip
	for _, p := range in.Principals {
		for _, vm := range res.grants[p.key()] {
			if rec.granted(p.key(), vm) {
				continue // granted already: what it overrides was reported then
			}
			for _, e := range res.access.Effective(vsphere.VMRef(vm)) {
				if !e.Inherited || e.Group != p.Group || !vsphere.SamePrincipal(e.Principal, p.Name) {
					continue
				}
				for _, priv := range e.Role.Privileges {
					if !ours[priv] {
						out = append(out, skip{VMID: vm, VMName: names[vm], Principal: p.Name, Role: e.Role.Name})
						break
					}
				}
			}
		}
	}
	return out
}

// heldByOther is the principal's permission defined on the VM that the group did not grant, if
// there is one.
func heldByOther(access *vsphere.AccessSnapshot, rec *groupRecord, p principalRecord, vmID string) *vsphere.Permission {
	for _, q := range access.Defined(vsphere.VMRef(vmID)) {
		if q.Group == p.Group && vsphere.SamePrincipal(q.Principal, p.Name) {
			if rec.granted(p.key(), vmID) {
				return nil
			}
			return &q
		}
	}
	return nil
}

func roleName(access *vsphere.AccessSnapshot, id int32) string {
	if r, ok := access.Roles[id]; ok {
		return r.Name
	}
	return fmt.Sprintf("role %d", id)
}

// planPortGroups lists the port groups the network policy applies to, with the policy they will
// have: the listed ones, or those the members use.
func planPortGroups(in *groupInput, pgs []vsphere.PortGroup, members []string) ([]portGroupState, error) {
	if in.Network == nil {
		return nil, nil
	}
	isMember := map[string]bool{}
	for _, id := range members {
		isMember[id] = true
	}
	var chosen []vsphere.PortGroup
	if len(in.Network.PortGroups) > 0 {
		var err error
		if chosen, err = findPortGroups(pgs, in.Network.PortGroups); err != nil {
			return nil, err
		}
	} else {
		for _, pg := range pgs {
			for _, vm := range pg.VMIDs {
				if isMember[vm] && !pg.Uplink {
					chosen = append(chosen, pg)
					break
				}
			}
		}
	}
	out := make([]portGroupState, 0, len(chosen))
	for _, pg := range chosen {
		out = append(out, newPortGroupState(pg, overlay(pg.Security, in.Network.NetSecurity), isMember))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// newPortGroupState is a port group with the policy it has (or will have), its members and the
// count of the other VMs on it.
func newPortGroupState(pg vsphere.PortGroup, sec vsphere.NetSecurity, isMember map[string]bool) portGroupState {
	st := portGroupState{ID: pg.ID, Name: pg.Name, Security: sec}
	for _, vm := range pg.VMIDs {
		if isMember[vm] {
			st.Members = append(st.Members, vm)
		} else {
			st.Other++
		}
	}
	return st
}

// PortGroupNotFoundError means network_policy lists a port group that does not exist.
type PortGroupNotFoundError struct {
	Name, Hint string
}

func (e *PortGroupNotFoundError) Error() string {
	msg := fmt.Sprintf("no distributed port group %q", e.Name)
	if e.Hint != "" {
		msg += ": " + e.Hint
	}
	return msg
}

func findPortGroups(pgs []vsphere.PortGroup, refs []string) ([]vsphere.PortGroup, error) {
	var out []vsphere.PortGroup
	names := make([]string, 0, len(pgs))
	for _, pg := range pgs {
		names = append(names, pg.Name)
	}
	for _, ref := range refs {
		found := false
		for _, pg := range pgs {
			if pg.ID == ref || pg.Name == ref {
				out, found = append(out, pg), true
				break
			}
		}
		if !found {
			return nil, &PortGroupNotFoundError{Name: ref, Hint: suggest.Phrase(ref, names, 12)}
		}
	}
	return out, nil
}

// overlay is base with the flags of set that are not nil.
func overlay(base, set vsphere.NetSecurity) vsphere.NetSecurity {
	if set.AllowPromiscuous != nil {
		base.AllowPromiscuous = set.AllowPromiscuous
	}
	if set.AllowMACChanges != nil {
		base.AllowMACChanges = set.AllowMACChanges
	}
	if set.AllowForgedTransmits != nil {
		base.AllowForgedTransmits = set.AllowForgedTransmits
	}
	return base
}

// foreignGrants lists the permissions in force on the members that the group did not grant and
// whose role has privileges beyond the ceiling.
func foreignGrants(in *groupInput, rec *groupRecord, access *vsphere.AccessSnapshot, members []member, role vsphere.Role, grants map[string][]string) []foreignGrant {
	ceiling := map[string]bool{}
	list := in.Ceiling
	if len(list) == 0 {
		list = role.Privileges
	}
	for _, p := range list {
		ceiling[p] = true
	}
	ours := map[string]bool{} // principal key + VM the group holds or will hold
	for key, vms := range grants {
		for _, vm := range vms {
			ours[key+"\x00"+vm] = true
		}
	}
	byKey := map[string]*foreignGrant{}
	var out []*foreignGrant
	for _, m := range members {
		ref := vsphere.VMRef(m.ID)
		for _, e := range access.Effective(ref) {
			if trusted(in.Trusted, e.Principal) {
				continue
			}
			key := principalKey(e.Principal, e.Group)
			// The group's own permission for this principal on the VM, or an inherited one that the
			// group's (about to be granted on the VM) will override.
			if ours[key+"\x00"+m.ID] || (!e.Inherited && rec.granted(key, m.ID)) {
				continue
			}
			fk := foreignKey(e.Principal, e.Group, e.DefinedOn.ID)
			if f := byKey[fk]; f != nil {
				f.VMIDs, f.VMNames = append(f.VMIDs, m.ID), append(f.VMNames, m.Name)
				continue
			}
			var excess []string
			for _, p := range e.Role.Privileges {
				if !ceiling[p] {
					excess = append(excess, p)
				}
			}
			if len(excess) == 0 {
				continue
			}
			f := &foreignGrant{
				Principal: e.Principal, Group: e.Group, Role: e.Role.Name, DefinedOn: e.DefinedOn.ID, DefinedOnNm: e.DefinedOnName,
				Excess: excess, VMIDs: []string{m.ID}, VMNames: []string{m.Name},
			}
			byKey[fk] = f
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key() < out[j].key() })
	res := make([]foreignGrant, len(out))
	for i, f := range out {
		res[i] = *f
	}
	return res
}

func trusted(list []string, principal string) bool {
	for _, t := range list {
		if vsphere.SamePrincipal(t, principal) {
			return true
		}
	}
	return false
}

package security

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// outcome is what an apply did, for the diagnostics: each failure is per VM and named, and the
// other VMs are still handled.
type outcome struct {
	failures []string
	warnings []string
}

func (o *outcome) fail(format string, args ...any) {
	o.failures = append(o.failures, fmt.Sprintf(format, args...))
}

// reconcile makes vCenter hold what the plan says: the role, the permissions of want (granting
// the missing ones, revoking those the group granted and no longer wants), the port group
// policies, and the record that says what the group did. rec is the group's record (a new one on
// create) and is written before each change it is about (write-ahead), so that an interrupted
// apply leaves a record of everything it might have done.
func reconcile(ctx context.Context, c *vsphere.Client, in *groupInput, rec *groupRecord, want *resolution) (*outcome, error) {
	out := &outcome{}
	oldRole := rec.Role
	if err := ensureRole(ctx, c, in, rec); err != nil {
		return out, err
	}
	prevMembers := rec.MemberIDs
	rec.Name, rec.Description, rec.Principals = in.Name, in.Description, in.Principals
	rec.Members, rec.Network, rec.Trusted, rec.Ceiling = in.Members, in.Network, in.Trusted, in.Ceiling
	rec.MemberIDs = union(prevMembers, want.memberIDs())
	previous := rec.Grants
	rec.addGrants(want.grants)
	if err := writeRecord(ctx, c, rec); err != nil {
		return out, fmt.Errorf("recording the group's grants in vCenter: %w", err)
	}
	held := grant(ctx, c, in, rec, want, out)
	kept := revoke(ctx, c, previous, want.grants, oldRole.ID, out)
	if err := reconcilePortGroups(ctx, c, rec, want, out); err != nil {
		return out, err
	}
	if oldRole.Owned && oldRole.Name != "" && !rec.Role.Owned {
		removeOwnedRole(ctx, c, oldRole.ID, out)
	}
	rec.Grants = held
	rec.addGrants(kept) // a permission that could not be revoked is still the group's
	rec.MemberIDs = want.memberIDs()
	if err := writeRecord(ctx, c, rec); err != nil {
		return out, fmt.Errorf("recording the group's grants in vCenter: %w", err)
	}
	return out, nil
}

// ensureRole makes the role the principals get: looks up an existing role, or creates (under a
// pending name, then renamed, so that a rerun finds it) or updates the group's own.
func ensureRole(ctx context.Context, c *vsphere.Client, in *groupInput, rec *groupRecord) error {
	if !in.owned() {
		role, err := c.RoleByName(ctx, in.RoleName)
		if err != nil {
			return err
		}
		rec.Role = roleRecord{ID: role.ID, Name: role.Name}
		return nil
	}
	if rec.Role.Owned && rec.Role.Name != "" {
		role, ok, err := c.RoleByID(ctx, rec.Role.ID)
		if err != nil {
			return err
		}
		if ok {
			if role.Name != in.ownedRoleName() || !sameStrings(role.Privileges, withSystem(in.Privileges)) {
				if err := c.UpdateRole(ctx, role.ID, in.ownedRoleName(), in.Privileges); err != nil {
					return err
				}
			}
			rec.Role.Name = in.ownedRoleName()
			return nil
		}
	}
	pending := in.request().PendingName()
	var id int32
	role, err := c.RoleByName(ctx, pending)
	switch {
	case err == nil:
		id = role.ID // an interrupted create of this request made it
	case !vsphere.IsNotFound(err):
		return err
	default:
		if id, err = c.CreateRole(ctx, pending, in.Privileges); err != nil {
			return err
		}
	}
	rec.Role = roleRecord{ID: id, Name: pending, Owned: true}
	if err := writeRecord(ctx, c, rec); err != nil {
		return fmt.Errorf("recording the group's role in vCenter: %w", err)
	}
	if err := c.UpdateRole(ctx, id, in.ownedRoleName(), in.Privileges); err != nil {
		if vsphere.IsNameConflict(err) {
			return fmt.Errorf("a role named %q exists and this group did not create it: rename or delete it, or choose another group name", in.ownedRoleName())
		}
		return err
	}
	rec.Role.Name = in.ownedRoleName()
	return nil
}

// systemPrivileges are what vCenter adds to every role it is given.
var systemPrivileges = []string{"System.Anonymous", "System.Read", "System.View"}

func isSystemPrivilege(p string) bool {
	for _, s := range systemPrivileges {
		if p == s {
			return true
		}
	}
	return false
}

// withSystem is what vCenter reports for a role given privileges: those and the system ones.
func withSystem(privileges []string) []string {
	return union(privileges, systemPrivileges)
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// grant gives each principal the role on each member of want it does not hold yet, and returns
// the grants in force afterwards.
func grant(ctx context.Context, c *vsphere.Client, in *groupInput, rec *groupRecord, want *resolution, out *outcome) map[string][]string {
	held := map[string][]string{}
	for _, p := range in.Principals {
		key := p.key()
		for _, vm := range want.grants[key] {
			if holds(want.access, p, vm, rec.Role.ID) {
				held[key] = append(held[key], vm)
				continue
			}
			perm := vsphere.Permission{Entity: vsphere.VMRef(vm), Principal: vsphere.NormalizePrincipal(p.Name), Group: p.Group, RoleID: rec.Role.ID, Propagate: p.Propagate}
			if err := c.SetPermission(ctx, perm); err != nil {
				out.fail("granting %s on %s: %v", p.Name, vm, err)
				continue
			}
			held[key] = append(held[key], vm)
		}
	}
	return held
}

// holds reports whether the principal already holds exactly this permission on the VM.
func holds(access *vsphere.AccessSnapshot, p principalRecord, vm string, role int32) bool {
	if access == nil {
		return false
	}
	for _, q := range access.Defined(vsphere.VMRef(vm)) {
		if q.Group == p.Group && vsphere.SamePrincipal(q.Principal, p.Name) {
			return q.RoleID == role && q.Propagate == p.Propagate
		}
	}
	return false
}

// revoke removes the permissions the group granted (previous) that it no longer wants, where the
// principal still holds the group's role (another role there is someone else's now). It returns
// those it failed to revoke.
func revoke(ctx context.Context, c *vsphere.Client, previous, want map[string][]string, role int32, out *outcome) map[string][]string {
	failed := map[string][]string{}
	keys := make([]string, 0, len(previous))
	for k := range previous {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		keep := map[string]bool{}
		for _, vm := range want[key] {
			keep[vm] = true
		}
		group, name := strings.HasPrefix(key, "g:"), key[2:]
		for _, vm := range previous[key] {
			if keep[vm] {
				continue
			}
			if _, err := c.RemovePermission(ctx, vsphere.VMRef(vm), name, group, role); err != nil {
				out.fail("revoking %s on %s: %v", name, vm, err)
				failed[key] = append(failed[key], vm)
			}
		}
	}
	return failed
}

// reconcilePortGroups applies the network policy to the port groups of want, recording what each
// had before, and puts back what was there on those that left.
func reconcilePortGroups(ctx context.Context, c *vsphere.Client, rec *groupRecord, want *resolution, out *outcome) error {
	if rec.PortGroupsBefore == nil {
		rec.PortGroupsBefore, rec.PortGroupsSet = map[string]vsphere.NetSecurity{}, map[string]vsphere.NetSecurity{}
	}
	live := map[string]vsphere.NetSecurity{}
	if len(want.portGroups) > 0 || len(rec.PortGroupsBefore) > 0 {
		pgs, err := c.PortGroups(ctx)
		if err != nil {
			return err
		}
		for _, pg := range pgs {
			live[pg.ID] = pg.Security
		}
	}
	keep := map[string]bool{}
	changed := false
	for _, pg := range want.portGroups {
		keep[pg.ID] = true
		if _, ok := rec.PortGroupsBefore[pg.ID]; !ok {
			rec.PortGroupsBefore[pg.ID] = live[pg.ID]
			changed = true
		}
		rec.PortGroupsSet[pg.ID] = pg.Security
	}
	if changed {
		if err := writeRecord(ctx, c, rec); err != nil {
			return fmt.Errorf("recording the port groups' policies in vCenter: %w", err)
		}
	}
	for _, pg := range want.portGroups {
		if sameSecurity(live[pg.ID], pg.Security) {
			continue
		}
		if err := c.SetPortGroupSecurity(ctx, pg.ID, pg.Security); err != nil {
			out.fail("setting the security policy of port group %s: %v", pg.Name, err)
		}
	}
	for id := range rec.PortGroupsBefore {
		if keep[id] {
			continue
		}
		restorePortGroup(ctx, c, rec, id, live, out)
	}
	return nil
}

// restorePortGroup puts back a port group's policy from before the group, unless someone changed
// it since the group set it (then theirs stays, and the plan said so).
func restorePortGroup(ctx context.Context, c *vsphere.Client, rec *groupRecord, id string, live map[string]vsphere.NetSecurity, out *outcome) {
	cur, exists := live[id]
	if exists && sameSecurity(cur, rec.PortGroupsSet[id]) {
		if err := c.SetPortGroupSecurity(ctx, id, restoreSpec(rec.PortGroupsBefore[id], rec.PortGroupsSet[id])); err != nil {
			out.fail("restoring the security policy of port group %s: %v", id, err)
			return
		}
	} else if exists {
		out.warnings = append(out.warnings, fmt.Sprintf("port group %s: its security policy was changed since this group set it, and is left as it is", id))
	}
	delete(rec.PortGroupsBefore, id)
	delete(rec.PortGroupsSet, id)
}

// restoreSpec writes back every flag of before; a flag that was not set before but that the group
// set is set to false, the distributed switch's secure default, since vCenter cannot unset a flag
// once set. A flag neither had is left alone.
func restoreSpec(before, set vsphere.NetSecurity) vsphere.NetSecurity {
	f := false
	out := before
	for _, p := range []struct{ out, set **bool }{
		{&out.AllowPromiscuous, &set.AllowPromiscuous}, {&out.AllowMACChanges, &set.AllowMACChanges},
		{&out.AllowForgedTransmits, &set.AllowForgedTransmits},
	} {
		if *p.out == nil && *p.set != nil {
			*p.out = &f
		}
	}
	return out
}

func sameSecurity(a, b vsphere.NetSecurity) bool {
	eq := func(x, y *bool) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	return eq(a.AllowPromiscuous, b.AllowPromiscuous) && eq(a.AllowMACChanges, b.AllowMACChanges) && eq(a.AllowForgedTransmits, b.AllowForgedTransmits)
}

func removeOwnedRole(ctx context.Context, c *vsphere.Client, id int32, out *outcome) {
	err := c.RemoveRole(ctx, id)
	switch {
	case errors.Is(err, vsphere.ErrRoleInUse):
		out.warnings = append(out.warnings, fmt.Sprintf("the group's role (%d) is kept: permissions set by someone else still use it", id))
	case err != nil:
		out.fail("deleting the group's role %d: %v", id, err)
	}
}

// destroy revokes what the group granted, puts back the port groups, deletes its own role and
// its record.
func destroy(ctx context.Context, c *vsphere.Client, rec *groupRecord) (*outcome, error) {
	out := &outcome{}
	if failed := revoke(ctx, c, rec.Grants, nil, rec.Role.ID, out); len(failed) > 0 {
		rec.Grants = failed
	} else {
		rec.Grants = nil
	}
	empty := &resolution{}
	if err := reconcilePortGroups(ctx, c, rec, empty, out); err != nil {
		return out, err
	}
	if rec.Role.Owned && rec.Role.Name != "" {
		removeOwnedRole(ctx, c, rec.Role.ID, out)
	}
	if len(out.failures) > 0 {
		// Keep the record: it says what is still the group's, for the next destroy.
		return out, writeRecord(ctx, c, rec)
	}
	return out, clearRecord(ctx, c, rec.Name)
}

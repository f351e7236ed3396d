package security

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// unknownComputed marks the computed values unknown: the plan cannot resolve them yet.
func (m *groupModel) unknownComputed() {
	m.ID = types.StringValue(m.Name.ValueString())
	if m.Name.IsUnknown() {
		m.ID = types.StringUnknown()
	}
	m.MemberIDs = types.SetUnknown(types.StringType)
	m.MemberCount = types.Int64Unknown()
	m.RoleID = types.Int64Unknown()
	m.PermissionCount = types.Int64Unknown()
	m.PortGroups = types.ListUnknown(types.ObjectType{AttrTypes: portGroupAttrTypes})
	m.ForeignGrants = types.ListUnknown(types.ObjectType{AttrTypes: foreignGrantAttrTypes})
}

// fillPlanned sets the computed values the plan shows: what the group will reach.
func (m *groupModel) fillPlanned(in *groupInput, res *resolution) {
	m.ID = types.StringValue(in.Name)
	m.MemberIDs = stringSet(res.memberIDs())
	m.MemberCount = types.Int64Value(int64(len(res.members)))
	if res.roleKnown {
		m.RoleID = types.Int64Value(int64(res.role.ID))
	} else {
		m.RoleID = types.Int64Unknown()
	}
	m.PermissionCount = types.Int64Value(int64(res.permissionCount()))
	m.PortGroups = portGroupList(res.portGroups)
	m.ForeignGrants = foreignList(res.foreign)
}

func stringSet(s []string) types.Set {
	elems := make([]attr.Value, len(s))
	for i, v := range s {
		elems[i] = types.StringValue(v)
	}
	return types.SetValueMust(types.StringType, elems)
}

func boolValue(b *bool) types.Bool {
	if b == nil {
		return types.BoolNull()
	}
	return types.BoolValue(*b)
}

func portGroupList(pgs []portGroupState) types.List {
	elems := make([]attr.Value, 0, len(pgs))
	for _, pg := range pgs {
		elems = append(elems, types.ObjectValueMust(portGroupAttrTypes, map[string]attr.Value{
			"id": types.StringValue(pg.ID), "name": types.StringValue(pg.Name),
			"allow_promiscuous":      boolValue(pg.Security.AllowPromiscuous),
			"allow_mac_changes":      boolValue(pg.Security.AllowMACChanges),
			"allow_forged_transmits": boolValue(pg.Security.AllowForgedTransmits),
			"other_vm_count":         types.Int64Value(int64(pg.Other)),
		}))
	}
	return types.ListValueMust(types.ObjectType{AttrTypes: portGroupAttrTypes}, elems)
}

// maxListedExcess bounds the privileges a foreign grant lists (an Administrator role has hundreds).
const maxListedExcess = 10

func foreignList(fs []foreignGrant) types.List {
	elems := make([]attr.Value, 0, len(fs))
	for _, f := range fs {
		listed := f.Excess
		if len(listed) > maxListedExcess {
			listed = listed[:maxListedExcess]
		}
		elems = append(elems, types.ObjectValueMust(foreignGrantAttrTypes, map[string]attr.Value{
			"principal": types.StringValue(f.Principal), "is_group": types.BoolValue(f.Group),
			"role": types.StringValue(f.Role), "defined_on": types.StringValue(f.DefinedOn),
			"defined_on_name":        types.StringValue(f.DefinedOnNm),
			"excess_privileges":      listOfStrings(listed),
			"excess_privilege_count": types.Int64Value(int64(len(f.Excess))),
			"vm_ids":                 listOfStrings(f.VMIDs),
		}))
	}
	return types.ListValueMust(types.ObjectType{AttrTypes: foreignGrantAttrTypes}, elems)
}

func listOfStrings(s []string) types.List {
	elems := make([]attr.Value, len(s))
	for i, v := range s {
		elems[i] = types.StringValue(v)
	}
	return types.ListValueMust(types.StringType, elems)
}

// foreignFromList returns, for each foreign grant a state holds, a key per member it reaches.
func foreignFromList(l types.List) []string {
	if l.IsNull() || l.IsUnknown() {
		return nil
	}
	var out []string
	for _, e := range l.Elements() {
		o, ok := e.(types.Object)
		if !ok {
			continue
		}
		a := o.Attributes()
		str := func(k string) string {
			if s, ok := a[k].(types.String); ok {
				return s.ValueString()
			}
			return ""
		}
		group, _ := a["is_group"].(types.Bool)
		key := foreignKey(str("principal"), group.ValueBool(), str("defined_on"))
		vms, _ := a["vm_ids"].(types.List)
		for _, v := range vms.Elements() {
			if s, ok := v.(types.String); ok {
				out = append(out, key+"\x00"+s.ValueString())
			}
		}
	}
	return out
}

// fromRecord fills the declared attributes from a record: what an import puts in state.
func (m *groupModel) fromRecord(rec *groupRecord) {
	m.ID, m.Name, m.Description = types.StringValue(rec.Name), types.StringValue(rec.Name), types.StringValue(rec.Description)
	m.Role, m.Privileges = types.StringNull(), types.SetNull(types.StringType)
	if !rec.Role.Owned {
		m.Role = types.StringValue(rec.Role.Name)
	}
	m.Principals = nil
	for _, p := range rec.Principals {
		m.Principals = append(m.Principals, principalModel{Name: types.StringValue(p.Name), IsGroup: types.BoolValue(p.Group), Propagate: types.BoolValue(p.Propagate)})
	}
	m.TrustedPrincipals = framework.StringList(rec.Trusted)
	m.CeilingPrivileges = types.SetNull(types.StringType)
	if len(rec.Ceiling) > 0 {
		m.CeilingPrivileges = stringSet(rec.Ceiling)
	}
	m.Members = framework.SelectionFromVSphere(rec.Members)
	m.NetworkPolicy = nil
	if n := rec.Network; n != nil {
		m.NetworkPolicy = &networkPolicyModel{
			AllowPromiscuous: boolValue(n.AllowPromiscuous), AllowMACChanges: boolValue(n.AllowMACChanges),
			AllowForgedTransmits: boolValue(n.AllowForgedTransmits), PortGroups: framework.StringList(n.PortGroups),
		}
	}
}

// observed is what refresh finds the group holds in vCenter now.
type observed struct {
	members         []member
	permissionCount int
	portGroups      []portGroupState
	foreign         []foreignGrant
	role            vsphere.Role
	roleFound       bool
}

// observe reads what the group holds: the members on which every principal still holds the
// permission the group granted (or one it left alone), the port groups it manages as they are,
// the foreign grants on those members, and its role.
func observe(ctx context.Context, c *vsphere.Client, in *groupInput, rec *groupRecord) (*observed, error) {
	access, err := c.ReadAccess(ctx)
	if err != nil {
		return nil, err
	}
	obs := &observed{}
	if r, ok := access.Roles[rec.Role.ID]; ok {
		obs.role, obs.roleFound = r, true
	}
	for _, vm := range rec.MemberIDs {
		name, exists := access.Ancestors.Name[vsphere.VMRef(vm)]
		if !exists {
			continue
		}
		intact := true
		for _, p := range rec.Principals {
			if rec.granted(p.key(), vm) {
				if holds(access, p, vm, rec.Role.ID) {
					obs.permissionCount++
				} else {
					intact = false
				}
			}
		}
		if intact {
			obs.members = append(obs.members, member{ID: vm, Name: name})
		}
	}
	if len(rec.PortGroupsSet) > 0 {
		if obs.portGroups, err = observePortGroups(ctx, c, rec, obs.members); err != nil {
			return nil, err
		}
	}
	obs.foreign = foreignGrants(in, rec, access, obs.members, obs.role, rec.Grants)
	return obs, nil
}

func observePortGroups(ctx context.Context, c *vsphere.Client, rec *groupRecord, members []member) ([]portGroupState, error) {
	pgs, err := c.PortGroups(ctx)
	if err != nil {
		return nil, err
	}
	isMember := map[string]bool{}
	for _, m := range members {
		isMember[m.ID] = true
	}
	var out []portGroupState
	for _, pg := range pgs {
		if _, ok := rec.PortGroupsSet[pg.ID]; !ok {
			continue
		}
		out = append(out, newPortGroupState(pg, pg.Security, isMember))
	}
	return out, nil
}

// fillObserved sets the computed values refresh found (and, for a role the group owns, its
// privileges, so that a change made outside Terraform shows as drift).
func (m *groupModel) fillObserved(rec *groupRecord, obs *observed) {
	ids := make([]string, len(obs.members))
	for i, mb := range obs.members {
		ids[i] = mb.ID
	}
	m.ID = types.StringValue(rec.Name)
	m.MemberIDs = stringSet(ids)
	m.MemberCount = types.Int64Value(int64(len(ids)))
	m.RoleID = types.Int64Value(int64(rec.Role.ID))
	m.PermissionCount = types.Int64Value(int64(obs.permissionCount))
	if len(rec.PortGroupsSet) > 0 || m.NetworkPolicy != nil {
		m.PortGroups = portGroupList(obs.portGroups)
	} else {
		m.PortGroups = portGroupList(nil)
	}
	m.ForeignGrants = foreignList(obs.foreign)
	if rec.Role.Owned && obs.roleFound {
		m.Privileges = stringSet(withoutImplied(obs.role.Privileges, m.Privileges))
	}
}

// withoutImplied drops from a role's privileges the System.* ones vCenter adds to every role,
// unless the configuration lists them, so that an untouched role reads back as declared.
func withoutImplied(live []string, declared types.Set) []string {
	want := map[string]bool{}
	for _, e := range declared.Elements() {
		if s, ok := e.(types.String); ok {
			want[s.ValueString()] = true
		}
	}
	var out []string
	for _, p := range live {
		if want[p] || !isSystemPrivilege(p) {
			out = append(out, p)
		}
	}
	return out
}

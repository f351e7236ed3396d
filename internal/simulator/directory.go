package simulator

import (
	"slices"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// directory is the simulator's UserDirectory: vcsim's, which knows only root and admin, plus the
// seeded principals, searched the way vCenter searches its identity sources. It replaces vcsim's
// object under the same reference, and vcsim dispatches a call by method name on whatever object
// the registry holds, so RetrieveUserGroups reaches the method below. The embedded pointer keeps
// the property collector working (it reads the first embedded field's mo.UserDirectory).
// Registry.UserDirectory(), which asserts vcsim's type, is called only by the ESX host's
// HostLocalAccountManager, which a vCenter model does not have.
type directory struct {
	*simulator.UserDirectory

	principals []Principal
}

// seedDirectory puts a directory holding principals in place of vcsim's UserDirectory. It leaves
// simulator.DefaultUserGroup alone: vcsim's AuthorizationManager grants each entry of that list
// Admin on the root folder.
func seedDirectory(model *simulator.Model, principals []Principal) {
	m := model.Map()
	m.Put(&directory{UserDirectory: m.UserDirectory(), principals: slices.Clone(principals)})
}

// RetrieveUserGroups answers as vCenter does: Domain, when set, keeps the principals of that
// domain (case-insensitive); SearchStr is matched against the name after the domain, exactly when
// ExactMatch is set and as a case-insensitive substring otherwise (so an empty SearchStr lists
// everything); FindUsers and FindGroups pick the kinds returned. vcsim's own principals have no
// domain: they are searched by vcsim and returned only when no Domain is given.
func (d *directory) RetrieveUserGroups(req *types.RetrieveUserGroups) soap.HasFault {
	var res []types.BaseUserSearchResult
	if req.Domain == "" {
		if body, ok := d.UserDirectory.RetrieveUserGroups(req).(*methods.RetrieveUserGroupsBody); ok && body.Res != nil {
			res = body.Res.Returnval
		}
	}
	for _, p := range d.principals {
		domain, name := p.split()
		switch {
		case p.Group && !req.FindGroups, !p.Group && !req.FindUsers:
			continue
		case req.Domain != "" && !strings.EqualFold(domain, req.Domain):
			continue
		case req.ExactMatch && name != req.SearchStr:
			continue
		case !req.ExactMatch && !strings.Contains(strings.ToLower(name), strings.ToLower(req.SearchStr)):
			continue
		}
		res = append(res, &types.UserSearchResult{Principal: p.Name, FullName: p.FullName, Group: p.Group})
	}
	return &methods.RetrieveUserGroupsBody{Res: &types.RetrieveUserGroupsResponse{Returnval: res}}
}

// split returns the domain and the name of DOMAIN\name; a principal without a domain has "".
func (p Principal) split() (domain, name string) {
	if i := strings.IndexByte(p.Name, '\\'); i >= 0 {
		return p.Name[:i], p.Name[i+1:]
	}
	return "", p.Name
}

// fillPrivilegeList gives AuthorizationManager the privilegeList vcsim leaves empty: one entry per
// privilege of the Admin role (which holds them all), named as vCenter names them (PrivId
// VirtualMachine.Interact.PowerOn is privilege PowerOn of group VirtualMachine.Interact). vcsim
// already accepts exactly these IDs in a role.
func fillPrivilegeList(model *simulator.Model) {
	ref := model.ServiceContent.AuthorizationManager
	if ref == nil {
		return
	}
	am, ok := model.Map().Get(*ref).(*simulator.AuthorizationManager)
	if !ok {
		return
	}
	admin := object.AuthorizationRoleList(am.RoleList).ByName("Admin")
	if admin == nil {
		return
	}
	list := make([]types.AuthorizationPrivilege, 0, len(admin.Privilege))
	for _, id := range admin.Privilege {
		group, name := "", id
		if i := strings.LastIndexByte(id, '.'); i >= 0 {
			group, name = id[:i], id[i+1:]
		}
		list = append(list, types.AuthorizationPrivilege{PrivId: id, Name: name, PrivGroupName: group, OnParent: false})
	}
	am.PrivilegeList = list
}

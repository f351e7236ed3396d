// Package security is the Security Management function: security groups (who may do what to which
// VMs, resolved live from the shared selection) and the access report (who can touch a VM, and
// why). It reaches vCenter only through internal/vsphere.
package security

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/suggest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

var (
	_ resource.ResourceWithConfigure      = (*groupResource)(nil)
	_ resource.ResourceWithImportState    = (*groupResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*groupResource)(nil)
	_ resource.ResourceWithValidateConfig = (*groupResource)(nil)
)

// NewGroupResource is the vmgmt_security_group resource.
func NewGroupResource() resource.Resource {
	return &groupResource{ResourceBase: framework.ResourceBase{TypeSuffix: "security_group"}}
}

type groupResource struct {
	framework.ResourceBase
}

// ValidateConfig checks what spans attributes: each principal once, a network policy that sets
// something.
func (r *groupResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m groupModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	seen := map[string]int{}
	for i, p := range m.Principals {
		if p.Name.IsUnknown() || p.IsGroup.IsUnknown() {
			continue
		}
		key := principalKey(p.Name.ValueString(), p.IsGroup.ValueBool())
		if j, dup := seen[key]; dup {
			resp.Diagnostics.AddAttributeError(path.Root("principals").AtListIndex(i).AtName("name"), "Principal listed twice",
				fmt.Sprintf("%s is listed as principals[%d] already: list each user or group once.", p.Name.ValueString(), j))
		}
		seen[key] = i
	}
	if np := m.NetworkPolicy; np != nil && np.AllowPromiscuous.IsNull() && np.AllowMACChanges.IsNull() && np.AllowForgedTransmits.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("network_policy"), "Empty network policy",
			"network_policy sets none of allow_promiscuous, allow_mac_changes and allow_forged_transmits: set at least one, or remove the block.")
	}
}

// input converts the model to plain values; known is false while a value is unknown.
func (m *groupModel) input(ctx context.Context) (*groupInput, bool, diag.Diagnostics) {
	var diags diag.Diagnostics
	in := &groupInput{Name: m.Name.ValueString(), Description: m.Description.ValueString(), RoleName: m.Role.ValueString()}
	known := !m.Name.IsUnknown() && !m.Role.IsUnknown() && !m.Privileges.IsUnknown() && !m.Description.IsUnknown()
	sel, selKnown, d := m.Members.ToSelection(ctx, path.Root("members"))
	diags.Append(d...)
	in.Members = sel
	known = known && selKnown
	in.Privileges = setStrings(ctx, m.Privileges, &known, &diags)
	sort.Strings(in.Privileges)
	in.Ceiling = setStrings(ctx, m.CeilingPrivileges, &known, &diags)
	sort.Strings(in.Ceiling)
	in.Trusted = listStrings(ctx, m.TrustedPrincipals, &known, &diags)
	for _, p := range m.Principals {
		if p.Name.IsUnknown() || p.IsGroup.IsUnknown() || p.Propagate.IsUnknown() {
			known = false
			continue
		}
		in.Principals = append(in.Principals, principalRecord{Name: p.Name.ValueString(), Group: p.IsGroup.ValueBool(), Propagate: p.Propagate.ValueBool()})
	}
	if np := m.NetworkPolicy; np != nil {
		in.Network = &networkRecord{NetSecurity: vsphere.NetSecurity{
			AllowPromiscuous: framework.BoolPtr(np.AllowPromiscuous, &known), AllowMACChanges: framework.BoolPtr(np.AllowMACChanges, &known),
			AllowForgedTransmits: framework.BoolPtr(np.AllowForgedTransmits, &known),
		}}
		in.Network.PortGroups = listStrings(ctx, np.PortGroups, &known, &diags)
	}
	return in, known, diags
}

func setStrings(ctx context.Context, s types.Set, known *bool, diags *diag.Diagnostics) []string {
	if s.IsUnknown() {
		*known = false
		return nil
	}
	var out []string
	if !s.IsNull() {
		diags.Append(s.ElementsAs(ctx, &out, false)...)
	}
	return out
}

func listStrings(ctx context.Context, l types.List, known *bool, diags *diag.Diagnostics) []string {
	if l.IsUnknown() {
		*known = false
		return nil
	}
	var out []string
	if !l.IsNull() {
		diags.Append(l.ElementsAs(ctx, &out, false)...)
	}
	return out
}

// ModifyPlan resolves the members, the role, the permissions and the port groups from live
// inventory, so that the plan shows who gains or loses access, checks every name against vCenter,
// warns of what it leaves alone, and puts the change through the policy gate.
func (r *groupResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if !r.Configured() {
		return
	}
	if req.Plan.Raw.IsNull() {
		resp.Diagnostics.Append(r.GatePlan(ctx, req, req.Plan.Raw, false, framework.Facts{})...)
		return
	}
	var plan groupModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	var state *groupModel
	if !req.State.Raw.IsNull() {
		state = &groupModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	in, known, d := plan.input(ctx)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !known {
		plan.unknownComputed()
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		resp.Diagnostics.Append(r.GatePlan(ctx, req, resp.Plan.Raw, false,
			framework.Facts{Unknown: []string{"role", "members", "port_groups", "principals"}})...)
		return
	}
	c := r.Client.VSphere
	checkNames(ctx, c, in, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if r.Client.PlannedAny(framework.PlannedVM) {
		// VMs this run creates (that the group depends on) may join: the members are resolved at
		// apply time, once they exist.
		plan.unknownComputed()
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		resp.Diagnostics.Append(r.GatePlan(ctx, req, resp.Plan.Raw, false,
			framework.Facts{Unknown: []string{"role", "members", "port_groups", "principals"}})...)
		return
	}
	rec, err := readRecord(ctx, c, in.Name)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot read the security group's definition", err)
		return
	}
	if state == nil && !adoptable(ctx, c, in, rec, &resp.Diagnostics) {
		return
	}
	res, err := resolve(ctx, c, in, rec, nil)
	if err != nil {
		addResolveError(&resp.Diagnostics, err)
		return
	}
	plan.fillPlanned(in, res)
	warnPlan(in, res, state, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	inv, err := r.inventory(ctx, in, res)
	if err != nil {
		framework.AddVSphereError(&resp.Diagnostics, "Cannot read the members' tags for the policy gate", err)
		return
	}
	resp.Diagnostics.Append(r.GatePlan(ctx, req, resp.Plan.Raw, false, framework.Facts{Inventory: inv})...)
}

// adoptable checks, before a create, what of this group already exists in vCenter: a record an
// interrupted create of this same request made is adopted (the plan says so); a record or an
// owned role that vmgmt did not make for this request fails the plan with the import command.
func adoptable(ctx context.Context, c *vsphere.Client, in *groupInput, rec *groupRecord, diags *diag.Diagnostics) bool {
	token := in.request().Token
	if rec != nil {
		if rec.Request != token {
			diags.AddAttributeError(path.Root("name"), "Security group already exists",
				fmt.Sprintf("A security group named %q is already defined in vCenter (custom attribute %s%s on the datacenter), by "+
					"another configuration or with other principals or role. Choose another name, or, if this resource is meant to "+
					"manage it, bring it under Terraform with:\n\n  terraform import <address> %s\n\nwhere <address> is this "+
					"resource's address (e.g. vmgmt_security_group.db_admins).", in.Name, recordPrefix, in.Name, in.Name))
			return false
		}
		diags.AddAttributeWarning(path.Root("name"), "Security group will be adopted",
			fmt.Sprintf("Security group %s is defined in vCenter already: an earlier apply of this same configuration created it "+
				"and was interrupted before Terraform recorded it. Apply adopts it and finishes its grants instead of starting over.", in.Name))
	}
	if in.owned() {
		role, err := c.RoleByName(ctx, in.ownedRoleName())
		if err == nil && (rec == nil || rec.Role.ID != role.ID) {
			diags.AddAttributeError(path.Root("name"), "Role name taken",
				fmt.Sprintf("A role named %q (%d) exists in vCenter and this group did not create it, so the group cannot own a role of "+
					"that name. Rename or delete that role, give the group another name, or set role = %q to use it as it is.",
					role.Name, role.ID, role.Name))
			return false
		}
	}
	return true
}

// checkNames refuses at plan time, on the attribute that names it, a principal the directory does
// not know, a privilege vCenter does not define, a role that does not exist and a tag that does
// not exist, each with the nearest valid spellings.
func checkNames(ctx context.Context, c *vsphere.Client, in *groupInput, diags *diag.Diagnostics) {
	for i, p := range in.Principals {
		if _, err := c.LookupPrincipal(ctx, p.Name, p.Group); err != nil {
			at := path.Root("principals").AtListIndex(i).AtName("name")
			if vsphere.IsNotFound(err) {
				kind := "user"
				if p.Group {
					kind = "group"
				}
				diags.AddAttributeError(at, "Unknown principal", fmt.Sprintf("principals[%d]: vCenter's directory has no %s %s%s\n\n"+
					"Check the spelling and the domain (DOMAIN\\name or name@domain), and is_group (a group needs is_group = true).",
					i, kind, vsphere.NormalizePrincipal(p.Name), hintOf(err)))
				continue
			}
			framework.AddVSphereError(diags, "Cannot check principal "+p.Name, err)
		}
	}
	checkPrivileges(ctx, c, in, diags)
	if !in.owned() {
		if _, err := c.RoleByName(ctx, in.RoleName); err != nil {
			if vsphere.IsNotFound(err) {
				diags.AddAttributeError(path.Root("role"), "Unknown role", fmt.Sprintf("vCenter has no role %s%s\n\n"+
					"Give the name of an existing role, or set privileges for a role the group owns.", in.RoleName, hintOf(err)))
			} else {
				framework.AddVSphereError(diags, "Cannot read the roles", err)
			}
		}
	}
	checkTags(ctx, c, in.Members, diags)
}

func checkPrivileges(ctx context.Context, c *vsphere.Client, in *groupInput, diags *diag.Diagnostics) {
	if len(in.Privileges)+len(in.Ceiling) == 0 {
		return
	}
	valid, err := c.Privileges(ctx)
	if err != nil {
		framework.AddVSphereError(diags, "Cannot read vCenter's privilege list", err)
		return
	}
	set := map[string]bool{}
	for _, p := range valid {
		set[p] = true
	}
	for attr, list := range map[string][]string{"privileges": in.Privileges, "ceiling_privileges": in.Ceiling} {
		for _, p := range list {
			if !set[p] {
				hint := ""
				if h := suggest.Phrase(p, valid, 0); h != "" {
					hint = ": " + h
				}
				diags.AddAttributeError(path.Root(attr), "Unknown privilege",
					fmt.Sprintf("vCenter defines no privilege %s%s\n\nPrivileges are IDs such as VirtualMachine.Interact.PowerOn (see vCenter's "+
						"Administration > Roles, or the privilegeList of its AuthorizationManager).", p, hint))
			}
		}
	}
}

func checkTags(ctx context.Context, c *vsphere.Client, sel vsphere.Selection, diags *diag.Diagnostics) {
	refs := append([]vsphere.TagRef(nil), sel.Include.Tags...)
	if sel.Exclude != nil {
		refs = append(refs, sel.Exclude.Tags...)
	}
	missing, err := c.MissingTags(ctx, refs)
	if err != nil {
		framework.AddVSphereError(diags, "Cannot check the members' tags", err)
		return
	}
	for i, t := range sel.Include.Tags {
		if hint, ok := missing[t]; ok {
			diags.AddAttributeError(path.Root("members").AtName("tags").AtListIndex(i), "Unknown tag",
				fmt.Sprintf("There is no tag %s: %s\n\nA security group refuses a tag that does not exist, since a misspelt tag would "+
					"silently grant nothing; create the tag first (it may carry no VM yet).", t, hint))
		}
	}
	if sel.Exclude != nil {
		for i, t := range sel.Exclude.Tags {
			if hint, ok := missing[t]; ok {
				diags.AddAttributeError(path.Root("members").AtName("exclude").AtName("tags").AtListIndex(i), "Unknown tag",
					fmt.Sprintf("There is no tag %s: %s", t, hint))
			}
		}
	}
}

func addResolveError(diags *diag.Diagnostics, err error) {
	var pgErr *PortGroupNotFoundError
	switch {
	case errors.As(err, &pgErr):
		diags.AddAttributeError(path.Root("network_policy").AtName("port_groups"), "Unknown port group",
			capitalize(err.Error())+". Give a distributed port group's name or managed object ID (dvportgroup-42).")
	case vsphere.IsNotFound(err):
		diags.AddError("Cannot resolve the security group", capitalize(err.Error())+".")
	default:
		framework.AddVSphereError(diags, "Cannot resolve the security group's members", err)
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// warnPlan says what the plan leaves alone or reaches beyond the members: permissions a principal
// already holds from someone else, port groups shared with other VMs, foreign grants that are new.
func warnPlan(in *groupInput, res *resolution, state *groupModel, diags *diag.Diagnostics) {
	if n := len(res.skipped); n > 0 {
		var lines []string
		for i, s := range res.skipped {
			if i == 10 {
				lines = append(lines, fmt.Sprintf("… and %d more", n-10))
				break
			}
			lines = append(lines, fmt.Sprintf("  %s already holds %s on %s (%s)", s.Principal, s.Role, s.VMName, s.VMID))
		}
		diags.AddAttributeWarning(path.Root("principals"), "Permissions set by someone else are left as they are",
			fmt.Sprintf("Group %s does not grant its role where a principal already holds a permission it did not make; those "+
				"stay as they are and are not the group's:\n%s", in.Name, strings.Join(lines, "\n")))
	}
	if n := len(res.narrowed); n > 0 {
		var lines []string
		for i, s := range res.narrowed {
			if i == 10 {
				lines = append(lines, fmt.Sprintf("… and %d more", n-10))
				break
			}
			lines = append(lines, fmt.Sprintf("  %s inherits %s on %s (%s)", s.Principal, s.Role, s.VMName, s.VMID))
		}
		diags.AddAttributeWarning(path.Root("principals"), "The group's permission narrows an inherited role",
			fmt.Sprintf("On these members a principal of group %s inherits a role with privileges the group's role lacks. vCenter "+
				"applies the permission set on the VM itself, so once the group grants its role there, the principal has only "+
				"that role on the VM:\n%s", in.Name, strings.Join(lines, "\n")))
	}
	for _, pg := range res.portGroups {
		if pg.Other > 0 {
			diags.AddAttributeWarning(path.Root("network_policy"), "Port group shared with VMs outside the group",
				fmt.Sprintf("Port group %s (%s) carries %d member(s) of group %s and %d other VM(s): its network policy changes for "+
					"those %d VM(s) too.", pg.Name, pg.ID, len(pg.Members), in.Name, pg.Other, pg.Other))
		}
	}
	known := map[string]bool{}
	if state != nil {
		for _, f := range foreignFromList(state.ForeignGrants) {
			known[f] = true
		}
	}
	var fresh []string
	for _, f := range res.foreign {
		var newVMs []string
		for i, vm := range f.VMIDs {
			if !known[f.key()+"\x00"+vm] {
				newVMs = append(newVMs, fmt.Sprintf("%s (%s)", f.VMNames[i], vm))
			}
		}
		if len(newVMs) == 0 {
			continue
		}
		if len(newVMs) > 5 {
			newVMs = append(newVMs[:5], fmt.Sprintf("%d more", len(newVMs)-5))
		}
		fresh = append(fresh, fmt.Sprintf("  %s holds role %s, defined on %s (%s), on %s: beyond the ceiling by %s",
			f.Principal, f.Role, f.DefinedOnNm, f.DefinedOn, strings.Join(newVMs, ", "), excessText(f.Excess)))
	}
	if n := len(fresh); n > 0 {
		if n > 10 {
			fresh = append(fresh[:10], fmt.Sprintf("  … and %d more (see foreign_grants)", n-10))
		}
		diags.AddAttributeWarning(path.Root("foreign_grants"), fmt.Sprintf("%d new foreign grant(s) on members of %s", n, in.Name),
			"Permissions in force on members that this group did not grant and that exceed its role (or ceiling_privileges). "+
				"List principals that may hold them in trusted_principals:\n"+strings.Join(fresh, "\n"))
	}
}

// excessText names the first privileges beyond the ceiling and how many there are.
func excessText(excess []string) string {
	if len(excess) <= 3 {
		return strings.Join(excess, ", ")
	}
	return fmt.Sprintf("%s and %d more privileges", strings.Join(excess[:3], ", "), len(excess)-3)
}

// foreignKey identifies a foreign permission: who holds it, and where it is defined.
func foreignKey(principal string, group bool, definedOn string) string {
	return principalKey(principal, group) + "\x00" + definedOn
}

// hintOf is ": did you mean …?" from a NotFoundError's hint, or "" without one.
func hintOf(err error) string {
	var nf *vsphere.NotFoundError
	if errors.As(err, &nf) && nf.Hint != "" {
		return ": " + nf.Hint
	}
	return ""
}

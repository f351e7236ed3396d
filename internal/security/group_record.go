package security

import (
	"context"
	"sort"
	"strings"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// A security group's definition lives in vCenter, in a custom attribute of its own on the
// datacenter (the record store's PutDatacenterRecord): what the user declared, and what the group
// did — the permissions it granted, the port group policies it replaced — so that a rerun after a
// crash, an import, or a destroy with the state lost knows exactly what is the group's and never
// touches anything else.

// recordPrefix names a group's custom attribute: recordPrefix + name.
const recordPrefix = "vmgmt.security-group."

// recordFormat is the format of the records written now.
const recordFormat = 1

// ownedRolePrefix names the role a group owns: ownedRolePrefix + name.
const ownedRolePrefix = "vmgmt-sg-"

// CompositionCategory is the tag category of the catalog VMs whose item names a group: a VM
// tagged vmgmt-security-group:<name> is a member of group <name> without any selection.
const CompositionCategory = "vmgmt-security-group"

type groupRecord struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Request is the token of the create that made the record (vsphere.Request).
	Request    string            `json:"request"`
	Role       roleRecord        `json:"role"`
	Principals []principalRecord `json:"principals"`
	Members    vsphere.Selection `json:"members"`
	Network    *networkRecord    `json:"network_policy,omitempty"`
	Trusted    []string          `json:"trusted_principals,omitempty"`
	Ceiling    []string          `json:"ceiling_privileges,omitempty"`

	// MemberIDs are the members as of the last apply.
	MemberIDs []string `json:"member_ids,omitempty"`
	// Grants are the permissions the group made: principal key -> VM IDs, each with Role.ID.
	Grants map[string][]string `json:"grants,omitempty"`
	// PortGroupsBefore is each port group's security policy before the group set it; its keys
	// are the port groups the group manages.
	PortGroupsBefore map[string]vsphere.NetSecurity `json:"port_groups_before,omitempty"`
	// PortGroupsSet is what the group set on them (what a restore checks is still there).
	PortGroupsSet map[string]vsphere.NetSecurity `json:"port_groups_set,omitempty"`
}

type roleRecord struct {
	ID    int32  `json:"id"`
	Name  string `json:"name"`
	Owned bool   `json:"owned"`
}

type principalRecord struct {
	Name      string `json:"name"`
	Group     bool   `json:"is_group"`
	Propagate bool   `json:"propagate"`
}

type networkRecord struct {
	vsphere.NetSecurity
	PortGroups []string `json:"port_groups,omitempty"`
}

// principalKey identifies a principal in Grants: kind and the normalized name, case-folded (the
// directory compares case-insensitively).
func principalKey(name string, group bool) string {
	kind := "u:"
	if group {
		kind = "g:"
	}
	return kind + strings.ToLower(vsphere.NormalizePrincipal(name))
}

func (p principalRecord) key() string { return principalKey(p.Name, p.Group) }

// readRecord reads a group's record fresh from vCenter; nil when there is none.
func readRecord(ctx context.Context, c *vsphere.Client, name string) (*groupRecord, error) {
	var rec groupRecord
	format, err := c.DatacenterRecord(ctx, recordPrefix+name, true, &rec)
	if err != nil || format == 0 {
		return nil, err
	}
	return &rec, nil
}

func writeRecord(ctx context.Context, c *vsphere.Client, rec *groupRecord) error {
	return c.PutDatacenterRecord(ctx, recordPrefix+rec.Name, recordFormat, rec)
}

func clearRecord(ctx context.Context, c *vsphere.Client, name string) error {
	return c.PutDatacenterRecord(ctx, recordPrefix+name, recordFormat, nil)
}

// granted reports whether the record says the group granted principal key on vm.
func (r *groupRecord) granted(key, vm string) bool {
	if r == nil {
		return false
	}
	for _, id := range r.Grants[key] {
		if id == vm {
			return true
		}
	}
	return false
}

// grantCount is the number of permissions the record lists.
func (r *groupRecord) grantCount() int {
	n := 0
	for _, vms := range r.Grants {
		n += len(vms)
	}
	return n
}

// addGrants merges grants into the record's (write-ahead before they are made).
func (r *groupRecord) addGrants(g map[string][]string) {
	if r.Grants == nil {
		r.Grants = map[string][]string{}
	}
	for k, vms := range g {
		r.Grants[k] = union(r.Grants[k], vms)
	}
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range [][]string{a, b} {
		for _, s := range l {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	sort.Strings(out)
	return out
}

// request identifies a group's create across runs: its name, role and principals, so that a
// rerun of the same configuration adopts what an interrupted create made, and another
// configuration's group of the same name is not.
func request(name, role string, privileges []string, principals []principalRecord) vsphere.Request {
	fields := []string{name, role}
	privs := append([]string(nil), privileges...)
	sort.Strings(privs)
	fields = append(fields, strings.Join(privs, ","))
	var ps []string
	for _, p := range principals {
		ps = append(ps, p.key())
	}
	sort.Strings(ps)
	fields = append(fields, strings.Join(ps, ","))
	return vsphere.NewRequest("vmgmt_security_group", fields...)
}

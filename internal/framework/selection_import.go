package framework

import (
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// tagObjectType is the element type of a selection's tags.
var tagObjectType = types.ObjectType{AttrTypes: map[string]attr.Type{"category": types.StringType, "name": types.StringType}}

// SelectionFromVSphere is the selection block that resolves to sel: what an import puts in state
// from a definition stored in vCenter. Unset criteria stay null, so that the block reads as the
// user would have written it.
func SelectionFromVSphere(sel vsphere.Selection) *SelectionModel {
	inc := criteriaFromVSphere(sel.Include)
	m := &SelectionModel{
		Tags: inc.Tags, Folders: inc.Folders, Pools: inc.Pools, IDs: inc.IDs,
		DirectChildrenOnly: inc.DirectChildrenOnly, Match: inc.Match,
		PowerStates: types.ListNull(types.StringType), Templates: types.StringNull(),
	}
	if sel.Exclude != nil && (len(sel.Exclude.Tags)+len(sel.Exclude.Folders)+len(sel.Exclude.Pools)+len(sel.Exclude.IDs) > 0) {
		ex := criteriaFromVSphere(*sel.Exclude)
		m.Exclude = &ex
	}
	if len(sel.PowerStates) > 0 {
		ps := make([]string, len(sel.PowerStates))
		for i, p := range sel.PowerStates {
			ps[i] = string(p)
		}
		m.PowerStates = StringList(ps)
	}
	if sel.Templates != "" {
		m.Templates = types.StringValue(string(sel.Templates))
	}
	return m
}

func criteriaFromVSphere(c vsphere.Criteria) CriteriaModel {
	m := CriteriaModel{
		Tags: types.ListNull(tagObjectType), Folders: StringList(c.Folders), Pools: StringList(c.Pools), IDs: StringList(c.IDs),
		DirectChildrenOnly: types.BoolNull(), Match: types.StringNull(),
	}
	if c.DirectOnly {
		m.DirectChildrenOnly = types.BoolValue(true)
	}
	if c.Match != "" {
		m.Match = types.StringValue(string(c.Match))
	}
	if len(c.Tags) > 0 {
		elems := make([]attr.Value, len(c.Tags))
		for i, t := range c.Tags {
			elems[i] = types.ObjectValueMust(tagObjectType.AttrTypes, map[string]attr.Value{
				"category": types.StringValue(t.Category), "name": types.StringValue(t.Name),
			})
		}
		m.Tags = types.ListValueMust(tagObjectType, elems)
	}
	return m
}

// StringList is a list of strings, null when empty (how an unset list attribute reads).
func StringList(s []string) types.List {
	if len(s) == 0 {
		return types.ListNull(types.StringType)
	}
	elems := make([]attr.Value, len(s))
	for i, v := range s {
		elems[i] = types.StringValue(v)
	}
	return types.ListValueMust(types.StringType, elems)
}

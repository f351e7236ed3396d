package framework

import (
	"context"
	"fmt"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	dsschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// The host selection block names ESXi hosts, the way the selection block names VMs: host
// baselines and host backups use it.
//
//	hosts {
//	  clusters = ["prod"]
//	  tags     = [{ category = "role", name = "edge" }]
//	  ids      = ["host-21"]
//	  match    = "any"
//	}
//
// HostSelectionModel is its value and ToHostScope turns it into the vsphere.HostScope that
// resolves it, live at every plan, so that a host that joins a cluster is picked up.

var hostIDPattern = regexp.MustCompile(`^host-[0-9]+$`)

const hostSelectionDescription = "Which ESXi hosts this applies to, resolved live at every plan, so that a host that joins " +
	"a cluster (or is tagged) is picked up by the next plan. A host is selected when it meets the criteria (`clusters`, " +
	"`tags`, `ids`), combined by `match`."

func hostSelectionAttributes() map[string]selectionAttr {
	return map[string]selectionAttr{
		"clusters": {
			kind: selectionStringList,
			description: "Hosts in these clusters. A cluster is its managed object ID (`domain-c7`) or its inventory path, " +
				"absolute (`/dc1/host/prod`) or relative to the datacenter's host folder (`prod`). A cluster that does not " +
				"exist is an error.",
			list: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues(), listvalidator.ValueStringsAre(InventoryPath())},
		},
		"tags": {
			kind: selectionTagList,
			description: "Hosts that carry one of these vSphere tags (with `match = \"all\"`: every one). A tag that does not " +
				"exist yet selects no host.",
			list: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues()},
		},
		"ids": {
			kind:        selectionStringList,
			description: "Hosts by managed object ID (`host-21`). An ID that names no host (any more) selects nothing.",
			list: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues(),
				listvalidator.ValueStringsAre(stringvalidator.RegexMatches(hostIDPattern, "must be a host's managed object ID, such as host-21"))},
		},
		"match": {
			kind: selectionString,
			description: "How the criteria combine: `any` (the default) selects a host that meets at least one of them, `all` " +
				"a host that meets every one.",
			str: []validator.String{stringvalidator.OneOf(vsphere.MatchModes()...)},
		},
	}
}

// HostSelectionBlock is the `hosts` block of a resource, optional: the resource's ValidateConfig
// requires it where it applies.
func HostSelectionBlock() schema.SingleNestedBlock {
	return schema.SingleNestedBlock{
		MarkdownDescription: hostSelectionDescription,
		Attributes:          resourceSelectionAttributes(hostSelectionAttributes()),
		Validators:          []validator.Object{hostCriteria},
	}
}

// DataSourceHostSelectionBlock is HostSelectionBlock for a data source.
func DataSourceHostSelectionBlock() dsschema.SingleNestedBlock {
	return dsschema.SingleNestedBlock{
		MarkdownDescription: hostSelectionDescription,
		Attributes:          dataSourceSelectionAttributes(hostSelectionAttributes()),
		Validators:          []validator.Object{hostCriteria},
	}
}

// HostSelectionModel is the value of a hosts block.
type HostSelectionModel struct {
	Clusters types.List   `tfsdk:"clusters"`
	Tags     types.List   `tfsdk:"tags"`
	IDs      types.List   `tfsdk:"ids"`
	Match    types.String `tfsdk:"match"`
}

// ToHostScope converts the block's value, found at path at; known is false while a value is
// unknown.
func (m *HostSelectionModel) ToHostScope(ctx context.Context, at path.Path) (scope vsphere.HostScope, known bool, diags diag.Diagnostics) {
	if m == nil {
		diags.AddAttributeError(at, "Missing host selection", "Attribute "+at.String()+": a hosts block is required: name the hosts by clusters, tags or ids.")
		return scope, false, diags
	}
	cv := converter{ctx: ctx, known: true}
	c := cv.criteria(at, CriteriaModel{Tags: m.Tags, IDs: m.IDs, Match: m.Match, Pools: types.ListNull(types.StringType),
		Folders: types.ListNull(types.StringType), DirectChildrenOnly: types.BoolNull()})
	scope = vsphere.HostScope{Clusters: cv.strings(at.AtName("clusters"), m.Clusters), Tags: c.Tags, IDs: c.IDs, Match: c.Match}
	diags.Append(cv.diags...)
	if diags.HasError() || !cv.known {
		return scope, false, diags
	}
	if err := scope.Validate(); err != nil {
		diags.AddAttributeError(at, "Invalid host selection", fmt.Sprintf("Attribute %s: %s.", at, err))
		return scope, false, diags
	}
	return scope, true, diags
}

// HostSelectionFromVSphere is the block's value for a scope (what an import puts in state).
func HostSelectionFromVSphere(s vsphere.HostScope) *HostSelectionModel {
	c := criteriaFromVSphere(vsphere.Criteria{Tags: s.Tags, IDs: s.IDs, Match: s.Match})
	return &HostSelectionModel{Clusters: StringList(s.Clusters), Tags: c.Tags, IDs: c.IDs, Match: c.Match}
}

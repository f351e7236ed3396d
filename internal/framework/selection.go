package framework

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/objectvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// The selection block is how security groups, configuration baselines and backup jobs name their
// VMs, so that the three read the same in HCL and in the docs:
//
//	selection {
//	  tags    = [{ category = "environment", name = "production" }]
//	  folders = ["erp"]
//	  match   = "any"
//	  exclude {
//	    ids = ["vm-42"]
//	  }
//	  power_states = ["poweredOn"]
//	  templates    = "exclude"
//	}
//
// SelectionModel is its value and ToSelection turns it into the vsphere.Selection that resolves
// it.

// vmIDPattern is the form of a VM's managed object ID.
var vmIDPattern = regexp.MustCompile(`^vm-[0-9]+$`)

// SelectionBlock is the `selection` block, required. Put it in the resource's Blocks under the
// name "selection".
func SelectionBlock() schema.SingleNestedBlock {
	b := OptionalSelectionBlock()
	b.Validators = selectionValidators()
	return b
}

// OptionalSelectionBlock is the selection block for a resource where it is one of two ways to
// name its objects (a baseline names VMs or hosts): the resource's ValidateConfig requires it
// where it applies.
func OptionalSelectionBlock() schema.SingleNestedBlock {
	return schema.SingleNestedBlock{
		MarkdownDescription: selectionDescription,
		Attributes:          resourceSelectionAttributes(selectionAttributes()),
		Blocks: map[string]schema.Block{
			"exclude": schema.SingleNestedBlock{
				MarkdownDescription: excludeDescription,
				Attributes:          resourceSelectionAttributes(criteriaAttributes("exclude.")),
				Validators:          excludeValidators(),
			},
		},
		Validators: []validator.Object{criteriaRequired{}},
	}
}

// The selection block is defined once, independently of the schema package, below: the resource
// block (SelectionBlock) and the data source block (DataSourceSelectionBlock) are both built from
// these descriptions and validators, so that the two read and validate alike.

const (
	selectionDescription = "Which VMs this applies to, resolved live at every plan, so that the plan shows the VMs that join " +
		"and leave. A VM is selected when it meets the criteria (`tags`, `folders`, `pools`, `ids`, combined by `match`), " +
		"does not meet the `exclude` block, and passes the `power_states` and `templates` filters. Templates belong to " +
		"no resource pool: select them by tag, folder or ID."
	excludeDescription = "VMs to leave out even when the criteria above select them: a VM that meets these criteria " +
		"(combined by this block's own `match`) is not selected."
)

func selectionValidators() []validator.Object {
	return []validator.Object{objectvalidator.IsRequired(), criteriaRequired{}}
}

func excludeValidators() []validator.Object { return []validator.Object{criteriaRequired{}} }

// selectionAttrKind is the shape of one attribute of the selection block.
type selectionAttrKind int

const (
	selectionStringList     selectionAttrKind = iota // optional list of strings
	selectionString                                  // optional string
	selectionBool                                    // optional bool
	selectionTagList                                 // optional list of {category, name}, both required
	selectionRequiredString                          // required string (the fields of a tag)
)

// selectionAttr is one attribute of the selection block, whatever the schema package.
type selectionAttr struct {
	kind        selectionAttrKind
	description string
	list        []validator.List
	str         []validator.String
}

// selectionAttributes are the attributes of the selection block itself: the criteria and the
// filters.
func selectionAttributes() map[string]selectionAttr {
	attrs := criteriaAttributes("")
	attrs["power_states"] = selectionAttr{
		kind: selectionStringList,
		description: "Keep only the VMs in one of these power states: " + quoted(vsphere.PowerStates()) +
			". Unset keeps every power state.",
		list: []validator.List{
			listvalidator.SizeAtLeast(1),
			listvalidator.UniqueValues(),
			listvalidator.ValueStringsAre(stringvalidator.OneOf(vsphere.PowerStates()...)),
		},
	}
	attrs["templates"] = selectionAttr{
		kind: selectionString,
		description: "Whether templates are selected: `include` keeps templates and ordinary VMs (the default), " +
			"`exclude` keeps ordinary VMs only, `only` keeps templates only.",
		str: []validator.String{stringvalidator.OneOf(vsphere.TemplateFilters()...)},
	}
	return attrs
}

// tagAttributes are the fields of one entry of tags.
func tagAttributes() map[string]selectionAttr {
	return map[string]selectionAttr{
		"category": {
			kind:        selectionRequiredString,
			description: "The tag's category, e.g. `vmgmt-backup-job`.",
			str:         []validator.String{Name(vsphere.MaxTagNameLength)},
		},
		"name": {
			kind:        selectionRequiredString,
			description: "The tag's name within its category.",
			str:         []validator.String{Name(vsphere.MaxTagNameLength)},
		},
	}
}

// criteriaAttributes are the attributes shared by the selection and its exclude block. prefix
// names the block in the messages ("" or "exclude.").
func criteriaAttributes(prefix string) map[string]selectionAttr {
	refs := func() []validator.List {
		return []validator.List{
			listvalidator.SizeAtLeast(1),
			listvalidator.UniqueValues(),
			listvalidator.ValueStringsAre(InventoryPath()),
		}
	}
	return map[string]selectionAttr{
		"tags": {
			kind: selectionTagList,
			description: "VMs that carry one of these vSphere tags (with `match = \"all\"`: every one). A tag that does not " +
				"exist yet selects no VM, so a selection may name a tag before the first VM carries it.",
			list: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues()},
		},
		"folders": {
			kind: selectionStringList,
			description: "VMs in these VM folders and, unless `direct_children_only`, in the folders below them. A folder " +
				"is its managed object ID (`group-v42`) or its inventory path, absolute (`/dc1/vm/erp`) or relative to the " +
				"datacenter's VM folder (`erp`). A datacenter stands for all its VMs.",
			list: refs(),
		},
		"pools": {
			kind: selectionStringList,
			description: "VMs in these resource pools, vApps or clusters and, unless `direct_children_only`, in the pools " +
				"below them. A pool is its managed object ID (`resgroup-42`, `domain-c7`) or its inventory path, absolute " +
				"(`/dc1/host/prod/Resources/erp`) or relative to the datacenter's host folder (`prod/Resources/erp`). A cluster " +
				"stands for its root pool.",
			list: refs(),
		},
		"ids": {
			kind:        selectionStringList,
			description: "VMs by managed object ID (`vm-42`). An ID that names no VM (any more) selects nothing.",
			list: []validator.List{
				listvalidator.SizeAtLeast(1),
				listvalidator.UniqueValues(),
				listvalidator.ValueStringsAre(stringvalidator.RegexMatches(vmIDPattern, "must be a VM's managed object ID, such as vm-42")),
			},
		},
		"direct_children_only": {
			kind: selectionBool,
			description: "Match only the VMs directly in the `" + prefix + "folders` and `" + prefix + "pools`, not those in " +
				"folders or pools nested below them. Defaults to `false`.",
		},
		"match": {
			kind: selectionString,
			description: "How the criteria of this block combine: `any` (the default) selects a VM that meets at least one " +
				"of them, `all` a VM that meets every one (each tag, folder, pool and ID listed).",
			str: []validator.String{stringvalidator.OneOf(vsphere.MatchModes()...)},
		},
	}
}

// resourceSelectionAttributes builds the resource schema attributes of defs.
func resourceSelectionAttributes(defs map[string]selectionAttr) map[string]schema.Attribute {
	out := make(map[string]schema.Attribute, len(defs))
	for name, d := range defs {
		switch d.kind {
		case selectionStringList:
			out[name] = schema.ListAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: d.description, Validators: d.list}
		case selectionString:
			out[name] = schema.StringAttribute{Optional: true, MarkdownDescription: d.description, Validators: d.str}
		case selectionBool:
			out[name] = schema.BoolAttribute{Optional: true, MarkdownDescription: d.description}
		case selectionRequiredString:
			out[name] = schema.StringAttribute{Required: true, MarkdownDescription: d.description, Validators: d.str}
		case selectionTagList:
			out[name] = schema.ListNestedAttribute{
				Optional:            true,
				MarkdownDescription: d.description,
				NestedObject:        schema.NestedAttributeObject{Attributes: resourceSelectionAttributes(tagAttributes())},
				Validators:          d.list,
			}
		}
	}
	return out
}

// criteriaRequired refuses a block that names nothing: none of its criteria attributes set. The
// zero value is the VM selection's (and its exclude block's): tags, folders, pools or ids.
type criteriaRequired struct {
	summary, noun string   // "Missing selection criteria", "VM"
	attrs         []string // the criteria attributes
}

var hostCriteria = criteriaRequired{summary: "Missing host criteria", noun: "host", attrs: []string{"clusters", "tags", "ids"}}

func (v criteriaRequired) names() (summary, noun string, attrs []string) {
	if v.attrs == nil {
		return "Missing selection criteria", "VM", []string{"tags", "folders", "pools", "ids"}
	}
	return v.summary, v.noun, v.attrs
}

func (v criteriaRequired) Description(context.Context) string {
	_, _, attrs := v.names()
	return "at least one of " + quoted(attrs[:len(attrs)-1]) + " or `" + attrs[len(attrs)-1] + "` must be set"
}

func (v criteriaRequired) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v criteriaRequired) ValidateObject(_ context.Context, req validator.ObjectRequest, resp *validator.ObjectResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	summary, noun, names := v.names()
	set := req.ConfigValue.Attributes()
	for _, name := range names {
		if a, ok := set[name]; ok && !a.IsNull() {
			return
		}
	}
	resp.Diagnostics.AddAttributeError(req.Path, summary, fmt.Sprintf("Attribute %s names no %s: set at least one of %s or %s.",
		req.Path, noun, strings.Join(names[:len(names)-1], ", "), names[len(names)-1]))
}

func quoted(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = "`" + s + "`"
	}
	return strings.Join(q, ", ")
}

// SelectionModel is the value of a selection block.
type SelectionModel struct {
	Tags               types.List     `tfsdk:"tags"`
	Folders            types.List     `tfsdk:"folders"`
	Pools              types.List     `tfsdk:"pools"`
	IDs                types.List     `tfsdk:"ids"`
	DirectChildrenOnly types.Bool     `tfsdk:"direct_children_only"`
	Match              types.String   `tfsdk:"match"`
	Exclude            *CriteriaModel `tfsdk:"exclude"`
	PowerStates        types.List     `tfsdk:"power_states"`
	Templates          types.String   `tfsdk:"templates"`
}

// CriteriaModel is the value of the exclude block.
type CriteriaModel struct {
	Tags               types.List   `tfsdk:"tags"`
	Folders            types.List   `tfsdk:"folders"`
	Pools              types.List   `tfsdk:"pools"`
	IDs                types.List   `tfsdk:"ids"`
	DirectChildrenOnly types.Bool   `tfsdk:"direct_children_only"`
	Match              types.String `tfsdk:"match"`
}

// TagModel is one entry of a selection's tags.
type TagModel struct {
	Category types.String `tfsdk:"category"`
	Name     types.String `tfsdk:"name"`
}

// ToSelection converts the block's value, found at path at, into the selection that resolves it.
// known is false when a value is not known yet (the plan then cannot list the members); diags
// carries what makes the selection unusable, on the attribute that causes it.
func (m *SelectionModel) ToSelection(ctx context.Context, at path.Path) (sel vsphere.Selection, known bool, diags diag.Diagnostics) {
	if m == nil {
		diags.AddAttributeError(at, "Missing selection", "Attribute "+at.String()+": a selection block is required: name the VMs by tags, folders, pools or ids.")
		return sel, false, diags
	}
	cv := converter{ctx: ctx, known: true}
	sel.Include = cv.criteria(at, CriteriaModel{
		Tags: m.Tags, Folders: m.Folders, Pools: m.Pools, IDs: m.IDs, DirectChildrenOnly: m.DirectChildrenOnly, Match: m.Match,
	})
	if m.Exclude != nil {
		ex := cv.criteria(at.AtName("exclude"), *m.Exclude)
		sel.Exclude = &ex
	}
	for _, s := range cv.strings(at.AtName("power_states"), m.PowerStates) {
		sel.PowerStates = append(sel.PowerStates, vsphere.PowerState(s))
	}
	if cv.knownString(m.Templates) {
		sel.Templates = vsphere.TemplateFilter(m.Templates.ValueString())
	}
	diags.Append(cv.diags...)
	if diags.HasError() || !cv.known {
		return sel, false, diags
	}
	if err := sel.Validate(); err != nil {
		diags.AddAttributeError(at, "Invalid selection", fmt.Sprintf("Attribute %s: %s.", at, err))
		return sel, false, diags
	}
	return sel, true, diags
}

// converter gathers the diagnostics of one conversion and whether every value was known.
type converter struct {
	ctx   context.Context
	known bool
	diags diag.Diagnostics
}

func (cv *converter) criteria(at path.Path, m CriteriaModel) vsphere.Criteria {
	c := vsphere.Criteria{
		Folders: cv.strings(at.AtName("folders"), m.Folders),
		Pools:   cv.strings(at.AtName("pools"), m.Pools),
		IDs:     cv.strings(at.AtName("ids"), m.IDs),
	}
	if m.DirectChildrenOnly.IsUnknown() {
		cv.known = false
	}
	c.DirectOnly = m.DirectChildrenOnly.ValueBool()
	if cv.knownString(m.Match) {
		c.Match = vsphere.MatchMode(m.Match.ValueString())
	}
	if m.Tags.IsUnknown() {
		cv.known = false
		return c
	}
	if m.Tags.IsNull() {
		return c
	}
	var tags []TagModel
	cv.diags.Append(m.Tags.ElementsAs(cv.ctx, &tags, false)...)
	for _, t := range tags {
		if t.Category.IsUnknown() || t.Name.IsUnknown() {
			cv.known = false
			continue
		}
		c.Tags = append(c.Tags, vsphere.TagRef{Category: t.Category.ValueString(), Name: t.Name.ValueString()})
	}
	return c
}

// strings is the list's known, non-null elements; an unknown list or element marks the
// conversion unknown.
func (cv *converter) strings(at path.Path, l types.List) []string {
	if l.IsUnknown() {
		cv.known = false
		return nil
	}
	if l.IsNull() {
		return nil
	}
	var elems []types.String
	if d := l.ElementsAs(cv.ctx, &elems, true); d.HasError() {
		cv.diags.AddAttributeError(at, "Invalid "+attrName(at), fmt.Sprintf("Attribute %s: %v", at, d))
		return nil
	}
	var out []string
	for _, e := range elems {
		if e.IsUnknown() {
			cv.known = false
			continue
		}
		if !e.IsNull() {
			out = append(out, e.ValueString())
		}
	}
	return out
}

func (cv *converter) knownString(s types.String) bool {
	if s.IsUnknown() {
		cv.known = false
		return false
	}
	return !s.IsNull()
}

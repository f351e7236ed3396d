package framework

import (
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// DataSourceSelectionBlock is the `selection` block of a data source, required: the same block
// as SelectionBlock (descriptions, validators, and SelectionModel for its value), in the data
// source schema package. Put it in the data source's Blocks under the name "selection".
func DataSourceSelectionBlock() schema.SingleNestedBlock {
	b := OptionalDataSourceSelectionBlock()
	b.Validators = selectionValidators()
	return b
}

// OptionalDataSourceSelectionBlock is OptionalSelectionBlock for a data source.
func OptionalDataSourceSelectionBlock() schema.SingleNestedBlock {
	return schema.SingleNestedBlock{
		MarkdownDescription: selectionDescription,
		Attributes:          dataSourceSelectionAttributes(selectionAttributes()),
		Blocks: map[string]schema.Block{
			"exclude": schema.SingleNestedBlock{
				MarkdownDescription: excludeDescription,
				Attributes:          dataSourceSelectionAttributes(criteriaAttributes("exclude.")),
				Validators:          excludeValidators(),
			},
		},
		Validators: []validator.Object{criteriaRequired{}},
	}
}

// dataSourceSelectionAttributes builds the data source schema attributes of defs.
func dataSourceSelectionAttributes(defs map[string]selectionAttr) map[string]schema.Attribute {
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
				NestedObject:        schema.NestedAttributeObject{Attributes: dataSourceSelectionAttributes(tagAttributes())},
				Validators:          d.list,
			}
		}
	}
	return out
}

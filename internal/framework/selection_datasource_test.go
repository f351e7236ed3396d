package framework

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// The data source's selection block is the resource's, attribute for attribute: the same
// type, optionality, description and validators, so that a data source selection reads and
// validates as a resource's does.
func TestDataSourceSelectionBlockMatchesSelectionBlock(t *testing.T) {
	want, got := map[string]string{}, map[string]string{}
	flattenResourceBlock("selection", SelectionBlock(), want)
	flattenDataSourceBlock("selection", DataSourceSelectionBlock(), got)
	if len(want) < 20 {
		t.Fatalf("the resource block flattened to only %d entries: %v", len(want), want)
	}
	for k, w := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s: missing from the data source block", k)
		} else if g != w {
			t.Errorf("%s:\n data source %s\n resource    %s", k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: only in the data source block", k)
		}
	}
}

type selectionSchemaAttr interface {
	GetMarkdownDescription() string
	IsRequired() bool
	IsOptional() bool
	IsComputed() bool
}

func flattenResourceBlock(at string, b rschema.SingleNestedBlock, out map[string]string) {
	out[at] = "block|" + b.MarkdownDescription + "|" + objectValidatorDescriptions(b.Validators)
	for name, a := range b.Attributes {
		flattenSelectionAttr(at+"."+name, a, out)
		if n, ok := a.(rschema.ListNestedAttribute); ok {
			for sub, sa := range n.NestedObject.Attributes {
				flattenSelectionAttr(at+"."+name+"."+sub, sa, out)
			}
		}
	}
	for name, nb := range b.Blocks {
		flattenResourceBlock(at+"."+name, nb.(rschema.SingleNestedBlock), out)
	}
}

func flattenDataSourceBlock(at string, b dschema.SingleNestedBlock, out map[string]string) {
	out[at] = "block|" + b.MarkdownDescription + "|" + objectValidatorDescriptions(b.Validators)
	for name, a := range b.Attributes {
		flattenSelectionAttr(at+"."+name, a, out)
		if n, ok := a.(dschema.ListNestedAttribute); ok {
			for sub, sa := range n.NestedObject.Attributes {
				flattenSelectionAttr(at+"."+name+"."+sub, sa, out)
			}
		}
	}
	for name, nb := range b.Blocks {
		flattenDataSourceBlock(at+"."+name, nb.(dschema.SingleNestedBlock), out)
	}
}

// flattenSelectionAttr describes an attribute of either schema package in one comparable line.
func flattenSelectionAttr(at string, a any, out map[string]string) {
	ctx := context.Background()
	d, ok := a.(selectionSchemaAttr)
	if !ok {
		out[at] = fmt.Sprintf("unexpected %T", a)
		return
	}
	typ := ""
	if ta, ok := a.(interface{ GetType() attr.Type }); ok {
		typ = ta.GetType().String()
	}
	var vals []string
	if v, ok := a.(interface{ ListValidators() []validator.List }); ok {
		for _, x := range v.ListValidators() {
			vals = append(vals, x.MarkdownDescription(ctx))
		}
	}
	if v, ok := a.(interface{ StringValidators() []validator.String }); ok {
		for _, x := range v.StringValidators() {
			vals = append(vals, x.MarkdownDescription(ctx))
		}
	}
	out[at] = fmt.Sprintf("%T type=%s required=%t optional=%t computed=%t|%s|%s", a, typ, d.IsRequired(), d.IsOptional(), d.IsComputed(),
		d.GetMarkdownDescription(), strings.Join(vals, "; "))
	// The package differs; the kind of attribute must not.
	out[at] = strings.Replace(strings.Replace(out[at], "schema.", "", 1), "*", "", 1)
}

func objectValidatorDescriptions(vs []validator.Object) string {
	var out []string
	for _, v := range vs {
		out = append(out, v.MarkdownDescription(context.Background()))
	}
	return strings.Join(out, "; ")
}

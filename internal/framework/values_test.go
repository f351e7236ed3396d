package framework

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// SetWithLists writes the model, then puts the listed top-level attributes in place as built;
// the others are the model's.
func TestSetWithLists(t *testing.T) {
	ctx := context.Background()
	s := schema.Schema{Attributes: map[string]schema.Attribute{
		"name":  schema.StringAttribute{Computed: true},
		"items": schema.ListAttribute{ElementType: types.StringType, Computed: true},
		"other": schema.ListAttribute{ElementType: types.StringType, Computed: true},
	}}
	st := tfsdk.State{Schema: s, Raw: tftypes.NewValue(s.Type().TerraformType(ctx), nil)}
	m := struct {
		Name  types.String `tfsdk:"name"`
		Items types.List   `tfsdk:"items"`
		Other types.List   `tfsdk:"other"`
	}{types.StringValue("b"), types.ListNull(types.StringType), StringList([]string{"x"})}
	items := tftypes.NewValue(tftypes.List{ElementType: tftypes.String}, []tftypes.Value{tftypes.NewValue(tftypes.String, "one"), tftypes.NewValue(tftypes.String, "two")})
	if d := SetWithLists(ctx, st.Set, &st.Raw, &m, map[string]tftypes.Value{"items": items}); d.HasError() {
		t.Fatal(d)
	}
	var got struct {
		Name  types.String `tfsdk:"name"`
		Items []string     `tfsdk:"items"`
		Other []string     `tfsdk:"other"`
	}
	if d := st.Get(ctx, &got); d.HasError() {
		t.Fatal(d)
	}
	if got.Name.ValueString() != "b" || len(got.Items) != 2 || got.Items[1] != "two" || len(got.Other) != 1 || got.Other[0] != "x" {
		t.Errorf("state holds %+v, want name b, items [one two], other [x]", got)
	}
}

package framework

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

type testModel struct {
	ID     types.String `tfsdk:"id"`
	Count  types.Int64  `tfsdk:"count"`
	On     types.Bool   `tfsdk:"on"`
	Names  types.List   `tfsdk:"names"`
	Nested types.Object `tfsdk:"nested"`
}

func testSchema() schema.Schema {
	return schema.Schema{Attributes: map[string]schema.Attribute{
		"id":    schema.StringAttribute{Computed: true},
		"count": schema.Int64Attribute{Optional: true},
		"on":    schema.BoolAttribute{Optional: true},
		"names": schema.ListAttribute{Optional: true, ElementType: types.StringType},
		"nested": schema.SingleNestedAttribute{Optional: true, Attributes: map[string]schema.Attribute{
			"a": schema.StringAttribute{Optional: true},
			"b": schema.ListAttribute{Optional: true, ElementType: types.Int64Type},
		}},
	}}
}

// Model gives exactly what the framework's reflection gives, both ways, for known, null and
// unknown values of every kind the models use.
func TestModelMatchesFramework(t *testing.T) {
	ctx := context.Background()
	s := testSchema()
	codec := NewModel[testModel](testSchema)
	nestedType := map[string]attr.Type{"a": types.StringType, "b": types.ListType{ElemType: types.Int64Type}}
	nested, d := types.ObjectValue(nestedType, map[string]attr.Value{
		"a": types.StringValue("x"),
		"b": types.ListValueMust(types.Int64Type, []attr.Value{types.Int64Value(1), types.Int64Value(2)}),
	})
	if d.HasError() {
		t.Fatal(d)
	}
	for name, m := range map[string]testModel{
		"known": {ID: types.StringValue("vm-1"), Count: types.Int64Value(3), On: types.BoolValue(true),
			Names: types.ListValueMust(types.StringType, []attr.Value{types.StringValue("a")}), Nested: nested},
		"null": {ID: types.StringNull(), Count: types.Int64Null(), On: types.BoolNull(), Names: types.ListNull(types.StringType), Nested: types.ObjectNull(nestedType)},
		"unknown": {ID: types.StringUnknown(), Count: types.Int64Unknown(), On: types.BoolUnknown(),
			Names: types.ListUnknown(types.StringType), Nested: types.ObjectUnknown(nestedType)},
	} {
		t.Run(name, func(t *testing.T) {
			st := tfsdk.State{Schema: s}
			if d := st.Set(ctx, &m); d.HasError() {
				t.Fatal(d)
			}
			raw, d := codec.Value(ctx, &m)
			if d.HasError() {
				t.Fatal(d)
			}
			if !raw.Equal(st.Raw) {
				t.Fatalf("Value:\n%s\nframework Set:\n%s", raw, st.Raw)
			}
			var viaCodec, viaFramework testModel
			if d := codec.Get(ctx, st.Raw, &viaCodec); d.HasError() {
				t.Fatal(d)
			}
			if d := st.Get(ctx, &viaFramework); d.HasError() {
				t.Fatal(d)
			}
			for _, pair := range [][2]attr.Value{{viaCodec.ID, viaFramework.ID}, {viaCodec.Count, viaFramework.Count}, {viaCodec.On, viaFramework.On}, {viaCodec.Names, viaFramework.Names}, {viaCodec.Nested, viaFramework.Nested}} {
				if !pair[0].Equal(pair[1]) {
					t.Fatalf("Get: %s, framework: %s", pair[0], pair[1])
				}
			}
		})
	}
}

// A model that does not match its schema is a diagnostic, never a panic.
func TestModelMismatch(t *testing.T) {
	ctx := context.Background()
	type missingField struct {
		ID types.String `tfsdk:"id"`
	}
	type wrongType struct {
		ID     types.Int64  `tfsdk:"id"`
		Count  types.Int64  `tfsdk:"count"`
		On     types.Bool   `tfsdk:"on"`
		Names  types.List   `tfsdk:"names"`
		Nested types.Object `tfsdk:"nested"`
	}
	raw := tftypes.NewValue(testSchema().Type().TerraformType(ctx), nil)
	if d := NewModel[missingField](testSchema).Get(ctx, raw, &missingField{}); !d.HasError() {
		t.Fatal("a model without a field for every attribute was accepted")
	}
	if _, d := NewModel[wrongType](testSchema).Value(ctx, &wrongType{}); !d.HasError() {
		t.Fatal("a model field of the wrong type was accepted")
	}
	// A value of the wrong element type is an error, not a panic in tftypes.NewValue.
	bad := testModel{ID: types.StringNull(), Count: types.Int64Null(), On: types.BoolNull(),
		Names: types.ListValueMust(types.Int64Type, []attr.Value{types.Int64Value(1)}), Nested: types.ObjectNull(map[string]attr.Type{"a": types.StringType, "b": types.ListType{ElemType: types.Int64Type}})}
	if _, d := NewModel[testModel](testSchema).Value(ctx, &bad); !d.HasError() {
		t.Fatal("a list of the wrong element type was accepted")
	}
}

package framework

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// selectionTestSchema is a resource schema holding only the selection block, as a resource that
// uses it would.
func selectionTestSchema() schema.Schema {
	return schema.Schema{
		Attributes: map[string]schema.Attribute{"id": schema.StringAttribute{Computed: true, MarkdownDescription: "ID."}},
		Blocks:     map[string]schema.Block{"selection": SelectionBlock()},
	}
}

// cfg builds a configuration value of selectionTestSchema: sel is the selection block's
// attributes (nil for no block), nested values given as Go values (see tfValue).
func cfg(t *testing.T, sel map[string]any) tftypes.Value {
	t.Helper()
	typ := selectionTestSchema().Type().TerraformType(context.Background()).(tftypes.Object)
	selType := typ.AttributeTypes["selection"].(tftypes.Object)
	selVal := tftypes.NewValue(selType, nil)
	if sel != nil {
		selVal = tfValue(t, selType, sel)
	}
	return tftypes.NewValue(typ, map[string]tftypes.Value{
		"id":        tftypes.NewValue(tftypes.String, nil),
		"selection": selVal,
	})
}

// unknown stands for an unknown value in cfg.
type unknown struct{}

// tfValue converts v to a value of typ: maps to objects (absent attributes null), []any to lists,
// strings and bools, nil to null, unknown{} to unknown.
func tfValue(t *testing.T, typ tftypes.Type, v any) tftypes.Value {
	t.Helper()
	switch v := v.(type) {
	case nil:
		return tftypes.NewValue(typ, nil)
	case unknown:
		return tftypes.NewValue(typ, tftypes.UnknownValue)
	case map[string]any:
		ot := typ.(tftypes.Object)
		vals := map[string]tftypes.Value{}
		for name, at := range ot.AttributeTypes {
			vals[name] = tfValue(t, at, v[name])
		}
		for name := range v {
			if _, ok := ot.AttributeTypes[name]; !ok {
				t.Fatalf("no attribute %q in %s", name, ot)
			}
		}
		return tftypes.NewValue(ot, vals)
	case []any:
		et := typ.(tftypes.List).ElementType
		var elems []tftypes.Value
		for _, e := range v {
			elems = append(elems, tfValue(t, et, e))
		}
		return tftypes.NewValue(typ, elems)
	case []string:
		elems := make([]any, len(v))
		for i, s := range v {
			elems[i] = s
		}
		return tfValue(t, typ, elems)
	default:
		return tftypes.NewValue(typ, v)
	}
}

// selectionProvider serves selectionTestSchema so that the framework itself validates a config.
type selectionProvider struct{}

func (selectionProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "test"
}
func (selectionProvider) Schema(context.Context, provider.SchemaRequest, *provider.SchemaResponse) {}
func (selectionProvider) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {
}
func (selectionProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{func() resource.Resource { return selectionResource{} }}
}
func (selectionProvider) DataSources(context.Context) []func() datasource.DataSource { return nil }

type selectionResource struct{}

func (selectionResource) Metadata(_ context.Context, _ resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = "test_selection"
}
func (selectionResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = selectionTestSchema()
}
func (selectionResource) Create(context.Context, resource.CreateRequest, *resource.CreateResponse) {}
func (selectionResource) Read(context.Context, resource.ReadRequest, *resource.ReadResponse)       {}
func (selectionResource) Update(context.Context, resource.UpdateRequest, *resource.UpdateResponse) {}
func (selectionResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {}

// validate runs the framework's validation of the config and returns "attribute path: detail"
// of each error.
func validate(t *testing.T, v tftypes.Value) []string {
	t.Helper()
	ctx := context.Background()
	srv := providerserver.NewProtocol6(selectionProvider{})()
	if _, err := srv.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{}); err != nil {
		t.Fatal(err)
	}
	dv, err := tfprotov6.NewDynamicValue(v.Type(), v)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: "test_selection", Config: &dv})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range resp.Diagnostics {
		if d.Severity != tfprotov6.DiagnosticSeverityError {
			continue
		}
		out = append(out, dotted(d.Attribute)+": "+d.Summary+": "+d.Detail)
	}
	return out
}

// dotted writes an attribute path as the messages do: selection.tags[0].name.
func dotted(p *tftypes.AttributePath) string {
	if p == nil {
		return ""
	}
	var b strings.Builder
	for _, step := range p.Steps() {
		switch s := step.(type) {
		case tftypes.AttributeName:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(string(s))
		case tftypes.ElementKeyInt:
			fmt.Fprintf(&b, "[%d]", int64(s))
		default:
			fmt.Fprintf(&b, "[%v]", s)
		}
	}
	return b.String()
}

func TestSelectionBlockValidation(t *testing.T) {
	tier := map[string]any{"category": "tier", "name": "tier-1"}
	cases := []struct {
		name string
		sel  map[string]any
		want string // a substring of the only error; "" for a valid config
	}{
		{"tags", map[string]any{"tags": []any{tier}}, ""},
		{"everything", map[string]any{
			"tags": []any{tier}, "folders": []string{"erp", "/dc1/vm/x"}, "pools": []string{"prod/Resources/erp", "domain-c7"},
			"ids": []string{"vm-42"}, "direct_children_only": true, "match": "all", "power_states": []string{"poweredOn", "suspended"},
			"templates": "exclude", "exclude": map[string]any{"ids": []string{"vm-7"}, "match": "any"},
		}, ""},
		{"unknown values pass", map[string]any{"folders": unknown{}, "match": unknown{}}, ""},
		{"no block", nil, `selection: Invalid Block: Block selection must have a configuration value`},
		{"no criteria", map[string]any{"match": "any"}, `selection: Missing selection criteria: Attribute selection names no VM: set at least one of tags, folders, pools or ids.`},
		{"only filters", map[string]any{"power_states": []string{"poweredOn"}, "templates": "only"}, `selection: Missing selection criteria`},
		{"empty exclude", map[string]any{"ids": []string{"vm-1"}, "exclude": map[string]any{"match": "all"}}, `selection.exclude: Missing selection criteria: Attribute selection.exclude names no VM`},
		{"bad match", map[string]any{"ids": []string{"vm-1"}, "match": "some"}, `selection.match: Invalid Attribute Value Match: Attribute selection.match value must be one of: ["any" "all"]`},
		{"bad exclude match", map[string]any{"ids": []string{"vm-1"}, "exclude": map[string]any{"ids": []string{"vm-2"}, "match": "none"}}, `selection.exclude.match:`},
		{"bad power state", map[string]any{"ids": []string{"vm-1"}, "power_states": []string{"on"}}, `selection.power_states[0]: Invalid Attribute Value Match`},
		{"duplicate power state", map[string]any{"ids": []string{"vm-1"}, "power_states": []string{"poweredOn", "poweredOn"}}, `selection.power_states: Duplicate List Value`},
		{"bad templates", map[string]any{"ids": []string{"vm-1"}, "templates": "yes"}, `selection.templates: Invalid Attribute Value Match`},
		{"bad id", map[string]any{"ids": []string{"web01"}}, `selection.ids[0]: Invalid Attribute Value Match: Attribute selection.ids[0] must be a VM's managed object ID, such as vm-42, got: web01`},
		{"empty id list", map[string]any{"ids": []string{}, "folders": []string{"x"}}, `selection.ids: Invalid Attribute Value`},
		{"duplicate folder", map[string]any{"folders": []string{"a", "a"}}, `selection.folders: Duplicate List Value`},
		{"folder with ..", map[string]any{"folders": []string{"a/../b"}}, `selection.folders[0]: Invalid folders element: Attribute selection.folders[0]: "a/../b" has a ".." element`},
		{"pool with space at the end", map[string]any{"pools": []string{"prod "}}, `selection.pools[0]: Invalid pools element: Attribute selection.pools[0]: "prod " starts or ends with white space`},
		{"tag without name", map[string]any{"tags": []any{map[string]any{"category": "tier"}}}, `selection.tags[0].name: Missing Configuration for Required Attribute`},
		{"tag name too long", map[string]any{"tags": []any{map[string]any{"category": "tier", "name": strings.Repeat("x", vsphere.MaxTagNameLength+1)}}}, `selection.tags[0].name: Invalid name: Attribute selection.tags[0].name: "` + strings.Repeat("x", vsphere.MaxTagNameLength+1) + `" is 257 characters long, more than the 256`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := validate(t, cfg(t, tc.sel))
			if tc.want == "" {
				if len(errs) != 0 {
					t.Fatalf("want no error, got %q", errs)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(errs[0], tc.want) {
				t.Fatalf("want one error containing %q, got %q", tc.want, errs)
			}
		})
	}
}

// Every attribute and block of the selection tells the registry reader what it does.
func TestSelectionBlockDescriptions(t *testing.T) {
	var check func(where string, b schema.SingleNestedBlock)
	check = func(where string, b schema.SingleNestedBlock) {
		if b.MarkdownDescription == "" {
			t.Errorf("%s has no MarkdownDescription", where)
		}
		for name, a := range b.Attributes {
			if a.GetMarkdownDescription() == "" {
				t.Errorf("%s.%s has no MarkdownDescription", where, name)
			}
			if n, ok := a.(schema.ListNestedAttribute); ok {
				for sub, sa := range n.NestedObject.Attributes {
					if sa.GetMarkdownDescription() == "" {
						t.Errorf("%s.%s.%s has no MarkdownDescription", where, name, sub)
					}
				}
			}
		}
		for name, nb := range b.Blocks {
			check(where+"."+name, nb.(schema.SingleNestedBlock))
		}
	}
	check("selection", SelectionBlock())
}

// decode reads the selection block of a config value into its model, as a resource does.
func decode(t *testing.T, v tftypes.Value) *SelectionModel {
	t.Helper()
	var m struct {
		ID        types.String    `tfsdk:"id"`
		Selection *SelectionModel `tfsdk:"selection"`
	}
	c := tfsdk.Config{Schema: selectionTestSchema(), Raw: v}
	if d := c.Get(context.Background(), &m); d.HasError() {
		t.Fatalf("decoding the config: %v", d)
	}
	return m.Selection
}

func TestSelectionToSelection(t *testing.T) {
	ctx := context.Background()
	at := path.Root("selection")
	m := decode(t, cfg(t, map[string]any{
		"tags":                 []any{map[string]any{"category": "tier", "name": "tier-1"}, map[string]any{"category": "env", "name": "prod"}},
		"folders":              []string{"erp"},
		"pools":                []string{"prod/Resources/erp"},
		"ids":                  []string{"vm-42"},
		"direct_children_only": true,
		"match":                "all",
		"power_states":         []string{"poweredOn"},
		"templates":            "exclude",
		"exclude":              map[string]any{"tags": []any{map[string]any{"category": "tier", "name": "tier-3"}}, "folders": []string{"erp/old"}, "pools": []string{"p"}, "ids": []string{"vm-7"}, "direct_children_only": true, "match": "any"},
	}))
	got, known, diags := m.ToSelection(ctx, at)
	if diags.HasError() || !known {
		t.Fatalf("known=%v diags=%v", known, diags)
	}
	want := vsphere.Selection{
		Include: vsphere.Criteria{
			Tags:    []vsphere.TagRef{{Category: "tier", Name: "tier-1"}, {Category: "env", Name: "prod"}},
			Folders: []string{"erp"}, Pools: []string{"prod/Resources/erp"}, IDs: []string{"vm-42"},
			DirectOnly: true, Match: vsphere.MatchAll,
		},
		Exclude: &vsphere.Criteria{
			Tags:    []vsphere.TagRef{{Category: "tier", Name: "tier-3"}},
			Folders: []string{"erp/old"}, Pools: []string{"p"}, IDs: []string{"vm-7"},
			DirectOnly: true, Match: vsphere.MatchAny,
		},
		PowerStates: []vsphere.PowerState{vsphere.PoweredOn},
		Templates:   vsphere.TemplatesExclude,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}

	// Unset attributes take the defaults: any, recursive, every power state, templates included.
	got, known, diags = decode(t, cfg(t, map[string]any{"folders": []string{"erp"}})).ToSelection(ctx, at)
	if diags.HasError() || !known {
		t.Fatalf("minimal: known=%v diags=%v", known, diags)
	}
	if want := (vsphere.Selection{Include: vsphere.Criteria{Folders: []string{"erp"}}}); !reflect.DeepEqual(got, want) {
		t.Fatalf("minimal: got %+v, want %+v", got, want)
	}
}

// A selection with a value not known yet converts to "not known" without an error, so that the
// resource marks its members unknown instead of resolving a partial selection.
func TestSelectionToSelectionUnknown(t *testing.T) {
	ctx := context.Background()
	for name, sel := range map[string]map[string]any{
		"list":          {"folders": unknown{}, "ids": []string{"vm-1"}},
		"element":       {"folders": []any{"a", unknown{}}},
		"tags":          {"tags": unknown{}, "ids": []string{"vm-1"}},
		"tag name":      {"tags": []any{map[string]any{"category": "tier", "name": unknown{}}}},
		"match":         {"ids": []string{"vm-1"}, "match": unknown{}},
		"direct":        {"ids": []string{"vm-1"}, "direct_children_only": unknown{}},
		"exclude ids":   {"ids": []string{"vm-1"}, "exclude": map[string]any{"ids": unknown{}}},
		"power states":  {"ids": []string{"vm-1"}, "power_states": unknown{}},
		"templates":     {"ids": []string{"vm-1"}, "templates": unknown{}},
		"exclude match": {"ids": []string{"vm-1"}, "exclude": map[string]any{"ids": []string{"vm-2"}, "match": unknown{}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, known, diags := decode(t, cfg(t, sel)).ToSelection(ctx, path.Root("selection"))
			if known || diags.HasError() {
				t.Fatalf("known=%v diags=%v, want unknown without error", known, diags)
			}
		})
	}
}

// What the schema cannot tell (no block; no criteria when validation was skipped) is an error on
// the selection's path.
func TestSelectionToSelectionErrors(t *testing.T) {
	ctx := context.Background()
	at := path.Root("selection")
	var none *SelectionModel
	if _, known, diags := none.ToSelection(ctx, at); known || !diags.HasError() || !strings.Contains(diags[0].Detail(), "selection block is required") {
		t.Fatalf("nil model: known=%v diags=%v", known, diags)
	}
	empty := &SelectionModel{
		Tags:    types.ListNull(types.ObjectType{AttrTypes: map[string]attr.Type{"category": types.StringType, "name": types.StringType}}),
		Folders: types.ListNull(types.StringType), Pools: types.ListNull(types.StringType), IDs: types.ListNull(types.StringType),
		PowerStates: types.ListNull(types.StringType),
	}
	_, known, diags := empty.ToSelection(ctx, at)
	if known || !diags.HasError() {
		t.Fatalf("no criteria: known=%v diags=%v", known, diags)
	}
	d := diags.Errors()[0]
	if !strings.Contains(d.Detail(), "at least one of tags, folders, pools or ids") {
		t.Errorf("no criteria: %s", d.Detail())
	}
	if wp, ok := d.(interface{ Path() path.Path }); !ok || !wp.Path().Equal(at) {
		t.Errorf("no criteria: the error is not on %s", at)
	}
}

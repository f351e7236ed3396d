package provider_test

import (
	"context"
	"reflect"
	"sort"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
	vmgmt "github.com/vmgmt/terraform-provider-vmgmt/internal/provider"
)

// Every value a user writes in a resource or data source is checked at plan time: each string
// (and each list or map of them) has a validator, and each number is a framework.Int64Type with
// an Int64Between range, so that a number beyond 64 bits is refused on the attribute instead of
// failing the framework's conversion. A new attribute without them fails here.
func TestSchemas_userValuesValidated(t *testing.T) {
	ctx := context.Background()
	p := vmgmt.New("test")()
	var meta provider.MetadataResponse
	p.Metadata(ctx, provider.MetadataRequest{}, &meta)
	schemas := map[string]any{}
	for _, f := range p.Resources(ctx) {
		r := f()
		var m resource.MetadataResponse
		r.Metadata(ctx, resource.MetadataRequest{ProviderTypeName: meta.TypeName}, &m)
		var s resource.SchemaResponse
		r.Schema(ctx, resource.SchemaRequest{}, &s)
		schemas[m.TypeName] = s.Schema.Attributes
	}
	for _, f := range p.DataSources(ctx) {
		d := f()
		var m datasource.MetadataResponse
		d.Metadata(ctx, datasource.MetadataRequest{ProviderTypeName: meta.TypeName}, &m)
		var s datasource.SchemaResponse
		d.Schema(ctx, datasource.SchemaRequest{}, &s)
		schemas["data."+m.TypeName] = s.Schema.Attributes
	}
	if len(schemas) < 5 {
		t.Fatalf("found only %d schemas", len(schemas))
	}
	checked := 0
	for name, attrs := range schemas {
		walkAttributes(t, name, reflect.ValueOf(attrs), &checked)
	}
	if checked < 40 {
		t.Errorf("checked only %d attributes", checked)
	}
}

// walkAttributes checks each attribute of a schema's attribute map (of either schema package),
// and the attributes nested in it.
func walkAttributes(t *testing.T, at string, attrs reflect.Value, checked *int) {
	keys := attrs.MapKeys()
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	for _, k := range keys {
		a := attrs.MapIndex(k).Elem()
		where := at + "." + k.String()
		if nested := a.FieldByName("Attributes"); nested.IsValid() {
			walkAttributes(t, where, nested, checked)
		}
		if obj := a.FieldByName("NestedObject"); obj.IsValid() {
			walkAttributes(t, where, obj.FieldByName("Attributes"), checked)
		}
		if !a.FieldByName("Required").Bool() && !a.FieldByName("Optional").Bool() {
			continue // computed only: vmgmt writes it
		}
		*checked++
		validators := a.FieldByName("Validators")
		switch a.Type().Name() {
		case "BoolAttribute", "SingleNestedAttribute":
			continue
		case "Int64Attribute":
			if _, ok := a.FieldByName("CustomType").Interface().(framework.Int64Type); !ok {
				t.Errorf("%s: set CustomType: framework.Int64Type{}", where)
			}
			found := false
			for i := 0; i < validators.Len(); i++ {
				_, ok := validators.Index(i).Interface().(framework.Int64RangeValidator)
				found = found || ok
			}
			if !found {
				t.Errorf("%s: give it a framework.Int64Between validator", where)
			}
		default:
			if validators.Len() == 0 {
				t.Errorf("%s (%s): no validator checks what the user writes", where, a.Type().Name())
			}
		}
	}
}

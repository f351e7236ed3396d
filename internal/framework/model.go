package framework

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// Model reads and writes a resource's model struct (framework value types with `tfsdk` tags, one
// per top-level attribute) straight to and from the raw Terraform value, for the calls that run
// once per resource on every plan (Read, ModifyPlan). It gives the same values as the framework's
// Get and Set, without their reflection: that compiles a regular expression for every struct
// field on every call (terraform-plugin-framework issue 725), a cost paid once per resource on
// every plan.
//
// The field layout is checked against the schema once, on first use; a mismatch is a programming
// error reported as a diagnostic on every call.
type Model[T any] struct {
	once   sync.Once
	schema func() schema.Schema
	typ    tftypes.Object
	fields []modelField
	err    error
}

type modelField struct {
	index int
	name  string
	typ   attr.Type
}

// NewModel returns the codec of model T for the schema that schemaFn returns.
func NewModel[T any](schemaFn func() schema.Schema) *Model[T] {
	return &Model[T]{schema: schemaFn}
}

func (m *Model[T]) init(ctx context.Context) error {
	m.once.Do(func() {
		s := m.schema()
		typ, ok := s.Type().TerraformType(ctx).(tftypes.Object)
		if !ok {
			m.err = fmt.Errorf("schema is not an object")
			return
		}
		m.typ = typ
		rt := reflect.TypeOf((*T)(nil)).Elem()
		seen := map[string]bool{}
		for i := 0; i < rt.NumField(); i++ {
			name, _, _ := strings.Cut(rt.Field(i).Tag.Get("tfsdk"), ",")
			if name == "" || name == "-" {
				continue
			}
			a, ok := s.Attributes[name]
			if !ok {
				m.err = fmt.Errorf("model field %s: no attribute %q in the schema", rt.Field(i).Name, name)
				return
			}
			if want := reflect.TypeOf(a.GetType().ValueType(ctx)); rt.Field(i).Type != want {
				m.err = fmt.Errorf("model field %s is a %s, attribute %q holds %s", rt.Field(i).Name, rt.Field(i).Type, name, want)
				return
			}
			m.fields = append(m.fields, modelField{index: i, name: name, typ: a.GetType()})
			seen[name] = true
		}
		for name := range s.Attributes {
			if !seen[name] {
				m.err = fmt.Errorf("attribute %q has no field in the model", name)
				return
			}
		}
	})
	return m.err
}

// Get fills out from a raw state, plan or config value (not null).
func (m *Model[T]) Get(ctx context.Context, raw tftypes.Value, out *T) (diags diag.Diagnostics) {
	if err := m.init(ctx); err != nil {
		diags.AddError("Provider model error", err.Error())
		return diags
	}
	var vals map[string]tftypes.Value
	if err := raw.As(&vals); err != nil {
		diags.AddError("Provider model error", "reading the resource value: "+err.Error())
		return diags
	}
	rv := reflect.ValueOf(out).Elem()
	for _, f := range m.fields {
		v, err := f.typ.ValueFromTerraform(ctx, vals[f.name])
		if err != nil {
			diags.AddError("Provider model error", fmt.Sprintf("reading attribute %s: %s", f.name, err))
			return diags
		}
		rv.Field(f.index).Set(reflect.ValueOf(v))
	}
	return diags
}

// Value is the raw value of a model, for tfsdk.State.Raw or tfsdk.Plan.Raw.
func (m *Model[T]) Value(ctx context.Context, in *T) (tftypes.Value, diag.Diagnostics) {
	var diags diag.Diagnostics
	if err := m.init(ctx); err != nil {
		diags.AddError("Provider model error", err.Error())
		return tftypes.Value{}, diags
	}
	rv := reflect.ValueOf(in).Elem()
	vals := make(map[string]tftypes.Value, len(m.fields))
	for _, f := range m.fields {
		tv, err := rv.Field(f.index).Interface().(attr.Value).ToTerraformValue(ctx)
		if err != nil {
			diags.AddError("Provider model error", fmt.Sprintf("writing attribute %s: %s", f.name, err))
			return tftypes.Value{}, diags
		}
		vals[f.name] = tv
	}
	if err := tftypes.ValidateValue(m.typ, vals); err != nil {
		diags.AddError("Provider model error", "writing the resource value: "+err.Error())
		return tftypes.Value{}, diags
	}
	return tftypes.NewValue(m.typ, vals), diags
}

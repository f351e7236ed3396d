package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// Schema is a JSON Schema (draft 7), in the subset the policy input schemas use. OPA's type
// checker reads it as follows: an object with properties is closed (a ref to any other key is a
// type error), an object without properties is open, anyOf is a union, and of a list of types
// ("string", "null") the non-null one counts.
type Schema struct {
	Schema      string `json:"$schema,omitempty"`
	ID          string `json:"$id,omitempty"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	// Type is a type name or a list of them.
	Type  any      `json:"type,omitempty"`
	Const any      `json:"const,omitempty"`
	Enum  []string `json:"enum,omitempty"`
	// Properties of a closed object (AdditionalProperties false), or nil.
	Properties map[string]*Schema `json:"properties,omitempty"`
	Required   []string           `json:"required,omitempty"`
	// AdditionalProperties is false for a closed object, or the schema of a map's values.
	AdditionalProperties any       `json:"additionalProperties,omitempty"`
	Items                *Schema   `json:"items,omitempty"`
	AnyOf                []*Schema `json:"anyOf,omitempty"`
}

// Schemas are the policy input schemas by resource or data source type (vmgmt_capacity_reservation).
type Schemas map[string]*Schema

// Constructors for the hand-written parts of the schemas (the inventory facts resources gather).

// String is a string.
func String(description string) *Schema { return &Schema{Type: "string", Description: description} }

// Integer is a whole number.
func Integer(description string) *Schema { return &Schema{Type: "integer", Description: description} }

// Boolean is true or false.
func Boolean(description string) *Schema { return &Schema{Type: "boolean", Description: description} }

// Array is a list of items.
func Array(description string, items *Schema) *Schema {
	return &Schema{Type: "array", Description: description, Items: items}
}

// Map is an object with arbitrary keys whose values all have one schema.
func Map(description string, values *Schema) *Schema {
	return &Schema{Type: "object", Description: description, AdditionalProperties: values}
}

// Object is a closed object: every property is present, no other is.
func Object(description string, props map[string]*Schema) *Schema {
	s := &Schema{Type: "object", Description: description, Properties: props, AdditionalProperties: false}
	for k := range props {
		s.Required = append(s.Required, k)
	}
	sort.Strings(s.Required)
	return s
}

// OneOf is a value that has one of several shapes.
func OneOf(description string, shapes ...*Schema) *Schema {
	return &Schema{Description: description, AnyOf: shapes}
}

// Describe gives the description of the attribute at a path, and whether it holds whole numbers.
// Element steps are ElementKeyInt(0) in a list, ElementKeyString("") in a map and
// ElementKeyValue(nil) in a set.
type Describe func(p *tftypes.AttributePath) (description string, integer bool)

// ValuesSchema describes a Terraform value as FromTerraform (and `terraform show -json`) writes it:
// objects are closed, every value may be null. describe may be nil.
func ValuesSchema(t tftypes.Type, describe Describe) *Schema {
	if describe == nil {
		describe = func(*tftypes.AttributePath) (string, bool) { return "", false }
	}
	return valuesSchema(t, tftypes.NewAttributePath(), describe)
}

func valuesSchema(t tftypes.Type, p *tftypes.AttributePath, describe Describe) *Schema {
	desc, integer := "", false
	if len(p.Steps()) > 0 {
		desc, integer = describe(p)
	}
	nullable := func(typ string) any { return []string{typ, "null"} }
	switch {
	case t.Is(tftypes.String):
		return &Schema{Type: nullable("string"), Description: desc}
	case t.Is(tftypes.Bool):
		return &Schema{Type: nullable("boolean"), Description: desc}
	case t.Is(tftypes.Number):
		if integer {
			return &Schema{Type: nullable("integer"), Description: desc}
		}
		return &Schema{Type: nullable("number"), Description: desc}
	case t.Is(tftypes.List{}):
		items := valuesSchema(t.(tftypes.List).ElementType, p.WithElementKeyInt(0), describe)
		return &Schema{Type: nullable("array"), Description: desc, Items: items}
	case t.Is(tftypes.Set{}):
		items := valuesSchema(t.(tftypes.Set).ElementType, p.WithElementKeyValue(tftypes.Value{}), describe)
		return &Schema{Type: nullable("array"), Description: desc, Items: items}
	case t.Is(tftypes.Map{}):
		values := valuesSchema(t.(tftypes.Map).ElementType, p.WithElementKeyString(""), describe)
		return &Schema{Type: nullable("object"), Description: desc, AdditionalProperties: values}
	case t.Is(tftypes.Object{}):
		s := &Schema{Type: nullable("object"), Description: desc, Properties: map[string]*Schema{}, AdditionalProperties: false}
		for name, at := range t.(tftypes.Object).AttributeTypes {
			s.Properties[name] = valuesSchema(at, p.WithAttributeName(name), describe)
		}
		return s
	}
	// Tuples and dynamic values: any JSON value.
	return &Schema{Description: desc}
}

// UnknownSchema describes the after_unknown companion of a value of type t: true where a value is
// unknown; for a list, a list of such companions (false where an element is known); for an object
// or map, an object holding the companions of its unknown parts only.
func UnknownSchema(t tftypes.Type) *Schema {
	unknown := &Schema{Type: "boolean"}
	var inner *Schema
	switch {
	case t.Is(tftypes.List{}):
		inner = &Schema{Type: "array", Items: UnknownSchema(t.(tftypes.List).ElementType)}
	case t.Is(tftypes.Set{}):
		inner = &Schema{Type: "array", Items: UnknownSchema(t.(tftypes.Set).ElementType)}
	case t.Is(tftypes.Map{}):
		inner = &Schema{Type: "object", AdditionalProperties: UnknownSchema(t.(tftypes.Map).ElementType)}
	case t.Is(tftypes.Object{}):
		inner = &Schema{Type: "object", Properties: map[string]*Schema{}, AdditionalProperties: false}
		for name, at := range t.(tftypes.Object).AttributeTypes {
			inner.Properties[name] = UnknownSchema(at)
		}
	default:
		return unknown
	}
	return &Schema{AnyOf: []*Schema{unknown, inner}}
}

// InputKind says what a type is: resources are planned changes, data sources reads.
type InputKind string

// Kinds of input.
const (
	KindResource   InputKind = "resource"
	KindDataSource InputKind = "data source"
)

// InputSchema is the schema of the policy input for one resource or data source type: the change
// (values as ValuesSchema describes them) with the context and the inventory facts.
// inventory describes the facts the type gathers (nil: none); a fact may be missing when it is
// not known yet (Change.InventoryUnknown), so none is required. (OPA's type checker reads an
// object without properties as open: a rule declaring a type that gathers no facts is not
// checked below input.inventory. The union is.)
func InputSchema(typ string, kind InputKind, values tftypes.Type, describe Describe, inventory map[string]*Schema) *Schema {
	actions := []string{"create", "update", "delete", "no-op"}
	what := "resource " + typ
	if kind == KindDataSource {
		actions = []string{"read"}
		what = "data source " + typ
	}
	after := ValuesSchema(values, describe)
	after.Description = "The planned values (null for a delete). Unknown values are null here and true in after_unknown."
	before := ValuesSchema(values, describe)
	before.Description = "The prior state (null for a create)."
	if kind == KindDataSource {
		after.Description = "The data source's configuration."
		before.Description = "Always null."
	}
	unknown := UnknownSchema(values)
	unknown.Description = "true for each value in after that is unknown until apply (as in `terraform show -json`)."
	inv := &Schema{Type: "object", Description: "Live facts from vCenter the rules need.", AdditionalProperties: false}
	if len(inventory) > 0 {
		inv.Properties = inventory
	}
	return &Schema{
		Schema:      "http://json-schema.org/draft-07/schema#",
		ID:          typ + ".json",
		Title:       "vmgmt policy input: " + what,
		Description: "The input document of a vmgmt policy rule judging a " + what + ", in the shape of a `terraform show -json` resource_changes[] entry, plus context and inventory.",
		Type:        "object",
		Properties: map[string]*Schema{
			"type": {Type: "string", Const: typ, Description: "The resource or data source type."},
			"name": String("The object's name (its name attribute, or what a data source reads), for exemption selectors and the decision log."),
			"change": Object("The planned change.", map[string]*Schema{
				"actions":       {Type: "array", Items: &Schema{Type: "string", Enum: actions}, Description: "As in `terraform show -json`: [\"create\"], [\"update\"], [\"delete\"], [\"delete\", \"create\"] (replace), [\"no-op\"]; [\"read\"] for a data source."},
				"before":        before,
				"after":         after,
				"after_unknown": unknown,
			}),
			"context": Object("Where and by whom the change is made.", map[string]*Schema{
				"phase":            {Type: "string", Enum: Strings(Phases()), Description: "plan (in terraform plan) or apply (again, before anything changes in vCenter)."},
				"time":             String("Evaluation time, RFC 3339, UTC."),
				"principal":        String("The vCenter session's user."),
				"provider_version": String("The vmgmt provider version."),
			}),
			"inventory": inv,
		},
		Required:             []string{"change", "context", "inventory", "name", "type"},
		AdditionalProperties: false,
	}
}

// Union is one schema that every input of the given types conforms to: objects are merged
// property by property, so it stays closed (a key no type has is a type error), and input.type
// is one of the types. It is the input schema of rules that declare none.
func (ss Schemas) Union() *Schema {
	var out *Schema
	types := make([]string, 0, len(ss))
	for _, typ := range ss.Types() {
		types = append(types, typ)
		out = Merge(out, ss[typ])
	}
	if out == nil {
		return nil
	}
	out.ID = "input.json"
	out.Title = "vmgmt policy input: any resource or data source"
	out.Description = "The input document of a vmgmt policy rule: the union of the per-type schemas (" + strings.Join(types, ", ") + "). " +
		"It is the input schema of every rule that declares none; a rule or package may declare a per-type one with a METADATA schemas annotation."
	out.Properties["type"] = &Schema{Type: "string", Enum: types, Description: "The resource or data source type."}
	return out
}

// Types lists the types, sorted.
func (ss Schemas) Types() []string {
	out := make([]string, 0, len(ss))
	for t := range ss {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Merge is a schema that both a and b conform to: closed objects are merged property by
// property (a property is no longer required unless both require it), arrays by their items,
// maps by their values, values of one type into one; different shapes become a union.
func Merge(a, b *Schema) *Schema {
	if a == nil {
		return b.clone()
	}
	if b == nil {
		return a.clone()
	}
	if a.equal(b) {
		return a.clone()
	}
	out := &Schema{Schema: a.Schema, ID: mergeDescription(a.ID, b.ID), Title: mergeDescription(a.Title, b.Title),
		Description: mergeDescription(a.Description, b.Description)}
	switch ka, kb := a.kind(), b.kind(); {
	case ka == "object" && kb == "object":
		out.Type = mergeTypes(a.Type, b.Type)
		out.AdditionalProperties = false
		out.Properties = map[string]*Schema{}
		for k, v := range a.Properties {
			out.Properties[k] = Merge(v, b.Properties[k])
		}
		for k, v := range b.Properties {
			if _, ok := a.Properties[k]; !ok {
				out.Properties[k] = v.clone()
			}
		}
		out.Required = intersect(a.Required, b.Required)
	case ka == "map" && kb == "map":
		out.Type = mergeTypes(a.Type, b.Type)
		out.AdditionalProperties = Merge(a.AdditionalProperties.(*Schema), b.AdditionalProperties.(*Schema))
	case ka == "array" && kb == "array":
		out.Type = mergeTypes(a.Type, b.Type)
		out.Items = Merge(a.Items, b.Items)
	case ka == "enum" && kb == "enum":
		out.Type = a.Type
		out.Enum = union(a.Enum, b.Enum)
	case ka == "other" && kb == "other" && reflect.DeepEqual(a.Type, b.Type) && reflect.DeepEqual(a.Const, b.Const):
		out.Type, out.Const = a.Type, a.Const
	default:
		out.AnyOf = append(alternatives(a), alternatives(b)...)
	}
	return out
}

// kind classifies a schema for Merge.
func (s *Schema) kind() string {
	switch {
	case len(s.AnyOf) > 0:
		return "anyOf"
	case s.Properties != nil || (s.AdditionalProperties == false && s.Items == nil):
		return "object"
	case s.AdditionalProperties != nil && s.AdditionalProperties != false:
		return "map"
	case s.Items != nil:
		return "array"
	case len(s.Enum) > 0 && s.Const == nil:
		return "enum"
	}
	return "other"
}

func alternatives(s *Schema) []*Schema {
	if len(s.AnyOf) > 0 && s.Type == nil {
		return s.AnyOf
	}
	return []*Schema{s.clone()}
}

func mergeTypes(a, b any) any {
	var names []string
	for _, t := range []any{a, b} {
		switch x := t.(type) {
		case string:
			names = append(names, x)
		case []string:
			names = append(names, x...)
		}
	}
	names = union(names, nil)
	if len(names) == 1 {
		return names[0]
	}
	// The non-null type first, as ValuesSchema writes it.
	sort.Slice(names, func(i, j int) bool { return names[j] == "null" && names[i] != "null" })
	return names
}

// mergeDescription keeps a description (or title, or id) both agree on; what differs per type is
// described in the per-type schemas.
func mergeDescription(a, b string) string {
	if a == b {
		return a
	}
	return ""
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string{}, a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func intersect(a, b []string) []string {
	in := map[string]bool{}
	for _, s := range b {
		in[s] = true
	}
	var out []string
	for _, s := range a {
		if in[s] {
			out = append(out, s)
		}
	}
	return out
}

func (s *Schema) clone() *Schema {
	if s == nil {
		return nil
	}
	out := *s
	if l, ok := s.Type.([]string); ok {
		out.Type = append([]string(nil), l...)
	}
	out.Enum = append([]string(nil), s.Enum...)
	out.Required = append([]string(nil), s.Required...)
	if s.Properties != nil {
		out.Properties = make(map[string]*Schema, len(s.Properties))
		for k, v := range s.Properties {
			out.Properties[k] = v.clone()
		}
	}
	if v, ok := s.AdditionalProperties.(*Schema); ok {
		out.AdditionalProperties = v.clone()
	}
	out.Items = s.Items.clone()
	if s.AnyOf != nil {
		out.AnyOf = make([]*Schema, len(s.AnyOf))
		for i, a := range s.AnyOf {
			out.AnyOf[i] = a.clone()
		}
	}
	return &out
}

func (s *Schema) equal(o *Schema) bool { return reflect.DeepEqual(s, o) }

// Files renders the schemas as the files shipped in schemas/policy-input: <type>.json for each
// type and input.json for their union, so `opa check --schema <dir>` resolves the same
// schema.<type> and schema.input references the provider does.
func (ss Schemas) Files() (map[string][]byte, error) {
	out := map[string][]byte{}
	docs := map[string]*Schema{"input": ss.Union()}
	for t, s := range ss {
		docs[t] = s
	}
	for name, s := range docs {
		if s == nil {
			continue
		}
		raw, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		out[name+".json"] = append(raw, '\n')
	}
	return out, nil
}

// schemaSet is what the compiler type-checks policy with: the union as the input schema of every
// rule that declares none, and schema.input and schema.<type> for METADATA schemas annotations.
func (ss Schemas) schemaSet() *ast.SchemaSet {
	set := ast.NewSchemaSet()
	// The compiler reads a schema by encoding it to JSON.
	union := ss.Union()
	set.Put(ast.SchemaRootRef, union)
	set.Put(schemaRef("input"), union)
	for t, s := range ss {
		set.Put(schemaRef(t), s)
	}
	return set
}

func schemaRef(name string) ast.Ref {
	return ast.Ref{ast.SchemaRootDocument, ast.StringTerm(name)}
}

// Validate checks a document against the schema with OPA's JSON Schema validator and reports
// every mismatch.
func (s *Schema) Validate(ctx context.Context, doc any) error {
	rs, err := rego.New(
		rego.Query("result := json.match_schema(input.doc, input.schema)"),
		rego.Input(map[string]any{"doc": doc, "schema": s}),
	).Eval(ctx)
	if err != nil {
		return err
	}
	if len(rs) != 1 {
		return errors.New("json.match_schema gave no result")
	}
	res, ok := rs[0].Bindings["result"].([]any)
	if !ok || len(res) != 2 {
		return fmt.Errorf("json.match_schema gave %v", rs[0].Bindings["result"])
	}
	if match, _ := res[0].(bool); match {
		return nil
	}
	var lines []string
	problems, _ := res[1].([]any)
	for _, p := range problems {
		m, _ := p.(map[string]any)
		lines = append(lines, fmt.Sprintf("%v: %v", m["field"], m["desc"]))
	}
	sort.Strings(lines)
	return errors.New(strings.Join(lines, "; "))
}

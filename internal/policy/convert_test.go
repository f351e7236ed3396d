package policy_test

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy"
)

var (
	allocType = tftypes.Object{AttributeTypes: map[string]tftypes.Type{
		"reservation": tftypes.Number,
		"limit":       tftypes.Number,
		"expandable":  tftypes.Bool,
	}}
	reservationType = tftypes.Object{AttributeTypes: map[string]tftypes.Type{
		"id":     tftypes.String,
		"name":   tftypes.String,
		"ratio":  tftypes.Number,
		"cpu":    allocType,
		"tags":   tftypes.Set{ElementType: tftypes.String},
		"disks":  tftypes.List{ElementType: tftypes.Object{AttributeTypes: map[string]tftypes.Type{"size": tftypes.Number}}},
		"labels": tftypes.Map{ElementType: tftypes.String},
		"note":   tftypes.String,
	}}
)

func num(n float64) tftypes.Value { return tftypes.NewValue(tftypes.Number, big.NewFloat(n)) }
func str(s string) tftypes.Value  { return tftypes.NewValue(tftypes.String, s) }
func unknown(t tftypes.Type) tftypes.Value {
	return tftypes.NewValue(t, tftypes.UnknownValue)
}

func disk(size tftypes.Value) tftypes.Value {
	return tftypes.NewValue(tftypes.Object{AttributeTypes: map[string]tftypes.Type{"size": tftypes.Number}},
		map[string]tftypes.Value{"size": size})
}

// reservation builds a planned reservation; override replaces attributes.
func reservation(override map[string]tftypes.Value) tftypes.Value {
	attrs := map[string]tftypes.Value{
		"id":    str("resgroup-42"),
		"name":  str("tier-1"),
		"ratio": tftypes.NewValue(tftypes.Number, big.NewFloat(0.25)),
		"cpu": tftypes.NewValue(allocType, map[string]tftypes.Value{
			"reservation": num(4000), "limit": num(-1), "expandable": tftypes.NewValue(tftypes.Bool, true),
		}),
		"tags": tftypes.NewValue(tftypes.Set{ElementType: tftypes.String}, []tftypes.Value{str("gold"), str("prod")}),
		"disks": tftypes.NewValue(tftypes.List{ElementType: tftypes.Object{AttributeTypes: map[string]tftypes.Type{"size": tftypes.Number}}},
			[]tftypes.Value{disk(num(10)), disk(num(20))}),
		"labels": tftypes.NewValue(tftypes.Map{ElementType: tftypes.String}, map[string]tftypes.Value{"owner": str("erp")}),
		"note":   tftypes.NewValue(tftypes.String, nil),
	}
	for k, v := range override {
		attrs[k] = v
	}
	return tftypes.NewValue(reservationType, attrs)
}

func TestFromTerraform_known(t *testing.T) {
	value, unk, err := policy.FromTerraform(reservation(nil))
	if err != nil {
		t.Fatal(err)
	}
	if unk != nil {
		t.Errorf("after_unknown of a fully known value = %#v, want nil", unk)
	}
	want := map[string]any{
		"id":     "resgroup-42",
		"name":   "tier-1",
		"ratio":  0.25,
		"cpu":    map[string]any{"reservation": int64(4000), "limit": int64(-1), "expandable": true},
		"tags":   []any{"gold", "prod"},
		"disks":  []any{map[string]any{"size": int64(10)}, map[string]any{"size": int64(20)}},
		"labels": map[string]any{"owner": "erp"},
		"note":   nil,
	}
	if !reflect.DeepEqual(value, want) {
		t.Errorf("FromTerraform =\n%#v\nwant\n%#v", value, want)
	}
}

func TestFromTerraform_scalars(t *testing.T) {
	huge, _, _ := big.ParseFloat("123456789012345678901234567890", 10, 256, big.ToNearestEven)
	for _, tc := range []struct {
		name string
		in   tftypes.Value
		want any
	}{
		{"string", str("tier-1"), "tier-1"},
		{"empty string", str(""), ""},
		{"int", num(4000), int64(4000)},
		{"negative int", num(-1), int64(-1)},
		{"zero", num(0), int64(0)},
		{"fraction", num(1.5), 1.5},
		{"beyond int64", tftypes.NewValue(tftypes.Number, huge), 1.2345678901234568e+29},
		{"true", tftypes.NewValue(tftypes.Bool, true), true},
		{"false", tftypes.NewValue(tftypes.Bool, false), false},
		{"null string", tftypes.NewValue(tftypes.String, nil), nil},
		{"null object", tftypes.NewValue(reservationType, nil), nil},
		{"empty list", tftypes.NewValue(tftypes.List{ElementType: tftypes.String}, []tftypes.Value{}), []any{}},
		{"empty map", tftypes.NewValue(tftypes.Map{ElementType: tftypes.String}, map[string]tftypes.Value{}), map[string]any{}},
		{"tuple", tftypes.NewValue(tftypes.Tuple{ElementTypes: []tftypes.Type{tftypes.String, tftypes.Number}},
			[]tftypes.Value{str("a"), num(2)}), []any{"a", int64(2)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, unk, err := policy.FromTerraform(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if unk != nil {
				t.Errorf("after_unknown = %#v, want nil", unk)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("FromTerraform = %#v (%T), want %#v (%T)", got, got, tc.want, tc.want)
			}
		})
	}
}

func TestFromTerraform_unknown(t *testing.T) {
	for _, tc := range []struct {
		name        string
		in          tftypes.Value
		wantUnknown any
		check       func(t *testing.T, value any)
	}{
		{
			name:        "whole value",
			in:          unknown(reservationType),
			wantUnknown: true,
			check: func(t *testing.T, value any) {
				if value != nil {
					t.Errorf("value of an unknown = %#v, want nil", value)
				}
			},
		},
		{
			name:        "leaf",
			in:          reservation(map[string]tftypes.Value{"id": unknown(tftypes.String)}),
			wantUnknown: map[string]any{"id": true},
			check: func(t *testing.T, value any) {
				m := value.(map[string]any)
				if v, ok := m["id"]; !ok || v != nil {
					t.Errorf("unknown id = %#v (present %t), want a null placeholder", v, ok)
				}
				if m["name"] != "tier-1" {
					t.Errorf("known sibling name = %#v", m["name"])
				}
			},
		},
		{
			name: "nested object",
			in: reservation(map[string]tftypes.Value{"cpu": tftypes.NewValue(allocType, map[string]tftypes.Value{
				"reservation": unknown(tftypes.Number), "limit": num(-1), "expandable": tftypes.NewValue(tftypes.Bool, true),
			})}),
			wantUnknown: map[string]any{"cpu": map[string]any{"reservation": true}},
		},
		{
			name:        "whole nested object",
			in:          reservation(map[string]tftypes.Value{"cpu": unknown(allocType)}),
			wantUnknown: map[string]any{"cpu": true},
		},
		{
			name: "list element",
			in: reservation(map[string]tftypes.Value{"disks": tftypes.NewValue(reservationType.AttributeTypes["disks"],
				[]tftypes.Value{disk(num(10)), disk(unknown(tftypes.Number)), disk(num(30))})}),
			wantUnknown: map[string]any{"disks": []any{false, map[string]any{"size": true}, false}},
			check: func(t *testing.T, value any) {
				disks := value.(map[string]any)["disks"].([]any)
				if len(disks) != 3 || disks[2].(map[string]any)["size"] != int64(30) {
					t.Errorf("disks = %#v", disks)
				}
			},
		},
		{
			name: "set element",
			in: reservation(map[string]tftypes.Value{"tags": tftypes.NewValue(tftypes.Set{ElementType: tftypes.String},
				[]tftypes.Value{str("gold"), unknown(tftypes.String)})}),
			wantUnknown: map[string]any{"tags": []any{false, true}},
		},
		{
			name: "map value",
			in: reservation(map[string]tftypes.Value{"labels": tftypes.NewValue(tftypes.Map{ElementType: tftypes.String},
				map[string]tftypes.Value{"owner": str("erp"), "cost_center": unknown(tftypes.String)})}),
			wantUnknown: map[string]any{"labels": map[string]any{"cost_center": true}},
		},
		{
			name:        "whole list",
			in:          reservation(map[string]tftypes.Value{"disks": unknown(reservationType.AttributeTypes["disks"])}),
			wantUnknown: map[string]any{"disks": true},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			value, unk, err := policy.FromTerraform(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(unk, tc.wantUnknown) {
				t.Errorf("after_unknown = %#v, want %#v", unk, tc.wantUnknown)
			}
			if tc.check != nil {
				tc.check(t, value)
			}
			// Both documents are what `terraform show -json` would write: they marshal.
			if _, err := json.Marshal(map[string]any{"after": value, "after_unknown": unk}); err != nil {
				t.Errorf("not JSON: %v", err)
			}
		})
	}
}

func TestFromTerraform_unknownDynamic(t *testing.T) {
	v := tftypes.NewValue(tftypes.Object{AttributeTypes: map[string]tftypes.Type{"d": tftypes.DynamicPseudoType}},
		map[string]tftypes.Value{"d": tftypes.NewValue(tftypes.DynamicPseudoType, tftypes.UnknownValue)})
	// An unknown dynamic value is just unknown.
	if _, unk, err := policy.FromTerraform(v); err != nil || !reflect.DeepEqual(unk, map[string]any{"d": true}) {
		t.Errorf("unknown dynamic: unknown %#v, err %v", unk, err)
	}
}

// FuzzFromTerraform builds Terraform values from arbitrary JSON (objects, maps, lists, tuples,
// numbers of any size) with leaves made unknown by a bit mask, and checks that the converter
// neither panics nor fails, that its output is JSON again, and that it has the same shape as the
// input with nulls where values are unknown and true at the same places in after_unknown.
func FuzzFromTerraform(f *testing.F) {
	for _, seed := range []struct {
		doc  string
		mask uint64
	}{
		{`{"name": "tier-1", "cpu": {"reservation": 4000, "limit": -1, "expandable": true}}`, 0},
		{`{"name": "tier-1", "cpu": {"reservation": 4000, "limit": -1, "expandable": true}}`, 0b10},
		{`{"disks": [{"size": 10}, {"size": 20.5}], "tags": ["a", "b"], "labels": {"k": "v"}}`, 0b1010},
		{`[1, "two", null, true, {"x": [3.25]}]`, 0xffff},
		{`{"big": 123456789012345678901234567890, "small": 1e-300, "neg": -0.0}`, 0},
		{`{"huge": 1e400}`, 0},
		{`"plain"`, 0},
		{`null`, 0},
		{`{}`, 1},
		{`[]`, 1},
	} {
		f.Add([]byte(seed.doc), seed.mask)
	}
	f.Fuzz(func(t *testing.T, doc []byte, mask uint64) {
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		var in any
		if err := dec.Decode(&in); err != nil {
			t.Skip()
		}
		b := &valueBuilder{mask: mask}
		v, wantValue, wantUnknown, ok := b.build(in)
		if !ok {
			t.Skip()
		}
		value, unk, err := policy.FromTerraform(v)
		if b.outOfRange {
			if err == nil {
				t.Fatalf("FromTerraform(%s) accepted a number beyond float64: %#v", doc, value)
			}
			return
		}
		if err != nil {
			t.Fatalf("FromTerraform(%s): %v", doc, err)
		}
		raw, err := json.Marshal(value)
		if err != nil {
			t.Fatalf("value of %s does not marshal: %v (%#v)", doc, err, value)
		}
		if _, err := json.Marshal(unk); err != nil {
			t.Fatalf("after_unknown of %s does not marshal: %v", doc, err)
		}
		var back any
		rdec := json.NewDecoder(bytes.NewReader(raw))
		rdec.UseNumber()
		if err := rdec.Decode(&back); err != nil {
			t.Fatalf("value of %s does not round-trip: %v", doc, err)
		}
		if !sameJSON(back, wantValue) {
			t.Fatalf("value of %s (mask %b) = %s, want %#v", doc, mask, raw, wantValue)
		}
		if !reflect.DeepEqual(unk, wantUnknown) {
			t.Fatalf("after_unknown of %s (mask %b) = %#v, want %#v", doc, mask, unk, wantUnknown)
		}
	})
}

// valueBuilder turns decoded JSON into a tftypes.Value and the documents FromTerraform should
// return for it. Leaves whose index has its bit set in mask are unknown.
type valueBuilder struct {
	mask  uint64
	leaf  int
	depth int
	// outOfRange is set when a known number is beyond float64.
	outOfRange bool
}

func (b *valueBuilder) unknownLeaf() bool {
	i := b.leaf
	b.leaf++
	return b.mask&(1<<(uint(i)%64)) != 0
}

// build returns the value, the expected JSON value (float64 numbers) and the expected after_unknown.
func (b *valueBuilder) build(in any) (tftypes.Value, any, any, bool) {
	b.depth++
	defer func() { b.depth-- }()
	if b.depth > 32 {
		return tftypes.Value{}, nil, nil, false
	}
	leaf := func(t tftypes.Type, v any, want any) (tftypes.Value, any, any, bool) {
		if b.unknownLeaf() {
			return tftypes.NewValue(t, tftypes.UnknownValue), nil, true, true
		}
		return tftypes.NewValue(t, v), want, nil, true
	}
	switch x := in.(type) {
	case nil:
		return tftypes.NewValue(tftypes.String, nil), nil, nil, true
	case string:
		return leaf(tftypes.String, x, x)
	case bool:
		return leaf(tftypes.Bool, x, x)
	case json.Number:
		f, _, err := big.ParseFloat(string(x), 10, 512, big.ToNearestEven)
		if err != nil {
			return tftypes.Value{}, nil, nil, false
		}
		want, _ := f.Float64()
		v, wv, wu, ok := leaf(tftypes.Number, f, want)
		if wu == nil && math.IsInf(want, 0) {
			b.outOfRange = true // JSON and Rego have no infinity: FromTerraform refuses it
		}
		return v, wv, wu, ok
	case []any:
		elems := make([]tftypes.Value, len(x))
		types := make([]tftypes.Type, len(x))
		wantV := make([]any, len(x))
		wantU := make([]any, len(x))
		anyUnknown := false
		homogeneous := len(x) > 0
		for i, e := range x {
			v, wv, wu, ok := b.build(e)
			if !ok {
				return tftypes.Value{}, nil, nil, false
			}
			elems[i], types[i], wantV[i] = v, v.Type(), wv
			wantU[i] = false
			if wu != nil {
				wantU[i] = wu
				anyUnknown = true
			}
			if _, isStr := e.(string); !isStr {
				homogeneous = false
			}
		}
		var t tftypes.Type = tftypes.Tuple{ElementTypes: types}
		if homogeneous {
			t = tftypes.List{ElementType: tftypes.String}
		}
		var u any
		if anyUnknown {
			u = wantU
		}
		return tftypes.NewValue(t, elems), wantV, u, true
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		attrs := map[string]tftypes.Value{}
		types := map[string]tftypes.Type{}
		wantV := map[string]any{}
		wantU := map[string]any{}
		allStrings := len(x) > 0
		for _, k := range keys {
			v, wv, wu, ok := b.build(x[k])
			if !ok {
				return tftypes.Value{}, nil, nil, false
			}
			attrs[k], types[k], wantV[k] = v, v.Type(), wv
			if wu != nil {
				wantU[k] = wu
			}
			if _, isStr := x[k].(string); !isStr {
				allStrings = false
			}
		}
		var t tftypes.Type = tftypes.Object{AttributeTypes: types}
		if allStrings {
			t = tftypes.Map{ElementType: tftypes.String}
		}
		var u any
		if len(wantU) > 0 {
			u = wantU
		}
		return tftypes.NewValue(t, attrs), wantV, u, true
	}
	return tftypes.Value{}, nil, nil, false
}

// sameJSON compares decoded JSON, numbers within float rounding.
func sameJSON(got, want any) bool {
	switch w := want.(type) {
	case float64:
		n, ok := got.(json.Number)
		if !ok {
			return false
		}
		g, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return false
		}
		return g == w || math.Abs(g-w) <= 1e-12*math.Max(math.Abs(g), math.Abs(w))
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !sameJSON(g[i], w[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k := range w {
			gv, ok := g[k]
			if !ok || !sameJSON(gv, w[k]) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(got, want)
	}
}

// A number beyond float64 cannot reach Rego (+Inf is not JSON): it is an error, never a silent value.
func TestFromTerraform_outOfRange(t *testing.T) {
	huge, _, _ := big.ParseFloat("1e400", 10, 256, big.ToNearestEven)
	v := reservation(map[string]tftypes.Value{"ratio": tftypes.NewValue(tftypes.Number, huge)})
	_, _, err := policy.FromTerraform(v)
	if err == nil || !strings.Contains(err.Error(), "ratio: number out of range") {
		t.Fatalf("err = %v, want an out-of-range error naming the attribute", err)
	}
}

package framework

import (
	"context"
	"fmt"
	"math/big"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// Int64Type is the CustomType of every Int64 attribute a user sets; give the attribute an
// Int64Between validator too.
//
// Terraform numbers have arbitrary precision. A number that is not a 64-bit integer (1e20, 2.5)
// makes the framework's own Int64 conversion fail while it reads the configuration, before any
// validator runs, with "Value Conversion Error ... This is always an error in the provider ...
// Value %!s(*big.Float=1e+20) cannot be represented as a 64-bit integer". Int64Type reads such a
// number as unknown instead, so that nothing acts on it, and Int64Between, which reads the number
// itself from the configuration, refuses it on the attribute with the range it takes.
//
// Its values are the framework's basetypes.Int64Value, so models keep types.Int64 fields; for the
// same reason it is equal to basetypes.Int64Type, the type those values report.
type Int64Type struct {
	basetypes.Int64Type
}

var _ basetypes.Int64Typable = Int64Type{}

// Equal implements attr.Type.
func (t Int64Type) Equal(o attr.Type) bool {
	switch o.(type) {
	case Int64Type, basetypes.Int64Type:
		return true
	}
	return false
}

// String implements attr.Type.
func (t Int64Type) String() string { return "framework.Int64Type" }

// ValueFromTerraform implements attr.Type: like basetypes.Int64Type, except that a known number
// that is not a 64-bit integer is read as unknown instead of failing.
func (t Int64Type) ValueFromTerraform(ctx context.Context, in tftypes.Value) (attr.Value, error) {
	if in.IsKnown() && !in.IsNull() && in.Type().Is(tftypes.Number) {
		var f big.Float
		if err := in.As(&f); err == nil && !isInt64(&f) {
			return basetypes.NewInt64Unknown(), nil
		}
	}
	return t.Int64Type.ValueFromTerraform(ctx, in)
}

// Validate replaces basetypes.Int64Type's type validation, which the framework still calls when
// it reads a value into a struct and which refuses the same numbers with the same message. Such a
// number is the attribute's Int64Between validator's to report.
func (t Int64Type) Validate(ctx context.Context, in tftypes.Value, p path.Path) diag.Diagnostics {
	if in.Type() != nil && in.Type().Is(tftypes.Number) {
		return nil
	}
	return t.Int64Type.Validate(ctx, in, p)
}

func isInt64(f *big.Float) bool {
	if !f.IsInt() {
		return false
	}
	_, acc := f.Int64()
	return acc == big.Exact
}

// Int64RangeValidator checks a whole number between Min and Max, including a number too large
// for 64 bits (which Int64Type reads as unknown).
type Int64RangeValidator struct {
	Min, Max int64
	// Multiple, when above 1, requires the value to be a multiple of it.
	Multiple int64
}

// Int64Between is the validator of a whole number from lo to hi.
func Int64Between(lo, hi int64) Int64RangeValidator {
	return Int64RangeValidator{Min: lo, Max: hi}
}

// MultipleOf returns v that also requires a multiple of m.
func (v Int64RangeValidator) MultipleOf(m int64) Int64RangeValidator {
	v.Multiple = m
	return v
}

func (v Int64RangeValidator) Description(context.Context) string {
	s := fmt.Sprintf("a whole number from %s to %s", groupDigits(v.Min), groupDigits(v.Max))
	if v.Multiple > 1 {
		s += fmt.Sprintf(", a multiple of %d", v.Multiple)
	}
	return s
}

func (v Int64RangeValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v Int64RangeValidator) ValidateInt64(_ context.Context, req validator.Int64Request, resp *validator.Int64Response) {
	if req.ConfigValue.IsNull() {
		return
	}
	var got string
	if req.ConfigValue.IsUnknown() {
		f, ok := configNumber(req.Config, req.Path)
		if !ok {
			return // really unknown: checked when it is known
		}
		got = numberText(f)
	} else {
		n := req.ConfigValue.ValueInt64()
		switch {
		case n < v.Min || n > v.Max:
			got = groupDigits(n)
		case v.Multiple > 1 && n%v.Multiple != 0:
			resp.Diagnostics.AddAttributeError(req.Path, "Invalid "+attrName(req.Path),
				fmt.Sprintf("Attribute %s must be a multiple of %d; got %d. Use %d or %d.", req.Path, v.Multiple, n, n/v.Multiple*v.Multiple, (n/v.Multiple+1)*v.Multiple))
			return
		default:
			return
		}
	}
	resp.Diagnostics.AddAttributeError(req.Path, "Number out of range",
		fmt.Sprintf("Attribute %s must be %s; got %s.", req.Path, v.Description(context.Background()), got))
}

// numberText writes f as the configuration might have, unless it has more than about 1,200 digits:
// writing those in decimal takes time that grows with the number.
func numberText(f *big.Float) string {
	if exp := f.MantExp(nil); exp > 1<<12 || exp < -1<<12 {
		if exp > 0 {
			return fmt.Sprintf("a number of about 2^%d", exp)
		}
		return fmt.Sprintf("a fraction of about 2^%d", exp)
	}
	return f.Text('g', -1)
}

// configNumber is the number written in the configuration at p, when it is known.
func configNumber(cfg tfsdk.Config, p path.Path) (*big.Float, bool) {
	tp, ok := terraformPath(p)
	if !ok || cfg.Raw.IsNull() {
		return nil, false
	}
	at, _, err := tftypes.WalkAttributePath(cfg.Raw, tp)
	if err != nil {
		return nil, false
	}
	val, ok := at.(tftypes.Value)
	if !ok || !val.IsKnown() || val.IsNull() {
		return nil, false
	}
	f := new(big.Float)
	if err := val.As(&f); err != nil {
		return nil, false
	}
	return f, true
}

// terraformPath converts a framework path into a tftypes one; ok is false for a path through a
// set, whose elements are addressed by value.
func terraformPath(p path.Path) (*tftypes.AttributePath, bool) {
	tp := tftypes.NewAttributePath()
	for _, step := range p.Steps() {
		switch s := step.(type) {
		case path.PathStepAttributeName:
			tp = tp.WithAttributeName(string(s))
		case path.PathStepElementKeyString:
			tp = tp.WithElementKeyString(string(s))
		case path.PathStepElementKeyInt:
			tp = tp.WithElementKeyInt(int(s))
		default:
			return nil, false
		}
	}
	return tp, true
}

// groupDigits writes n with thousands separators, as vSphere's documents do (24,576).
func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	neg := ""
	if n < 0 {
		neg, s = "-", s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return neg + s
}

package policy

import (
	"fmt"
	"math"
	"math/big"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// FromTerraform converts a planned or prior Terraform value into the JSON-like document Rego
// sees (as `terraform show -json` writes it) and its after_unknown companion: true where a value
// is unknown, nested objects and lists where some part of it is.
func FromTerraform(v tftypes.Value) (value any, unknown any, err error) {
	if !v.IsKnown() {
		return nil, true, nil
	}
	if v.IsNull() {
		return nil, nil, nil
	}
	t := v.Type()
	switch {
	case t.Is(tftypes.String):
		var s string
		err = v.As(&s)
		return s, nil, err
	case t.Is(tftypes.Bool):
		var b bool
		err = v.As(&b)
		return b, nil, err
	case t.Is(tftypes.Number):
		var n big.Float
		if err = v.As(&n); err != nil {
			return nil, nil, err
		}
		if n.IsInt() {
			if i, acc := n.Int64(); acc == big.Exact {
				return i, nil, nil
			}
		}
		f, _ := n.Float64()
		if math.IsInf(f, 0) {
			// Terraform numbers are arbitrary precision; +Inf is neither JSON nor a Rego number.
			return nil, nil, fmt.Errorf("number out of range for policy input (beyond ±%g)", math.MaxFloat64)
		}
		return f, nil, nil
	case t.Is(tftypes.List{}), t.Is(tftypes.Set{}), t.Is(tftypes.Tuple{}):
		var elems []tftypes.Value
		if err = v.As(&elems); err != nil {
			return nil, nil, err
		}
		out := make([]any, len(elems))
		unk := make([]any, len(elems))
		anyUnknown := false
		for i, e := range elems {
			ev, eu, err := FromTerraform(e)
			if err != nil {
				return nil, nil, err
			}
			out[i] = ev
			if eu != nil {
				unk[i] = eu
				anyUnknown = true
			} else {
				unk[i] = false
			}
		}
		if !anyUnknown {
			return out, nil, nil
		}
		return out, unk, nil
	case t.Is(tftypes.Map{}), t.Is(tftypes.Object{}):
		var attrs map[string]tftypes.Value
		if err = v.As(&attrs); err != nil {
			return nil, nil, err
		}
		out := make(map[string]any, len(attrs))
		unk := map[string]any{}
		for k, a := range attrs {
			av, au, err := FromTerraform(a)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = av
			if au != nil {
				unk[k] = au
			}
		}
		if len(unk) == 0 {
			return out, nil, nil
		}
		return out, unk, nil
	case t.Is(tftypes.DynamicPseudoType):
		return nil, nil, fmt.Errorf("dynamic values are not supported in policy input")
	default:
		return nil, nil, fmt.Errorf("unsupported type %s", t)
	}
}

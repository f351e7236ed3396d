package framework

import "github.com/hashicorp/terraform-plugin-framework/types"

// BoolPtr is an optional bool's value: nil when null; nil, and known set false, when unknown.
func BoolPtr(b types.Bool, known *bool) *bool {
	if b.IsUnknown() {
		*known = false
		return nil
	}
	if b.IsNull() {
		return nil
	}
	v := b.ValueBool()
	return &v
}

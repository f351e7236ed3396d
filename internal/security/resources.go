package security

import "github.com/hashicorp/terraform-plugin-framework/resource"

// Resources lists the resources this package contributes to the provider.
func Resources() []func() resource.Resource {
	return []func() resource.Resource{
		NewGroupResource,
	}
}

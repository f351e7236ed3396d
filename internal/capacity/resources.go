// Package capacity is the Service & Capacity function of the reference architecture: capacity
// reservations (resource pools with guaranteed CPU and memory) and the capacity data source.
package capacity

import (
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

// Resources lists the resources this package contributes to the provider.
func Resources() []func() resource.Resource {
	return []func() resource.Resource{
		NewReservationResource,
	}
}

// DataSources lists the data sources this package contributes to the provider.
func DataSources() []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewCapacityDataSource,
	}
}

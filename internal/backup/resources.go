package backup

import (
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

// Resources lists the resources this package contributes to the provider.
func Resources() []func() resource.Resource {
	return []func() resource.Resource{NewJobResource, NewVMRestoreResource}
}

// DataSources lists the data sources this package contributes to the provider.
func DataSources() []func() datasource.DataSource {
	return []func() datasource.DataSource{NewRestorePointsDataSource, NewCoverageDataSource}
}

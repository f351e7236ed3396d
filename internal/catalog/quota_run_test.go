package catalog_test

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
)

// VMs requested in the same run count against the quota together: with one VM live and room for
// one more, a plan of two more fails (each alone fits); one more passes and applies.
func TestAccCatalogVM_quotaCountsTheRun(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: quotaConfig(sim, "app01:small")},
			{
				Config:      quotaConfig(sim, "app01:small", "app02:small", "app03:small"),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Policy violation: catalog.quota.*job function "erp-ops" would hold 3\s+VMs`),
			},
			{
				Config: quotaConfig(sim, "app01:small", "app02:small"),
				Check:  countStamped(sim, "app-server", 2),
			},
		},
	})
}

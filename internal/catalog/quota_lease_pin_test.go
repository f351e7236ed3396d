package catalog_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/catalog"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// quotaConfig is an item whose quota lets erp-ops hold 2 VMs and 6 vCPUs, with the catalog pack
// judging requests, and one catalog VM per name:size.
func quotaConfig(sim *acctest.Sim, vms ...string) string {
	var b strings.Builder
	b.WriteString(sim.ProviderConfigWith(`  policy {
    packs = ["catalog"]
  }`))
	fmt.Fprintf(&b, `
resource "vmgmt_catalog_item" "app" {
  name     = "app-server"
  version  = "1.0.0"
  template = %q
  sizes = {
    small = { cpus = 2, memory_mb = 4096, disk_gb = 40 }
    large = { cpus = 8, memory_mb = 16384, disk_gb = 80 }
  }
  entitled_groups  = ["erp-ops"]
  allowed_folders  = [%q]
  allowed_networks = [%q]
  quota            = { erp-ops = { instances = 2, cpus = 6 } }
  lease            = { default_days = 30, max_days = 90, grace_days = 7 }
}
`, templatePath, simulator.WorkloadFolder, simulator.PortGroups[0])
	for _, v := range vms {
		name, size, _ := strings.Cut(v, ":")
		fmt.Fprintf(&b, `
resource "vmgmt_catalog_vm" %[1]q {
  name              = %[1]q
  catalog_item      = vmgmt_catalog_item.app.name
  size              = %[2]q
  owner             = "jane.doe"
  job_function      = "erp-ops"
  allow_power_cycle = true
}
`, name, size)
	}
	return b.String()
}

// The catalog pack's quota, judged through the provider's gate with the usage the resource reads
// from vCenter (the item's other VMs, by their stamps) plus the request itself: a request that
// brings the group exactly to its quota passes, one unit more fails, in the dimension it exceeds.
func TestAccCatalogVM_quotaThroughGate(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: quotaConfig(sim, "app01:small")},
			{
				// 2 vCPUs live + 8 requested > 6.
				Config:   quotaConfig(sim, "app01:small", "app02:large"),
				PlanOnly: true,
				ExpectError: regexp.MustCompile(`(?s)Policy violation: catalog.quota.*job function "erp-ops" would hold 10\s+vCPUs\s+of\s+catalog\s+item\s+"app-server"` +
					`\s+\(2\s+in\s+its\s+other\s+VMs,\s+8\s+in\s+this\s+one\),\s+above\s+its\s+quota\s+of\s+6`),
			},
			{
				// 1 + 1 = 2 VMs and 2 + 2 = 4 vCPUs: within the quota, exactly at it for VMs.
				Config: quotaConfig(sim, "app01:small", "app02:small"),
				Check:  countStamped(sim, "app-server", 2),
			},
			{
				// 2 VMs live + 1 requested > 2 (vCPUs 6 <= 6 would pass).
				Config:   quotaConfig(sim, "app01:small", "app02:small", "app03:small"),
				PlanOnly: true,
				ExpectError: regexp.MustCompile(`(?s)Policy violation: catalog.quota.*would\s+hold\s+3\s+VMs\s+of\s+catalog\s+item\s+"app-server"` +
					`\s+\(2\s+in\s+its\s+other\s+VMs,\s+1\s+in\s+this\s+one\),\s+above\s+its\s+quota\s+of\s+2`),
			},
			{
				// Growing app01 counts the other VM (2 vCPUs) and app01's new size, not app01 twice.
				Config:   quotaConfig(sim, "app01:large", "app02:small"),
				PlanOnly: true,
				ExpectError: regexp.MustCompile(`(?s)Policy violation: catalog.quota.*would\s+hold\s+10\s+vCPUs` +
					`\s+of\s+catalog\s+item\s+"app-server"\s+\(2\s+in\s+its\s+other\s+VMs,\s+8\s+in\s+this\s+one\)`),
			},
		},
	})
}

func countStamped(sim *acctest.Sim, item string, want int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		vms, err := stampedVMs(context.Background(), sim, item)
		if err != nil {
			return err
		}
		if len(vms) != want {
			return fmt.Errorf("vCenter holds %d VMs of %s, want %d", len(vms), item, want)
		}
		return nil
	}
}

// The lease at its boundaries on the plan: the expiry in state is the creation stamp plus
// lease_days; on the last day of the grace period the plan passes, the day after it fails. The
// VM is backdated an hour either side of the boundary, so the test's own running time does not
// matter.
func TestAccCatalogVM_leaseBoundaries(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	addr := "vmgmt_catalog_vm.app01"
	cfg := catalogVMConfig(sim, vmCfg{}) // lease 30 days, grace 7
	const day = 24 * time.Hour
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg, Check: leaseExpiresAfter(addr, 30*day)},
			{
				// Expired 7 days minus an hour ago: the last day of grace, a warning only.
				PreConfig: func() { backdateBy(t, sim, "app01", 37*day-time.Hour) },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionNoop),
				}},
				Check: leaseExpiresAfter(addr, 30*day),
			},
			{
				// An hour later than that the grace period is over.
				PreConfig:   func() { backdateBy(t, sim, "app01", 37*day+time.Hour) },
				Config:      cfg,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`Lease expired(?s:.*)its\s+7-day\s+grace\s+period\s+ended(?s:.*)to\s+at\s+least\s+38`),
			},
			{
				// Renewed by a day: expired 6 days and an hour ago, in grace again.
				Config: catalogVMConfig(sim, vmCfg{leaseDays: 31}),
				Check:  leaseExpiresAfter(addr, 31*day),
			},
		},
	})
}

// leaseExpiresAfter checks that lease_expires_at is created_at plus d, to the second.
func leaseExpiresAfter(addr string, d time.Duration) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		rs := s.RootModule().Resources[addr]
		if rs == nil {
			return fmt.Errorf("%s not in state", addr)
		}
		created, err := time.Parse(time.RFC3339, rs.Primary.Attributes["created_at"])
		if err != nil {
			return fmt.Errorf("created_at: %w", err)
		}
		want := created.Add(d).UTC().Format(time.RFC3339)
		if got := rs.Primary.Attributes["lease_expires_at"]; got != want {
			return fmt.Errorf("lease_expires_at = %s, want %s (created_at %s + %s)", got, want, rs.Primary.Attributes["created_at"], d)
		}
		return nil
	}
}

// backdateBy moves a VM's creation stamp d into the past.
func backdateBy(t *testing.T, sim *acctest.Sim, name string, d time.Duration) {
	c := client(t, sim)
	created := time.Now().UTC().Add(-d).Truncate(time.Second).Format(time.RFC3339)
	if err := c.ReconfigureVM(context.Background(), findVM(t, c, name).ID, vsphere.ReconfigSpec{ExtraConfig: map[string]string{catalog.StampCreated: created}}); err != nil {
		t.Fatal(err)
	}
}

package catalog_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/catalog"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

func itemConfig(sim *acctest.Sim, version, template, extra string) string {
	return sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_catalog_item" "db" {
  name        = "db-server"
  version     = %q
  description = "Business-critical database server"
  template    = %q
  sizes = {
    small = { cpus = 4, memory_mb = 16384, disk_gb = 100 }
    large = { cpus = 16, memory_mb = 131072, disk_gb = 500 }
  }
  entitled_groups  = ["dba", "erp-ops"]
  allowed_networks = ["pg-db"]
  quota = {
    dba = { instances = 10, cpus = 64 }
  }
  lease = { default_days = 90, max_days = 365 }
  %s
}
`, version, template, extra)
}

var templatePath = "/" + simulator.Datacenter + "/vm/" + simulator.TemplateFolder + "/" + simulator.Templates[0]

func TestAccCatalogItem(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	addr := "vmgmt_catalog_item.db"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: itemConfig(sim, "1.0.0", templatePath, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact("db-server")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("lease").AtMapKey("grace_days"), knownvalue.Int64Exact(7)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("template_id"), knownvalue.StringRegexp(regexp.MustCompile(`^vm-`))),
				},
				Check: func(*terraform.State) error { return publishedVersion(t, sim, "db-server", "1.0.0") },
			},
			{
				Config:           itemConfig(sim, "1.0.0", templatePath, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{ResourceName: addr, ImportState: true, ImportStateId: "db-server", ImportStateVerify: true},
			{
				// A new version and a move to another template are in-place updates.
				Config:           itemConfig(sim, "1.1.0", simulator.TemplateFolder+"/"+simulator.Templates[1], `backup_job = "gold"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)}},
				Check:            func(*terraform.State) error { return publishedVersion(t, sim, "db-server", "1.1.0") },
			},
			{
				// Unpublished behind Terraform's back: the next plan publishes it again.
				PreConfig:        func() { unpublish(t, sim, "db-server") },
				Config:           itemConfig(sim, "1.1.0", simulator.TemplateFolder+"/"+simulator.Templates[1], `backup_job = "gold"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate)}},
			},
		},
	})
	if err := publishedVersion(t, sim, "db-server", ""); err != nil {
		t.Fatalf("after destroy: %v", err)
	}
}

func TestAccCatalogItem_badInput(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	cases := []struct{ name, cfg, want string }{
		{"template is a VM", itemConfig(sim, "1.0.0", "workloads/"+simulator.Workloads[0], ""), `Not a template(?s:.*)Mark\s+it\s+as\s+a\s+template`},
		{"missing template", itemConfig(sim, "1.0.0", "templates/nope", ""), `(?s)Template not found`},
		{"missing library item", itemConfig(sim, "1.0.0", catalog.LibraryPrefix+simulator.Library+"/nope", ""), `(?s)Template not found.*library:<library>/<item>`},
		{"missing library", itemConfig(sim, "1.0.0", catalog.LibraryPrefix+"nolib/x", ""), `(?s)Template not found`},
		{"library item ID unknown", itemConfig(sim, "1.0.0", catalog.LibraryPrefix+"6a1b0c3e-1111-2222-3333-444455556666", ""), `(?s)Template not found`},
		{"bad version", itemConfig(sim, "one", templatePath, ""), `(?s)must be a version such as 1.4`},
		{"quota for other group", itemConfig(sim, "1.0.0", templatePath, `# extra`)[0:0] + sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_catalog_item" "x" {
  name = "x"
  version = "1.0"
  template = %q
  sizes = { s = { cpus = 1, memory_mb = 1024, disk_gb = 40 } }
  entitled_groups = ["dba"]
  quota = { devs = { instances = 1 } }
}`, templatePath), `(?s)Quota for a group that is not entitled`},
		{"disk below template", sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_catalog_item" "x" {
  name = "x"
  version = "1.0"
  template = %q
  sizes = { tiny = { cpus = 1, memory_mb = 1024, disk_gb = 10 } }
}`, templatePath), `(?s)Disk smaller than the template's.*40 GB`},
		{"lease default above max", sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_catalog_item" "x" {
  name = "x"
  version = "1.0"
  template = %q
  sizes = { s = { cpus = 1, memory_mb = 1024, disk_gb = 40 } }
  lease = { default_days = 100, max_days = 30 }
}`, templatePath), `(?s)Default lease above maximum`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
				Steps:                    []resource.TestStep{{Config: tc.cfg, PlanOnly: true, ExpectError: regexp.MustCompile(tc.want)}},
			})
		})
	}
}

func client(t *testing.T, sim *acctest.Sim) *vsphere.Client {
	t.Helper()
	c, err := vsphere.Connect(context.Background(), vsphere.Config{Server: sim.URL.Host, User: sim.User, Password: sim.Password, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// publishedVersion checks what vCenter itself holds; want "" means not published.
func publishedVersion(t *testing.T, sim *acctest.Sim, name, want string) error {
	items, err := catalog.Items(context.Background(), client(t, sim))
	if err != nil {
		return err
	}
	it := items[name]
	switch {
	case want == "" && it != nil:
		return fmt.Errorf("item %s still published on %s", name, it.TemplatePath)
	case want == "":
		return nil
	case it == nil:
		return fmt.Errorf("item %s not published in vCenter", name)
	case it.Version != want:
		return fmt.Errorf("item %s published at version %s, want %s", name, it.Version, want)
	}
	return nil
}

func unpublish(t *testing.T, sim *acctest.Sim, name string) {
	c := client(t, sim)
	items, err := catalog.Items(context.Background(), c)
	if err != nil || items[name] == nil {
		t.Fatalf("item %s: %v", name, err)
	}
	if err := catalog.Unpublish(context.Background(), c, name, items[name].TemplateID, items[name].Library); err != nil {
		t.Fatal(err)
	}
}

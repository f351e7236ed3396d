package catalog_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/catalog"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// catalogDSItems publishes two items: db-server for dba and erp-ops, web-frontend open to all.
func catalogDSItems() string {
	return fmt.Sprintf(`
resource "vmgmt_catalog_item" "db" {
  name        = "db-server"
  version     = "1.2.0"
  description = "Business-critical database server"
  template    = "%s/%s"
  sizes = {
    small = { cpus = 4, memory_mb = 16384, disk_gb = 100 }
    large = { cpus = 16, memory_mb = 131072, disk_gb = 500 }
  }
  entitled_groups = ["dba", "erp-ops"]
  lease           = { default_days = 30, max_days = 180, grace_days = 14 }
}

resource "vmgmt_catalog_item" "web" {
  name     = "web-frontend"
  version  = "2.0.0"
  template = "%s/%s"
  sizes = {
    medium = { cpus = 2, memory_mb = 4096, disk_gb = 60 }
  }
}
`, simulator.TemplateFolder, simulator.Templates[0], simulator.TemplateFolder, simulator.Templates[1])
}

const catalogDSDependsOn = `depends_on = [vmgmt_catalog_item.db, vmgmt_catalog_item.web]`

// catalogDSStampedVM clones a template into a VM carrying the catalog stamps, as vmgmt_catalog_vm
// does, so the data source sees VMs made outside this configuration.
func catalogDSStampedVM(t *testing.T, c *vsphere.Client, name, template string, stamps map[string]string) string {
	t.Helper()
	ctx := context.Background()
	tmpl, err := c.FindVM(ctx, simulator.TemplateFolder+"/"+template)
	if err != nil {
		t.Fatal(err)
	}
	folder, err := c.ResolveFolder(ctx, simulator.WorkloadFolder)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := c.ResolvePool(ctx, simulator.ClusterPath)
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.CloneVM(ctx, vsphere.CloneSpec{
		TemplateID: tmpl.ID, Name: name, FolderID: folder.Reference().Value, PoolID: pool.ID(), ExtraConfig: stamps,
	})
	if err != nil {
		t.Fatalf("cloning %s: %v", name, err)
	}
	return id
}

func TestAccCatalogDataSource(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	now := time.Now().UTC().Truncate(time.Second)
	oldCreated, newCreated := now.AddDate(0, 0, -100), now.AddDate(0, 0, -1)
	cfg := sim.ProviderConfig() + catalogDSItems() + fmt.Sprintf(`
data "vmgmt_catalog" "all" {
  %[1]s
}

data "vmgmt_catalog" "dba" {
  group = "dba"
  %[1]s
}

data "vmgmt_catalog" "web" {
  group = "web"
  %[1]s
}
`, catalogDSDependsOn)

	var oldID, newID string
	stamp := func(item, version, size, owner, group string, created time.Time, leaseDays string) map[string]string {
		return map[string]string{
			catalog.StampItem: item, catalog.StampVersion: version, catalog.StampSize: size, catalog.StampOwner: owner,
			catalog.StampJobFunction: group, catalog.StampCreated: created.Format(time.RFC3339), catalog.StampLeaseDays: leaseDays,
		}
	}
	setup := func() {
		c := client(t, sim)
		// Built 100 days ago with a 30-day lease: expired. Built yesterday for 30 days: running.
		oldID = catalogDSStampedVM(t, c, "db-old", simulator.Templates[0], stamp("db-server", "1.0.0", "small", "alice", "dba", oldCreated, "30"))
		newID = catalogDSStampedVM(t, c, "web-new", simulator.Templates[1], stamp("web-frontend", "2.0.0", "medium", "bob", "web", newCreated, "30"))
		// A lease nobody can read: listed, never expired.
		bad := stamp("db-server", "1.2.0", "large", "carol", "erp-ops", newCreated, "30")
		bad[catalog.StampCreated] = "yesterday"
		catalogDSStampedVM(t, c, "db-odd", simulator.Templates[0], bad)
	}

	item := func(name string) knownvalue.Check {
		return knownvalue.ObjectPartial(map[string]knownvalue.Check{"name": knownvalue.StringExact(name)})
	}
	vmPath := "/" + simulator.Datacenter + "/vm/" + simulator.WorkloadFolder + "/"
	all, dba, web := "data.vmgmt_catalog.all", "data.vmgmt_catalog.dba", "data.vmgmt_catalog.web"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig: setup,
				Config:    cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(all, tfjsonpath.New("items"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"name":          knownvalue.StringExact("db-server"),
							"version":       knownvalue.StringExact("1.2.0"),
							"description":   knownvalue.StringExact("Business-critical database server"),
							"template":      knownvalue.StringExact("/" + simulator.Datacenter + "/vm/" + simulator.TemplateFolder + "/" + simulator.Templates[0]),
							"template_id":   knownvalue.StringRegexp(regexp.MustCompile(`^vm-`)),
							"template_type": knownvalue.StringExact("template_vm"),
							"sizes": knownvalue.ListExact([]knownvalue.Check{
								knownvalue.ObjectExact(map[string]knownvalue.Check{
									"name": knownvalue.StringExact("large"), "cpus": knownvalue.Int64Exact(16),
									"memory_mb": knownvalue.Int64Exact(131072), "disk_gb": knownvalue.Int64Exact(500),
								}),
								knownvalue.ObjectExact(map[string]knownvalue.Check{
									"name": knownvalue.StringExact("small"), "cpus": knownvalue.Int64Exact(4),
									"memory_mb": knownvalue.Int64Exact(16384), "disk_gb": knownvalue.Int64Exact(100),
								}),
							}),
							"entitled_groups":    knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("dba"), knownvalue.StringExact("erp-ops")}),
							"lease_default_days": knownvalue.Int64Exact(30),
							"lease_max_days":     knownvalue.Int64Exact(180),
							"lease_grace_days":   knownvalue.Int64Exact(14),
						}),
						knownvalue.ObjectPartial(map[string]knownvalue.Check{
							"name":            knownvalue.StringExact("web-frontend"),
							"description":     knownvalue.Null(),
							"entitled_groups": knownvalue.ListSizeExact(0),
							"lease_max_days":  knownvalue.Int64Exact(90),
						}),
					})),
					// dba is entitled to db-server, and web-frontend is open to everyone.
					statecheck.ExpectKnownValue(dba, tfjsonpath.New("items"), knownvalue.ListExact([]knownvalue.Check{item("db-server"), item("web-frontend")})),
					statecheck.ExpectKnownValue(web, tfjsonpath.New("items"), knownvalue.ListExact([]knownvalue.Check{item("web-frontend")})),

					statecheck.ExpectKnownValue(all, tfjsonpath.New("vms"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectPartial(map[string]knownvalue.Check{
							"name": knownvalue.StringExact("db-odd"), "catalog_item": knownvalue.StringExact("db-server"),
							"lease_expires_at": knownvalue.Null(), "expired": knownvalue.Bool(false),
						}),
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"id":                   catalogDSStringFunc(func() string { return oldID }),
							"name":                 knownvalue.StringExact("db-old"),
							"path":                 knownvalue.StringExact(vmPath + "db-old"),
							"catalog_item":         knownvalue.StringExact("db-server"),
							"catalog_item_version": knownvalue.StringExact("1.0.0"),
							"size":                 knownvalue.StringExact("small"),
							"owner":                knownvalue.StringExact("alice"),
							"job_function":         knownvalue.StringExact("dba"),
							"lease_expires_at":     knownvalue.StringExact(oldCreated.AddDate(0, 0, 30).Format(time.RFC3339)),
							"expired":              knownvalue.Bool(true),
						}),
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"id":                   catalogDSStringFunc(func() string { return newID }),
							"name":                 knownvalue.StringExact("web-new"),
							"path":                 knownvalue.StringExact(vmPath + "web-new"),
							"catalog_item":         knownvalue.StringExact("web-frontend"),
							"catalog_item_version": knownvalue.StringExact("2.0.0"),
							"size":                 knownvalue.StringExact("medium"),
							"owner":                knownvalue.StringExact("bob"),
							"job_function":         knownvalue.StringExact("web"),
							"lease_expires_at":     knownvalue.StringExact(newCreated.AddDate(0, 0, 30).Format(time.RFC3339)),
							"expired":              knownvalue.Bool(false),
						}),
					})),
					statecheck.ExpectKnownValue(all, tfjsonpath.New("expired_vms"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("db-old")})),
					// The group narrows the items, never the VMs.
					statecheck.ExpectKnownValue(web, tfjsonpath.New("vms"), knownvalue.ListSizeExact(3)),
					statecheck.ExpectKnownValue(web, tfjsonpath.New("expired_vms"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("db-old")})),
				},
			},
		},
	})
}

// The read goes through the policy gate: a rule can refuse it, named by the group it reads.
func TestAccCatalogDataSource_policy(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	dir := t.TempDir()
	rule := `package vmgmt.reads

violation contains v if {
	input.type == "vmgmt_catalog"
	"read" in input.change.actions
	input.name == "contractors"
	v := {"id": "reads.catalog", "path": ["group"], "msg": "contractors read the catalog through the service desk"}
}
`
	if err := os.WriteFile(filepath.Join(dir, "reads.rego"), []byte(rule), 0o600); err != nil {
		t.Fatal(err)
	}
	provider := sim.ProviderConfigWith(fmt.Sprintf("  policy {\n    sources = [%q]\n  }", dir))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      provider + `data "vmgmt_catalog" "x" { group = "contractors" }`,
				ExpectError: regexp.MustCompile(`(?s)Policy violation: reads.catalog.*contractors read the catalog through the service desk`),
			},
			{
				Config: provider + `data "vmgmt_catalog" "x" { group = "dba" }`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.vmgmt_catalog.x", tfjsonpath.New("items"), knownvalue.ListSizeExact(0)),
					statecheck.ExpectKnownValue("data.vmgmt_catalog.x", tfjsonpath.New("vms"), knownvalue.ListSizeExact(0)),
				},
			},
		},
	})
}

func TestAccCatalogDataSource_badInput(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      sim.ProviderConfig() + `data "vmgmt_catalog" "x" { group = "" }`,
				ExpectError: regexp.MustCompile(`(?s)Attribute group: the value is empty`),
			},
		},
	})
}

// catalogDSStringFunc checks a string known only once the test has run its setup.
func catalogDSStringFunc(want func() string) knownvalue.Check {
	return catalogDSLateString{want}
}

type catalogDSLateString struct{ want func() string }

func (c catalogDSLateString) CheckValue(v any) error {
	return knownvalue.StringExact(c.want()).CheckValue(v)
}

func (c catalogDSLateString) String() string { return c.want() }

package catalog_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/config"
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

// The published catalog modules in examples/modules, applied as a catalog user would: the
// platform side publishes the item, the user calls the module with a name, a size and a lease.

// moduleCase is one published module and the item it expects to find in the catalog.
type moduleCase struct {
	module  string // directory under examples/modules, also the item's name
	item    string // the item's sizes, networks, lease (HCL attributes of vmgmt_catalog_item)
	args    string // the module call's arguments besides source and catalog_item
	size    string // the size args asks for
	cpus    int64  // what that size gives
	network string // the item's network, where the VM must land
	badSize string // a size the module's validation refuses
	maxDays int    // the item's maximum lease: one more must be refused
}

var moduleCases = []moduleCase{
	{
		module: "db-server",
		item: `
  sizes = {
    medium = { cpus = 8, memory_mb = 32768, disk_gb = 200 }
    large  = { cpus = 16, memory_mb = 65536, disk_gb = 500 }
    xlarge = { cpus = 32, memory_mb = 131072, disk_gb = 1000 }
  }
  entitled_groups  = ["dba", "erp-ops"]
  allowed_networks = ["pg-db"]
  allowed_folders  = ["workloads"]
  lease            = { default_days = 90, max_days = 365, grace_days = 14 }`,
		args: `
  name         = "erp-db-01"
  size         = "large"
  owner        = "maria.garcia"
  job_function = "dba"
  lease_days   = 365
  domain       = "corp.example"
  ipv4_address = "10.0.30.11/24"
  ipv4_gateway = "10.0.30.1"
  dns_servers  = ["10.0.0.2"]`,
		size: "large", cpus: 16, network: "pg-db", badSize: "small", maxDays: 365,
	},
	{
		module: "app-server",
		item: `
  sizes = {
    small  = { cpus = 2, memory_mb = 8192, disk_gb = 60 }
    medium = { cpus = 4, memory_mb = 16384, disk_gb = 80 }
    large  = { cpus = 8, memory_mb = 32768, disk_gb = 120 }
  }
  entitled_groups  = ["erp-ops", "app-dev"]
  allowed_networks = ["pg-app"]
  allowed_folders  = ["workloads"]
  lease            = { default_days = 30, max_days = 180, grace_days = 7 }`,
		args: `
  name         = "erp-app-01"
  size         = "medium"
  owner        = "jane.doe"
  job_function = "erp-ops"`,
		size: "medium", cpus: 4, network: "pg-app", badSize: "xlarge", maxDays: 180,
	},
	{
		module: "web-frontend",
		item: `
  sizes = {
    small  = { cpus = 2, memory_mb = 4096, disk_gb = 40 }
    medium = { cpus = 4, memory_mb = 8192, disk_gb = 40 }
  }
  entitled_groups  = ["web-ops", "erp-ops"]
  allowed_networks = ["pg-web"]
  allowed_folders  = ["workloads"]
  lease            = { default_days = 30, max_days = 90, grace_days = 7 }`,
		args: `
  name         = "web-01"
  size         = "small"
  owner        = "li.wei"
  job_function = "web-ops"
  lease_days   = 60`,
		size: "small", cpus: 2, network: "pg-web", badSize: "large", maxDays: 90,
	},
}

// moduleConfig publishes the case's item on the rhel9 template and, with args, calls the module
// from its directory in the repository with those arguments.
func moduleConfig(t *testing.T, sim *acctest.Sim, c moduleCase, args string) string {
	t.Helper()
	root, err := acctest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cfg := acctest.RequiredProviders + sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_catalog_item" "this" {
  name     = %q
  version  = "1.0.0"
  template = %q
%s
}
`, c.module, templatePath, c.item)
	if args == "" {
		return cfg
	}
	return cfg + fmt.Sprintf(`
module "vm" {
  source       = %q
  catalog_item = vmgmt_catalog_item.this.name
%s
}

output "vm" {
  value = module.vm
}
`, filepath.Join(root, "examples", "modules", c.module), args)
}

func TestAccModule_dbServer(t *testing.T)    { testAccModule(t, moduleCases[0]) }
func TestAccModule_appServer(t *testing.T)   { testAccModule(t, moduleCases[1]) }
func TestAccModule_webFrontend(t *testing.T) { testAccModule(t, moduleCases[2]) }

func testAccModule(t *testing.T, c moduleCase) {
	acctest.PreCheck(t)
	// The modules require vmgmt/vmgmt, as a catalog user's configuration does: serve the
	// in-process provider under that address rather than hashicorp/vmgmt.
	t.Setenv("TF_ACC_PROVIDER_NAMESPACE", "vmgmt")
	sim := acctest.NewSim(t)
	vmName := regexp.MustCompile(`(?m)^  name\s+= "([^"]+)"`).FindStringSubmatch(c.args)[1]

	// Each configuration is a file (ConfigFile), not a string (Config), and the provider factories
	// sit on each step: terraform-plugin-testing runs `terraform init` on a step's files only then
	// (for Config it inits the provider blocks alone, and the module would never be installed).
	dir := t.TempDir()
	file := func(name, args string) config.TestStepConfigFunc {
		p := filepath.Join(dir, name+".tf")
		if err := os.WriteFile(p, []byte(moduleConfig(t, sim, c, args)), 0o600); err != nil {
			t.Fatal(err)
		}
		return config.StaticFile(p)
	}
	cfg := file("main", c.args)
	badSize := file("bad_size", regexp.MustCompile(`(?m)^  size\s+= .*$`).ReplaceAllString(c.args, fmt.Sprintf("  size         = %q", c.badSize)))
	badLease := file("bad_lease", regexp.MustCompile(`(?m)^  lease_days\s+= .*\n?`).ReplaceAllString(c.args, "")+
		fmt.Sprintf("\n  lease_days   = %d", c.maxDays+1))
	itemOnly := file("item_only", "")
	pf := acctest.ProtoV6ProviderFactories

	resource.Test(t, resource.TestCase{
		Steps: []resource.TestStep{
			{
				ProtoV6ProviderFactories: pf,
				ConfigFile:               cfg,
				// statecheck.ExpectKnownValue sees root module resources only: check the module's
				// outputs, and the VM in vCenter itself.
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownOutputValueAtPath("vm", tfjsonpath.New("name"), knownvalue.StringExact(vmName)),
					statecheck.ExpectKnownOutputValueAtPath("vm", tfjsonpath.New("size").AtMapKey("name"), knownvalue.StringExact(c.size)),
					statecheck.ExpectKnownOutputValueAtPath("vm", tfjsonpath.New("size").AtMapKey("cpus"), knownvalue.Int64Exact(c.cpus)),
					statecheck.ExpectKnownOutputValueAtPath("vm", tfjsonpath.New("catalog_item_version"), knownvalue.StringExact("1.0.0")),
					statecheck.ExpectKnownOutputValueAtPath("vm", tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^vm-\d+$`))),
					statecheck.ExpectKnownOutputValueAtPath("vm", tfjsonpath.New("lease_expires_at"),
						knownvalue.StringRegexp(regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`))),
					moduleVCenterCheck(func() error {
						vm, err := client(t, sim).FindVM(context.Background(), simulator.WorkloadFolder+"/"+vmName)
						switch {
						case err != nil:
							return fmt.Errorf("VM %s not in vCenter: %w", vmName, err)
						case int64(vm.CPUs) != c.cpus:
							return fmt.Errorf("VM %s has %d vCPUs in vCenter, want %d (size %s)", vmName, vm.CPUs, c.cpus, c.size)
						case len(vm.Networks) != 1 || vm.Networks[0] != c.network:
							return fmt.Errorf("VM %s is on networks %v, want [%s]", vmName, vm.Networks, c.network)
						case vm.ExtraConfig[catalog.StampItem] != c.module:
							return fmt.Errorf("VM %s is stamped with item %q, want %q", vmName, vm.ExtraConfig[catalog.StampItem], c.module)
						}
						return nil
					}),
				},
			},
			{
				ProtoV6ProviderFactories: pf,
				ConfigFile:               cfg,
				ConfigPlanChecks:         resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// The module offers only the item's sizes: anything else fails before the provider is asked.
				ProtoV6ProviderFactories: pf,
				ConfigFile:               badSize,
				PlanOnly:                 true,
				ExpectError:              regexp.MustCompile(fmt.Sprintf(`Invalid value for variable(?s:.*)size must be one of the sizes the\s+%s\s+item\s+offers`, c.module)),
			},
			{
				// Nor a lease beyond the item's maximum.
				ProtoV6ProviderFactories: pf,
				ConfigFile:               badLease,
				PlanOnly:                 true,
				ExpectError:              regexp.MustCompile(fmt.Sprintf(`Invalid value for variable(?s:.*)lease_days must be a whole number of days from 1 to\s+%d`, c.maxDays)),
			},
			{
				// Removing the module call destroys the VM. (It also leaves no child module in state:
				// the harness's final destroy reads state through a shim that refuses modules.)
				ProtoV6ProviderFactories: pf,
				ConfigFile:               itemOnly,
				Check: func(*terraform.State) error {
					if _, err := client(t, sim).FindVM(context.Background(), simulator.WorkloadFolder+"/"+vmName); !vsphere.IsNotFound(err) {
						return fmt.Errorf("VM %s still in vCenter after the module was removed (lookup error: %v)", vmName, err)
					}
					return nil
				},
			},
		},
	})
}

// moduleVCenterCheck is a state check that looks at vCenter rather than at Terraform's state.
type moduleVCenterCheck func() error

func (f moduleVCenterCheck) CheckState(_ context.Context, _ statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	resp.Error = f()
}

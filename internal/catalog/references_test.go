package catalog_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/catalog"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// refConfig is an item with the given extra arguments and one VM with its own.
func refConfig(sim *acctest.Sim, itemExtra, vmExtra string) string {
	return sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_catalog_item" "app" {
  name     = "ref-app"
  version  = "1.0.0"
  template = %q
  sizes    = { small = { cpus = 2, memory_mb = 4096, disk_gb = 40 } }
  lease    = { default_days = 30, max_days = 90, grace_days = 7 }
%s
}

resource "vmgmt_catalog_vm" "app01" {
  name         = "ref-app01"
  catalog_item = vmgmt_catalog_item.app.name
  size         = "small"
  owner        = "jane.doe"
  job_function = "erp-ops"
%s
}
`, templatePath, itemExtra, vmExtra)
}

// An item without allowed_folders places its VMs in the datacenter's vm folder, as documented:
// the plan and the apply both succeed, with the VM in that folder.
func TestAccCatalogVM_defaultFolderIsTheVMFolder(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: refConfig(sim, "", ""),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("vmgmt_catalog_vm.app01", tfjsonpath.New("folder"), knownvalue.StringExact("")),
			},
			Check: resource.ComposeTestCheckFunc(
				countStamped(sim, "ref-app", 1),
				func(*terraform.State) error {
					vms, err := stampedVMs(context.Background(), sim, "ref-app")
					if err != nil {
						return err
					}
					if vm := vms["ref-app01"]; vm == nil || vm.Path != "/"+simulator.Datacenter+"/vm/ref-app01" {
						return fmt.Errorf("ref-app01 is %+v, want it at /%s/vm/ref-app01", vm, simulator.Datacenter)
					}
					return nil
				},
			),
		}},
	})
}

// References that do not exist fail the plan on the attribute that names them, before anything is
// created in vCenter.
func TestAccCatalog_missingReferencesFailThePlan(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	cases := []struct {
		name, item, vm, want string
	}{
		{"VM reservation by ID", "", `capacity_reservation = "resgroup-99999"`, `(?s)Cannot place the VM.*resgroup-99999.*not\s+found`},
		{"VM reservation by path", "", `capacity_reservation = "/dc1/host/prod/Resources/nope"`, `(?s)Cannot place the VM.*nope.*not\s+found`},
		{"VM folder", "", `folder = "no-such-folder"`, `(?s)Folder not found.*no-such-folder`},
		{"VM network", "", `network = "pg-nope"`, `(?s)Network not found.*pg-nope`},
		{"item reservation", `capacity_reservation = "resgroup-99999"`, "", `(?s)Capacity reservation not found.*resgroup-99999`},
		{"item folder", `allowed_folders = ["workloads", "nope"]`, "", `(?s)Folder not found.*nope`},
		{"item network", `allowed_networks = ["pg-nope"]`, "", `(?s)Network not found.*pg-nope`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      refConfig(sim, tc.item, tc.vm),
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
			if err := countStamped(sim, "ref-app", 0)(nil); err != nil {
				t.Error(err)
			}
		})
	}
	t.Run("unpublished item", func(t *testing.T) {
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
			Steps: []resource.TestStep{{
				Config: sim.ProviderConfig() + `
resource "vmgmt_catalog_vm" "x" {
  name         = "x01"
  catalog_item = "nope"
  size         = "small"
  owner        = "jane.doe"
  job_function = "erp-ops"
}
`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Unknown catalog item.*No catalog item "nope" is published, and this\s+configuration\s+does\s+not\s+publish\s+one`),
			}},
		})
	})
}

// A VM made from an item that names a configuration baseline, a security group and a backup job
// carries them as tags from birth, so those functions' selections pick it up by tag.
func TestAccCatalogVM_compositionTags(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	var id string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: refConfig(sim, `config_baseline = "scg-8"
  security_group = "erp-admins"
  backup_job = "nightly"`, ""),
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttrWith("vmgmt_catalog_vm.app01", "id", func(v string) error { id = v; return nil }),
				func(*terraform.State) error {
					got, err := client(t, sim).VMTags(context.Background(), id)
					if err != nil {
						return err
					}
					want := map[string]string{catalog.TagBaseline: "scg-8", catalog.TagSecurityGroup: "erp-admins", catalog.TagBackupJob: "nightly", catalog.TagItem: "ref-app"}
					for k, v := range want {
						if got[k] != v {
							return fmt.Errorf("tag %s = %q, want %q (all: %v)", k, got[k], v, got)
						}
					}
					return nil
				},
			),
		}},
	})
}

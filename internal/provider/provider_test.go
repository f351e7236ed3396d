package provider_test

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/provider"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

var capacityDS = fmt.Sprintf(`
data "vmgmt_capacity" "c" {
  path = %q
}
`, simulator.ClusterPath)

func clearEnv(t *testing.T) {
	for _, k := range []string{provider.EnvServer, provider.EnvUser, provider.EnvPassword, provider.EnvAllowUnverified,
		provider.EnvDatacenter, provider.EnvAPITimeout, provider.EnvPersistSession, provider.EnvSessionPath, provider.EnvCAFile} {
		t.Setenv(k, "")
	}
}

// The provider reads the same environment variables as hashicorp/vsphere.
func TestAccProvider_environment(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	clearEnv(t)
	for k, v := range sim.Env() {
		t.Setenv(k, v)
	}
	t.Setenv(provider.EnvSessionPath, sim.SessionDir)
	t.Setenv(provider.EnvDatacenter, simulator.Datacenter)
	t.Setenv(provider.EnvAPITimeout, "2") // whole minutes, as in the vSphere provider
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `provider "vmgmt" {}` + "\n" + `data "vmgmt_capacity" "c" { path = "prod" }`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.vmgmt_capacity.c", tfjsonpath.New("cpu_capacity_mhz"), knownvalue.Int64Exact(simulator.ClusterCPUMHz)),
			},
		}},
	})
}

func TestAccProvider_configErrors(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	clearEnv(t)
	host := sim.URL.Host
	cases := []struct {
		name   string
		config string
		want   string
	}{
		{"missing server", `provider "vmgmt" {
  user = "u"
  password = "p"
}`, `(?s)Missing vCenter server.*vsphere_server.*VSPHERE_SERVER`},
		{"missing user and password", fmt.Sprintf(`provider "vmgmt" {
  vsphere_server = %q
}`, host), `(?s)Missing vCenter user.*VSPHERE_USER.*Missing vCenter password.*VSPHERE_PASSWORD`},
		{"bad scheme", `provider "vmgmt" {
  vsphere_server = "ftp://vc.example.com"
  user = "u"
  password = "p"
}`, `(?s)Invalid vCenter server.*scheme must be https`},
		{"bad timeout", fmt.Sprintf(`provider "vmgmt" {
  vsphere_server = %q
  user = "u"
  password = "p"
  api_timeout = "soon"
}`, host), `(?s)Invalid duration.*"soon".*90s or 5m`},
		{"wrong password", fmt.Sprintf(`provider "vmgmt" {
  vsphere_server = %q
  user = %q
  password = "wrong"
  allow_unverified_ssl = true
  persist_session = false
}`, host, sim.User), `(?s)Cannot connect to vCenter.*rejected the user name or password`},
		{"untrusted certificate", fmt.Sprintf(`provider "vmgmt" {
  vsphere_server = %q
  user = %q
  password = %q
  persist_session = false
}`, host, sim.User, sim.Password), `(?s)Cannot connect to vCenter.*certificate is not trusted.*allow_unverified_ssl`},
		{"unknown datacenter", fmt.Sprintf(`provider "vmgmt" {
  vsphere_server = %q
  user = %q
  password = %q
  allow_unverified_ssl = true
  datacenter = "nowhere"
  persist_session = false
}
data "vmgmt_capacity" "rel" {
  path = "prod"
}`, host, sim.User, sim.Password), `(?s)datacenter "nowhere" not found`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      tc.config + capacityDS,
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
		})
	}
}

// An environment variable that is not a boolean is reported with its name.
func TestAccProvider_badEnvBool(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	clearEnv(t)
	for k, v := range sim.Env() {
		t.Setenv(k, v)
	}
	t.Setenv(provider.EnvAllowUnverified, "sometimes")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      `provider "vmgmt" {}` + capacityDS,
			ExpectError: regexp.MustCompile(`(?s)Invalid VSPHERE_ALLOW_UNVERIFIED_SSL.*"sometimes" is not a boolean`),
		}},
	})
}

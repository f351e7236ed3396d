package baseline_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

const logHost = "udp://log.example.com:514"

// hostBaseline is a host baseline on the simulator's cluster: the scg-8-host pack and the site's
// log host.
func hostBaseline(sim *acctest.Sim, mode string) string {
	return sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_config_baseline" "h" {
  name   = "esxi-hardening"
  target = "host"
  mode   = %q
  packs  = ["scg-8-host"]
  settings = [{ key = "Syslog.global.logHost", value = %q }]
  hosts {
    clusters = [%q]
  }
}
`, mode, logHost, simulator.Cluster)
}

const hostAddr = "vmgmt_config_baseline.h"

// hostAdmin reads and changes hosts' advanced options as someone outside Terraform would.
type hostAdmin struct {
	t   *testing.T
	sim *acctest.Sim
	c   *vsphere.Client
	ctx context.Context
}

func newHostAdmin(t *testing.T, sim *acctest.Sim) *hostAdmin {
	return &hostAdmin{t: t, sim: sim, c: connect(t, sim), ctx: context.Background()}
}

// hosts are the cluster's hosts, sorted by ID.
func (h *hostAdmin) hosts() []vsphere.HostRef {
	h.t.Helper()
	h.c.Refresh()
	hs, err := h.c.SelectHosts(h.ctx, vsphere.HostScope{Clusters: []string{simulator.Cluster}})
	if err != nil {
		h.t.Fatal(err)
	}
	return hs
}

// options reads one option of every host of the cluster, by host ID.
func (h *hostAdmin) options(key string) map[string]any {
	h.t.Helper()
	opts, err := h.c.OptionsOf(h.ctx, h.hosts(), []string{key})
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]any{}
	for _, o := range opts {
		out[o.HostID] = o.Options[key]
	}
	return out
}

func (h *hostAdmin) set(hostID, key string, v any) {
	h.t.Helper()
	if err := h.c.SetHostOptions(h.ctx, hostID, map[string]any{key: v}); err != nil {
		h.t.Fatal(err)
	}
}

// addHost adds a new ESXi host to the cluster: it comes with ESXi's defaults.
func (h *hostAdmin) addHost(name string) {
	h.t.Helper()
	c, err := h.sim.Connect(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	defer func() { _ = c.Logout(h.ctx) }()
	f := find.NewFinder(c.Client, true)
	cl, err := f.ClusterComputeResource(h.ctx, simulator.ClusterPath)
	if err != nil {
		h.t.Fatal(err)
	}
	task, err := cl.AddHost(h.ctx, types.HostConnectSpec{HostName: name, UserName: "root", Password: "secret"}, true, nil, nil)
	if err == nil {
		_, err = task.WaitForResult(h.ctx)
	}
	if err != nil {
		h.t.Fatal(err)
	}
}

// everyHost checks that every host of the cluster holds the value.
func (h *hostAdmin) everyHost(key string, want any) error {
	for id, v := range h.options(key) {
		if v != want {
			return fmt.Errorf("host %s: %s = %#v, want %#v", id, key, v, want)
		}
	}
	return nil
}

// A host baseline audits the cluster's hosts and changes nothing; enforced, it sets every option
// with the host's own types, and the next plan is empty; an option changed behind Terraform's
// back, and a host that joins the cluster with ESXi's defaults, show on refresh and apply fixes
// both; import.
func TestAccConfigBaseline_host(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	admin := newHostAdmin(t, sim)
	hosts := admin.hosts()
	if len(hosts) != simulator.HostCount {
		t.Fatalf("the cluster has %d hosts, want %d", len(hosts), simulator.HostCount)
	}
	first := hosts[0]
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: hostBaseline(sim, "audit"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(hostAddr, tfjsonpath.New("scope_count"), knownvalue.Int64Exact(simulator.HostCount)),
					statecheck.ExpectKnownValue(hostAddr, tfjsonpath.New("drifted_count"), knownvalue.Int64Exact(simulator.HostCount)),
					statecheck.ExpectKnownValue(hostAddr, tfjsonpath.New("compliance"), knownvalue.ListExact(nil)),
				},
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttr(hostAddr, "host_compliance.0.host_id", first.ID),
					resource.TestCheckResourceAttr(hostAddr, "host_compliance.0.host_name", first.Name),
					resource.TestCheckResourceAttr(hostAddr, "host_compliance.0.cluster", simulator.Cluster),
					resource.TestCheckTypeSetElemNestedAttrs(hostAddr, "host_compliance.0.drift.*", map[string]string{
						"key": "UserVars.ESXiShellTimeOut", "expected": "600", "actual": "0", "source": "pack:scg-8-host",
						"control": "esxi-8.shell-timeout", "manual": "false",
					}),
					resource.TestCheckTypeSetElemNestedAttrs(hostAddr, "host_compliance.0.drift.*", map[string]string{
						"key": "Syslog.global.logHost", "expected": logHost, "actual": "", "source": "explicit",
					}),
					func(*terraform.State) error { return admin.everyHost("UserVars.ESXiShellTimeOut", int64(0)) },
				),
				ExpectNonEmptyPlan: true, // an audit with drift plans again
			},
			{
				Config: hostBaseline(sim, "enforce"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(hostAddr, tfjsonpath.New("drifted_count"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue(hostAddr, tfjsonpath.New("compliant_count"), knownvalue.Int64Exact(simulator.HostCount)),
					statecheck.ExpectKnownValue(hostAddr, tfjsonpath.New("host_compliance"), knownvalue.ListExact(nil)),
				},
				Check: func(*terraform.State) error {
					for key, want := range map[string]any{
						"UserVars.ESXiShellTimeOut": int64(600), "Security.PasswordHistory": int64(5), "Syslog.global.logHost": logHost,
						"Config.HostAgent.plugins.solo.enableMob": false, "Net.BlockGuestBPDU": int64(1),
					} {
						if err := admin.everyHost(key, want); err != nil {
							return err
						}
					}
					return nil
				},
			},
			{
				Config:           hostBaseline(sim, "enforce"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// Behind Terraform's back: one host's shell timeout is turned off, and a new host joins
				// the cluster with ESXi's defaults.
				PreConfig: func() {
					admin.set(first.ID, "UserVars.ESXiShellTimeOut", 0)
					admin.addHost("esx-new.example.com")
				},
				RefreshState:       true,
				ExpectNonEmptyPlan: true,
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttr(hostAddr, "scope_count", fmt.Sprint(simulator.HostCount+1)),
					resource.TestCheckResourceAttr(hostAddr, "drifted_count", "2"),
					resource.TestCheckResourceAttr(hostAddr, "host_compliance.0.host_id", first.ID),
					resource.TestCheckResourceAttr(hostAddr, "host_compliance.0.drift.#", "1"),
					resource.TestCheckResourceAttr(hostAddr, "host_compliance.0.drift.0.key", "UserVars.ESXiShellTimeOut"),
					resource.TestCheckResourceAttr(hostAddr, "host_compliance.0.drift.0.actual", "0"),
					resource.TestCheckResourceAttr(hostAddr, "host_compliance.1.host_name", "esx-new.example.com"),
				),
			},
			{
				Config: hostBaseline(sim, "enforce"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(hostAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(hostAddr, tfjsonpath.New("drifted_count"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue(hostAddr, tfjsonpath.New("scope_count"), knownvalue.Int64Exact(simulator.HostCount+1)),
				},
				Check: func(*terraform.State) error { return admin.everyHost("UserVars.ESXiShellTimeOut", int64(600)) },
			},
			{
				ResourceName:      hostAddr,
				ImportState:       true,
				ImportStateId:     "esxi-hardening",
				ImportStateVerify: true,
			},
		},
	})
}

// What ESXi cannot do is left as manual drift: an option the host does not have (it cannot be
// created) and an option that must be absent (it cannot be removed); the other hosts' settings are
// still enforced and the plan keeps showing the manual drift.
func TestAccConfigBaseline_hostManualDrift(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	admin := newHostAdmin(t, sim)
	cfg := sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_config_baseline" "h" {
  name   = "esxi-vendor"
  target = "host"
  mode   = "enforce"
  settings = [
    { key = "Vendor.Agent.Enabled", value = "1" },
    { key = "Vendor.Optional.Thing", value = "1", match = "default_ok" },
    { key = "Net.DVFilterBindIpAddress", match = "absent" },
    { key = "UserVars.DcuiTimeOut", value = "300" },
  ]
  hosts {
    ids = [%q]
  }
}
`, admin.hosts()[1].ID)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: cfg,
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttr(hostAddr, "scope_count", "1"),
				resource.TestCheckResourceAttr(hostAddr, "drifted_count", "1"),
				resource.TestCheckResourceAttr(hostAddr, "host_compliance.0.drift.#", "2"),
				resource.TestCheckResourceAttr(hostAddr, "host_compliance.0.drift.0.key", "Net.DVFilterBindIpAddress"),
				resource.TestCheckResourceAttr(hostAddr, "host_compliance.0.drift.0.expected", "(absent)"),
				resource.TestCheckResourceAttr(hostAddr, "host_compliance.0.drift.0.manual", "true"),
				resource.TestCheckResourceAttr(hostAddr, "host_compliance.0.drift.1.key", "Vendor.Agent.Enabled"),
				resource.TestCheckResourceAttr(hostAddr, "host_compliance.0.drift.1.actual", "(no such option on this host)"),
				resource.TestCheckResourceAttr(hostAddr, "host_compliance.0.drift.1.manual", "true"),
				func(*terraform.State) error {
					got := admin.options("UserVars.DcuiTimeOut")[admin.hosts()[1].ID]
					if got != int64(300) {
						return fmt.Errorf("UserVars.DcuiTimeOut = %#v on the host in scope, want 300 despite the manual drift", got)
					}
					if other := admin.options("UserVars.DcuiTimeOut")[admin.hosts()[0].ID]; other != int64(600) {
						return fmt.Errorf("a host out of scope was changed: UserVars.DcuiTimeOut = %#v", other)
					}
					return nil
				},
			),
			ExpectNonEmptyPlan: true, // manual drift stays in every plan
		}},
	})
}

// Two enforcing host baselines that hold one host and set one option differently fail the plan,
// naming both; so does the data source's view of hosts agree with the baseline.
func TestAccConfigBaseline_hostConflict(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	admin := newHostAdmin(t, sim)
	one := admin.hosts()[2]
	first := hostBaseline(sim, "enforce")
	second := fmt.Sprintf(`
resource "vmgmt_config_baseline" "edge" {
  name   = "edge-hosts"
  target = "host"
  mode   = "enforce"
  settings = [{ key = "UserVars.ESXiShellTimeOut", value = "300" }]
  hosts {
    ids = [%q]
  }
  depends_on = [vmgmt_config_baseline.h]
}
`, one.ID)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: first},
			{
				Config: first + second,
				ExpectError: wrapped("Conflicting baselines", "Baselines edge-hosts and esxi-hardening both hold host "+one.Name+
					" ("+one.ID+") and set UserVars.ESXiShellTimeOut differently: edge-hosts wants 300 (exact), esxi-hardening wants 600 (exact)"),
			},
			{
				Config: first + fmt.Sprintf(`
data "vmgmt_compliance" "hosts" {
  target = "host"
  packs  = ["scg-8-host"]
  hosts {
    clusters = [%q]
  }
  depends_on = [vmgmt_config_baseline.h]
}
`, simulator.Cluster),
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttr("data.vmgmt_compliance.hosts", "scope_count", fmt.Sprint(simulator.HostCount)),
					resource.TestCheckResourceAttr("data.vmgmt_compliance.hosts", "drifted_count", "0"),
					resource.TestCheckResourceAttr("data.vmgmt_compliance.hosts", "compliance.#", "0"),
				),
			},
		},
	})
}

// wrapped matches a diagnostic's summary and detail however terraform wraps the lines.
func wrapped(summary, detail string) *regexp.Regexp {
	words := strings.Fields(detail)
	for i, w := range words {
		words[i] = regexp.QuoteMeta(w)
	}
	return regexp.MustCompile(`Error: ` + regexp.QuoteMeta(summary) + `[\s\S]*` + strings.Join(words, `\s+`))
}

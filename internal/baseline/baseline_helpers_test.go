package baseline_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/vmware/govmomi/event"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// hardware reads the VM's power state and CPU hot add flag, as an administrator would.
func (h *vmHandle) hardware() (types.VirtualMachinePowerState, bool) {
	h.t.Helper()
	var o mo.VirtualMachine
	if err := h.vm.Properties(h.ctx, h.vm.Reference(), []string{"runtime.powerState", "config.cpuHotAddEnabled"}, &o); err != nil {
		h.t.Fatal(err)
	}
	hot := o.Config != nil && o.Config.CpuHotAddEnabled != nil && *o.Config.CpuHotAddEnabled
	return o.Runtime.PowerState, hot
}

// powerOffs counts the times the VM was powered off (its VmPoweredOffEvent events).
func (h *vmHandle) powerOffs() int {
	h.t.Helper()
	ref := h.vm.Reference()
	evs, err := event.NewManager(h.vm.Client()).QueryEvents(h.ctx, types.EventFilterSpec{
		Entity:      &types.EventFilterSpecByEntity{Entity: ref, Recursion: types.EventFilterSpecRecursionOptionSelf},
		EventTypeId: []string{"VmPoweredOffEvent"},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return len(evs)
}

// tagger attaches vSphere tags to VMs through the vAPI tags manager, as the catalog or an
// administrator would outside Terraform.
type tagger struct {
	t   *testing.T
	ctx context.Context
	sim *acctest.Sim
	tm  *tags.Manager
}

func newTagger(t *testing.T, sim *acctest.Sim) *tagger {
	t.Helper()
	ctx := context.Background()
	c, err := sim.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rc := rest.NewClient(c.Client)
	if err := rc.Login(ctx, url.UserPassword(sim.User, sim.Password)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rc.Logout(ctx); _ = c.Logout(ctx) })
	return &tagger{t: t, ctx: ctx, sim: sim, tm: tags.NewManager(rc)}
}

// create makes a tag, and its category when missing.
func (g *tagger) create(category, tag string) {
	g.t.Helper()
	catID := ""
	if cat, err := g.tm.GetCategory(g.ctx, category); err == nil {
		catID = cat.ID
	} else if catID, err = g.tm.CreateCategory(g.ctx, &tags.Category{Name: category, Cardinality: "MULTIPLE",
		AssociableTypes: []string{"VirtualMachine"}}); err != nil {
		g.t.Fatal(err)
	}
	if _, err := g.tm.CreateTag(g.ctx, &tags.Tag{Name: tag, CategoryID: catID}); err != nil {
		g.t.Fatal(err)
	}
}

// attach tags the VM (by name).
func (g *tagger) attach(vmName, category, tag string) {
	g.t.Helper()
	cat, err := g.tm.GetCategory(g.ctx, category)
	if err != nil {
		g.t.Fatal(err)
	}
	tg, err := g.tm.GetTagForCategory(g.ctx, tag, cat.ID)
	if err != nil {
		g.t.Fatal(err)
	}
	if err := g.tm.AttachTag(g.ctx, tg.ID, openVM(g.t, g.sim, vmName).vm.Reference()); err != nil {
		g.t.Fatal(err)
	}
}

// connect is a vmgmt vSphere client to the test's simulator, for reading what the provider wrote.
func connect(t *testing.T, sim *acctest.Sim) *vsphere.Client {
	t.Helper()
	ctx := context.Background()
	c, err := vsphere.Connect(ctx, vsphere.Config{Server: sim.URL.Host, User: sim.User, Password: sim.Password, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// baselineRecords names the baselines recorded in vCenter (datacenter custom attribute
// vmgmt.baselines), read fresh.
func baselineRecords(ctx context.Context, c *vsphere.Client) ([]string, error) {
	c.Refresh()
	raw, err := c.DatacenterRecords(ctx, "vmgmt.baselines", true)
	if err != nil {
		return nil, err
	}
	var names []string
	for n := range raw {
		names = append(names, n)
	}
	return names, nil
}

// stamps lists the non-empty baseline stamps (extraConfig vmgmt.baseline.*) on every VM of the
// datacenter, as "vm/key".
func stamps(ctx context.Context, sim *acctest.Sim) ([]string, error) {
	c, err := sim.Connect(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Logout(ctx) }()
	cv, err := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		return nil, err
	}
	defer func() { _ = cv.Destroy(ctx) }()
	var vms []mo.VirtualMachine
	if err := cv.Retrieve(ctx, []string{"VirtualMachine"}, []string{"name", "config.extraConfig"}, &vms); err != nil {
		return nil, err
	}
	var out []string
	for _, o := range vms {
		if o.Config == nil {
			continue
		}
		for _, ov := range o.Config.ExtraConfig {
			v := ov.GetOptionValue()
			if strings.HasPrefix(v.Key, "vmgmt.baseline.") && fmt.Sprint(v.Value) != "" {
				out = append(out, o.Name+"/"+v.Key)
			}
		}
	}
	return out, nil
}

// workloadsConfig is an enforcing or auditing baseline on the workloads folder with these extra
// attribute lines.
func workloadsConfig(sim *acctest.Sim, name, mode, body string) string {
	return sim.ProviderConfig() + fmt.Sprintf(`
resource "vmgmt_config_baseline" "b" {
  name = %q
  mode = %q
%s
  scope {
    folders = [%q]
  }
}
`, name, mode, body, simulator.WorkloadFolder)
}

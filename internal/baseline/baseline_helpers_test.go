package baseline_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/vmware/govmomi/event"
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

package catalog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/property"
	govmomisim "github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/catalog"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// The fault suite: `terraform apply` of a capacity reservation, a catalog item on it and
// faultVMs catalog VMs, killed with SIGKILL (terraform and its provider processes together) at
// several points, sometimes with the state file lost as a kill during its write leaves it, then
// run again without any manual step. The rerun must converge: vCenter holds exactly the objects
// in state, each once (0 orphans, 0 duplicates, nothing left under a pending name), and the next
// plan is empty. Clones are slowed down in the simulator so that kills land while some are in
// flight; those still running when the rerun starts are waited for, not duplicated.
const faultVMs = 12

const faultReservation = "fault-tier"

func faultConfig(providerBlock string) string {
	return providerBlock + fmt.Sprintf(`
resource "vmgmt_capacity_reservation" "tier" {
  name   = %[1]q
  parent = %[2]q
  cpu    = { reservation = 1000 }
  memory = { reservation = 1024 }
}

resource "vmgmt_catalog_item" "fleet" {
  name     = %[3]q
  version  = "1.0.0"
  template = %[4]q
  sizes = {
    small = { cpus = 2, memory_mb = 4096, disk_gb = 40 }
  }
  entitled_groups      = ["erp-ops"]
  allowed_folders      = [%[5]q]
  allowed_networks     = [%[6]q]
  lease                = { default_days = 30, max_days = 90, grace_days = 7 }
  capacity_reservation = vmgmt_capacity_reservation.tier.id
}

resource "vmgmt_catalog_vm" "fleet" {
  count         = %[7]d
  name          = format("fleet-%%03d", count.index)
  catalog_item  = vmgmt_catalog_item.fleet.name
  size          = "small"
  owner         = "jane.doe"
  job_function  = "erp-ops"
  customization = { domain = "corp.example" }
}
`, faultReservation, simulator.ClusterPath, fleetItem, templatePath, simulator.WorkloadFolder, simulator.PortGroups[0], faultVMs)
}

// faultInventory is what vCenter holds of the configuration, read directly.
type faultInventory struct {
	vms     map[string]*vsphere.VM // name -> VM, VMs of the item
	pending []string               // objects under a pending name
	pools   []string               // IDs of the pools named faultReservation
	items   int                    // templates carrying the item
}

func readFaultInventory(t *testing.T, c *vsphere.Client) faultInventory {
	t.Helper()
	ctx := context.Background()
	c.Refresh()
	vms, err := c.VMs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	inv := faultInventory{vms: map[string]*vsphere.VM{}}
	for _, vm := range vms {
		switch {
		case vsphere.IsPendingName(vm.Name):
			inv.pending = append(inv.pending, vm.Path)
		case vm.Template && strings.Contains(vm.Custom[catalog.FieldItem], `"name":"`+fleetItem+`"`):
			inv.items++
		case !vm.Template && vm.ExtraConfig[catalog.StampItem] == fleetItem:
			if inv.vms[vm.Name] != nil {
				t.Errorf("two VMs named %s: %s and %s", vm.Name, inv.vms[vm.Name].ID, vm.ID)
			}
			inv.vms[vm.Name] = vm
		}
	}
	root, err := c.ResolvePool(ctx, simulator.ClusterPath)
	if err != nil {
		t.Fatal(err)
	}
	capa, err := c.PoolCapacity(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range capa.Children {
		switch {
		case ch.Name == faultReservation:
			inv.pools = append(inv.pools, ch.ID)
		case vsphere.IsPendingName(ch.Name):
			inv.pending = append(inv.pending, ch.Name)
		}
	}
	return inv
}

type faultRun struct {
	t         *testing.T
	terraform string
	cliConfig string
	work      string
	vc        *vsphere.Client
}

func (f *faultRun) command(args ...string) *exec.Cmd {
	cmd := exec.Command(f.terraform, args...)
	cmd.Dir = f.work
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+f.cliConfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1", "TF_LOG=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // terraform and its provider processes, killed together
	return cmd
}

func (f *faultRun) run(args ...string) (string, error) {
	out, err := f.command(args...).CombinedOutput()
	return string(out), err
}

// applyKilled starts an apply and kills it, with every provider process it started, as soon as
// killAt says so; it reports what vCenter held at the kill. The apply must not finish first.
func (f *faultRun) applyKilled(killAt func(faultInventory) bool) faultInventory {
	f.t.Helper()
	cmd := f.command("apply", "-input=false", "-no-color", "-auto-approve", "-parallelism=4")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(3 * time.Minute)
	for {
		select {
		case err := <-done:
			f.t.Fatalf("the apply ended (%v) before its kill point:\n%s", err, out.String())
		case <-deadline:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			f.t.Fatalf("the kill point was not reached in 3 minutes:\n%s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if inv := readFaultInventory(f.t, f.vc); killAt(inv) {
			if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
				f.t.Fatal(err)
			}
			<-done
			return inv
		}
	}
}

// stateIDs is what the local state holds: resource type -> IDs.
func (f *faultRun) stateIDs() map[string][]string {
	f.t.Helper()
	out, err := f.run("show", "-json", "-no-color")
	if err != nil {
		f.t.Fatalf("terraform show: %v\n%s", err, out)
	}
	var doc struct {
		Values struct {
			RootModule struct {
				Resources []struct {
					Type   string         `json:"type"`
					Values map[string]any `json:"values"`
				} `json:"resources"`
			} `json:"root_module"`
		} `json:"values"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		f.t.Fatalf("terraform show -json: %v\n%s", err, out)
	}
	ids := map[string][]string{}
	for _, r := range doc.Values.RootModule.Resources {
		id, _ := r.Values["id"].(string)
		ids[r.Type] = append(ids[r.Type], id)
	}
	return ids
}

// converged asserts that vCenter holds exactly what the state holds, each object once.
func (f *faultRun) converged(label string) {
	f.t.Helper()
	inv := readFaultInventory(f.t, f.vc)
	ids := f.stateIDs()
	if len(inv.pending) > 0 {
		f.t.Errorf("%s: objects left under a pending name: %v", label, inv.pending)
	}
	if len(inv.pools) != 1 || len(ids["vmgmt_capacity_reservation"]) != 1 || inv.pools[0] != ids["vmgmt_capacity_reservation"][0] {
		f.t.Errorf("%s: pools named %s in vCenter %v, in state %v", label, faultReservation, inv.pools, ids["vmgmt_capacity_reservation"])
	}
	if inv.items != 1 || len(ids["vmgmt_catalog_item"]) != 1 {
		f.t.Errorf("%s: item published on %d templates, %d in state", label, inv.items, len(ids["vmgmt_catalog_item"]))
	}
	inState := map[string]bool{}
	for _, id := range ids["vmgmt_catalog_vm"] {
		inState[id] = true
	}
	var orphans []string
	for name, vm := range inv.vms {
		if !inState[vm.ID] {
			orphans = append(orphans, name+" ("+vm.ID+")")
		}
	}
	if len(inv.vms) != faultVMs || len(inState) != faultVMs || len(orphans) > 0 {
		f.t.Errorf("%s: %d VMs in vCenter, %d in state, orphans %v; want %d and %d, none", label, len(inv.vms), len(inState), orphans, faultVMs, faultVMs)
	}
	if out, err := f.run("plan", "-input=false", "-no-color", "-detailed-exitcode"); err != nil {
		f.t.Errorf("%s: the plan after the rerun is not empty (%v):\n%s", label, err, out)
	}
	f.t.Logf("%s: vCenter holds %d VMs, %d pool, item on %d template; state holds %d VMs, %d pool, %d item",
		label, len(inv.vms), len(inv.pools), inv.items, len(ids["vmgmt_catalog_vm"]), len(ids["vmgmt_capacity_reservation"]), len(ids["vmgmt_catalog_item"]))
}

func TestFaultKilledApplyConverges(t *testing.T) {
	acctest.PreCheck(t)
	tf, err := acctest.TerraformPath()
	if err != nil {
		t.Fatal(err)
	}
	cli := acctest.DevOverridesConfig(t, acctest.ProviderBinary(t))
	// Clones take a while, as in vCenter, so that kills land with clones in flight. Without the
	// lock hand-off a delayed task does not hold the template's lock (reads go on meanwhile).
	govmomisim.TaskDelay.MethodDelay = map[string]int{"CloneVm": 700, "LockHandoff": 0}
	t.Cleanup(func() { govmomisim.TaskDelay.MethodDelay = nil })

	stamped := func(n int) func(faultInventory) bool {
		return func(inv faultInventory) bool { return len(inv.vms) >= n }
	}
	cases := []struct {
		name      string
		killAt    func(faultInventory) bool
		loseState bool
	}{
		// The reservation is being made, or just made: nothing of the item or the VMs yet. (The
		// pending-name window of a pool is a few milliseconds; vsphere's TestEnsurePool kills
		// inside it.)
		{name: "at the reservation", killAt: func(inv faultInventory) bool { return len(inv.pending) > 0 || len(inv.pools) > 0 }},
		// Clones of the first VMs are in flight, none has finished.
		{name: "before the first clone completes", killAt: func(inv faultInventory) bool { return inv.items > 0 && len(inv.vms) == 0 }},
		// Some VMs are done, others are being cloned, the rest not started.
		{name: "after 5 VMs, clones in flight", killAt: stamped(5)},
		// The same, and Terraform's state file is lost too (a kill while it writes it).
		{name: "after 5 VMs, state lost", killAt: stamped(5), loseState: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim := acctest.NewSim(t)
			vc, err := vsphere.Connect(context.Background(), vsphere.Config{Server: sim.URL.Host, User: sim.User, Password: sim.Password, Insecure: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = vc.Close(context.Background()) })
			f := &faultRun{t: t, terraform: tf, cliConfig: cli, work: t.TempDir(), vc: vc}
			cfg := faultConfig(acctest.RequiredProviders + sim.ProviderConfig())
			if err := os.WriteFile(filepath.Join(f.work, "main.tf"), []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			at := f.applyKilled(tc.killAt)
			if tc.loseState {
				if err := os.WriteFile(filepath.Join(f.work, "terraform.tfstate"), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			st := f.stateIDs()
			inFlight, err := runningClones(context.Background(), sim)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("killed with %d VMs (%d clones in flight), %d pool(s), the item on %d template(s) in vCenter; %d VMs, %d pool(s), %d item(s) in state",
				len(at.vms), inFlight, len(at.pools), at.items, len(st["vmgmt_catalog_vm"]), len(st["vmgmt_capacity_reservation"]), len(st["vmgmt_catalog_item"]))
			out, err := f.run("apply", "-input=false", "-no-color", "-auto-approve")
			if err != nil {
				t.Fatalf("the rerun failed: %v\n%s", err, out)
			}
			if (inFlight > 0 || tc.loseState && len(at.vms) > 0) && !strings.Contains(out, "Adopted VM") {
				t.Errorf("the rerun adopted no VM, though %d clones were in flight and %d VMs made at the kill:\n%s", inFlight, len(at.vms), out)
			}
			f.converged(tc.name)
		})
	}
}

// A complete apply whose state file is then lost: the rerun adopts every object of every resource
// type (the reservation, the item, the VMs) instead of failing on their names or duplicating them.
func TestFaultStateLostAfterApply(t *testing.T) {
	acctest.PreCheck(t)
	tf, err := acctest.TerraformPath()
	if err != nil {
		t.Fatal(err)
	}
	sim := acctest.NewSim(t)
	vc, err := vsphere.Connect(context.Background(), vsphere.Config{Server: sim.URL.Host, User: sim.User, Password: sim.Password, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = vc.Close(context.Background()) })
	f := &faultRun{t: t, terraform: tf, cliConfig: acctest.DevOverridesConfig(t, acctest.ProviderBinary(t)), work: t.TempDir(), vc: vc}
	if err := os.WriteFile(filepath.Join(f.work, "main.tf"), []byte(faultConfig(acctest.RequiredProviders+sim.ProviderConfig())), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := f.run("apply", "-input=false", "-no-color", "-auto-approve"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	before := readFaultInventory(t, vc)
	if err := os.WriteFile(filepath.Join(f.work, "terraform.tfstate"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := f.run("apply", "-input=false", "-no-color", "-auto-approve")
	if err != nil {
		t.Fatalf("the rerun failed: %v\n%s", err, out)
	}
	for _, want := range []string{"Adopted resource pool " + faultReservation, "Adopted catalog item " + fleetItem, "Adopted VM fleet-000"} {
		if !strings.Contains(out, want) {
			t.Errorf("the rerun does not say %q:\n%s", want, out)
		}
	}
	f.converged("state lost after a complete apply")
	after := readFaultInventory(t, vc)
	for name, vm := range before.vms {
		if after.vms[name] == nil || after.vms[name].ID != vm.ID {
			t.Errorf("VM %s was %s before the state was lost, is %v after the rerun", name, vm.ID, after.vms[name])
		}
	}
}

// runningClones counts the clone tasks of the fleet's template that vCenter is still running.
func runningClones(ctx context.Context, sim *acctest.Sim) (int, error) {
	c, err := sim.Connect(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { _ = c.Logout(ctx) }()
	tmpl, err := find.NewFinder(c.Client, true).VirtualMachine(ctx, templatePath)
	if err != nil {
		return 0, err
	}
	pc := property.DefaultCollector(c.Client)
	var vm mo.VirtualMachine
	if err := pc.RetrieveOne(ctx, tmpl.Reference(), []string{"recentTask"}, &vm); err != nil || len(vm.RecentTask) == 0 {
		return 0, err
	}
	var tasks []mo.Task
	if err := pc.Retrieve(ctx, vm.RecentTask, []string{"info"}, &tasks); err != nil {
		return 0, err
	}
	n := 0
	for _, t := range tasks {
		if strings.HasPrefix(t.Info.DescriptionId, "VirtualMachine.clone") && (t.Info.State == types.TaskInfoStateRunning || t.Info.State == types.TaskInfoStateQueued) {
			n++
		}
	}
	return n, nil
}

package vsphere

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	vcsim "github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// vmcfgSim starts a simulator of its own, logged in as a user other than the default, so that an
// event's user is seen to come from the session.
func vmcfgSim(t *testing.T) *simulator.Sim {
	t.Helper()
	sim, err := simulator.Start(context.Background(), simulator.Options{User: "alice@vsphere.local"})
	if err != nil {
		t.Fatalf("starting the simulator: %v", err)
	}
	t.Cleanup(sim.Close)
	return sim
}

// seededVM finds a seeded workload VM by name, through c's own session.
func seededVM(t *testing.T, c *Client, name string) *object.VirtualMachine {
	t.Helper()
	vm, err := find.NewFinder(c.Vim(), true).VirtualMachine(context.Background(), "/"+simulator.Datacenter+"/vm/"+simulator.WorkloadFolder+"/"+name)
	if err != nil {
		t.Fatalf("finding %s: %v", name, err)
	}
	return vm
}

// reconfig applies a config spec with govmomi, behind the client's back.
func reconfig(t *testing.T, vm *object.VirtualMachine, spec types.VirtualMachineConfigSpec) {
	t.Helper()
	ctx := context.Background()
	task, err := vm.Reconfigure(ctx, spec)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatalf("reconfiguring %s: %v", vm.Reference().Value, err)
	}
}

func TestSelectConfigsReadsWhatABaselineChecks(t *testing.T) {
	sim := vmcfgSim(t)
	c := connect(t, sim)
	web, db := seededVM(t, c, "web01"), seededVM(t, c, "erp-db01")
	yes := true
	reconfig(t, web, types.VirtualMachineConfigSpec{Firmware: string(types.GuestOsDescriptorFirmwareTypeEfi)})
	reconfig(t, web, types.VirtualMachineConfigSpec{
		ExtraConfig:         []types.BaseOptionValue{&types.OptionValue{Key: "isolation.tools.copy.disable", Value: "TRUE"}},
		BootOptions:         &types.VirtualMachineBootOptions{EfiSecureBootEnabled: &yes},
		Version:             "vmx-19",
		CpuHotAddEnabled:    &yes,
		MemoryHotAddEnabled: &yes,
		MigrateEncryption:   string(types.VirtualMachineConfigSpecEncryptedVMotionModesRequired),
		FtEncryptionMode:    string(types.VirtualMachineConfigSpecEncryptedFtModesFtEncryptionRequired),
		Flags:               &types.VirtualMachineFlagInfo{EnableLogging: &yes},
	})
	sel := Selection{Include: Criteria{IDs: []string{web.Reference().Value, db.Reference().Value}}}
	if _, err := c.SelectConfigs(context.Background(), sel); err != nil {
		t.Fatalf("SelectConfigs (first, makes the views): %v", err)
	}
	before := c.Stats().RoundTrips()
	got, err := c.SelectConfigs(context.Background(), sel)
	if err != nil {
		t.Fatalf("SelectConfigs: %v", err)
	}
	if n := c.Stats().RoundTrips() - before; n > 3 {
		t.Errorf("SelectConfigs cost %d round trips, want at most 3", n)
	}
	byName := map[string]VMConfig{}
	for _, g := range got {
		byName[g.Name] = g
	}
	w, ok := byName["web01"]
	if !ok || len(got) != 2 {
		t.Fatalf("SelectConfigs returned %+v, want web01 and erp-db01", got)
	}
	if w.ID != web.Reference().Value || w.Template || w.PowerState == "" {
		t.Errorf("web01 identity = %q template=%v power=%q", w.ID, w.Template, w.PowerState)
	}
	if w.ExtraConfig["isolation.tools.copy.disable"] != "TRUE" || w.ExtraConfig["govcsim"] != "TRUE" {
		t.Errorf("web01 extraConfig = %v, want isolation.tools.copy.disable and govcsim TRUE", w.ExtraConfig)
	}
	if w.SecureBoot == nil || !*w.SecureBoot {
		t.Errorf("web01 SecureBoot = %v, want true", w.SecureBoot)
	}
	if w.HardwareVersion != 19 {
		t.Errorf("web01 HardwareVersion = %d, want 19", w.HardwareVersion)
	}
	if !w.CPUHotAdd || !w.MemoryHotAdd || !w.Logging {
		t.Errorf("web01 cpuHotAdd=%v memoryHotAdd=%v logging=%v, want all true", w.CPUHotAdd, w.MemoryHotAdd, w.Logging)
	}
	if w.MigrateEncryption != "required" || w.FTEncryption != "ftEncryptionRequired" {
		t.Errorf("web01 encryption = %q/%q, want required/ftEncryptionRequired", w.MigrateEncryption, w.FTEncryption)
	}
	if w.VTPM {
		t.Error("web01 VTPM = true; vcsim never reports a TPM")
	}
	d := byName["erp-db01"]
	if d.SecureBoot != nil || d.CPUHotAdd || d.MigrateEncryption != "" || d.ExtraConfig["isolation.tools.copy.disable"] != "" {
		t.Errorf("erp-db01 (not reconfigured) = %+v, want the zero values", d)
	}
}

func TestConfigChangesNamesTheUserKeyAndValue(t *testing.T) {
	sim := vmcfgSim(t)
	c := connect(t, sim)
	web, db := seededVM(t, c, "web01"), seededVM(t, c, "erp-db01")
	yes := true
	ec := func(k, v string) []types.BaseOptionValue {
		return []types.BaseOptionValue{&types.OptionValue{Key: k, Value: v}}
	}
	reconfig(t, web, types.VirtualMachineConfigSpec{ExtraConfig: ec("mks.enable3d", "TRUE"), Firmware: string(types.GuestOsDescriptorFirmwareTypeEfi)})
	reconfig(t, web, types.VirtualMachineConfigSpec{ExtraConfig: ec("sched.mem.pshare.salt", "x"), Flags: &types.VirtualMachineFlagInfo{EnableLogging: &yes}})
	reconfig(t, web, types.VirtualMachineConfigSpec{
		ExtraConfig: ec("not.asked", "1"), // set, but not asked for: not in the answer
		BootOptions: &types.VirtualMachineBootOptions{EfiSecureBootEnabled: &yes}, Version: "vmx-19",
		CpuHotAddEnabled: &yes, MemoryHotAddEnabled: &yes, FtEncryptionMode: "ftEncryptionRequired",
		DeviceChange: []types.BaseVirtualDeviceConfigSpec{&types.VirtualDeviceConfigSpec{
			Operation: types.VirtualDeviceConfigSpecOperationAdd,
			Device:    &types.VirtualTPM{VirtualDevice: types.VirtualDevice{Key: -1}},
		}},
	})
	reconfig(t, web, types.VirtualMachineConfigSpec{ExtraConfig: ec("mks.enable3d", "FALSE"), MigrateEncryption: "disabled"})
	reconfig(t, web, types.VirtualMachineConfigSpec{ExtraConfig: ec("sched.mem.pshare.salt", "")})
	// A VM not asked: its events are ignored.
	reconfig(t, db, types.VirtualMachineConfigSpec{ExtraConfig: ec("mks.enable3d", "TRUE")})

	before := c.Stats().RoundTrips()
	keys := []string{"mks.enable3d", "sched.mem.pshare.salt", "never.set", FlagLogging, FlagMigrateEncryption, FlagSecureBoot,
		FlagHardwareVersion, FlagCPUHotAdd, FlagMemoryHotAdd, FlagFTEncryption, FlagVTPM}
	got, err := c.ConfigChanges(context.Background(), []string{web.Reference().Value}, keys)
	if err != nil {
		t.Fatalf("ConfigChanges: %v", err)
	}
	if n := c.Stats().RoundTrips() - before; n != 1 {
		t.Errorf("ConfigChanges cost %d round trips, want 1 (one QueryEvents)", n)
	}
	checkChanges(t, sim, got, web.Reference().Value)
}

// TestConfigChangesPagesOlderEvents lowers the page to two events, so that the answers that are
// older than the newest page come from the history collector's pages.
func TestConfigChangesPagesOlderEvents(t *testing.T) {
	sim := vmcfgSim(t)
	c := connect(t, sim)
	web := seededVM(t, c, "web01")
	ec := func(k, v string) []types.BaseOptionValue {
		return []types.BaseOptionValue{&types.OptionValue{Key: k, Value: v}}
	}
	reconfig(t, web, types.VirtualMachineConfigSpec{ExtraConfig: ec("log.keepOld", "10")})
	reconfig(t, web, types.VirtualMachineConfigSpec{ExtraConfig: ec("log.rotateSize", "2048000")})
	for i := 0; i < 5; i++ {
		reconfig(t, web, types.VirtualMachineConfigSpec{ExtraConfig: ec("mks.enable3d", "FALSE")})
	}
	old := eventPageSize
	eventPageSize = 2
	t.Cleanup(func() { eventPageSize = old })
	got, err := c.ConfigChanges(context.Background(), []string{web.Reference().Value}, []string{"log.keepOld", "log.rotateSize", "mks.enable3d"})
	if err != nil {
		t.Fatalf("ConfigChanges: %v", err)
	}
	m := got[web.Reference().Value]
	if m["log.keepOld"].Value != "10" || m["log.rotateSize"].Value != "2048000" || m["mks.enable3d"].Value != "FALSE" {
		t.Errorf("changes = %+v, want log.keepOld 10, log.rotateSize 2048000, mks.enable3d FALSE", m)
	}
}

func checkChanges(t *testing.T, sim *simulator.Sim, got map[string]map[string]ConfigChange, id string) {
	t.Helper()
	if len(got) != 1 {
		t.Fatalf("ConfigChanges answered for %d VMs (%v), want only %s", len(got), got, id)
	}
	m := got[id]
	want := map[string]string{
		"mks.enable3d": "FALSE", "sched.mem.pshare.salt": "", FlagLogging: "true", FlagMigrateEncryption: "disabled",
		FlagSecureBoot: "true", FlagHardwareVersion: "19", FlagCPUHotAdd: "true", FlagMemoryHotAdd: "true",
		FlagFTEncryption: "ftEncryptionRequired", FlagVTPM: "true",
	}
	for k, v := range want {
		ch, ok := m[k]
		if !ok {
			t.Errorf("no change of %s, want one to %q", k, v)
			continue
		}
		if ch.Value != v || ch.VMID != id || ch.Key != k {
			t.Errorf("change of %s = %+v, want value %q", k, ch, v)
		}
		if !strings.EqualFold(ch.User, sim.User) || ch.Time.IsZero() {
			t.Errorf("change of %s by %q at %v, want by %s at a time", k, ch.User, ch.Time, sim.User)
		}
	}
	if _, ok := m["never.set"]; ok || len(m) != len(want) {
		t.Errorf("changes = %+v, want exactly %v", m, want)
	}
	if !m["mks.enable3d"].Time.After(m[FlagLogging].Time) && m["mks.enable3d"].Time != m[FlagLogging].Time {
		t.Errorf("mks.enable3d's change at %v is older than logging's at %v: not the latest", m["mks.enable3d"].Time, m[FlagLogging].Time)
	}
}

func TestRemediateEachVMAloneBogusOneFails(t *testing.T) {
	sim := vmcfgSim(t)
	c := connect(t, sim)
	web, db := seededVM(t, c, "web01"), seededVM(t, c, "erp-db01")
	reconfig(t, web, types.VirtualMachineConfigSpec{ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: "sched.mem.pshare.salt", Value: "x"}}})
	yes := true
	errs := c.Remediate(context.Background(), []Remediation{
		{VMID: web.Reference().Value, ExtraConfig: map[string]string{"mks.enable3d": "FALSE", "sched.mem.pshare.salt": ""}, Logging: &yes, MigrateEncryption: "required"},
		{VMID: "vm-bogus", ExtraConfig: map[string]string{"mks.enable3d": "FALSE"}},
		{VMID: db.Reference().Value, ExtraConfig: map[string]string{"RemoteDisplay.maxConnections": "1"}, CPUHotAdd: &yes, MemoryHotAdd: &yes, FTEncryption: "ftEncryptionRequired"},
	}, 2)
	if len(errs) != 1 || errs["vm-bogus"] == nil {
		t.Fatalf("Remediate errors = %v, want exactly one, for vm-bogus", errs)
	}
	if !IsNotFound(errs["vm-bogus"]) || !strings.Contains(errs["vm-bogus"].Error(), "vm-bogus") {
		t.Errorf("vm-bogus error = %v, want a not-found naming it", errs["vm-bogus"])
	}
	got, err := c.SelectConfigs(context.Background(), Selection{Include: Criteria{IDs: []string{web.Reference().Value, db.Reference().Value}}})
	if err != nil {
		t.Fatalf("SelectConfigs: %v", err)
	}
	by := map[string]VMConfig{}
	for _, g := range got {
		by[g.ID] = g
	}
	w, d := by[web.Reference().Value], by[db.Reference().Value]
	if _, ok := w.ExtraConfig["sched.mem.pshare.salt"]; ok || w.ExtraConfig["mks.enable3d"] != "FALSE" || !w.Logging || w.MigrateEncryption != "required" {
		t.Errorf("web01 after remediation = %+v, want salt removed, mks.enable3d FALSE, logging, required", w)
	}
	if d.ExtraConfig["RemoteDisplay.maxConnections"] != "1" || !d.CPUHotAdd || !d.MemoryHotAdd || d.FTEncryption != "ftEncryptionRequired" {
		t.Errorf("erp-db01 after remediation = %+v", d)
	}
}

func TestRemediateHardwareVersionNeedsPowerOff(t *testing.T) {
	sim := vmcfgSim(t)
	c := connect(t, sim)
	web, db := seededVM(t, c, "web01"), seededVM(t, c, "erp-db01")
	reconfig(t, web, types.VirtualMachineConfigSpec{Version: "vmx-15"})
	reconfig(t, db, types.VirtualMachineConfigSpec{Version: "vmx-15"})
	if err := c.SetPower(context.Background(), web.Reference().Value, false); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPower(context.Background(), db.Reference().Value, true); err != nil {
		t.Fatal(err)
	}
	errs := c.Remediate(context.Background(), []Remediation{
		{VMID: web.Reference().Value, HardwareVersion: 19},
		{VMID: db.Reference().Value, HardwareVersion: 19},
	}, 4)
	if len(errs) != 1 || !strings.Contains(errs[db.Reference().Value].Error(), "powered off") {
		t.Fatalf("errors = %v, want only erp-db01's, saying it must be powered off", errs)
	}
	got, err := c.SelectConfigs(context.Background(), Selection{Include: Criteria{IDs: []string{web.Reference().Value}}})
	if err != nil || len(got) != 1 || got[0].HardwareVersion != 19 {
		t.Fatalf("web01 after upgrade = %+v, %v; want hardware version 19", got, err)
	}
}

// TestVcsimEmptyExtraConfigValue pins how vcsim treats an extraConfig value "": it removes a key
// that exists, as vCenter does, but adds a key that does not exist with the value "" (vCenter
// leaves it absent). Callers remove only keys they read as present.
func TestVcsimEmptyExtraConfigValue(t *testing.T) {
	sim := vmcfgSim(t)
	c := connect(t, sim)
	web := seededVM(t, c, "web01")
	reconfig(t, web, types.VirtualMachineConfigSpec{ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: "present.key", Value: "x"}}})
	if errs := c.Remediate(context.Background(), []Remediation{{VMID: web.Reference().Value, ExtraConfig: map[string]string{"present.key": "", "absent.key": ""}}}, 1); len(errs) > 0 {
		t.Fatalf("Remediate: %v", errs)
	}
	got, err := c.SelectConfigs(context.Background(), Selection{Include: Criteria{IDs: []string{web.Reference().Value}}})
	if err != nil || len(got) != 1 {
		t.Fatalf("SelectConfigs = %v, %v", got, err)
	}
	if _, ok := got[0].ExtraConfig["present.key"]; ok {
		t.Errorf("present.key still set after a remove: %v", got[0].ExtraConfig)
	}
	if v, ok := got[0].ExtraConfig["absent.key"]; !ok || v != "" {
		t.Errorf("absent.key = %q (present %v): vcsim no longer adds an absent key set to \"\"; update DESIGN.md's vcsim quirks", v, ok)
	}
}

// TestRemediateBoundsConcurrency counts the SOAP requests in flight through a proxy while nine
// VMs are remediated three at a time: each remediation makes one request at a time, so no more
// than three are ever in flight. vcsim's task delay keeps each task wait open long enough for
// unbounded remediations to overlap.
func TestRemediateBoundsConcurrency(t *testing.T) {
	sim, err := simulator.Start(context.Background(), simulator.Options{ExtraVMs: 9})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	ip := newInflightProxy(t, sim)
	c := connect(t, sim, func(cfg *Config) { cfg.Server = ip.host })
	vms, err := c.Select(context.Background(), Selection{Include: Criteria{Folders: []string{simulator.BulkFolder}}}, []string{"name"})
	if err != nil || len(vms) != 9 {
		t.Fatalf("bulk VMs = %d, %v; want 9", len(vms), err)
	}
	rs := make([]Remediation, 0, len(vms))
	for _, vm := range vms {
		rs = append(rs, Remediation{VMID: vm.ID, ExtraConfig: map[string]string{"mks.enable3d": "FALSE"}})
	}
	vcsim.TaskDelay.Delay = 40
	t.Cleanup(func() { vcsim.TaskDelay.Delay = 0 })
	ip.max.Store(0)
	if errs := c.Remediate(context.Background(), rs, 3); len(errs) > 0 {
		t.Fatalf("Remediate: %v", errs)
	}
	if m := ip.max.Load(); m > 3 {
		t.Errorf("%d SOAP requests were in flight at once, want at most 3 (the concurrency)", m)
	}
}

// inflightProxy forwards to the simulator and records the most SOAP requests in flight at once.
type inflightProxy struct {
	host     string
	inflight atomic.Int64
	max      atomic.Int64
}

func newInflightProxy(t *testing.T, sim *simulator.Sim) *inflightProxy {
	t.Helper()
	ip := &inflightProxy{}
	target := sim.URL.Host
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host, r.Out.Host = "https", target, target
		},
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // the simulator's self-signed certificate
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sdk" {
			n := ip.inflight.Add(1)
			defer ip.inflight.Add(-1)
			for m := ip.max.Load(); n > m && !ip.max.CompareAndSwap(m, n); m = ip.max.Load() {
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ip.host = strings.TrimPrefix(srv.URL, "https://")
	return ip
}

// methodCounter counts the calls of one SOAP method going through a client's chain.
type methodCounter struct {
	next   soap.RoundTripper
	method string
	calls  atomic.Int32
}

func (m *methodCounter) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	if soapMethod(req) == m.method {
		m.calls.Add(1)
	}
	return m.next.RoundTrip(ctx, req, res)
}

// TestConfigChangesStopsAfterMaxPages asks for a key no event ever set, over a history of more
// pages of two events than the bound: ConfigChanges reads maxConfigEventPages pages (QueryEvents,
// the collector's latest page, then ReadPreviousEvents) and stops, the key unanswered and the
// key changed in the newest events still attributed.
func TestConfigChangesStopsAfterMaxPages(t *testing.T) {
	sim := vmcfgSim(t)
	c := connect(t, sim)
	web := seededVM(t, c, "web01")
	old := eventPageSize
	eventPageSize = 2
	t.Cleanup(func() { eventPageSize = old })
	for i := 0; i < 4*maxConfigEventPages*eventPageSize; i++ {
		reconfig(t, web, types.VirtualMachineConfigSpec{ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: "mks.enable3d", Value: "FALSE"}}})
	}
	mc := &methodCounter{next: c.reauth.next, method: "ReadPreviousEvents"}
	c.reauth.next = mc
	got, err := c.ConfigChanges(context.Background(), []string{web.Reference().Value}, []string{"mks.enable3d", "never.set"})
	if err != nil {
		t.Fatalf("ConfigChanges: %v", err)
	}
	if n := mc.calls.Load(); n != maxConfigEventPages-2 {
		t.Errorf("ConfigChanges made %d ReadPreviousEvents calls, want %d (a bound of %d pages)", n, maxConfigEventPages-2, maxConfigEventPages)
	}
	m := got[web.Reference().Value]
	if _, ok := m["never.set"]; ok || m["mks.enable3d"].Value != "FALSE" || !strings.EqualFold(m["mks.enable3d"].User, sim.User) {
		t.Errorf("changes = %+v, want mks.enable3d FALSE by %s and no never.set", m, sim.User)
	}
}

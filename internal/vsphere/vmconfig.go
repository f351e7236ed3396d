package vsphere

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// VMConfig is what a configuration baseline checks of one VM.
//
// In the simulator every field is returned except VTPM: vcsim never fills summary.config.tpmPresent,
// so VTPM reads false there. SecureBoot, CPUHotAdd, MemoryHotAdd, MigrateEncryption,
// FTEncryption and Logging read as their zero value (nil, false, "") until a ReconfigVM sets them:
// vcsim creates VMs without them, where real vCenter reports its defaults (opportunistic
// encrypted vMotion and FT, logging on).
type VMConfig struct {
	ID         string
	Name       string
	PowerState PowerState
	Template   bool
	// ExtraConfig holds every advanced setting of the VM (the simulator's own govcsim key too),
	// values as strings.
	ExtraConfig map[string]string
	// SecureBoot is config.bootOptions.efiSecureBootEnabled; nil when vCenter leaves it unset.
	SecureBoot *bool
	// HardwareVersion is the number of config.version ("vmx-19" is 19); 0 when unset or unparsable.
	HardwareVersion int
	CPUHotAdd       bool
	MemoryHotAdd    bool
	// MigrateEncryption is config.migrateEncryption: disabled, opportunistic or required.
	MigrateEncryption string
	// FTEncryption is config.ftEncryptionMode: ftEncryptionDisabled, ftEncryptionOpportunistic or
	// ftEncryptionRequired.
	FTEncryption string
	// Logging is config.flags.enableLogging.
	Logging bool
	// VTPM is summary.config.tpmPresent (unset reads false).
	VTPM bool
	// Firmware is config.firmware: bios or efi. Secure boot needs efi.
	Firmware string
	// GuestID is config.guestId, the guest OS the VM is configured for (rhel9_64Guest...).
	GuestID string
}

// The VM properties SelectConfigs reads, leaf paths only, so that a baseline costs no more than
// what it checks.
const (
	propName         = "name"
	propPowerState   = "runtime.powerState"
	propTemplate     = "config.template"
	propExtraConfig  = "config.extraConfig"
	propSecureBoot   = "config.bootOptions.efiSecureBootEnabled"
	propVersion      = "config.version"
	propCPUHotAdd    = "config.cpuHotAddEnabled"
	propMemHotAdd    = "config.memoryHotAddEnabled"
	propMigrateEnc   = "config.migrateEncryption"
	propFTEnc        = "config.ftEncryptionMode"
	propLogging      = "config.flags.enableLogging"
	propTPMPresent   = "summary.config.tpmPresent"
	propFirmware     = "config.firmware"
	propGuestID      = "config.guestId"
	hwVersionPrefix  = "vmx-"
	maxEventsPerPage = 1000
)

var vmConfigProps = []string{
	propName, propPowerState, propTemplate, propExtraConfig, propSecureBoot, propVersion,
	propCPUHotAdd, propMemHotAdd, propMigrateEnc, propFTEnc, propLogging, propTPMPresent, propFirmware, propGuestID,
}

// SelectConfigs resolves the selection and returns the baseline-relevant configuration of every
// matched VM, sorted by ID, in one Select (at most 3 round trips whatever the VM count).
func (c *Client) SelectConfigs(ctx context.Context, sel Selection) ([]VMConfig, error) {
	vms, err := c.Select(ctx, sel, vmConfigProps)
	if err != nil {
		return nil, err
	}
	out := make([]VMConfig, 0, len(vms))
	for _, vm := range vms {
		out = append(out, vmConfigFromProps(vm))
	}
	return out, nil
}

func vmConfigFromProps(vm SelectedVM) VMConfig {
	cfg := VMConfig{ID: vm.ID, ExtraConfig: map[string]string{}}
	p := vm.Props
	cfg.Name, _ = p[propName].(string)
	if ps, ok := p[propPowerState].(types.VirtualMachinePowerState); ok {
		cfg.PowerState = PowerState(ps)
	}
	cfg.Template, _ = p[propTemplate].(bool)
	if ec, ok := p[propExtraConfig].(types.ArrayOfOptionValue); ok {
		for _, o := range ec.OptionValue {
			if ov := o.GetOptionValue(); ov != nil {
				cfg.ExtraConfig[ov.Key] = optionString(ov.Value)
			}
		}
	}
	if b, ok := p[propSecureBoot].(bool); ok {
		cfg.SecureBoot = &b
	}
	if v, ok := p[propVersion].(string); ok {
		cfg.HardwareVersion = parseHardwareVersion(v)
	}
	cfg.CPUHotAdd, _ = p[propCPUHotAdd].(bool)
	cfg.MemoryHotAdd, _ = p[propMemHotAdd].(bool)
	cfg.MigrateEncryption, _ = p[propMigrateEnc].(string)
	cfg.FTEncryption, _ = p[propFTEnc].(string)
	cfg.Logging, _ = p[propLogging].(bool)
	cfg.VTPM, _ = p[propTPMPresent].(bool)
	cfg.Firmware, _ = p[propFirmware].(string)
	cfg.GuestID, _ = p[propGuestID].(string)
	return cfg
}

// parseHardwareVersion reads "vmx-19" as 19, and anything else as 0.
func parseHardwareVersion(v string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(v, hwVersionPrefix))
	if err != nil || !strings.HasPrefix(v, hwVersionPrefix) {
		return 0
	}
	return n
}

// optionString renders an advanced setting's value as vCenter shows it. Values are strings in
// practice; other types (numbers, booleans set through the API) are formatted.
func optionString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}

// The flag names ConfigChanges reports besides extraConfig keys, one per typed VMConfig field.
const (
	FlagSecureBoot        = "secure_boot"
	FlagHardwareVersion   = "hardware_version"
	FlagCPUHotAdd         = "cpu_hot_add"
	FlagMemoryHotAdd      = "memory_hot_add"
	FlagMigrateEncryption = "migrate_encryption"
	FlagFTEncryption      = "ft_encryption"
	FlagLogging           = "logging"
	FlagVTPM              = "vtpm"
)

// ConfigChange is the latest reconfiguration of one VM that set one key: who and when.
type ConfigChange struct {
	VMID string
	Key  string
	// Value is what the reconfiguration set: "" for an extraConfig key it removed; "true"/"false"
	// for boolean flags; the number for hardware_version.
	Value string
	User  string
	Time  time.Time
}

// ConfigChanges finds, for each VM and key asked, the latest VmReconfiguredEvent whose config
// spec set the key: an extraConfig key, or one of the Flag* names. The answer maps VM ID to key to
// change; a key no event set is absent. Events of other VMs are ignored.
//
// The cost is one QueryEvents call over every VmReconfiguredEvent of vCenter (no entity in the
// filter: the VMs asked may be anywhere), which returns at most 1000 events, the newest. Only when
// that page is full and some pair is still unanswered does it page on through older events with an
// event history collector (filtered to events up to the oldest one seen), until the pairs are all
// answered, the history ends, or maxConfigEventPages pages were read: a key nobody ever changed
// is never found, and without the bound a single such pair would read vCenter's whole event
// history. A pair left unanswered has no attribution, as when no event set it. hardware_version
// is seen only when a ReconfigVM set
// configSpec.version; UpgradeVM posts other events and is not looked at. vcsim posts the event
// before it applies the spec, so there a reconfigure that failed is reported as a change too.
func (c *Client) ConfigChanges(ctx context.Context, vmIDs []string, keys []string) (map[string]map[string]ConfigChange, error) {
	out := map[string]map[string]ConfigChange{}
	if len(vmIDs) == 0 || len(keys) == 0 {
		return out, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.APITimeout)
	defer cancel()
	f := &changeFinder{vms: map[string]bool{}, keys: map[string]bool{}, seen: map[int32]bool{}, eventOf: map[string]int32{}, out: out}
	for _, id := range vmIDs {
		f.vms[id] = true
	}
	for _, k := range keys {
		f.keys[k] = true
	}
	f.want = len(f.vms) * len(f.keys)
	filter := types.EventFilterSpec{EventTypeId: []string{"VmReconfiguredEvent"}, MaxCount: int32(eventPageSize)}
	res, err := methods.QueryEvents(ctx, c.vim, &types.QueryEvents{This: *c.vim.ServiceContent.EventManager, Filter: filter})
	if err != nil {
		return nil, fmt.Errorf("reading the VM reconfiguration events: %w", err)
	}
	oldest := f.add(res.Returnval)
	if len(res.Returnval) < eventPageSize || f.done() {
		return out, nil
	}
	if err := c.olderConfigChanges(ctx, filter, oldest, f); err != nil {
		return nil, err
	}
	return out, nil
}

// eventPageSize is the page QueryEvents and the collector read: the most vCenter (and vcsim)
// accept. Tests lower it to reach the paging path.
var eventPageSize = maxEventsPerPage

// maxConfigEventPages bounds the event pages one ConfigChanges reads (the first QueryEvents, the
// collector's latest page and each ReadPreviousEvents count one): 10 pages, up to 10,000 events,
// the latest reconfigurations of any vCenter but the busiest, at a cost of a dozen round trips.
// Attributing a drift to a change older than that is rarely worth reading the whole history of a
// busy vCenter on every plan.
const maxConfigEventPages = 10

// olderConfigChanges pages backwards through the events up to oldest with a history collector,
// the QueryEvents page already read counting as the first of maxConfigEventPages. A new
// collector's latest page is read first: vCenter's ReadPreviousEvents starts before it.
func (c *Client) olderConfigChanges(ctx context.Context, filter types.EventFilterSpec, oldest time.Time, f *changeFinder) error {
	filter.MaxCount = 0
	filter.Time = &types.EventFilterSpecByTime{EndTime: &oldest}
	cr, err := methods.CreateCollectorForEvents(ctx, c.vim, &types.CreateCollectorForEvents{This: *c.vim.ServiceContent.EventManager, Filter: filter})
	if err != nil {
		return fmt.Errorf("reading older VM reconfiguration events: %w", err)
	}
	ref := cr.Returnval
	defer func() {
		_, _ = methods.DestroyCollector(context.WithoutCancel(ctx), c.vim, &types.DestroyCollector{This: ref})
	}()
	var hc mo.EventHistoryCollector
	if err := c.collector().RetrieveOne(ctx, ref, []string{"latestPage"}, &hc); err != nil {
		return fmt.Errorf("reading older VM reconfiguration events: %w", err)
	}
	f.add(hc.LatestPage)
	for pages := 2; !f.done() && pages < maxConfigEventPages; pages++ {
		page, err := methods.ReadPreviousEvents(ctx, c.vim, &types.ReadPreviousEvents{This: ref, MaxCount: int32(eventPageSize)})
		if err != nil {
			return fmt.Errorf("reading older VM reconfiguration events: %w", err)
		}
		if len(page.Returnval) == 0 {
			return nil
		}
		f.add(page.Returnval)
	}
	return nil
}

// changeFinder keeps, per VM and key asked, the latest event that set the key.
type changeFinder struct {
	vms, keys map[string]bool
	seen      map[int32]bool   // event keys already counted: pages may overlap
	eventOf   map[string]int32 // VM ID + "/" + key: the event key of the change kept
	out       map[string]map[string]ConfigChange
	want      int // VM × key pairs asked
	found     int
}

func (f *changeFinder) done() bool { return f.found >= f.want }

// add records the events and returns the creation time of the oldest of them.
func (f *changeFinder) add(events []types.BaseEvent) time.Time {
	var oldest time.Time
	for _, be := range events {
		ev, ok := be.(*types.VmReconfiguredEvent)
		if !ok {
			continue
		}
		if oldest.IsZero() || ev.CreatedTime.Before(oldest) {
			oldest = ev.CreatedTime
		}
		if f.seen[ev.Key] || ev.Vm == nil || !f.vms[ev.Vm.Vm.Value] {
			continue
		}
		f.seen[ev.Key] = true
		id := ev.Vm.Vm.Value
		for key, value := range specChanges(&ev.ConfigSpec) {
			if !f.keys[key] {
				continue
			}
			prev, had := f.out[id][key]
			if had && !later(ev.CreatedTime, ev.Key, prev.Time, f.eventOf[id+"/"+key]) {
				continue
			}
			if f.out[id] == nil {
				f.out[id] = map[string]ConfigChange{}
			}
			if !had {
				f.found++
			}
			f.out[id][key] = ConfigChange{VMID: id, Key: key, Value: value, User: ev.UserName, Time: ev.CreatedTime}
			f.eventOf[id+"/"+key] = ev.Key
		}
	}
	return oldest
}

// later orders events by creation time, and by key (vCenter numbers events in order) on a tie.
func later(t time.Time, key int32, than time.Time, thanKey int32) bool {
	if !t.Equal(than) {
		return t.After(than)
	}
	return key > thanKey
}

// specChanges lists what a config spec sets, by extraConfig key or flag name.
func specChanges(s *types.VirtualMachineConfigSpec) map[string]string {
	m := map[string]string{}
	for _, o := range s.ExtraConfig {
		if ov := o.GetOptionValue(); ov != nil {
			m[ov.Key] = optionString(ov.Value)
		}
	}
	if s.BootOptions != nil && s.BootOptions.EfiSecureBootEnabled != nil {
		m[FlagSecureBoot] = strconv.FormatBool(*s.BootOptions.EfiSecureBootEnabled)
	}
	if n := parseHardwareVersion(s.Version); n > 0 {
		m[FlagHardwareVersion] = strconv.Itoa(n)
	}
	if s.CpuHotAddEnabled != nil {
		m[FlagCPUHotAdd] = strconv.FormatBool(*s.CpuHotAddEnabled)
	}
	if s.MemoryHotAddEnabled != nil {
		m[FlagMemoryHotAdd] = strconv.FormatBool(*s.MemoryHotAddEnabled)
	}
	if s.MigrateEncryption != "" {
		m[FlagMigrateEncryption] = s.MigrateEncryption
	}
	if s.FtEncryptionMode != "" {
		m[FlagFTEncryption] = s.FtEncryptionMode
	}
	if s.Flags != nil && s.Flags.EnableLogging != nil {
		m[FlagLogging] = strconv.FormatBool(*s.Flags.EnableLogging)
	}
	for _, dc := range s.DeviceChange {
		spec := dc.GetVirtualDeviceConfigSpec()
		if _, ok := spec.Device.(*types.VirtualTPM); !ok {
			continue
		}
		switch spec.Operation {
		case types.VirtualDeviceConfigSpecOperationAdd:
			m[FlagVTPM] = "true"
		case types.VirtualDeviceConfigSpecOperationRemove:
			m[FlagVTPM] = "false"
		}
	}
	return m
}

// Remediation is what to change on one VM to bring it back to its baseline. Zero values leave a
// setting alone.
type Remediation struct {
	VMID string
	// ExtraConfig sets these advanced settings; "" removes the key.
	ExtraConfig map[string]string
	SecureBoot  *bool
	// HardwareVersion upgrades the VM's hardware to vmx-N (UpgradeVM, the VM must be powered off);
	// 0 leaves it.
	HardwareVersion int
	CPUHotAdd       *bool
	MemoryHotAdd    *bool
	Logging         *bool
	// MigrateEncryption and FTEncryption set the encryption modes; "" leaves them.
	MigrateEncryption string
	FTEncryption      string
}

// Remediate applies the remediations, at most concurrency at a time (at least one), each with one
// ReconfigVM and, when a hardware version is asked, one UpgradeVM after it. Every VM is attempted
// whatever happens to the others; the answer holds one error per VM ID that failed.
//
// The tasks in flight are waited together (taskBatch): one round trip per task started plus one
// per poll of all of them, rather than six per task.
func (c *Client) Remediate(ctx context.Context, rs []Remediation, concurrency int) map[string]error {
	if concurrency < 1 {
		concurrency = 1
	}
	if len(rs) == 0 {
		return map[string]error{}
	}
	batch, stop := c.newTaskBatch(ctx)
	defer stop()
	errs := map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, concurrency)
	for _, r := range rs {
		wg.Add(1)
		sem <- struct{}{}
		go func(r Remediation) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := c.remediate(ctx, batch, r); err != nil {
				mu.Lock()
				errs[r.VMID] = err
				mu.Unlock()
			}
		}(r)
	}
	wg.Wait()
	return errs
}

func (c *Client) remediate(ctx context.Context, batch *taskBatch, r Remediation) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.APITimeout)
	defer cancel()
	defer c.vmChanged(r.VMID)
	vm := object.NewVirtualMachine(c.vim, types.ManagedObjectReference{Type: "VirtualMachine", Value: r.VMID})
	if spec, changes := r.configSpec(); changes {
		task, err := vm.Reconfigure(ctx, spec)
		if err == nil {
			_, err = batch.wait(ctx, task)
		}
		if err != nil {
			return wrapNotFound("virtual machine", r.VMID, fmt.Errorf("reconfiguring %s: %w", r.VMID, err))
		}
	}
	if r.HardwareVersion > 0 {
		version := hwVersionPrefix + strconv.Itoa(r.HardwareVersion)
		task, err := vm.UpgradeVM(ctx, version)
		if err == nil {
			_, err = batch.wait(ctx, task)
		}
		if err != nil && !fault.Is(err, &types.AlreadyUpgradedFault{}) {
			if fault.Is(err, &types.InvalidPowerState{}) || fault.Is(err, &types.InvalidPowerStateFault{}) {
				return fmt.Errorf("upgrading the hardware of %s to %s: the VM must be powered off: %w", r.VMID, version, err)
			}
			return wrapNotFound("virtual machine", r.VMID, fmt.Errorf("upgrading the hardware of %s to %s: %w", r.VMID, version, err))
		}
	}
	return nil
}

// configSpec is the ReconfigVM spec of a remediation, and whether it changes anything. vCenter
// merges bootOptions and flags with what the VM has; vcsim replaces them whole, so on the simulator
// a remediation of secure boot or logging resets the VM's other boot options and flags. Secure boot
// needs EFI firmware: on a BIOS VM the reconfigure fails (InvalidVmConfig), for that VM only.
func (r Remediation) configSpec() (types.VirtualMachineConfigSpec, bool) {
	var s types.VirtualMachineConfigSpec
	keys := make([]string, 0, len(r.ExtraConfig))
	for k := range r.ExtraConfig {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s.ExtraConfig = append(s.ExtraConfig, &types.OptionValue{Key: k, Value: r.ExtraConfig[k]})
	}
	r.setFlags(&s, true)
	changes := len(s.ExtraConfig) > 0 || s.BootOptions != nil || s.CpuHotAddEnabled != nil ||
		s.MemoryHotAddEnabled != nil || s.Flags != nil || s.MigrateEncryption != "" || s.FtEncryptionMode != ""
	return s, changes
}

// efiFirmware is config.firmware of a UEFI VM.
const efiFirmware = string(types.GuestOsDescriptorFirmwareTypeEfi)

// setFlags puts the remediation's flags (not its advanced settings or hardware version) in a
// ConfigSpec; secure boot only when efi.
func (r Remediation) setFlags(s *types.VirtualMachineConfigSpec, efi bool) {
	if r.SecureBoot != nil && efi {
		s.BootOptions = &types.VirtualMachineBootOptions{EfiSecureBootEnabled: r.SecureBoot}
	}
	s.CpuHotAddEnabled = r.CPUHotAdd
	s.MemoryHotAddEnabled = r.MemoryHotAdd
	if r.Logging != nil {
		s.Flags = &types.VirtualMachineFlagInfo{EnableLogging: r.Logging}
	}
	s.MigrateEncryption = r.MigrateEncryption
	s.FtEncryptionMode = r.FTEncryption
}

// hasFlags reports whether the remediation sets any flag (setFlags would change a spec).
func (r Remediation) hasFlags() bool {
	return r.SecureBoot != nil || r.CPUHotAdd != nil || r.MemoryHotAdd != nil || r.Logging != nil ||
		r.MigrateEncryption != "" || r.FTEncryption != ""
}

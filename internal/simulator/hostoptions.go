package simulator

import (
	"fmt"
	"sort"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// HostOptions are the advanced options (configManager.advancedOption) every simulated host
// carries, with the values and types a freshly installed ESXi 8 reports through vCenter: integer
// options as long (int64), strings, and booleans. Where the default is insecure (the vSphere 8
// Security Configuration Guide recommends otherwise), the value is the default, so that a host
// baseline finds drift on a new host, as it would on a real one. vcsim itself knows only
// Config.HostAgent.log.level.
var HostOptions = map[string]any{
	// Shell and DCUI session timeouts: 0 (never) by default; the SCG wants 900 / 600.
	"UserVars.ESXiShellTimeOut":            int64(0),
	"UserVars.ESXiShellInteractiveTimeOut": int64(0),
	"UserVars.DcuiTimeOut":                 int64(600),
	"UserVars.SuppressShellWarning":        int64(0),
	"UserVars.SuppressHyperthreadWarning":  int64(0),
	"UserVars.HostClientSessionTimeout":    int64(900),
	"UserVars.ESXiVPsDisabledProtocols":    "sslv3,tlsv1,tlsv1.1",
	"DCUI.Access":                          "root",

	// Accounts and passwords: the SCG wants a 15-character minimum and a history of 5.
	"Security.AccountLockFailures":    int64(5),
	"Security.AccountUnlockTime":      int64(900),
	"Security.PasswordQualityControl": "retry=3 min=disabled,disabled,disabled,7,7",
	"Security.PasswordHistory":        int64(0),
	"Security.PasswordMaxDays":        int64(99999),

	// Logging: no remote log host, logs on the scratch partition, no persistent audit records.
	"Syslog.global.logHost":                          "",
	"Syslog.global.logDir":                           "/scratch/log",
	"Syslog.global.auditRecord.storageEnable":        false,
	"Syslog.global.certificate.checkSSLCerts":        true,
	"Syslog.global.certificate.strictX509Compliance": false,
	"Config.HostAgent.log.level":                     "info",

	// Host agent and kernel.
	"Config.HostAgent.plugins.solo.enableMob":         false,
	"Config.HostAgent.plugins.hostsvc.esxAdminsGroup": "ESX Admins",
	"Config.HostAgent.vmacore.soap.sessionTimeout":    int64(30),
	"Config.Etc.issue":                "",
	"Annotations.WelcomeMessage":      "",
	"Mem.ShareForceSalting":           int64(2),
	"Mem.MemEagerZero":                int64(0),
	"Net.BlockGuestBPDU":              int64(0),
	"Net.BMCNetworkEnable":            int64(1),
	"Net.DVFilterBindIpAddress":       "",
	"VMkernel.Boot.execInstalledOnly": true,
}

// seedHostOptions gives every host of the model HostOptions, and makes hosts added later (AddHost,
// AddStandaloneHost) get them too, as a new ESXi host would come with its defaults.
func seedHostOptions(model *simulator.Model) {
	m := model.Map()
	for _, e := range m.All("HostSystem") {
		seedHost(m, e)
	}
	m.AddHandler(&hostSeeder{self: types.ManagedObjectReference{Type: "VmgmtHostOptionSeeder", Value: "seeder"}})
}

// seedHost writes fresh OptionValues (never shared between hosts: vcsim updates an existing
// option in place) into the host's own OptionManager, which mirrors them into config.option.
func seedHost(m *simulator.Registry, obj mo.Reference) {
	h, ok := obj.(*simulator.HostSystem)
	if !ok || h.ConfigManager.AdvancedOption == nil {
		return
	}
	om, ok := m.Get(*h.ConfigManager.AdvancedOption).(*simulator.OptionManager)
	if !ok {
		return
	}
	keys := make([]string, 0, len(HostOptions))
	for k := range HostOptions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	changes := make([]types.BaseOptionValue, 0, len(keys))
	for _, k := range keys {
		changes = append(changes, &types.OptionValue{Key: k, Value: HostOptions[k]})
	}
	if fault := om.UpdateOptions(&types.UpdateOptions{ChangedValue: changes}).Fault(); fault != nil {
		panic(fmt.Sprintf("seeding the advanced options of %s: %v", h.Self, fault.VimFault()))
	}
}

// hostSeeder seeds each host the registry receives after Start.
type hostSeeder struct{ self types.ManagedObjectReference }

func (s *hostSeeder) Reference() types.ManagedObjectReference { return s.self }

func (s *hostSeeder) PutObject(ctx *simulator.Context, obj mo.Reference) { seedHost(ctx.Map, obj) }

func (s *hostSeeder) UpdateObject(*simulator.Context, mo.Reference, []types.PropertyChange) {}

func (s *hostSeeder) RemoveObject(*simulator.Context, types.ManagedObjectReference) {}

// checkHostOptionUpdates makes a host's UpdateOptions answer as ESXi does, where vcsim accepts
// anything: a key the host does not have faults InvalidName, and a value of another type than the
// option's (an xsd:int for a long option, a string for a boolean) faults InvalidArgument naming
// the key. Nothing is changed then. vCenter's own OptionManager (ServiceContent.setting), which
// does take new keys, is left to vcsim. It runs before the handler already installed, if any.
func checkHostOptionUpdates(model *simulator.Model) {
	beforeCalls(model.Map(), hostOptionFault)
}

func hostOptionFault(ctx *simulator.Context, method *simulator.Method) types.BaseMethodFault {
	if method.Name != "UpdateOptions" {
		return nil
	}
	req, ok := method.Body.(*types.UpdateOptions)
	if !ok {
		return nil
	}
	om, ok := ctx.Map.Get(method.This).(*simulator.OptionManager)
	if !ok || method.This == ctx.Map.OptionManager().Self {
		return nil
	}
	var fault types.BaseMethodFault
	ctx.WithLock(om, func() {
		current := make(map[string]any, len(om.Setting))
		for _, o := range om.Setting {
			current[o.GetOptionValue().Key] = o.GetOptionValue().Value
		}
		for _, change := range req.ChangedValue {
			ch := change.GetOptionValue()
			cur, ok := current[ch.Key]
			switch {
			case !ok:
				fault = &types.InvalidName{Name: ch.Key}
			case fmt.Sprintf("%T", cur) != fmt.Sprintf("%T", ch.Value):
				fault = &types.InvalidArgument{InvalidProperty: ch.Key}
			}
			if fault != nil {
				return
			}
		}
	})
	return fault
}

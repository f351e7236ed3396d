package baseline

import (
	"maps"
	"slices"
)

// Match says how a setting is judged.
type Match string

const (
	MatchExact     Match = "exact"      // the key must hold the value
	MatchDefaultOK Match = "default_ok" // the value, or absent where vSphere's default is the secure value
	MatchAbsent    Match = "absent"     // the key must not exist
)

// Matches lists the match kinds, for validators and docs.
func Matches() []string {
	return []string{string(MatchExact), string(MatchDefaultOK), string(MatchAbsent)}
}

// Setting is one advanced setting (a VM's extraConfig key, or a host's advanced option).
type Setting struct {
	Key     string
	Value   string // "" for MatchAbsent
	Match   Match
	Control string // the vSphere 8 Security Configuration Guide control ID, e.g. "vm-8.deactivate-console-copy"; "" for none
	Title   string // one line: what it protects
}

// Flags are the typed VM settings a pack may require (nil / 0 / "" = no requirement).
type Flags struct {
	SecureBoot         *bool
	MinHardwareVersion int
	CPUHotAdd          *bool
	MemoryHotAdd       *bool
	MigrateEncryption  string // "required" | "opportunistic" | "disabled"
	FTEncryption       string // "ftEncryptionRequired" | "ftEncryptionOpportunistic" | "ftEncryptionDisabled"
	Logging            *bool
	VTPMRequired       *bool
	Controls           map[string]string // flag name (secure_boot, min_hardware_version, cpu_hot_add, memory_hot_add, migrate_encryption, ft_encryption, logging, vtpm_required) -> SCG control ID
}

// Pack is a built-in set of settings.
type Pack struct {
	Name, Title string
	Target      string // "vm" or "host"
	Settings    []Setting
	Flags       Flags // VM packs only
}

// The typed VM flags by the names of their resource attributes (the keys of Flags.Controls), in
// the order the docs list them.
var packFlagNames = []string{
	"secure_boot", "min_hardware_version", "cpu_hot_add", "memory_hot_add",
	"migrate_encryption", "ft_encryption", "logging", "vtpm_required",
}

// packFlagTitles says, for the docs table, what each flag protects.
var packFlagTitles = map[string]string{
	"secure_boot":          "UEFI Secure Boot: the guest boots only signed boot loaders, drivers and kernels.",
	"min_hardware_version": "Virtual hardware recent enough for current security features (vmx-19 runs on ESXi 7.0 U2 and later).",
	"cpu_hot_add":          "CPU hot add, which also turns off vNUMA.",
	"memory_hot_add":       "Memory hot add.",
	"migrate_encryption":   "vMotion traffic of the VM is always encrypted, never sent in the clear.",
	"ft_encryption":        "Fault Tolerance logging traffic of the VM is always encrypted.",
	"logging":              "VM diagnostic logging (vmware.log), for forensics and troubleshooting.",
	"vtpm_required":        "A virtual TPM, for guest measured boot and key storage.",
}

func packPtr[T any](v T) *T { return &v }

// scg8 is the vSphere 8 Security Configuration Guide (8.0.3) for VMs: its advanced parameters and
// its VM settings. Control IDs and values are the guide's (controls spreadsheet, "SCG ID"
// column); where the guide accepts "<value> or Undefined" the match is default_ok.
var scg8 = Pack{
	Name:   "scg-8",
	Title:  "vSphere 8 Security Configuration Guide: virtual machine advanced parameters and VM settings.",
	Target: "vm",
	Settings: []Setting{
		{"isolation.tools.copy.disable", "TRUE", MatchDefaultOK, "vm-8.deactivate-console-copy",
			"No copy from the VM to the client through the console."},
		{"isolation.tools.paste.disable", "TRUE", MatchDefaultOK, "vm-8.deactivate-console-paste",
			"No paste from the client into the VM through the console."},
		{"isolation.tools.dnd.disable", "TRUE", MatchDefaultOK, "vm-8.isolation-tools-dnd-deactivate",
			"No drag and drop between the VM and the client through the console."},
		{"isolation.tools.diskShrink.disable", "TRUE", MatchDefaultOK, "vm-8.deactivate-disk-shrinking-shrink",
			"No virtual disk shrinking from the guest, which can make the disk unavailable."},
		{"isolation.tools.diskWiper.disable", "TRUE", MatchDefaultOK, "vm-8.deactivate-disk-shrinking-wiper",
			"No virtual disk wiping from the guest, which can make the disk unavailable."},
		{"isolation.device.connectable.disable", "TRUE", MatchDefaultOK, "vm-8.isolation-device-connectable-deactivate",
			"The guest cannot connect, disconnect or modify devices."},
		// The guide's default is -1 (unlimited): absent is not secure.
		{"RemoteDisplay.maxConnections", "1", MatchExact, "vm-8.limit-console-connections",
			"One console connection at a time, so that nobody watches a session unseen."},
		// FALSE is the default and the guide's audit accepts absent; the issue asks for the explicit value.
		{"mks.enable3d", "FALSE", MatchExact, "vm-8.deactivate-non-essential-3d-features",
			"3D graphics off, removing an attack surface VMs without GPUs do not need."},
		{"tools.setInfo.sizeLimit", "1048576", MatchDefaultOK, "vm-8.limit-setinfo-size",
			"Guest informational messages to the VMX file capped at 1 MB, so they cannot fill the datastore."},
		{"tools.guestlib.enableHostInfo", "FALSE", MatchDefaultOK, "vm-8.restrict-host-info",
			"The guest cannot read information about the physical host."},
		// The default is FALSE: absent is not secure.
		{"tools.guest.desktop.autolock", "TRUE", MatchExact, "vm-8.vmrc-lock",
			"The guest desktop locks when the last console connection closes."},
		{"log.rotateSize", "2048000", MatchDefaultOK, "vm-8.log-rotation-size",
			"VM diagnostic logs rotate at 2 MB, so they cannot fill the datastore."},
		{"log.keepOld", "10", MatchDefaultOK, "vm-8.log-retention",
			"At most 10 old VM diagnostic logs are kept."},
		{"sched.mem.pshare.salt", "", MatchAbsent, "vm-8.transparentpagesharing-inter-vm-enabled",
			"No memory page sharing with other VMs (with Mem.ShareForceSalting 2 on the host)."},
	},
	Flags: Flags{
		SecureBoot:         packPtr(true),
		MinHardwareVersion: 19,
		MigrateEncryption:  "required",
		FTEncryption:       "ftEncryptionRequired",
		Logging:            packPtr(true),
		Controls: map[string]string{
			"secure_boot":          "guest-8.secure-boot",
			"min_hardware_version": "guest-8.virtual-hardware",
			"migrate_encryption":   "vm-8.vmotion-encrypted",
			"ft_encryption":        "vm-8.ft-encrypted",
			"logging":              "vm-8.log-enable",
		},
	},
}

// scg8Host is the vSphere 8 Security Configuration Guide (8.0.3) for ESXi hosts: the advanced
// options with one secure value. Values are the strings a host option is set from: decimal for
// long options, "true"/"false" for booleans. esxi-8.logs-remote (Syslog.global.logHost) is left
// out: its value is the site's log collector, which a baseline names in its own settings.
var scg8Host = Pack{
	Name: "scg-8-host",
	Title: "vSphere 8 Security Configuration Guide: ESXi advanced options. Syslog.global.logHost " +
		"(esxi-8.logs-remote) is site-specific and not in the pack: set it in the baseline's settings.",
	Target: "host",
	Settings: []Setting{
		{"UserVars.ESXiShellTimeOut", "600", MatchExact, "esxi-8.shell-timeout",
			"The ESXi Shell and SSH services stop 10 minutes after they are started."},
		{"UserVars.ESXiShellInteractiveTimeOut", "900", MatchExact, "esxi-8.shell-interactive-timeout",
			"Idle ESXi Shell and SSH sessions end after 15 minutes."},
		{"UserVars.DcuiTimeOut", "600", MatchExact, "esxi-8.dcui-timeout",
			"Idle DCUI sessions end after 10 minutes."},
		{"UserVars.HostClientSessionTimeout", "900", MatchExact, "esxi-8.host-client-session-timeout",
			"Idle Host Client sessions end after 15 minutes."},
		{"UserVars.SuppressShellWarning", "0", MatchExact, "esxi-8.shell-warning",
			"The warning that the ESXi Shell or SSH is enabled is shown."},
		{"Security.AccountLockFailures", "5", MatchExact, "esxi-8.account-lockout",
			"An account locks after 5 failed logins, against password guessing."},
		{"Security.AccountUnlockTime", "900", MatchExact, "esxi-8.account-auto-unlock-time",
			"A locked account unlocks after 15 minutes."},
		{"Security.PasswordQualityControl", "similar=deny retry=3 min=disabled,disabled,disabled,disabled,15 max=64",
			MatchExact, "esxi-8.account-password-policies",
			"Passwords (passphrases) of at least 15 characters, not similar to the previous one."},
		{"Security.PasswordHistory", "5", MatchExact, "esxi-8.account-password-history",
			"The last 5 passwords cannot be reused."},
		{"Mem.ShareForceSalting", "2", MatchExact, "esxi-8.transparent-page-sharing",
			"Memory pages are shared only between VMs with the same sched.mem.pshare.salt."},
		{"Net.BlockGuestBPDU", "1", MatchExact, "esxi-8.network-bpdu",
			"BPDUs sent by VMs are dropped, so that a VM cannot make the physical switch lock the uplinks."},
		{"Config.HostAgent.plugins.solo.enableMob", "false", MatchExact, "esxi-8.deactivate-mob",
			"The Managed Object Browser is off."},
	},
}

// packs holds the built-in packs by name.
var packs = map[string]Pack{
	scg8.Name:     scg8,
	scg8Host.Name: scg8Host,
}

// PackNames returns the sorted names of the built-in packs for a target ("vm" or "host").
func PackNames(target string) []string {
	var names []string
	for name, p := range packs {
		if p.Target == target {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// LookupPack returns the built-in pack of that name. The pack is a copy: changing it does not
// change the built-in data.
func LookupPack(name string) (Pack, bool) {
	p, ok := packs[name]
	if !ok {
		return Pack{}, false
	}
	p.Settings = slices.Clone(p.Settings)
	p.Flags = clonePackFlags(p.Flags)
	return p, true
}

func clonePackFlags(f Flags) Flags {
	c := f
	for _, b := range []**bool{&c.SecureBoot, &c.CPUHotAdd, &c.MemoryHotAdd, &c.Logging, &c.VTPMRequired} {
		if *b != nil {
			*b = packPtr(**b)
		}
	}
	c.Controls = maps.Clone(f.Controls)
	return c
}

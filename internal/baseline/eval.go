package baseline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// The evaluation of a baseline against VMs, in plain Go: the rules a baseline declares (its
// packs, then its explicit settings and flags over them), and, for each VM in scope, the rules it
// breaks. Nothing here talks to vCenter.

// stampPrefix names the extraConfig key an enforcing baseline stamps on each VM it holds:
// stampPrefix + name = the hash of its rules, so any tool can tell which baselines a VM carries.
const stampPrefix = "vmgmt.baseline."

// rule is one setting a baseline requires, with where it came from.
type rule struct {
	Setting
	Source string // "explicit", or "pack:<name>"
}

// flagRule is one typed VM flag a baseline requires.
type flagRule struct {
	Name    string // vsphere.Flag* name, or "min_hardware_version" / "vtpm_required"
	Want    string // the required value as text: "true", "19", "required", ...
	Source  string
	Control string
	// PowerCycle: vCenter changes it only on a powered-off VM.
	PowerCycle bool
	// Manual: vmgmt cannot remediate it (a vTPM needs a key provider and a device).
	Manual bool
}

// ruleSet is a baseline's rules, by key and by flag.
type ruleSet struct {
	settings []rule     // sorted by key
	flags    []flagRule // sorted by name
	// relaxed lists explicit settings that weaken a pack's (reported, not refused).
	relaxed []relaxation
}

type relaxation struct {
	Key, PackValue, Value, Pack, Control string
	PackMatch, Match                     Match
}

// buildRules merges the packs (in order) and then the explicit settings and flags over them.
func buildRules(packs []Pack, explicit []Setting, flags Flags) ruleSet {
	byKey := map[string]rule{}
	for _, p := range packs {
		for _, s := range p.Settings {
			byKey[s.Key] = rule{Setting: s, Source: "pack:" + p.Name}
		}
	}
	var rs ruleSet
	for _, s := range explicit {
		if prev, ok := byKey[s.Key]; ok && relaxes(prev.Setting, s) {
			rs.relaxed = append(rs.relaxed, relaxation{Key: s.Key, PackValue: prev.Value, Value: s.Value,
				Pack: strings.TrimPrefix(prev.Source, "pack:"), Control: prev.Control, PackMatch: prev.Match, Match: s.Match})
		}
		if s.Control == "" {
			s.Control = byKey[s.Key].Control
		}
		byKey[s.Key] = rule{Setting: s, Source: "explicit"}
	}
	for _, r := range byKey {
		rs.settings = append(rs.settings, r)
	}
	sort.Slice(rs.settings, func(i, j int) bool { return rs.settings[i].Key < rs.settings[j].Key })
	fl := map[string]flagRule{}
	for _, p := range packs {
		for _, f := range flagRules(p.Flags, "pack:"+p.Name) {
			fl[f.Name] = f
		}
	}
	for _, f := range flagRules(flags, "explicit") {
		if f.Control == "" {
			f.Control = fl[f.Name].Control
		}
		fl[f.Name] = f
	}
	for _, f := range fl {
		rs.flags = append(rs.flags, f)
	}
	sort.Slice(rs.flags, func(i, j int) bool { return rs.flags[i].Name < rs.flags[j].Name })
	sort.Slice(rs.relaxed, func(i, j int) bool { return rs.relaxed[i].Key < rs.relaxed[j].Key })
	return rs
}

// relaxes reports whether an explicit setting weakens a pack's: another value, or a looser match
// (default_ok allows absence, absent drops the requirement of a value).
func relaxes(pack, explicit Setting) bool {
	if pack.Match == MatchAbsent {
		return explicit.Match != MatchAbsent
	}
	if explicit.Match == MatchAbsent {
		return true
	}
	if !strings.EqualFold(pack.Value, explicit.Value) {
		return true
	}
	return pack.Match == MatchExact && explicit.Match == MatchDefaultOK
}

const (
	flagMinHardwareVersion = "min_hardware_version"
	flagVTPMRequired       = "vtpm_required"
)

func flagRules(f Flags, source string) []flagRule {
	var out []flagRule
	add := func(name, want string, powerCycle, manual bool) {
		out = append(out, flagRule{Name: name, Want: want, Source: source, Control: f.Controls[name], PowerCycle: powerCycle, Manual: manual})
	}
	boolFlag := func(name string, b *bool, powerCycle bool) {
		if b != nil {
			add(name, strconv.FormatBool(*b), powerCycle, false)
		}
	}
	boolFlag(vsphere.FlagSecureBoot, f.SecureBoot, true)
	if f.MinHardwareVersion > 0 {
		add(flagMinHardwareVersion, strconv.Itoa(f.MinHardwareVersion), true, false)
	}
	boolFlag(vsphere.FlagCPUHotAdd, f.CPUHotAdd, true)
	boolFlag(vsphere.FlagMemoryHotAdd, f.MemoryHotAdd, true)
	if f.MigrateEncryption != "" {
		add(vsphere.FlagMigrateEncryption, f.MigrateEncryption, false, false)
	}
	if f.FTEncryption != "" {
		add(vsphere.FlagFTEncryption, f.FTEncryption, false, false)
	}
	boolFlag(vsphere.FlagLogging, f.Logging, false)
	if f.VTPMRequired != nil && *f.VTPMRequired {
		add(flagVTPMRequired, "true", true, true)
	}
	return out
}

// hash identifies a rule set: the stamp an enforcing baseline leaves on its VMs.
func (rs ruleSet) hash() string {
	h := sha256.New()
	for _, r := range rs.settings {
		fmt.Fprintf(h, "s\x00%s\x00%s\x00%s\n", r.Key, r.Value, r.Match)
	}
	for _, f := range rs.flags {
		fmt.Fprintf(h, "f\x00%s\x00%s\n", f.Name, f.Want)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// drift is one rule a VM breaks.
type drift struct {
	Key      string // the extraConfig key, or the flag's name
	Expected string // the value, or "(absent)"
	Actual   string // the value, or "(absent)"
	Match    string
	Source   string
	Control  string
	// PowerCycle: remediating it needs the VM powered off; Manual: vmgmt cannot remediate it.
	PowerCycle, Manual bool
	ChangedBy          string
	ChangedAt          string // RFC 3339, "" when no event says
}

// absentText stands for a key that is not set, in expected and actual values.
const absentText = "(absent)"

// vmDrift is the drift of one VM, or of one host (with its cluster).
type vmDrift struct {
	ID, Name, Cluster string
	Drift             []drift // sorted by key
}

// evaluate judges one VM against the rules; stamp, when not empty, is the stamp key an enforcing
// baseline requires (its value the rules' hash).
func (rs ruleSet) evaluate(vm vsphere.VMConfig, stampKey string) []drift {
	var out []drift
	for _, r := range rs.settings {
		if d, ok := judgeSetting(r, vm.ExtraConfig); !ok {
			out = append(out, d)
		}
	}
	for _, f := range rs.flags {
		if actual, ok := judgeFlag(f, vm); !ok {
			d := drift{Key: f.Name, Expected: f.Want, Actual: actual, Match: string(MatchExact), Source: f.Source,
				Control: f.Control, PowerCycle: f.PowerCycle, Manual: f.Manual}
			if f.Name == vsphere.FlagSecureBoot && f.Want == "true" && vm.Firmware != "efi" {
				// Secure boot needs UEFI firmware, and switching a VM's firmware makes its guest
				// unbootable: that is the owner's work, not a remediation.
				d.Manual, d.Actual = true, actual+" (firmware "+valueText(vm.Firmware)+": secure boot needs efi)"
			}
			out = append(out, d)
		}
	}
	if stampKey != "" {
		want := rs.hash()
		if got := vm.ExtraConfig[stampKey]; got != want {
			out = append(out, drift{Key: stampKey, Expected: want, Actual: valueText(got), Match: string(MatchExact), Source: "stamp"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func valueText(v string) string {
	if v == "" {
		return absentText
	}
	return v
}

// judgeSetting: a key with an empty value counts as absent (the simulator keeps removed keys so).
func judgeSetting(r rule, extra map[string]string) (drift, bool) {
	actual, present := extra[r.Key]
	present = present && actual != ""
	d := drift{Key: r.Key, Expected: r.Value, Actual: valueText(actual), Match: string(r.Match), Source: r.Source, Control: r.Control}
	switch r.Match {
	case MatchAbsent:
		d.Expected = absentText
		return d, !present
	case MatchDefaultOK:
		return d, !present || strings.EqualFold(actual, r.Value)
	default:
		return d, present && strings.EqualFold(actual, r.Value)
	}
}

func judgeFlag(f flagRule, vm vsphere.VMConfig) (string, bool) {
	switch f.Name {
	case vsphere.FlagSecureBoot:
		actual := "false"
		if vm.SecureBoot != nil {
			actual = strconv.FormatBool(*vm.SecureBoot)
		}
		return actual, actual == f.Want
	case flagMinHardwareVersion:
		want, _ := strconv.Atoi(f.Want)
		return strconv.Itoa(vm.HardwareVersion), vm.HardwareVersion >= want
	case vsphere.FlagCPUHotAdd:
		return strconv.FormatBool(vm.CPUHotAdd), strconv.FormatBool(vm.CPUHotAdd) == f.Want
	case vsphere.FlagMemoryHotAdd:
		return strconv.FormatBool(vm.MemoryHotAdd), strconv.FormatBool(vm.MemoryHotAdd) == f.Want
	case vsphere.FlagMigrateEncryption:
		return valueText(vm.MigrateEncryption), vm.MigrateEncryption == f.Want
	case vsphere.FlagFTEncryption:
		return valueText(vm.FTEncryption), vm.FTEncryption == f.Want
	case vsphere.FlagLogging:
		return strconv.FormatBool(vm.Logging), strconv.FormatBool(vm.Logging) == f.Want
	case flagVTPMRequired:
		return strconv.FormatBool(vm.VTPM), vm.VTPM
	}
	return "", true
}

// remediation is what brings a VM back: the drift it can fix now (powerOK: the VM may be power
// cycled), and whether that needs a power cycle.
func remediation(vmID string, ds []drift, powerOK bool) (vsphere.Remediation, bool, bool) {
	r := vsphere.Remediation{VMID: vmID, ExtraConfig: map[string]string{}}
	some, cycle := false, false
	for _, d := range ds {
		if d.Manual || (d.PowerCycle && !powerOK) {
			continue
		}
		cycle = cycle || d.PowerCycle
		some = true
		if applyFlag(&r, d) {
			continue
		}
		if d.Expected == absentText {
			r.ExtraConfig[d.Key] = "" // removes it
		} else {
			r.ExtraConfig[d.Key] = d.Expected
		}
	}
	return r, some, cycle
}

// applyFlag sets a flag's remediation; false when d is an extraConfig key.
func applyFlag(r *vsphere.Remediation, d drift) bool {
	b := d.Expected == "true"
	switch d.Key {
	case vsphere.FlagSecureBoot:
		r.SecureBoot = &b
	case flagMinHardwareVersion:
		r.HardwareVersion, _ = strconv.Atoi(d.Expected)
	case vsphere.FlagCPUHotAdd:
		r.CPUHotAdd = &b
	case vsphere.FlagMemoryHotAdd:
		r.MemoryHotAdd = &b
	case vsphere.FlagLogging:
		r.Logging = &b
	case vsphere.FlagMigrateEncryption:
		r.MigrateEncryption = d.Expected
	case vsphere.FlagFTEncryption:
		r.FTEncryption = d.Expected
	default:
		return false
	}
	return true
}

// remaining is the drift an apply leaves: what needs a power cycle that is not allowed, and what
// vmgmt cannot remediate.
func remaining(ds []drift, powerOK bool) []drift {
	var out []drift
	for _, d := range ds {
		if d.Manual || (d.PowerCycle && !powerOK) {
			out = append(out, d)
		}
	}
	return out
}

// eventKey is the key ConfigChanges knows a drift by (flag names differ for two flags).
func eventKey(key string) string {
	switch key {
	case flagMinHardwareVersion:
		return vsphere.FlagHardwareVersion
	case flagVTPMRequired:
		return vsphere.FlagVTPM
	}
	return key
}

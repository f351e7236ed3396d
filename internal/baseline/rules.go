package baseline

import (
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	dsschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
)

// The rule attributes (packs, settings and the typed flags) that the vmgmt_config_baseline
// resource and the vmgmt_compliance data source share: one description, one set of validators and
// one conversion for both, so that a data source judges exactly what a baseline would.

var (
	packsDescription = "Built-in setting packs, merged in order; explicit `settings` and flags win over them " +
		"(a plan warns when one relaxes a pack's setting). VM packs: " + quoted(PackNames(TargetVM)) + "; host packs: " +
		quoted(PackNames(TargetHost)) + "."
	settingsDescription = "Advanced settings every VM in scope must keep (extraConfig keys), or, with `target = \"host\"`, " +
		"every host (ESXi advanced options, e.g. `UserVars.ESXiShellTimeOut`)."
	settingKeyDescription = "The extraConfig key, e.g. `isolation.tools.copy.disable`, or the host's option, e.g. " +
		"`Security.AccountLockFailures`."
	settingValueDescription = "The value it must hold; not set for `match = \"absent\"`."
	settingMatchDescription = "`exact` (the default): must hold the value; `default_ok`: the value, or absent where vSphere's " +
		"default is the secure value; `absent`: the key must not exist."
)

func packsValidators() []validator.List {
	return []validator.List{listvalidator.UniqueValues(), listvalidator.SizeAtLeast(1),
		listvalidator.ValueStringsAre(stringvalidator.OneOf(append(PackNames(TargetVM), PackNames(TargetHost)...)...))}
}

func settingsValidators() []validator.List { return []validator.List{listvalidator.SizeAtLeast(1)} }
func settingKeyValidators() []validator.String {
	return []validator.String{stringvalidator.LengthBetween(1, 255)}
}
func settingValueValidators() []validator.String {
	return []validator.String{stringvalidator.LengthAtMost(4096)}
}
func settingMatchValidators() []validator.String {
	return []validator.String{stringvalidator.OneOf(Matches()...)}
}

// flagAttribute is one typed VM flag: a bool, a whole number or a string.
type flagAttribute struct {
	kind        string // "bool", "int64" or "string"
	description string
	int64s      []validator.Int64
	strings     []validator.String
}

var flagAttributes = map[string]flagAttribute{
	"secure_boot":    {kind: "bool", description: "UEFI secure boot must be on (`true`) or off. Changing it needs the VM powered off."},
	"cpu_hot_add":    {kind: "bool", description: "CPU hot add must be enabled or disabled. Changing it needs the VM powered off."},
	"memory_hot_add": {kind: "bool", description: "Memory hot add must be enabled or disabled. Changing it needs the VM powered off."},
	"logging":        {kind: "bool", description: "VM logging (`flags.enableLogging`) must be on or off."},
	"vtpm_required":  {kind: "bool", description: "A virtual TPM must be present. vmgmt reports it and does not add one (that needs a key provider)."},
	"min_hardware_version": {kind: "int64", int64s: []validator.Int64{framework.Int64Between(4, 99)},
		description: "The lowest virtual hardware version allowed, e.g. `19` for vmx-19. Upgrading needs the VM powered off."},
	"migrate_encryption": {kind: "string", description: "Encrypted vMotion: `required`, `opportunistic` or `disabled`.",
		strings: []validator.String{stringvalidator.OneOf("required", "opportunistic", "disabled")}},
	"ft_encryption": {kind: "string",
		description: "Encrypted Fault Tolerance: `ftEncryptionRequired`, `ftEncryptionOpportunistic` or `ftEncryptionDisabled`.",
		strings:     []validator.String{stringvalidator.OneOf("ftEncryptionRequired", "ftEncryptionOpportunistic", "ftEncryptionDisabled")}},
}

func (f flagAttribute) resourceAttribute() schema.Attribute {
	switch f.kind {
	case "int64":
		return schema.Int64Attribute{Optional: true, CustomType: framework.Int64Type{}, MarkdownDescription: f.description, Validators: f.int64s}
	case "string":
		return schema.StringAttribute{Optional: true, MarkdownDescription: f.description, Validators: f.strings}
	}
	return schema.BoolAttribute{Optional: true, MarkdownDescription: f.description}
}

func (f flagAttribute) dataSourceAttribute() dsschema.Attribute {
	switch f.kind {
	case "int64":
		return dsschema.Int64Attribute{Optional: true, CustomType: framework.Int64Type{}, MarkdownDescription: f.description, Validators: f.int64s}
	case "string":
		return dsschema.StringAttribute{Optional: true, MarkdownDescription: f.description, Validators: f.strings}
	}
	return dsschema.BoolAttribute{Optional: true, MarkdownDescription: f.description}
}

// flagsModel holds the typed flags, embedded in the resource's and the data source's models.
type flagsModel struct {
	SecureBoot         types.Bool   `tfsdk:"secure_boot"`
	CPUHotAdd          types.Bool   `tfsdk:"cpu_hot_add"`
	MemoryHotAdd       types.Bool   `tfsdk:"memory_hot_add"`
	Logging            types.Bool   `tfsdk:"logging"`
	VTPMRequired       types.Bool   `tfsdk:"vtpm_required"`
	MinHardwareVersion types.Int64  `tfsdk:"min_hardware_version"`
	MigrateEncryption  types.String `tfsdk:"migrate_encryption"`
	FTEncryption       types.String `tfsdk:"ft_encryption"`
}

func (m *flagsModel) anySet() bool {
	for _, v := range []interface{ IsNull() bool }{m.SecureBoot, m.CPUHotAdd, m.MemoryHotAdd, m.Logging, m.VTPMRequired,
		m.MinHardwareVersion, m.MigrateEncryption, m.FTEncryption} {
		if !v.IsNull() {
			return true
		}
	}
	return false
}

// flags converts the typed flags; known turns false while one is unknown.
func (m *flagsModel) flags(known *bool) Flags {
	var f Flags
	f.SecureBoot, f.CPUHotAdd, f.MemoryHotAdd = framework.BoolPtr(m.SecureBoot, known), framework.BoolPtr(m.CPUHotAdd, known), framework.BoolPtr(m.MemoryHotAdd, known)
	f.Logging, f.VTPMRequired = framework.BoolPtr(m.Logging, known), framework.BoolPtr(m.VTPMRequired, known)
	if m.MinHardwareVersion.IsUnknown() || m.MigrateEncryption.IsUnknown() || m.FTEncryption.IsUnknown() {
		*known = false
	}
	f.MinHardwareVersion = int(m.MinHardwareVersion.ValueInt64())
	f.MigrateEncryption, f.FTEncryption = m.MigrateEncryption.ValueString(), m.FTEncryption.ValueString()
	return f
}

// settingsInput converts the explicit settings (a match not set is exact); known turns false
// while one is unknown.
func settingsInput(settings []settingModel, known *bool) []Setting {
	var out []Setting
	for _, s := range settings {
		if s.Key.IsUnknown() || s.Value.IsUnknown() || s.Match.IsUnknown() {
			*known = false
			continue
		}
		out = append(out, Setting{Key: s.Key.ValueString(), Value: s.Value.ValueString(), Match: settingMatch(s)})
	}
	return out
}

func settingMatch(s settingModel) Match {
	if m := Match(s.Match.ValueString()); m != "" {
		return m
	}
	return MatchExact
}

// validateRules checks what spans the rule attributes: each key once, a value where the match
// needs one and none where it does not, and at least one rule. what names the configuration in
// the error for no rule ("baseline").
func validateRules(what string, settings []settingModel, packs types.List, flags *flagsModel, diags *diag.Diagnostics) {
	seen := map[string]int{}
	for i, s := range settings {
		at := path.Root("settings").AtListIndex(i)
		if s.Key.IsUnknown() || s.Match.IsUnknown() || s.Value.IsUnknown() {
			continue
		}
		if j, dup := seen[s.Key.ValueString()]; dup {
			diags.AddAttributeError(at.AtName("key"), "Setting listed twice",
				fmt.Sprintf("settings[%d] and settings[%d] both set %s: one rule per key (with two values a VM could never comply).", j, i, s.Key.ValueString()))
		}
		seen[s.Key.ValueString()] = i
		match := settingMatch(s)
		switch {
		case match == MatchAbsent && !s.Value.IsNull():
			diags.AddAttributeError(at.AtName("value"), "Value with match = \"absent\"",
				fmt.Sprintf("settings[%d] (%s) must be absent, so it takes no value: remove value, or choose match exact or default_ok.", i, s.Key.ValueString()))
		case match != MatchAbsent && s.Value.IsNull():
			diags.AddAttributeError(at.AtName("value"), "Missing value",
				fmt.Sprintf("settings[%d] (%s) with match = %q needs the value it must hold.", i, s.Key.ValueString(), match))
		}
	}
	if len(settings) == 0 && (packs.IsNull() || len(packs.Elements()) == 0) && !flags.anySet() {
		diags.AddError("Empty "+what,
			fmt.Sprintf("The %s requires nothing: give packs (e.g. packs = [\"scg-8\"]), settings, or a flag such as secure_boot.", what))
	}
}

// validateTarget checks what the target decides: a VM baseline names its VMs in scope, a host
// baseline its hosts in hosts; packs are for one target; the typed flags are VM settings.
func validateTarget(target types.String, scopeSet, hostsSet bool, packs types.List, flags *flagsModel, diags *diag.Diagnostics) {
	if target.IsUnknown() {
		return
	}
	t := target.ValueString()
	if t == "" {
		t = TargetVM
	}
	want, other, otherBlock := "scope", "hosts", hostsSet
	if t == TargetHost {
		want, other, otherBlock = "hosts", "scope", scopeSet
	}
	if otherBlock {
		diags.AddAttributeError(path.Root(other), "Block "+other+" with target = \""+t+"\"",
			fmt.Sprintf("A %s baseline names its %ss in the %s block; remove %s (or set target = %q).", t, t, want, other, map[string]string{"scope": TargetVM, "hosts": TargetHost}[other]))
	}
	if (t == TargetVM && !scopeSet) || (t == TargetHost && !hostsSet) {
		what := "VMs: set at least one of tags, folders, pools or ids"
		if t == TargetHost {
			what = "hosts: set at least one of clusters, tags or ids"
		}
		diags.AddAttributeError(path.Root(want), "Missing "+want+" block",
			fmt.Sprintf("A baseline with target = %q needs a %s block naming its %s.", t, want, what))
	}
	if !packs.IsNull() && !packs.IsUnknown() {
		for i, e := range packs.Elements() {
			name, ok := e.(types.String)
			if !ok || name.IsUnknown() || name.IsNull() {
				continue
			}
			if p, found := LookupPack(name.ValueString()); found && p.Target != t {
				diags.AddAttributeError(path.Root("packs").AtListIndex(i), "Pack for another target",
					fmt.Sprintf("Pack %s holds %s settings, and this baseline's target is %q: use %s packs (%s), or set target = %q.",
						p.Name, p.Target, t, t, strings.Join(PackNames(t), ", "), p.Target))
			}
		}
	}
	if t == TargetHost && flags.anySet() {
		diags.AddAttributeError(path.Root("target"), "VM flags on a host baseline",
			"secure_boot, min_hardware_version, cpu_hot_add, memory_hot_add, migrate_encryption, ft_encryption, logging and "+
				"vtpm_required are VM settings: remove them from a baseline with target = \"host\", or put them in a VM baseline.")
	}
}

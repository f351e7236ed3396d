package baseline

import (
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
)

func (m *baselineModel) unknownComputed() {
	m.ID = types.StringValue(m.Name.ValueString())
	if m.Name.IsUnknown() {
		m.ID = types.StringUnknown()
	}
	m.RulesHash = types.StringUnknown()
	m.ScopeCount, m.CompliantCount, m.DriftedCount = types.Int64Unknown(), types.Int64Unknown(), types.Int64Unknown()
	m.Compliance = types.ListUnknown(types.ObjectType{AttrTypes: vmComplianceAttrTypes})
	m.HostCompliance = types.ListUnknown(types.ObjectType{AttrTypes: hostComplianceAttrTypes})
	m.Relaxed = types.ListUnknown(types.ObjectType{AttrTypes: relaxedAttrTypes})
}

// fill sets the computed values: the scope judged, with drifted the VMs (and drift) to show.
func (m *baselineModel) fill(in *input, rs ruleSet, ev *evaluation, drifted []vmDrift) {
	m.ID = types.StringValue(in.Name)
	m.RulesHash = types.StringValue(rs.hash())
	m.ScopeCount = types.Int64Value(int64(ev.count()))
	m.DriftedCount = types.Int64Value(int64(len(drifted)))
	m.CompliantCount = types.Int64Value(int64(ev.count() - len(drifted)))
	m.Compliance, m.HostCompliance = complianceLists(ev.target, drifted)
	relaxed := make([]attr.Value, 0, len(rs.relaxed))
	for _, x := range rs.relaxed {
		relaxed = append(relaxed, types.ObjectValueMust(relaxedAttrTypes, map[string]attr.Value{
			"key": types.StringValue(x.Key), "pack": types.StringValue(x.Pack), "pack_value": types.StringValue(x.PackValue),
			"value": types.StringValue(x.Value), "control": types.StringValue(x.Control),
		}))
	}
	m.Relaxed = types.ListValueMust(types.ObjectType{AttrTypes: relaxedAttrTypes}, relaxed)
}

// complianceLists are the compliance (VMs) and host_compliance (hosts) values of the drift: the
// target's list holds it, the other is empty.
func complianceLists(target string, drifted []vmDrift) (vms, hosts types.List) {
	driftType := types.ObjectType{AttrTypes: driftAttrTypes}
	var vmElems, hostElems []attr.Value
	for _, vd := range drifted {
		ds := make([]attr.Value, 0, len(vd.Drift))
		for _, d := range vd.Drift {
			ds = append(ds, types.ObjectValueMust(driftAttrTypes, map[string]attr.Value{
				"key": types.StringValue(d.Key), "expected": types.StringValue(d.Expected), "actual": types.StringValue(d.Actual),
				"match": types.StringValue(d.Match), "source": types.StringValue(d.Source), "control": types.StringValue(d.Control),
				"needs_power_cycle": types.BoolValue(d.PowerCycle), "manual": types.BoolValue(d.Manual),
				"changed_by": types.StringValue(d.ChangedBy), "changed_at": types.StringValue(d.ChangedAt),
			}))
		}
		if target == TargetHost {
			hostElems = append(hostElems, types.ObjectValueMust(hostComplianceAttrTypes, map[string]attr.Value{
				"host_id": types.StringValue(vd.ID), "host_name": types.StringValue(vd.Name), "cluster": types.StringValue(vd.Cluster),
				"drift": types.ListValueMust(driftType, ds),
			}))
			continue
		}
		vmElems = append(vmElems, types.ObjectValueMust(vmComplianceAttrTypes, map[string]attr.Value{
			"vm_id": types.StringValue(vd.ID), "vm_name": types.StringValue(vd.Name),
			"drift": types.ListValueMust(driftType, ds),
		}))
	}
	return types.ListValueMust(types.ObjectType{AttrTypes: vmComplianceAttrTypes}, orEmpty(vmElems)),
		types.ListValueMust(types.ObjectType{AttrTypes: hostComplianceAttrTypes}, orEmpty(hostElems))
}

func orEmpty(v []attr.Value) []attr.Value {
	if v == nil {
		return []attr.Value{}
	}
	return v
}

// fromRecord fills the declared attributes from a record: what an import puts in state.
func (m *baselineModel) fromRecord(rec *record) {
	m.ID, m.Name, m.Description = types.StringValue(rec.Name), types.StringValue(rec.Name), types.StringValue(rec.Description)
	m.Mode = types.StringValue(string(rec.Mode))
	m.Target = types.StringValue(TargetVM)
	m.Scope, m.Hosts = nil, nil
	if rec.Target == TargetHost && rec.Hosts != nil {
		m.Target = types.StringValue(TargetHost)
		m.Hosts = framework.HostSelectionFromVSphere(*rec.Hosts)
	} else {
		m.Scope = framework.SelectionFromVSphere(rec.Scope)
	}
	m.Packs = framework.StringList(rec.Packs)
	m.Settings = nil
	for _, s := range rec.Settings {
		v := types.StringValue(s.Value)
		if s.Match == MatchAbsent {
			v = types.StringNull()
		}
		m.Settings = append(m.Settings, settingModel{Key: types.StringValue(s.Key), Value: v, Match: types.StringValue(string(s.Match))})
	}
	f := rec.Flags
	m.SecureBoot, m.CPUHotAdd, m.MemoryHotAdd = boolValue(f.SecureBoot), boolValue(f.CPUHotAdd), boolValue(f.MemoryHotAdd)
	m.Logging, m.VTPMRequired = boolValue(f.Logging), boolValue(f.VTPMRequired)
	m.MinHardwareVersion = types.Int64Null()
	if f.MinHardwareVersion > 0 {
		m.MinHardwareVersion = types.Int64Value(int64(f.MinHardwareVersion))
	}
	m.MigrateEncryption, m.FTEncryption = stringOrNull(f.MigrateEncryption), stringOrNull(f.FTEncryption)
	m.AllowPowerCycle = types.BoolValue(rec.AllowPowerCycle)
}

func boolValue(b *bool) types.Bool {
	if b == nil {
		return types.BoolNull()
	}
	return types.BoolValue(*b)
}

func stringOrNull(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

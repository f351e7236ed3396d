package baseline

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

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
	m.lists = nil
	m.Relaxed = types.ListUnknown(types.ObjectType{AttrTypes: relaxedAttrTypes})
}

// fill sets the computed values: the scope judged, with drifted the VMs (and drift) to show.
func (m *baselineModel) fill(in *input, rs ruleSet, ev *evaluation, drifted []vmDrift) {
	m.ID = types.StringValue(in.Name)
	m.RulesHash = types.StringValue(rs.hash())
	m.ScopeCount = types.Int64Value(int64(ev.count()))
	m.DriftedCount = types.Int64Value(int64(len(drifted)))
	m.CompliantCount = types.Int64Value(int64(ev.count() - len(drifted)))
	m.Compliance, m.HostCompliance = nullCompliance()
	m.lists = complianceLists(ev.target, drifted)
	relaxed := make([]attr.Value, 0, len(rs.relaxed))
	for _, x := range rs.relaxed {
		relaxed = append(relaxed, types.ObjectValueMust(relaxedAttrTypes, map[string]attr.Value{
			"key": types.StringValue(x.Key), "pack": types.StringValue(x.Pack), "pack_value": types.StringValue(x.PackValue),
			"value": types.StringValue(x.Value), "control": types.StringValue(x.Control),
		}))
	}
	m.Relaxed = types.ListValueMust(types.ObjectType{AttrTypes: relaxedAttrTypes}, relaxed)
}

// Terraform types of the compliance lists, built directly as tftypes values (framework.SetWithLists):
// a report of 1,000 drifted VMs holds some 200,000 values.
var (
	driftTF          = tftypes.Object{AttributeTypes: tfAttrTypes(driftAttrTypes)}
	vmComplianceTF   = tftypes.Object{AttributeTypes: map[string]tftypes.Type{"vm_id": tftypes.String, "vm_name": tftypes.String, "drift": tftypes.List{ElementType: driftTF}}}
	hostComplianceTF = tftypes.Object{AttributeTypes: map[string]tftypes.Type{"host_id": tftypes.String, "host_name": tftypes.String,
		"cluster": tftypes.String, "drift": tftypes.List{ElementType: driftTF}}}
)

func tfAttrTypes(m map[string]attr.Type) map[string]tftypes.Type {
	out := make(map[string]tftypes.Type, len(m))
	for k, t := range m {
		out[k] = t.TerraformType(context.Background())
	}
	return out
}

// complianceLists are the values of compliance (VMs) and host_compliance (hosts) for the drift:
// the target's list holds it, the other is empty.
func complianceLists(target string, drifted []vmDrift) map[string]tftypes.Value {
	str := func(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
	var vms, hosts []tftypes.Value
	for _, vd := range drifted {
		ds := make([]tftypes.Value, 0, len(vd.Drift))
		for _, d := range vd.Drift {
			ds = append(ds, tftypes.NewValue(driftTF, map[string]tftypes.Value{
				"key": str(d.Key), "expected": str(d.Expected), "actual": str(d.Actual), "match": str(d.Match),
				"source": str(d.Source), "control": str(d.Control),
				"needs_power_cycle": tftypes.NewValue(tftypes.Bool, d.PowerCycle), "manual": tftypes.NewValue(tftypes.Bool, d.Manual),
				"changed_by": str(d.ChangedBy), "changed_at": str(d.ChangedAt),
			}))
		}
		list := tftypes.NewValue(tftypes.List{ElementType: driftTF}, ds)
		if target == TargetHost {
			hosts = append(hosts, tftypes.NewValue(hostComplianceTF, map[string]tftypes.Value{
				"host_id": str(vd.ID), "host_name": str(vd.Name), "cluster": str(vd.Cluster), "drift": list,
			}))
			continue
		}
		vms = append(vms, tftypes.NewValue(vmComplianceTF, map[string]tftypes.Value{"vm_id": str(vd.ID), "vm_name": str(vd.Name), "drift": list}))
	}
	return map[string]tftypes.Value{
		"compliance":      tftypes.NewValue(tftypes.List{ElementType: vmComplianceTF}, vms),
		"host_compliance": tftypes.NewValue(tftypes.List{ElementType: hostComplianceTF}, hosts),
	}
}

// nullCompliance is the model's value of the compliance lists while framework.SetWithLists puts
// them in place.
func nullCompliance() (vms, hosts types.List) {
	return types.ListNull(types.ObjectType{AttrTypes: vmComplianceAttrTypes}), types.ListNull(types.ObjectType{AttrTypes: hostComplianceAttrTypes})
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

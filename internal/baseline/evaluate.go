package baseline

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// input is what a baseline declares, in plain Go values. A compliance data source's input has no
// Name: its scope is only what it selects (no catalog composition tag) and it carries no stamp.
type input struct {
	Name, Description string
	Mode              Mode
	Target            string // TargetVM (also when empty) or TargetHost
	Scope             vsphere.Selection
	Hosts             vsphere.HostScope // TargetHost
	Packs             []string
	Settings          []Setting
	Flags             Flags
	AllowPowerCycle   bool
}

func (in *input) request() vsphere.Request {
	return request(in.Name, in.Mode, recordTarget(in.Target), in.Packs)
}

// selection is the scope plus the catalog's composition tag for this baseline (none for a data
// source).
func (in *input) selection() vsphere.Selection {
	sel := in.Scope
	if in.Name == "" {
		return sel
	}
	sel.Also = append(append([]vsphere.TagRef(nil), sel.Also...), vsphere.TagRef{Category: CompositionCategory, Name: in.Name})
	return sel
}

func (in *input) hostTarget() bool { return in.Target == TargetHost }

func (in *input) stampKey() string {
	if in.Mode == ModeEnforce && in.Name != "" && !in.hostTarget() {
		return stampPrefix + in.Name
	}
	return ""
}

// rules merges the packs and the explicit settings and flags.
func (in *input) rules() ruleSet {
	packs := make([]Pack, 0, len(in.Packs))
	for _, name := range in.Packs {
		if p, ok := LookupPack(name); ok {
			packs = append(packs, p)
		}
	}
	return buildRules(packs, in.Settings, in.Flags)
}

// evaluation is the scope judged against the rules: VMs, or hosts for a host baseline.
type evaluation struct {
	target  string
	scope   []vsphere.VMConfig
	hosts   []vsphere.HostOptions
	drifted []vmDrift // sorted by ID
	// conflicts are VMs (hosts) where another baseline requires another value of a key.
	conflicts []conflict
}

// count is the number of VMs or hosts in scope.
func (ev *evaluation) count() int { return len(ev.scope) + len(ev.hosts) }

type conflict struct {
	VMID, VMName, Key, Other, OtherValue, Value string
}

// evaluate reads the scope's configuration in bulk (one selection), judges every VM and, when
// some drifted, attributes each drift to the latest reconfiguration that set it (one event
// query for all of them).
func evaluate(ctx context.Context, c *vsphere.Client, in *input, rs ruleSet, others map[string]*record) (*evaluation, error) {
	if in.hostTarget() {
		return evaluateHosts(ctx, c, in, rs, others)
	}
	vms, err := c.SelectConfigs(ctx, in.selection())
	if err != nil {
		return nil, err
	}
	ev := &evaluation{target: TargetVM, scope: vms}
	var ids []string
	keys := map[string]bool{}
	for _, vm := range vms {
		ev.conflicts = append(ev.conflicts, conflictsOn(vm, in.Name, rs, others)...)
		ds := rs.evaluate(vm, in.stampKey())
		if len(ds) == 0 {
			continue
		}
		ev.drifted = append(ev.drifted, vmDrift{ID: vm.ID, Name: vm.Name, Drift: ds})
		ids = append(ids, vm.ID)
		for _, d := range ds {
			keys[eventKey(d.Key)] = true
		}
	}
	if len(ids) > 0 {
		if err := attribute(ctx, c, ev, ids, keys); err != nil {
			return nil, err
		}
	}
	return ev, nil
}

func attribute(ctx context.Context, c *vsphere.Client, ev *evaluation, ids []string, keys map[string]bool) error {
	list := make([]string, 0, len(keys))
	for k := range keys {
		list = append(list, k)
	}
	sort.Strings(list)
	changes, err := c.ConfigChanges(ctx, ids, list)
	if err != nil {
		return fmt.Errorf("reading who changed the drifted settings: %w", err)
	}
	for i := range ev.drifted {
		vd := &ev.drifted[i]
		for j := range vd.Drift {
			d := &vd.Drift[j]
			if ch, ok := changes[vd.ID][eventKey(d.Key)]; ok {
				d.ChangedBy, d.ChangedAt = ch.User, ch.Time.UTC().Format(time.RFC3339)
			}
		}
	}
	return nil
}

// conflictsOn finds, on one VM, the keys where an enforcing baseline the VM carries the stamp of
// requires another value than this one.
func conflictsOn(vm vsphere.VMConfig, self string, rs ruleSet, others map[string]*record) []conflict {
	var out []conflict
	for key := range vm.ExtraConfig {
		if !strings.HasPrefix(key, stampPrefix) || key == stampPrefix+self {
			continue
		}
		other := others[strings.TrimPrefix(key, stampPrefix)]
		if other == nil || other.Mode != ModeEnforce {
			continue // a baseline that only audits changes nothing: no conflict
		}
		out = append(out, ruleConflicts(vm.ID, vm.Name, rs, other)...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].VMID+out[i].Key < out[j].VMID+out[j].Key })
	return out
}

// ruleConflicts lists the keys, on one VM or host both hold, where another baseline's rules
// (as of its last apply) require another value than these.
func ruleConflicts(id, name string, rs ruleSet, other *record) []conflict {
	theirs := map[string]Setting{}
	for _, s := range other.Rules {
		theirs[s.Key] = s
	}
	var out []conflict
	for _, r := range rs.settings {
		t, ok := theirs[r.Key]
		if ok && (t.Match != r.Match || !strings.EqualFold(t.Value, r.Value)) {
			out = append(out, conflict{VMID: id, VMName: name, Key: r.Key, Other: other.Name, OtherValue: describe(t), Value: describe(r.Setting)})
		}
	}
	return out
}

func describe(s Setting) string {
	if s.Match == MatchAbsent {
		return "absent"
	}
	return fmt.Sprintf("%s (%s)", s.Value, s.Match)
}

// planned is what an apply leaves: for enforce, the drift it cannot remediate; for audit, all.
func (ev *evaluation) planned(in *input) []vmDrift {
	if in.Mode != ModeEnforce {
		return ev.drifted
	}
	var out []vmDrift
	for _, vd := range ev.drifted {
		if rest := remaining(vd.Drift, in.AllowPowerCycle); len(rest) > 0 {
			out = append(out, vmDrift{ID: vd.ID, Name: vd.Name, Cluster: vd.Cluster, Drift: rest})
		}
	}
	return out
}

// remediate fixes the drift an enforcing baseline can fix: one reconfiguration per VM, several at
// a time; a VM whose drift needs a power cycle (when allowed) is powered off first and on again
// after. It returns the failures by VM.
func remediate(ctx context.Context, c *vsphere.Client, in *input, ev *evaluation, concurrency int) map[string]error {
	if in.hostTarget() {
		return remediateHosts(ctx, c, ev, concurrency)
	}
	power := map[string]vsphere.PowerState{}
	for _, vm := range ev.scope {
		power[vm.ID] = vm.PowerState
	}
	failed := map[string]error{}
	var plain, cycled []vsphere.Remediation
	for _, vd := range ev.drifted {
		r, some, cycle := remediation(vd.ID, vd.Drift, in.AllowPowerCycle)
		if !some {
			continue
		}
		if cycle && power[vd.ID] == vsphere.PoweredOn {
			if err := c.SetPower(ctx, vd.ID, false); err != nil {
				failed[vd.ID] = fmt.Errorf("powering off for remediation: %w", err)
				continue
			}
			cycled = append(cycled, r)
			continue
		}
		plain = append(plain, r)
	}
	for id, err := range c.Remediate(ctx, append(plain, cycled...), concurrency) {
		failed[id] = err
	}
	for _, r := range cycled {
		if err := c.SetPower(ctx, r.VMID, true); err != nil && failed[r.VMID] == nil {
			failed[r.VMID] = fmt.Errorf("powering on again after remediation: %w", err)
		}
	}
	return failed
}

package baseline

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// Host baselines (target = "host"): the same rules judged against ESXi advanced options (the
// host's OptionManager) on the hosts in scope. A host has no extraConfig, so a host baseline
// stamps nothing; another enforcing host baseline's scope is resolved in the same read to find
// conflicting settings. An option the host does not have counts as absent (vCenter answers
// InvalidName for it); ESXi neither creates nor removes options, so such drift is manual.

// Targets of a baseline.
const (
	TargetVM   = "vm"
	TargetHost = "host"
)

// Targets lists the targets, for validators and docs.
func Targets() []string { return []string{TargetVM, TargetHost} }

// noOptionText is the actual value of an option the host does not have.
const noOptionText = "(no such option on this host)"

// evaluateHosts resolves this baseline's host scope and the scopes of the other enforcing host
// baselines in one read, reads the options the rules name from every host in one more, and
// judges each host.
func evaluateHosts(ctx context.Context, c *vsphere.Client, in *input, rs ruleSet, others map[string]*record) (*evaluation, error) {
	scopes := []vsphere.HostScope{in.Hosts}
	var rivals []*record
	for _, name := range sortedNames(others) {
		o := others[name]
		if name == in.Name || o.Mode != ModeEnforce || o.Target != TargetHost || o.Hosts == nil {
			continue
		}
		rivals = append(rivals, o)
		scopes = append(scopes, *o.Hosts)
	}
	resolved, errs, err := c.SelectHostsEach(ctx, scopes)
	if err != nil {
		return nil, err
	}
	if errs[0] != nil {
		return nil, errs[0]
	}
	keys := make([]string, 0, len(rs.settings))
	for _, r := range rs.settings {
		keys = append(keys, r.Key)
	}
	opts, err := c.OptionsOf(ctx, resolved[0], keys)
	if err != nil {
		return nil, err
	}
	ev := &evaluation{target: TargetHost}
	for i, h := range opts {
		ev.hosts = append(ev.hosts, h)
		ref := resolved[0][i]
		for j, o := range rivals {
			if errs[j+1] == nil && holds(resolved[j+1], ref.ID) {
				ev.conflicts = append(ev.conflicts, ruleConflicts(ref.ID, ref.Name, rs, o)...)
			}
		}
		if ds := rs.evaluateHost(h); len(ds) > 0 {
			ev.drifted = append(ev.drifted, vmDrift{ID: h.HostID, Name: h.HostName, Cluster: h.Cluster, Drift: ds})
		}
	}
	return ev, nil
}

func holds(hosts []vsphere.HostRef, id string) bool {
	for _, h := range hosts {
		if h.ID == id {
			return true
		}
	}
	return false
}

func sortedNames(m map[string]*record) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// evaluateHost judges one host's options against the settings (hosts have no typed flags).
func (rs ruleSet) evaluateHost(h vsphere.HostOptions) []drift {
	var out []drift
	for _, r := range rs.settings {
		v, present := h.Options[r.Key]
		actual := optionText(v)
		d := drift{Key: r.Key, Expected: r.Value, Actual: actual, Match: string(r.Match), Source: r.Source, Control: r.Control}
		if !present {
			d.Actual = noOptionText
		}
		switch {
		case r.Match == MatchAbsent:
			if !present {
				continue
			}
			d.Expected, d.Manual = absentText, true // ESXi does not remove an option
		case present && strings.EqualFold(actual, r.Value):
			continue
		case !present && r.Match == MatchDefaultOK:
			continue
		case !present:
			d.Manual = true // nor create one
		}
		out = append(out, d)
	}
	return out
}

// optionText is an option's value as a baseline writes it: decimal numbers, true/false.
func optionText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	}
	return fmt.Sprint(v)
}

// remediateHosts sets the options that drifted on each host (one UpdateOptions per host, several
// at a time); it returns the failures by host ID.
func remediateHosts(ctx context.Context, c *vsphere.Client, ev *evaluation, concurrency int) map[string]error {
	values := map[string]map[string]any{}
	for _, hd := range ev.drifted {
		for _, d := range hd.Drift {
			if d.Manual {
				continue
			}
			if values[hd.ID] == nil {
				values[hd.ID] = map[string]any{}
			}
			values[hd.ID][d.Key] = d.Expected
		}
	}
	return c.SetHostsOptions(ctx, values, concurrency)
}

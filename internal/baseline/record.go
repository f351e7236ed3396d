package baseline

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// A baseline's definition lives in vCenter: keyed records on the datacenter (custom attribute
// vmgmt.baselines, one record per baseline name), written through the record store's locked
// read-modify-write. Another baseline's plan reads them to find conflicting settings on a VM both
// reach (a VM carries the stamp of each enforcing baseline that holds it).

// recordsAttribute is the datacenter custom attribute holding every baseline's record.
const recordsAttribute = "vmgmt.baselines"

// recordFormat is the format of the records written now.
const recordFormat = 1

// CompositionCategory is the tag category of catalog VMs whose item names a baseline: a VM
// tagged vmgmt-baseline:<name> is in that baseline's scope with no selection naming it.
const CompositionCategory = "vmgmt-baseline"

type record struct {
	Name            string             `json:"name"`
	Description     string             `json:"description,omitempty"`
	Request         string             `json:"request"`
	Mode            Mode               `json:"mode"`
	Target          string             `json:"target,omitempty"` // "" is TargetVM
	Scope           vsphere.Selection  `json:"scope"`
	Hosts           *vsphere.HostScope `json:"hosts,omitempty"`
	Packs           []string           `json:"packs,omitempty"`
	Settings        []Setting          `json:"settings,omitempty"`
	Flags           Flags              `json:"flags"`
	AllowPowerCycle bool               `json:"allow_power_cycle,omitempty"`
	// Rules are the merged rules (packs, then explicit) as of the last apply, for other
	// baselines' conflict checks; Hash is their stamp.
	Rules []Setting `json:"rules,omitempty"`
	Hash  string    `json:"hash,omitempty"`
}

// readRecords reads every baseline's record fresh.
func readRecords(ctx context.Context, c *vsphere.Client) (map[string]*record, error) {
	raw, err := c.DatacenterRecords(ctx, recordsAttribute, true)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*record, len(raw))
	for name, r := range raw {
		var rec record
		if err := json.Unmarshal(r, &rec); err != nil {
			return nil, fmt.Errorf("the datacenter's custom attribute %s holds a record %q that cannot be read (fix or clear it in vCenter): %w",
				recordsAttribute, name, err)
		}
		out[name] = &rec
	}
	return out, nil
}

// putRecord stores (rec) or removes (nil, by name) a baseline's record.
func putRecord(ctx context.Context, c *vsphere.Client, name string, rec *record) error {
	return c.ChangeDatacenterRecords(ctx, recordsAttribute, recordFormat, func(m map[string]json.RawMessage) error {
		if rec == nil {
			delete(m, name)
			return nil
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		m[name] = b
		return nil
	})
}

// request identifies a baseline's create across runs: its name, mode, target (only when host, so
// that a VM baseline's token is what it was before host baselines) and packs.
func request(name string, mode Mode, target string, packs []string) vsphere.Request {
	ps := append([]string(nil), packs...)
	sort.Strings(ps)
	parts := []string{name, string(mode)}
	if target == TargetHost {
		parts = append(parts, "target="+TargetHost)
	}
	return vsphere.NewRequest("vmgmt_config_baseline", append(parts, ps...)...)
}

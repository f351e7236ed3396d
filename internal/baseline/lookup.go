package baseline

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
)

// Mode lookups for other resources: a catalog VM whose item names a baseline asks whether that
// baseline enforces (the `baseline` policy pack requires every catalog VM to be held by one).

// Modes returns the mode of every configuration baseline defined in vCenter, by name, from the
// records as this provider process last read them (one read per process, not per caller).
func Modes(ctx context.Context, c *framework.Client) (map[string]Mode, error) {
	raw, err := c.VSphere.DatacenterRecords(ctx, recordsAttribute, false)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Mode, len(raw))
	for name, r := range raw {
		var rec struct {
			Mode Mode `json:"mode"`
		}
		if err := json.Unmarshal(r, &rec); err != nil {
			return nil, fmt.Errorf("the datacenter's custom attribute %s holds a record %q that cannot be read: %w", recordsAttribute, name, err)
		}
		out[name] = rec.Mode
	}
	return out, nil
}

// PlannedMode is the mode a baseline's plan in this provider process noted
// (framework.PlannedBaseline): a resource planned after a baseline it refers to sees the
// baseline's mode before the baseline exists in vCenter.
func PlannedMode(c *framework.Client, name string) (Mode, bool) {
	v, ok := c.Planned(framework.PlannedBaseline, name)
	if !ok {
		return "", false
	}
	m, ok := v.(Mode)
	return m, ok
}

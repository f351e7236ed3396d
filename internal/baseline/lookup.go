package baseline

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
)

// Lookup answers other functions' questions about baselines (framework.Baselines): a catalog VM
// whose item names a baseline asks whether that baseline enforces (the `baseline` policy pack
// requires every catalog VM to be held by one).
type Lookup struct{}

var _ framework.Baselines = Lookup{}

// Mode implements framework.Baselines: the mode a plan in this provider process noted
// (framework.PlannedBaseline), so that a resource planned after a baseline it refers to sees it
// before it exists; else the mode vCenter records, from the records as this provider process last
// read them (one read per process, not per caller).
func (Lookup) Mode(ctx context.Context, c *framework.Client, name string) (string, error) {
	if v, ok := c.Planned(framework.PlannedBaseline, name); ok {
		if m, ok := v.(Mode); ok {
			return string(m), nil
		}
	}
	raw, err := c.VSphere.DatacenterRecords(ctx, recordsAttribute, false)
	if err != nil {
		return "", err
	}
	r, ok := raw[name]
	if !ok {
		return "", nil
	}
	var rec struct {
		Mode Mode `json:"mode"`
	}
	if err := json.Unmarshal(r, &rec); err != nil {
		return "", fmt.Errorf("the datacenter's custom attribute %s holds a record %q that cannot be read: %w", recordsAttribute, name, err)
	}
	return string(rec.Mode), nil
}

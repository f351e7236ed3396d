package framework

import (
	"context"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// Management functions do not import each other; where one must ask another (a catalog VM
// whose item names a configuration baseline), the question is an interface here, the answer
// is implemented by the function that owns the data, and the provider wires the two together in
// Client.

// Baselines is what other functions may ask of configuration baselines (internal/baseline
// implements it).
type Baselines interface {
	// Mode is the mode ("enforce" or "audit") of the baseline of that name: as a plan in this
	// provider process noted it, else as vCenter records it; "" when no baseline has the name.
	Mode(ctx context.Context, c *Client, name string) (string, error)
	// Birth is what a new VM must be made with to comply with the baseline of that name (its
	// settings, flags and stamp), read fresh, and whether that baseline exists and enforces: a
	// catalog VM is born compliant with its item's baseline.
	Birth(ctx context.Context, c *vsphere.Client, name string) (vsphere.Remediation, bool, error)
}

package vsphere

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/types"
)

// GuestUp is what WaitGuestUp saw of a VM that came up.
type GuestUp struct {
	// Proof says what showed the guest up: "guest heartbeat green" when VMware Tools report a
	// heartbeat, "powered on (no VMware Tools to report a heartbeat)" when the guest has none.
	Proof string
	// At is when it was seen.
	At time.Time
}

// The properties WaitGuestUp follows.
var guestProps = []string{"runtime.powerState", "guest.toolsStatus", "guestHeartbeatStatus"}

// WaitGuestUp waits, up to timeout, for a VM to be powered on with its guest up: VMware Tools
// reporting a green heartbeat, or, for a guest without Tools, powered on alone. It follows the
// VM through one property-collector wait, not by polling. The error says what was last seen.
func (c *Client) WaitGuestUp(ctx context.Context, id string, timeout time.Duration) (GuestUp, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var power types.VirtualMachinePowerState
	var tools types.VirtualMachineToolsStatus
	var heartbeat types.ManagedEntityStatus
	var up GuestUp
	err := property.Wait(ctx, c.collector(), vmRef(id), guestProps, func(changes []types.PropertyChange) bool {
		for _, ch := range changes {
			switch v := ch.Val.(type) {
			case types.VirtualMachinePowerState:
				power = v
			case types.VirtualMachineToolsStatus:
				tools = v
			case types.ManagedEntityStatus:
				heartbeat = v
			}
		}
		if power != types.VirtualMachinePowerStatePoweredOn {
			return false
		}
		switch {
		case heartbeat == types.ManagedEntityStatusGreen:
			up.Proof = "guest heartbeat green"
		case tools == "" || tools == types.VirtualMachineToolsStatusToolsNotInstalled:
			up.Proof = "powered on (no VMware Tools to report a heartbeat)"
		default:
			return false
		}
		up.At = time.Now()
		return true
	})
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return up, fmt.Errorf("VM %s did not come up within %s: power %s, VMware Tools %s, heartbeat %s", id, timeout, orDash(string(power)), orDash(string(tools)), orDash(string(heartbeat)))
		}
		return up, wrapNotFound("virtual machine", id, err)
	}
	return up, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

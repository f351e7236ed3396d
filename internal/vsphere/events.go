package vsphere

import (
	"context"
	"fmt"

	"github.com/vmware/govmomi/event"
	"github.com/vmware/govmomi/vim25/types"
)

// PostEvent posts a message to vCenter's event log, on the client's datacenter, so that what an
// operator command did (a backup run's result) shows in the vSphere Client beside vCenter's own
// events, as a GeneralEvent (vCenter has no datacenter-level warning event; say the outcome in
// the message).
func (c *Client) PostEvent(ctx context.Context, message string) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.APITimeout)
	defer cancel()
	dc, err := c.Datacenter(ctx)
	if err != nil {
		return err
	}
	base := types.Event{
		Datacenter:           &types.DatacenterEventArgument{Datacenter: dc.Reference(), EntityEventArgument: types.EntityEventArgument{Name: dc.Name()}},
		FullFormattedMessage: message,
	}
	ev := &types.GeneralEvent{Event: base, Message: message}
	if err := event.NewManager(c.vim).PostEvent(ctx, ev); err != nil {
		return fmt.Errorf("posting an event to vCenter: %w", err)
	}
	return nil
}

package vsphere

import (
	"context"
	"errors"
	"fmt"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// maxTaskRewaits bounds how often one task wait starts again after losing its session.
const maxTaskRewaits = 5

// waitTask waits for a vCenter task to finish and returns its info. A task that failed returns
// its fault as a task.Error, so callers test it as any vCenter fault (IsNotFound, fault.Is).
//
// A task wait reads through a property collector of the session it started on. When that session
// ends (terminated by an administrator, expired, replaced by a re-login of a parallel call), the
// collector goes with it, while the task goes on running in vCenter. The wait then starts again on
// the same task, by its reference, in the session that replaced the lost one: only the task's own
// outcome, or an error that is not about the session, is returned.
func (c *Client) waitTask(ctx context.Context, t *object.Task) (*types.TaskInfo, error) {
	ref := t.Reference()
	for attempt := 0; ; attempt++ {
		gen := c.reauth.generation()
		info, err := object.NewTask(c.vim, ref).WaitForResult(ctx)
		if finished(info) {
			// The task's outcome is the answer, even when removing the collector failed after it.
			return outcome(info)
		}
		if err == nil {
			return info, fmt.Errorf("waiting for task %s: the wait ended before the task did", ref.Value)
		}
		var terr task.Error
		if errors.As(err, &terr) || ctx.Err() != nil {
			return info, err
		}
		// The wait failed, not the task. The task may have finished all the same: the wait may
		// have seen its outcome and then failed to remove its filter.
		if now, rerr := c.taskInfo(ctx, ref); rerr == nil && finished(now) {
			return outcome(now)
		}
		if attempt >= maxTaskRewaits || !(c.reauth.generation() != gen || collectorGone(err)) {
			return info, err
		}
	}
}

// taskInfo reads a task's info in one round trip.
func (c *Client) taskInfo(ctx context.Context, ref types.ManagedObjectReference) (*types.TaskInfo, error) {
	var t mo.Task
	if err := c.collector().RetrieveOne(ctx, ref, []string{"info"}, &t); err != nil {
		return nil, err
	}
	return &t.Info, nil
}

// outcome is what waitTask returns for a finished task.
func outcome(info *types.TaskInfo) (*types.TaskInfo, error) {
	if info.State == types.TaskInfoStateError {
		return info, task.Error{LocalizedMethodFault: info.Error, Description: info.Description}
	}
	return info, nil
}

func finished(info *types.TaskInfo) bool {
	return info != nil && (info.State == types.TaskInfoStateSuccess || info.State == types.TaskInfoStateError)
}

// collectorGone reports whether err says that a session-scoped object a wait or a read used (a
// property collector, its filter, a view) no longer exists: its session ended.
func collectorGone(err error) bool {
	var mnf *types.ManagedObjectNotFound
	if _, ok := fault.As(err, &mnf); !ok || mnf == nil {
		return false
	}
	switch mnf.Obj.Type {
	case "PropertyCollector", "PropertyFilter", "ContainerView", "ListView", "InventoryView":
		return true
	}
	return false
}

package vsphere

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// Poll intervals of a taskBatch: the first read comes soon after a task starts (most
// reconfigure tasks take well under a second), then the interval grows by half while nothing
// finishes, up to the longest.
const (
	minTaskPoll = 25 * time.Millisecond
	maxTaskPoll = time.Second
)

// taskBatch waits for many vCenter tasks together. Where waitTask spends six round trips on each
// task (a property collector, a filter, the wait, and removing both), a batch reads the info of
// every task still pending with one RetrievePropertiesEx per poll, from the session's default
// property collector: the cost is one round trip per poll, however many tasks are in flight.
//
// What waitTask guarantees holds: a task that failed returns its fault as a task.Error to its own
// waiter only; a session that ends is replaced by the re-login below (the default collector is
// not session-scoped, so nothing is lost with it) and the poll is read again, without failing
// the tasks still running; a waiter's context ends its wait.
type taskBatch struct {
	c       *Client
	mu      sync.Mutex
	pending map[types.ManagedObjectReference]chan taskResult
	wake    chan struct{} // a task was added while the poller was idle
	// lost counts the polls in a row that failed about the session; past maxTaskRewaits the
	// pending tasks get the error.
	lost int
}

type taskResult struct {
	info *types.TaskInfo
	err  error
}

// newTaskBatch starts a batch's poller, which runs until stop is called (stop waits for it).
func (c *Client) newTaskBatch(ctx context.Context) (b *taskBatch, stop func()) {
	b = &taskBatch{c: c, pending: map[types.ManagedObjectReference]chan taskResult{}, wake: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.run(ctx)
	}()
	return b, func() {
		cancel()
		<-done
	}
}

// wait waits for the task to finish, as waitTask does: a task that failed returns its fault as a
// task.Error.
func (b *taskBatch) wait(ctx context.Context, t *object.Task) (*types.TaskInfo, error) {
	ref := t.Reference()
	ch := make(chan taskResult, 1)
	b.mu.Lock()
	b.pending[ref] = ch
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	select {
	case r := <-ch:
		return r.info, r.err
	case <-ctx.Done():
		b.mu.Lock()
		delete(b.pending, ref)
		b.mu.Unlock()
		select {
		case r := <-ch: // delivered while giving up
			return r.info, r.err
		default:
		}
		return nil, fmt.Errorf("waiting for task %s: %w", ref.Value, ctx.Err())
	}
}

// run polls while tasks are pending, and sleeps on wake while none are.
func (b *taskBatch) run(ctx context.Context) {
	interval := minTaskPoll
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		if b.idle() {
			select {
			case <-b.wake:
			case <-ctx.Done():
				return
			}
			interval = minTaskPoll
		}
		timer.Reset(interval)
		select {
		case <-timer.C:
		case <-ctx.Done():
			return
		}
		if b.poll(ctx) > 0 {
			interval = minTaskPoll
		} else {
			interval = min(interval+interval/2, maxTaskPoll)
		}
	}
}

func (b *taskBatch) idle() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending) == 0
}

// poll reads the info of every pending task in one round trip and hands each finished task its
// outcome. It returns how many tasks it answered.
func (b *taskBatch) poll(ctx context.Context) int {
	b.mu.Lock()
	refs := make([]types.ManagedObjectReference, 0, len(b.pending))
	for ref := range b.pending {
		refs = append(refs, ref)
	}
	b.mu.Unlock()
	if len(refs) == 0 {
		return 0
	}
	pctx, cancel := context.WithTimeout(ctx, b.c.cfg.APITimeout)
	defer cancel()
	gen := b.c.reauth.generation()
	var tasks []mo.Task
	err := b.c.collector().Retrieve(pctx, refs, []string{"info"}, &tasks)
	if err != nil {
		if ctx.Err() != nil {
			return 0 // the batch is stopping; each waiter sees its own context
		}
		var mnf *types.ManagedObjectNotFound
		if _, ok := fault.As(err, &mnf); ok && mnf != nil && mnf.Obj.Type == "Task" {
			// vCenter no longer knows one task (it forgets finished tasks after a while): that
			// task alone is answered, the others are read again at the next poll. The fault is
			// not passed on, so that it does not read as the VM not found.
			b.deliver(mnf.Obj, taskResult{err: fmt.Errorf("waiting for task %s: vCenter no longer knows the task (%v)", mnf.Obj.Value, err)})
			return 1
		}
		b.lost++
		if b.lost <= maxTaskRewaits && (b.c.reauth.generation() != gen || collectorGone(err) || isNotAuthenticated(err)) {
			return 0 // the session was replaced: read again in the new one
		}
		b.lost = 0
		for _, ref := range refs {
			b.deliver(ref, taskResult{err: fmt.Errorf("waiting for task %s: %w", ref.Value, err)})
		}
		return len(refs)
	}
	b.lost = 0
	n := 0
	for i := range tasks {
		info := &tasks[i].Info
		if !finished(info) {
			continue
		}
		r := taskResult{}
		r.info, r.err = outcome(info)
		if b.deliver(tasks[i].Self, r) {
			n++
		}
	}
	return n
}

// deliver hands a task's outcome to its waiter, if it still waits.
func (b *taskBatch) deliver(ref types.ManagedObjectReference, r taskResult) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch, ok := b.pending[ref]
	if !ok {
		return false
	}
	delete(b.pending, ref)
	ch <- r
	return true
}

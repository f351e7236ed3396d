package runner

import (
	"io"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// barsRefresh is how often the bars are redrawn.
const barsRefresh = 150 * time.Millisecond

// Bars draws a progress bar per disk being exported (vm/disk, bytes done of the disk's size,
// speed, time left) on a terminal; a finished disk's bar stops at its final state above the
// running ones. The notes, the VMs' lines and the jobs' summaries are printed above the bars
// through mpb's writer, as Plain prints them, so they never garble the bars. Call Wait when the
// run is done: it draws the last frame and releases the terminal. It is safe for concurrent use.
type Bars struct {
	p     *mpb.Progress
	lines *Plain
	// refresh drives mpb's redraws: a ticker while the run goes on, and one last redraw in
	// Wait, so that the summary written just before it is drawn.
	refresh chan any
	stop    chan struct{}
	ticker  sync.WaitGroup
	// shutdown is closed when mpb's container is down (after Wait, or a failed draw), when
	// refresh has no listener any more.
	shutdown chan any

	mu   sync.Mutex
	bars map[string]*mpb.Bar // by job/vm/disk, while the disk is exported
}

// NewBars draws on w; width is the bars' width in columns, 0 for the terminal's.
func NewBars(w io.Writer, width int) *Bars {
	b := &Bars{refresh: make(chan any), stop: make(chan struct{}), shutdown: make(chan any), bars: map[string]*mpb.Bar{}}
	opts := []mpb.ContainerOption{mpb.WithOutput(w), mpb.WithManualRefresh(b.refresh),
		mpb.WithShutdownNotifier(b.shutdown), mpb.PopCompletedMode()}
	if width > 0 {
		opts = append(opts, mpb.WithWidth(width))
	}
	b.p = mpb.New(opts...)
	b.lines = &Plain{W: b.p}
	b.ticker.Add(1)
	go b.tick()
	return b
}

func (b *Bars) tick() {
	defer b.ticker.Done()
	t := time.NewTicker(barsRefresh)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			select {
			case b.refresh <- now:
			case <-b.stop:
				return
			case <-b.shutdown:
				return
			}
		case <-b.stop:
			return
		}
	}
}

// Wait ends the bars of disks still running (a run cut short), draws the last frame with the
// lines written before it, and waits for mpb to finish. Call it once, after the run.
func (b *Bars) Wait() {
	b.mu.Lock()
	for k, bar := range b.bars {
		bar.Abort(false)
		delete(b.bars, k)
	}
	b.mu.Unlock()
	close(b.stop)
	b.ticker.Wait()
	select {
	case b.refresh <- time.Now(): // drawn before the container shuts down in p.Wait
	case <-b.shutdown:
	}
	b.p.Wait()
}

func barKey(job, vm, disk string) string { return job + "/" + vm + "/" + disk }

// DiskStart adds the disk's bar.
func (b *Bars) DiskStart(job, vm, disk string, size int64) {
	bar := b.p.AddBar(max(size, 0),
		mpb.PrependDecorators(
			decor.Name(vm+"/"+disk, decor.WCSyncSpaceR),
			decor.Counters(decor.SizeB1024(0), "% .1f / % .1f", decor.WCSyncSpace),
		),
		mpb.AppendDecorators(
			decor.OnAbort(decor.OnComplete(decor.AverageSpeed(decor.SizeB1024(0), "% .1f", decor.WCSyncSpace), "done"), "failed"),
			decor.OnAbortOrOnComplete(decor.AverageETA(decor.ET_STYLE_GO, decor.WCSyncSpace), ""),
		),
	)
	b.mu.Lock()
	b.bars[barKey(job, vm, disk)] = bar
	b.mu.Unlock()
}

func (b *Bars) bar(job, vm, disk string, remove bool) *mpb.Bar {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := barKey(job, vm, disk)
	bar := b.bars[k]
	if remove {
		delete(b.bars, k)
	}
	return bar
}

// DiskProgress moves the disk's bar.
func (b *Bars) DiskProgress(job, vm, disk string, done, _ int64) {
	if bar := b.bar(job, vm, disk, false); bar != nil {
		bar.SetCurrent(done)
	}
}

// DiskDone completes the disk's bar at its bytes, or aborts it when it failed.
func (b *Bars) DiskDone(job, vm, disk string, bytes int64, err error) {
	bar := b.bar(job, vm, disk, true)
	if bar == nil {
		return
	}
	if err != nil {
		bar.Abort(false)
		return
	}
	bar.SetTotal(bytes, true)
}

// Note prints the message above the bars.
func (b *Bars) Note(msg string) { b.lines.Note(msg) }

// JobStart prints that the job runs.
func (b *Bars) JobStart(job string) { b.lines.JobStart(job) }

// VMStart draws nothing: the VM's disks get bars.
func (b *Bars) VMStart(string, string) {}

// VMDone prints the VM's line above the bars.
func (b *Bars) VMDone(job string, vm VMResult) { b.lines.VMDone(job, vm) }

// HostStart prints the host's start line above the bars: a bundle is too small for a bar.
func (b *Bars) HostStart(job, host string) { b.lines.HostStart(job, host) }

// HostDone prints the host's line above the bars.
func (b *Bars) HostDone(job string, h VMResult) { b.lines.HostDone(job, h) }

// RestoreStart prints the restore's line above the bars.
func (b *Bars) RestoreStart(job, vm, point string) { b.lines.RestoreStart(job, vm, point) }

// RestoreDone prints the VM's restore line above the bars.
func (b *Bars) RestoreDone(job string, res RestoreResult) { b.lines.RestoreDone(job, res) }

// VerifyDone prints the point's restore-test line above the bars.
func (b *Bars) VerifyDone(job string, res VerifyResult) { b.lines.VerifyDone(job, res) }

// JobDone prints the job's summary above the bars.
func (b *Bars) JobDone(res JobResult) { b.lines.JobDone(res) }

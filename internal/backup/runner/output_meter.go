package runner

import (
	"io"
	"time"
)

// progressEvery is the least time between two progress events of a disk. With the 1% step it
// bounds a disk's progress events to 4 a second on a fast link and to about 100 a disk, and
// progressHeartbeat keeps a large disk on a slow link from going quiet for minutes.
const (
	progressEvery     = 250 * time.Millisecond
	progressHeartbeat = 10 * time.Second
)

// diskMeter counts a disk's bytes as they pass from the export into the repository writer and
// reports them to the Output, throttled: an event needs progressEvery since the last one, and
// 1% of the disk since the last one (when its size is known) or progressHeartbeat. A disk's
// meter is read by one goroutine.
type diskMeter struct {
	r             io.Reader
	out           Output
	job, vm, disk string
	size          int64
	done          int64
	step          int64         // bytes between two events: 1% of size, 0 when size is unknown
	every         time.Duration // time between two events
	now           func() time.Time
	lastN         int64
	lastT         time.Time
}

func newDiskMeter(r io.Reader, out Output, job, vm, disk string, size int64, every time.Duration, now func() time.Time) *diskMeter {
	m := &diskMeter{r: r, out: out, job: job, vm: vm, disk: disk, size: size, every: every, now: now}
	if size > 0 {
		m.step = max(size/100, 1)
	}
	m.lastT = now()
	return m
}

func (m *diskMeter) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if n > 0 {
		m.done += int64(n)
		t := m.now()
		if since := t.Sub(m.lastT); since >= m.every && (m.done-m.lastN >= m.step || since >= progressHeartbeat) {
			m.lastN, m.lastT = m.done, t
			m.out.DiskProgress(m.job, m.vm, m.disk, m.done, m.size)
		}
	}
	return n, err
}

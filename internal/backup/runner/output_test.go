package runner

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// jsonLine is a JSON line as a log shipper reads it.
type jsonLine struct {
	Time    string   `json:"time"`
	Event   string   `json:"event"`
	Job     string   `json:"job"`
	VM      string   `json:"vm"`
	Host    string   `json:"host"`
	Point   string   `json:"point"`
	Disk    string   `json:"disk"`
	Status  string   `json:"status"`
	Bytes   *int64   `json:"bytes"`
	Size    *int64   `json:"size"`
	Percent *float64 `json:"percent"`
	Error   string   `json:"error"`
	Message string   `json:"message"`
	Counts  *struct {
		VMs, OK, Failed, Skipped int
		RestorePoints            int `json:"restore_points"`
	} `json:"counts"`
	Results []struct {
		VM, Status, Error string
		Bytes             int64
	} `json:"results"`
}

// parseLines parses every line of out as one event, and fails on a line that is not one.
func parseLines(t *testing.T, out []byte) []jsonLine {
	t.Helper()
	var events []jsonLine
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var e jsonLine
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("line %d is not one event: %v\n%s", len(events)+1, err, sc.Text())
		}
		if _, err := time.Parse(time.RFC3339Nano, e.Time); err != nil || e.Event == "" {
			t.Fatalf("line %d has no time or event: %s", len(events)+1, sc.Text())
		}
		events = append(events, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return events
}

// diskRun is one disk's events, in order.
type diskRun struct {
	start    jsonLine
	progress []jsonLine
	done     *jsonLine
}

// checkDisks checks each disk's sequence (start, progress with growing bytes, done with the
// disk's size, all between the VM's start and done) and returns the disks by vm/disk.
func checkDisks(t *testing.T, events []jsonLine) map[string]*diskRun {
	t.Helper()
	disks := map[string]*diskRun{}
	vmState := map[string]string{}
	for i, e := range events {
		key := e.VM + "/" + e.Disk
		switch e.Event {
		case "vm_start":
			vmState[e.VM] = "running"
		case "vm_done":
			if vmState[e.VM] != "running" {
				t.Errorf("event %d: vm_done of %s without its vm_start", i, e.VM)
			}
			vmState[e.VM] = "done"
		case "disk_start":
			if vmState[e.VM] != "running" || disks[key] != nil {
				t.Errorf("event %d: disk_start of %s outside its VM's run, or twice", i, key)
			}
			disks[key] = &diskRun{start: e}
		case "disk_progress":
			d := disks[key]
			if d == nil || d.done != nil {
				t.Fatalf("event %d: progress of %s outside start..done", i, key)
			}
			last := int64(0)
			if n := len(d.progress); n > 0 {
				last = *d.progress[n-1].Bytes
			}
			if e.Bytes == nil || *e.Bytes <= last || *e.Bytes > *d.start.Size {
				t.Errorf("event %d: progress of %s at %v bytes after %d, of %d", i, key, e.Bytes, last, *d.start.Size)
			}
			if e.Percent == nil || *e.Percent != float64(*e.Bytes*10000 / *e.Size)/100 {
				t.Errorf("event %d: progress of %s: percent %v of %d/%d", i, key, e.Percent, *e.Bytes, *e.Size)
			}
			d.progress = append(d.progress, e)
		case "disk_done":
			d := disks[key]
			if d == nil || d.done != nil {
				t.Fatalf("event %d: disk_done of %s without its start, or twice", i, key)
			}
			d.done = &events[i]
		}
	}
	for key, d := range disks {
		if d.done == nil {
			t.Errorf("%s: no disk_done", key)
		}
	}
	return disks
}

// A run reported as JSON lines: every line is one event; job_start first; each VM's vm_start,
// then for each disk start -> progress* -> done with the bytes of the disk's size, then its
// vm_done with its status; job_done last with the counts and the per-VM results. Progress is
// bounded by the 1% step.
func TestJSONLinesOfARun(t *testing.T) {
	e := newEnv(t)
	var buf bytes.Buffer
	opts := e.opts()
	opts.Output = NewJSONLines(&buf)
	opts.progressEvery = -1 // the 1% step alone, so that an 8 MiB disk has progress events
	_, res := e.run(t, opts)
	events := parseLines(t, buf.Bytes())
	if len(events) < 2 || events[0].Event != "job_start" || events[0].Job != e.job.Name {
		t.Fatalf("first event %+v", events[0])
	}
	last := events[len(events)-1]
	if last.Event != "job_done" || last.Status != "ok" || last.Counts == nil || last.Counts.VMs != 3 ||
		last.Counts.OK != 3 || last.Counts.Failed != 0 || last.Counts.RestorePoints != 3 || len(last.Results) != 3 ||
		*last.Bytes != res.Bytes || res.Bytes != testDisk {
		t.Fatalf("last event %+v (run %d bytes)", last, res.Bytes)
	}
	disks := checkDisks(t, events)
	if len(disks) != 3 {
		t.Fatalf("%d disks, want 3: %v", len(disks), disks)
	}
	var big *diskRun
	for key, d := range disks {
		if d.done.Status != "ok" || *d.done.Bytes != *d.start.Size {
			t.Errorf("%s: done %+v after start of %d bytes", key, d.done, *d.start.Size)
		}
		if strings.HasPrefix(key, simulator.BigDiskVM+"/") {
			big = d
		}
	}
	if big == nil || *big.start.Size != testDisk {
		t.Fatalf("no disk of %s of %d bytes: %v", simulator.BigDiskVM, testDisk, disks)
	}
	if n := len(big.progress); n < 50 || n > 100 {
		t.Errorf("%s has %d progress events, want 50..100 (one per 1%%)", simulator.BigDiskVM, n)
	}
	vms := 0
	for _, ev := range events {
		if ev.Event == "vm_done" {
			vms++
			if ev.Status != "ok" || ev.Bytes == nil {
				t.Errorf("vm_done %+v", ev)
			}
		}
	}
	if vms != 3 {
		t.Errorf("%d vm_done events, want 3", vms)
	}
}

// tee reports to several outputs.
type tee []Output

func (o tee) Note(msg string) {
	for _, x := range o {
		x.Note(msg)
	}
}

func (o tee) JobStart(job string) {
	for _, x := range o {
		x.JobStart(job)
	}
}

func (o tee) VMStart(job, vm string) {
	for _, x := range o {
		x.VMStart(job, vm)
	}
}

func (o tee) DiskStart(job, vm, disk string, size int64) {
	for _, x := range o {
		x.DiskStart(job, vm, disk, size)
	}
}

func (o tee) DiskProgress(job, vm, disk string, done, size int64) {
	for _, x := range o {
		x.DiskProgress(job, vm, disk, done, size)
	}
}

func (o tee) DiskDone(job, vm, disk string, bytes int64, err error) {
	for _, x := range o {
		x.DiskDone(job, vm, disk, bytes, err)
	}
}

func (o tee) VMDone(job string, vm VMResult) {
	for _, x := range o {
		x.VMDone(job, vm)
	}
}

func (o tee) HostStart(job, host string) {
	for _, x := range o {
		x.HostStart(job, host)
	}
}

func (o tee) HostDone(job string, h VMResult) {
	for _, x := range o {
		x.HostDone(job, h)
	}
}

func (o tee) RestoreStart(job, vm, point string) {
	for _, x := range o {
		x.RestoreStart(job, vm, point)
	}
}

func (o tee) RestoreDone(job string, res RestoreResult) {
	for _, x := range o {
		x.RestoreDone(job, res)
	}
}

func (o tee) VerifyDone(job string, res VerifyResult) {
	for _, x := range o {
		x.VerifyDone(job, res)
	}
}

func (o tee) JobDone(res JobResult) {
	for _, x := range o {
		x.JobDone(res)
	}
}

// waitBars waits for the bars to finish, and fails the test when they hang.
func waitBars(t *testing.T, b *Bars) {
	t.Helper()
	done := make(chan struct{})
	go func() { b.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Bars.Wait hangs")
	}
}

// A disk that fails mid-way: its disk_done says failed with the error and the bytes that went
// through, its VM's vm_done failed, job_done partial with one failed; the bars finish, with the
// disk's bar failed and the summary above; Plain prints the disks' start and done lines.
func TestOutputsOfAFailedDisk(t *testing.T) {
	e := newEnv(t)
	var jsonBuf, barsBuf, plainBuf bytes.Buffer
	bars := NewBars(&barsBuf, 100)
	opts := e.opts()
	opts.Output = tee{NewJSONLines(&jsonBuf), bars, &Plain{W: &plainBuf}}
	opts.wrapDisk = func(vm string, r io.Reader) io.Reader {
		if vm == simulator.BigDiskVM {
			return &failingReader{r: r, n: 3 << 20}
		}
		return r
	}
	e.run(t, opts)
	waitBars(t, bars)

	events := parseLines(t, jsonBuf.Bytes())
	for key, d := range checkDisks(t, events) {
		failed := strings.HasPrefix(key, simulator.BigDiskVM+"/")
		switch {
		case failed && (d.done.Status != "failed" || *d.done.Bytes != 3<<20 || !strings.Contains(d.done.Error, "connection reset")):
			t.Errorf("%s: done %+v", key, d.done)
		case !failed && d.done.Status != "ok":
			t.Errorf("%s: done %+v", key, d.done)
		}
	}
	last := events[len(events)-1]
	if last.Event != "job_done" || last.Status != "partial" || last.Counts.Failed != 1 || last.Counts.OK != 2 {
		t.Fatalf("last event %+v", last)
	}
	for _, ev := range events {
		if ev.Event == "vm_done" && ev.VM == simulator.BigDiskVM && (ev.Status != "failed" || ev.Error == "") {
			t.Errorf("vm_done %+v", ev)
		}
	}

	out := barsBuf.String()
	if !strings.Contains(out, simulator.BigDiskVM+"/") || !strings.Contains(out, "failed") ||
		!strings.Contains(out, "job nightly: partial") {
		t.Errorf("bars:\n%s", out)
	}

	plain := plainBuf.String()
	if got := strings.Count(plain, ": streaming "); got != 3 {
		t.Errorf("plain has %d disk start lines, want 3:\n%s", got, plain)
	}
	if !strings.Contains(plain, ": failed after 3145728 bytes: ") {
		t.Errorf("plain has no failed disk line:\n%s", plain)
	}
}

// Plain prints one line per quarter of a disk passed, whatever the steps, and none for a disk of
// unknown size or at 0 and 100% (the start and done lines say those).
func TestPlainProgressQuarters(t *testing.T) {
	var buf bytes.Buffer
	p := &Plain{W: &buf}
	for _, done := range []int64{0, 24, 25, 26, 49, 50, 99, 74, 75, 100} {
		p.DiskProgress("j", "vm", "d", done, 100)
	}
	p.DiskProgress("j", "vm", "other", 60, 0)
	want := "job j: vm disk d: 25% (25 of 100 bytes)\njob j: vm disk d: 50% (50 of 100 bytes)\njob j: vm disk d: 75% (99 of 100 bytes)\n"
	if buf.String() != want {
		t.Fatalf("plain progress:\n%s\nwant:\n%s", buf.String(), want)
	}
}

// Bars on a buffer of fixed width: a bar per disk named vm/disk, in bytes, complete at the end;
// the VMs' lines and the job's summary above them; Wait returns.
func TestBarsOfARun(t *testing.T) {
	e := newEnv(t)
	var buf bytes.Buffer
	bars := NewBars(&buf, 100)
	opts := e.opts()
	opts.Output = bars
	e.run(t, opts)
	waitBars(t, bars)
	out := buf.String()
	for _, vm := range simulator.Workloads {
		if !strings.Contains(out, vm+"/") {
			t.Errorf("no bar of %s:\n%s", vm, out)
		}
	}
	if !strings.Contains(out, "8.0 MiB / 8.0 MiB") || !strings.Contains(out, "done") {
		t.Errorf("no complete bar of the 8 MiB disk:\n%s", out)
	}
	summary := strings.Index(out, "job nightly: ok, 3 VMs")
	if summary < 0 || !strings.Contains(out[summary:], "  "+simulator.BigDiskVM+" ") {
		t.Errorf("no summary:\n%s", out)
	}
}

// zeros reads n zero bytes, chunk bytes at a time.
type zeros struct{ n, chunk int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), z.n, z.chunk)
	clear(p[:n])
	z.n -= n
	return int(n), nil
}

// countProgress streams a 64 MiB disk through a meter on the clock given and counts its
// progress events.
func countProgress(t *testing.T, every time.Duration, now func() time.Time) []jsonLine {
	t.Helper()
	const size = 64 << 20
	var buf bytes.Buffer
	out := NewJSONLines(&buf)
	m := newDiskMeter(&zeros{n: size, chunk: 32 << 10}, out, "j", "vm", "disk", size, every, now)
	// 32 KiB reads: io.Discard's ReadFrom would read 8 KiB at a time.
	if n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, m, make([]byte, 32<<10)); err != nil || n != size || m.done != size {
		t.Fatalf("copied %d (meter %d), %v", n, m.done, err)
	}
	return parseLines(t, buf.Bytes())
}

// The meter's throttle: on a clock that moves 100 ms per 32 KiB read (2 s per 1%), one event
// per 1% of the disk (at most 100 for 64 MiB, each at least 1% after the last); on a clock that
// stands still, none (the 250 ms bound); on a link that takes the heartbeat per read, one per
// read.
func TestDiskMeterThrottles(t *testing.T) {
	var tick time.Time
	moving := func() time.Time { tick = tick.Add(100 * time.Millisecond); return tick }
	events := countProgress(t, progressEvery, moving)
	if n := len(events); n < 90 || n > 100 {
		t.Fatalf("%d progress events for 64 MiB, want 90..100", n)
	}
	last := int64(0)
	for _, e := range events {
		if *e.Bytes-last < (64<<20)/100 {
			t.Fatalf("progress at %d after %d: less than 1%%", *e.Bytes, last)
		}
		last = *e.Bytes
	}
	still := time.Now()
	if events := countProgress(t, progressEvery, func() time.Time { return still }); len(events) != 0 {
		t.Fatalf("%d progress events on a clock that stands still, want 0", len(events))
	}
	slow := func() time.Time { tick = tick.Add(progressHeartbeat); return tick }
	if n := len(countProgress(t, progressEvery, slow)); n != 2048 {
		t.Fatalf("%d progress events on a link that takes %v a read, want one a read (2048)", n, progressHeartbeat)
	}
}

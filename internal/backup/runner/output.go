package runner

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Output is where a run reports what it does. Plain is the line-per-event form; a terminal's
// progress bars and JSON lines for CI logs implement the same interface.
type Output interface {
	// Note is a message about the run: a job skipped, a result that could not be recorded.
	Note(msg string)
	// JobStart: the job's lock is taken and its VMs are about to be backed up.
	JobStart(job string)
	// VMStart: a VM of the job is about to be backed up. Called concurrently, like every VM and
	// disk event.
	VMStart(job, vm string)
	// DiskStart: a disk of the VM starts streaming into the repository; size is its size in
	// bytes, 0 or less when the export does not say.
	DiskStart(job, vm, disk string, size int64)
	// DiskProgress: done bytes of the disk are in the repository. Calls are throttled (see
	// progressEvery): at most one per 250 ms, and per 1% of the disk or 10 s.
	DiskProgress(job, vm, disk string, done, size int64)
	// DiskDone: the disk is done, bytes streamed; err says why it failed.
	DiskDone(job, vm, disk string, bytes int64, err error)
	// VMDone: one VM of the job is done (backed up, failed or skipped). Called concurrently.
	VMDone(job string, vm VMResult)
	// HostStart: the configuration bundle of a host of the job is about to be backed up, after
	// the job's VMs. Called concurrently, like HostDone.
	HostStart(job, host string)
	// HostDone: one host of the job is done (backed up, failed or skipped); its result's Name is
	// the host's.
	HostDone(job string, host VMResult)
	// JobDone: the job is done, with its VMs' results.
	JobDone(res JobResult)
	// RestoreStart: a VM is about to be restored from the job's point; vm is the restored VM's
	// name. Its disks' events follow under that name. Called concurrently.
	RestoreStart(job, vm, point string)
	// RestoreDone: one VM's restore is done (restored or failed).
	RestoreDone(job string, res RestoreResult)
	// VerifyDone: one point's restore test is done (its copy restored, up and removed, or not).
	VerifyDone(job string, res VerifyResult)
}

// Plain writes one line per event, and at the end of each job one line per VM: name, status,
// bytes, seconds, error.
type Plain struct {
	mu sync.Mutex
	W  io.Writer
	// quarter is the last quarter of each disk ("job/vm/disk") a progress line was printed for.
	quarter map[string]int64
}

func (p *Plain) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.W, format, args...)
}

// Note prints the message.
func (p *Plain) Note(msg string) { p.printf("%s\n", msg) }

// JobStart prints that the job runs.
func (p *Plain) JobStart(job string) { p.printf("job %s: running\n", job) }

// VMStart prints nothing: the disks' lines say what the VM does.
func (p *Plain) VMStart(string, string) {}

// DiskStart prints that the disk streams.
func (p *Plain) DiskStart(job, vm, disk string, size int64) {
	p.printf("job %s: %s disk %s: streaming %d bytes\n", job, vm, disk, size)
}

// DiskProgress prints a line when a disk of known size passes a quarter of its bytes (25, 50 and
// 75%): enough to see a long disk move in a log, not a line per progress step.
func (p *Plain) DiskProgress(job, vm, disk string, done, size int64) {
	if size <= 0 {
		return
	}
	q := done * 4 / size
	if q <= 0 || q >= 4 {
		return
	}
	key := job + "/" + vm + "/" + disk
	p.mu.Lock()
	if p.quarter == nil {
		p.quarter = map[string]int64{}
	}
	last := p.quarter[key]
	p.quarter[key] = max(last, q)
	p.mu.Unlock()
	if q > last {
		p.printf("job %s: %s disk %s: %d%% (%d of %d bytes)\n", job, vm, disk, q*25, done, size)
	}
}

// DiskDone prints the disk's bytes, or why it failed.
func (p *Plain) DiskDone(job, vm, disk string, bytes int64, err error) {
	if err != nil {
		p.printf("job %s: %s disk %s: failed after %d bytes: %v\n", job, vm, disk, bytes, err)
		return
	}
	p.printf("job %s: %s disk %s: %d bytes\n", job, vm, disk, bytes)
}

// VMDone prints the VM's progress line.
func (p *Plain) VMDone(job string, vm VMResult) {
	p.printf("job %s: %s %s\n", job, vm.Name, vm.Status)
}

// HostStart prints that the host's configuration is backed up.
func (p *Plain) HostStart(job, host string) {
	p.printf("job %s: host %s: backing up its configuration\n", job, host)
}

// HostDone prints the host's progress line.
func (p *Plain) HostDone(job string, h VMResult) {
	p.printf("job %s: host %s %s\n", job, h.Name, h.Status)
}

// JobDone prints the job's summary: a line for the job, then one per VM.
func (p *Plain) JobDone(res JobResult) {
	if res.Skipped != "" {
		return
	}
	hosts := ""
	if len(res.Hosts) > 0 {
		hosts = fmt.Sprintf(", %d hosts", len(res.Hosts))
	}
	line := fmt.Sprintf("job %s: %s, %d VMs%s, %d bytes, %d restore points (%d pruned), cleaned up %d snapshots and %d partial points, %.1fs",
		res.Job, orPlanned(res), len(res.VMs), hosts, res.Bytes, res.RestorePoints, res.Pruned, res.CleanedSnapshots, res.CleanedPoints,
		res.Finished.Sub(res.Started).Seconds())
	if res.Err != nil {
		line += ": " + res.Err.Error()
	}
	p.printf("%s\n", line)
	for i, vm := range res.results() {
		msg, name := "", vm.Name
		if vm.Err != nil {
			msg = "  " + vm.Err.Error()
		}
		if i >= len(res.VMs) {
			name = "host " + name
		}
		p.printf("  %-24s %-8s %14d bytes %8.1fs%s\n", name, vm.Status, vm.Bytes, vm.Duration.Round(100*time.Millisecond).Seconds(), msg)
	}
}

// RestoreStart prints that the VM is being restored.
func (p *Plain) RestoreStart(job, vm, point string) {
	p.printf("job %s: restoring %s from point %s\n", job, vm, point)
}

// RestoreDone prints the VM's restore line: status, bytes, recovery time, warnings and error.
func (p *Plain) RestoreDone(job string, res RestoreResult) {
	line := fmt.Sprintf("job %s: %s %s as %s (%s), %d bytes, recovery time %.1fs", job, res.VM, restoreStatus(res), res.Name, orNone(res.ID),
		res.Bytes, res.Duration.Round(100*time.Millisecond).Seconds())
	for _, w := range res.Warnings {
		line += "; warning: " + w
	}
	if res.Err != nil {
		line += ": " + res.Err.Error()
	}
	p.printf("%s\n", line)
}

// VerifyDone prints the point's restore-test line: verified or failed, the recovery time, what
// showed the copy up, and the error.
func (p *Plain) VerifyDone(job string, res VerifyResult) {
	status := "verified"
	if !res.OK {
		status = "FAILED verification"
	}
	line := fmt.Sprintf("job %s: %s point %s %s, recovery time %.1fs", job, res.VM, res.Point, status, res.Recovery.Round(100*time.Millisecond).Seconds())
	if res.Check != "" {
		line += " (" + res.Check + ")"
	}
	if res.Err != nil {
		line += ": " + res.Err.Error()
	}
	p.printf("%s\n", line)
}

// restoreStatus is a restore's status word.
func restoreStatus(res RestoreResult) string {
	if res.Status == VMOK {
		return "restored"
	}
	return "failed to restore"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func orPlanned(res JobResult) string {
	if res.Status == "" {
		return "dry run"
	}
	return string(res.Status)
}

// discard is the Output of a run that reports nothing.
type discard struct{}

func (discard) Note(string)             {}
func (discard) JobStart(string)         {}
func (discard) VMStart(string, string)  {}
func (discard) VMDone(string, VMResult) {}

func (discard) HostStart(string, string)  {}
func (discard) HostDone(string, VMResult) {}
func (discard) JobDone(JobResult)         {}

func (discard) RestoreStart(string, string, string) {}
func (discard) RestoreDone(string, RestoreResult)   {}
func (discard) VerifyDone(string, VerifyResult)     {}

func (discard) DiskStart(string, string, string, int64)           {}
func (discard) DiskProgress(string, string, string, int64, int64) {}
func (discard) DiskDone(string, string, string, int64, error)     {}

// The outputs of a run.
var (
	_ Output = (*Plain)(nil)
	_ Output = (*JSONLines)(nil)
	_ Output = (*Bars)(nil)
	_ Output = discard{}
)

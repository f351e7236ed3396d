package runner

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// JSONLines writes one JSON object per line per event, for CI logs and log shippers. Every
// object has "time" (RFC 3339, nanoseconds) and "event", one of:
//
//   - note: "message" (a job skipped, a result that could not be recorded);
//   - job_start: "job";
//   - vm_start: "job", "vm";
//   - disk_start: "job", "vm", "disk", "size" (bytes; 0 when the export does not say);
//   - disk_progress: "job", "vm", "disk", "bytes" done, "size", "percent" (when size is known),
//     at most one per 250 ms, and per 1% of the disk or 10 s;
//   - disk_done: "job", "vm", "disk", "bytes", "status" (ok or failed), "error";
//   - vm_done: "job", "vm", "status" (ok, failed, skipped: another runner held it for the whole
//     wait; by-peer: another runner of the same run backed it up, "point", or failed to), "bytes",
//     "seconds", "point", "error";
//   - host_start: "job", "host": a host's configuration bundle is backed up (after the VMs);
//   - host_done: "job", "host", and the rest as in vm_done;
//   - restore_start: "job", "vm" (the restored VM's name), "point": a VM is restored; its disks'
//     disk_start, disk_progress and disk_done events follow under that "vm";
//   - restore_done: "job", "vm", "vm_id", "source_vm" (its name when backed up), "point",
//     "status" (ok or failed), "bytes" read, "seconds" (the recovery time), "verified" (the
//     point had passed a restore test), "warnings", "error";
//   - verify_done: "job", "vm", "point", "status" (verified or failed), "bytes", "seconds" (the
//     measured recovery time), "message" (what showed the copy up), "error";
//   - error: "job", "error": a failure of the whole job (repository unavailable, lock not taken),
//     before its job_done;
//   - job_done: "job", "status" (ok, partial, failed, planned for a dry run), "bytes", "counts"
//     ({"vms", "ok", "failed", "skipped", "restore_points", "pruned", "cleaned_snapshots",
//     "cleaned_points", "hosts", "hosts_ok", "hosts_failed", "hosts_skipped"}), "seconds", "error",
//     "results": one object per VM as in vm_done, and "host_results": one per host as in
//     host_done ("host" instead of "vm"). It is the run's summary; no plain-text summary is
//     printed with JSON lines.
//
// It is safe for concurrent use.
type JSONLines struct {
	mu  sync.Mutex
	enc *json.Encoder
	now func() time.Time
}

// NewJSONLines writes the events to w.
func NewJSONLines(w io.Writer) *JSONLines {
	return &JSONLines{enc: json.NewEncoder(w), now: time.Now}
}

// jsonEvent is one line. Numbers are pointers so that a zero is written where it is a value
// (an empty disk's bytes) and left out where it does not apply.
type jsonEvent struct {
	Time    string   `json:"time"`
	Event   string   `json:"event"`
	Job     string   `json:"job,omitempty"`
	VM      string   `json:"vm,omitempty"`
	Host    string   `json:"host,omitempty"`
	Disk    string   `json:"disk,omitempty"`
	Status  string   `json:"status,omitempty"`
	Bytes   *int64   `json:"bytes,omitempty"`
	Size    *int64   `json:"size,omitempty"`
	Percent *float64 `json:"percent,omitempty"`
	Seconds *float64 `json:"seconds,omitempty"`
	Point   string   `json:"point,omitempty"`
	Message string   `json:"message,omitempty"`
	// SourceVM, VMID, Verified and Warnings are a restore_done's.
	SourceVM string       `json:"source_vm,omitempty"`
	VMID     string       `json:"vm_id,omitempty"`
	Verified *bool        `json:"verified,omitempty"`
	Warnings []string     `json:"warnings,omitempty"`
	Error    string       `json:"error,omitempty"`
	Counts   *jsonCounts  `json:"counts,omitempty"`
	Results  []jsonResult `json:"results,omitempty"`
	// HostResults is a job_done's host results; left out for a job without hosts.
	HostResults []jsonResult `json:"host_results,omitempty"`
}

type jsonCounts struct {
	VMs              int `json:"vms"`
	OK               int `json:"ok"`
	Failed           int `json:"failed"`
	Skipped          int `json:"skipped"`
	RestorePoints    int `json:"restore_points"`
	Pruned           int `json:"pruned"`
	CleanedSnapshots int `json:"cleaned_snapshots"`
	CleanedPoints    int `json:"cleaned_points"`
	Hosts            int `json:"hosts"`
	HostsOK          int `json:"hosts_ok"`
	HostsFailed      int `json:"hosts_failed"`
	HostsSkipped     int `json:"hosts_skipped"`
}

type jsonResult struct {
	VM      string  `json:"vm,omitempty"`
	Host    string  `json:"host,omitempty"`
	Status  string  `json:"status"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
	Point   string  `json:"point,omitempty"`
	Error   string  `json:"error,omitempty"`
}

func (o *JSONLines) emit(e jsonEvent) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e.Time = o.now().UTC().Format(time.RFC3339Nano)
	_ = o.enc.Encode(e) // a log that cannot be written has no one to tell
}

func ptr[T any](v T) *T { return &v }

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Note writes a note event.
func (o *JSONLines) Note(msg string) { o.emit(jsonEvent{Event: "note", Message: msg}) }

// JobStart writes a job_start event.
func (o *JSONLines) JobStart(job string) { o.emit(jsonEvent{Event: "job_start", Job: job}) }

// VMStart writes a vm_start event.
func (o *JSONLines) VMStart(job, vm string) {
	o.emit(jsonEvent{Event: "vm_start", Job: job, VM: vm})
}

// DiskStart writes a disk_start event.
func (o *JSONLines) DiskStart(job, vm, disk string, size int64) {
	o.emit(jsonEvent{Event: "disk_start", Job: job, VM: vm, Disk: disk, Size: ptr(max(size, 0))})
}

// DiskProgress writes a disk_progress event.
func (o *JSONLines) DiskProgress(job, vm, disk string, done, size int64) {
	e := jsonEvent{Event: "disk_progress", Job: job, VM: vm, Disk: disk, Bytes: ptr(done), Size: ptr(max(size, 0))}
	if size > 0 {
		e.Percent = ptr(float64(done*10000/size) / 100)
	}
	o.emit(e)
}

// DiskDone writes a disk_done event.
func (o *JSONLines) DiskDone(job, vm, disk string, bytes int64, err error) {
	e := jsonEvent{Event: "disk_done", Job: job, VM: vm, Disk: disk, Status: string(VMOK), Bytes: ptr(bytes), Error: errString(err)}
	if err != nil {
		e.Status = string(VMFailed)
	}
	o.emit(e)
}

// VMDone writes a vm_done event.
func (o *JSONLines) VMDone(job string, vm VMResult) {
	r := result(vm)
	o.emit(jsonEvent{Event: "vm_done", Job: job, VM: r.VM, Status: r.Status, Bytes: ptr(r.Bytes),
		Seconds: ptr(r.Seconds), Point: r.Point, Error: r.Error})
}

// HostStart writes a host_start event.
func (o *JSONLines) HostStart(job, host string) {
	o.emit(jsonEvent{Event: "host_start", Job: job, Host: host})
}

// HostDone writes a host_done event.
func (o *JSONLines) HostDone(job string, h VMResult) {
	r := hostResult(h)
	o.emit(jsonEvent{Event: "host_done", Job: job, Host: r.Host, Status: r.Status, Bytes: ptr(r.Bytes),
		Seconds: ptr(r.Seconds), Point: r.Point, Error: r.Error})
}

// RestoreStart writes a restore_start event.
func (o *JSONLines) RestoreStart(job, vm, point string) {
	o.emit(jsonEvent{Event: "restore_start", Job: job, VM: vm, Point: point})
}

// RestoreDone writes a restore_done event: the VM as backed up ("source_vm"), the restored VM
// ("vm", "vm_id"), the point, the status, the bytes read and the recovery time in seconds.
func (o *JSONLines) RestoreDone(job string, res RestoreResult) {
	o.emit(jsonEvent{Event: "restore_done", Job: job, VM: res.Name, SourceVM: res.VM, VMID: res.ID, Point: res.Point,
		Status: string(res.Status), Bytes: ptr(res.Bytes), Seconds: ptr(res.Duration.Round(time.Millisecond).Seconds()),
		Verified: ptr(res.Verified), Warnings: res.Warnings, Error: errString(res.Err)})
}

// VerifyDone writes a verify_done event.
func (o *JSONLines) VerifyDone(job string, res VerifyResult) {
	status := "verified"
	if !res.OK {
		status = "failed"
	}
	o.emit(jsonEvent{Event: "verify_done", Job: job, VM: res.VM, Point: res.Point, Status: status, Bytes: ptr(res.Bytes),
		Seconds: ptr(res.Recovery.Round(time.Millisecond).Seconds()), Message: res.Check, Error: errString(res.Err)})
}

// hostResult is a host's result: "host" names it instead of "vm".
func hostResult(h VMResult) jsonResult {
	r := result(h)
	r.VM, r.Host = "", h.Name
	return r
}

func result(vm VMResult) jsonResult {
	return jsonResult{VM: vm.Name, Status: string(vm.Status), Bytes: vm.Bytes,
		Seconds: vm.Duration.Round(time.Millisecond).Seconds(), Point: vm.Point, Error: errString(vm.Err)}
}

// JobDone writes an error event when the job as a whole failed, then the job_done event.
func (o *JSONLines) JobDone(res JobResult) {
	if res.Skipped != "" {
		return // the note said so
	}
	if res.Err != nil {
		o.emit(jsonEvent{Event: "error", Job: res.Job, Error: res.Err.Error()})
	}
	status := string(res.Status)
	if status == "" {
		status = string(VMPlanned)
	}
	c := &jsonCounts{VMs: len(res.VMs), RestorePoints: res.RestorePoints, Pruned: res.Pruned,
		CleanedSnapshots: res.CleanedSnapshots, CleanedPoints: res.CleanedPoints}
	results := make([]jsonResult, 0, len(res.VMs))
	for _, vm := range res.VMs {
		switch vm.Status {
		case VMOK:
			c.OK++
		case VMFailed:
			c.Failed++
		case VMSkipped:
			c.Skipped++
		}
		results = append(results, result(vm))
	}
	c.Hosts = len(res.Hosts)
	var hostResults []jsonResult
	for _, h := range res.Hosts {
		switch h.Status {
		case VMOK:
			c.HostsOK++
		case VMFailed:
			c.HostsFailed++
		case VMSkipped:
			c.HostsSkipped++
		}
		hostResults = append(hostResults, hostResult(h))
	}
	e := jsonEvent{Event: "job_done", Job: res.Job, Status: status, Bytes: ptr(res.Bytes), Error: errString(res.Err), Counts: c,
		Results: results, HostResults: hostResults}
	e.Seconds = ptr(res.Finished.Sub(res.Started).Round(time.Millisecond).Seconds())
	o.emit(e)
}

package vsphere

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/vmware/govmomi/nfc"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/progress"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// ExportDisk is one disk of an export, as the lease names it.
type ExportDisk struct {
	Key  string // the lease's device key, e.g. /vm-42/VirtualDisk:0
	Name string // the file name the lease gives the disk (its target ID)
	Size int64  // bytes, when the lease says; 0 when it does not
	// Device is the disk in the snapshot's hardware, matched by position (the lease lists the
	// disks in device order); nil when the lease and the hardware do not list as many disks.
	Device *DiskDevice
}

// leaseCleanupTimeout bounds the abort of a lease after a failure, which runs even when the
// caller's context is done.
const leaseCleanupTimeout = 30 * time.Second

// ExportSnapshot streams the disks of a VM's snapshot through an NFC export lease: each disk's
// data goes to each, one disk after the other, as it arrives; no disk is held in memory. While
// the disks flow, the lease is kept alive with progress reports (the share of bytes read); it is
// completed at the end. On any failure, a disk that cannot be read or an error from each, the
// lease is aborted and the error names the disk.
//
// each must read r to its end (or fail): a disk it leaves unread is an error. On vCenter the
// bytes are the disk as the export serves it (stream-optimized VMDK); the simulator serves the
// flat extent.
//
// It returns the snapshot's network adapters, read with its disks, for the point's manifest.
func (c *Client) ExportSnapshot(ctx context.Context, vmID, snapshotID string, each func(d ExportDisk, r io.Reader) error) ([]NICDevice, error) {
	hw, err := c.SnapshotHardware(ctx, snapshotID)
	if err != nil {
		return nil, err
	}
	devices := hw.Disks
	lease, info, err := c.openExport(ctx, vmID, snapshotID)
	if err != nil {
		return nil, err
	}
	disks := *info // the disks only: their bytes make the lease's progress
	disks.Items = nil
	var sizes []int64 // each disk's size as the lease gives it, 0 when unknown
	var total int64
	for i, item := range info.Items {
		if d := info.DeviceUrl[i].Disk; d != nil && *d {
			disks.Items = append(disks.Items, item)
			sizes = append(sizes, info.DeviceUrl[i].FileSize)
			total += item.Size
		}
	}
	done := func() {}
	track := total > 0 // the updater divides by the total
	if track {
		done = lease.StartUpdater(ctx, &disks).Done
	}
	if len(devices) != len(disks.Items) {
		devices = nil
	}
	for i, item := range disks.Items {
		var dev *DiskDevice
		if devices != nil {
			dev = &devices[i]
		}
		if err := c.exportDisk(ctx, item, sizes[i], dev, track, each); err != nil {
			done()
			err = fmt.Errorf("exporting disk %s of %s (snapshot %s): %w", item.Path, vmID, snapshotID, err)
			abortLease(ctx, lease, err)
			return nil, err
		}
	}
	done()
	cctx, cancel := context.WithTimeout(ctx, c.cfg.APITimeout)
	defer cancel()
	if err := lease.Complete(cctx); err != nil {
		return nil, fmt.Errorf("completing the export of snapshot %s of %s: %w", snapshotID, vmID, err)
	}
	return hw.NICs, nil
}

// openExport asks for the snapshot's export lease and waits for it to be ready.
func (c *Client) openExport(ctx context.Context, vmID, snapshotID string) (*nfc.Lease, *nfc.LeaseInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.APITimeout)
	defer cancel()
	res, err := methods.ExportSnapshot(ctx, c.vim, &types.ExportSnapshot{This: snapshotRef(snapshotID)})
	if err != nil {
		return nil, nil, fmt.Errorf("exporting snapshot %s of %s: %w", snapshotID, vmID, wrapNotFound("snapshot", snapshotID, err))
	}
	lease := nfc.NewLease(c.vim, res.Returnval)
	info, err := lease.Wait(ctx, nil)
	if err != nil {
		err = fmt.Errorf("waiting for the export lease of snapshot %s of %s: %w", snapshotID, vmID, err)
		abortLease(ctx, lease, err)
		return nil, nil, err
	}
	return lease, info, nil
}

// exportDisk streams one disk of the lease to each, reporting its progress to the lease updater.
// With track, its bytes read are reported to the lease updater, which must be running.
func (c *Client) exportDisk(ctx context.Context, item nfc.FileItem, size int64, dev *DiskDevice, track bool, each func(ExportDisk, io.Reader) error) (err error) {
	body, length, err := c.vim.Download(ctx, item.URL, &soap.DefaultDownload)
	if err != nil {
		return err
	}
	defer func() { _ = body.Close() }()
	d := ExportDisk{Key: item.DeviceId, Name: item.Path, Size: size, Device: dev}
	if length >= 0 {
		d.Size = length
	}
	cr := &countingReader{r: body}
	if track {
		pr := &leaseProgress{ctx: ctx, r: body, sink: item.Sink(), size: item.Size} // the share of the item's size the updater counts
		defer func() { pr.done(err) }()
		cr.r = pr
	}
	if err := each(d, cr); err != nil {
		return err
	}
	if length >= 0 && cr.n != length {
		return fmt.Errorf("%d of its %d bytes were read", cr.n, length)
	}
	return nil
}

// abortLease aborts a lease after a failure, with the failure as the lease's fault. The abort is
// best effort: the failure is what the caller reports.
func abortLease(ctx context.Context, lease *nfc.Lease, cause error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaseCleanupTimeout)
	defer cancel()
	_ = lease.Abort(ctx, &types.LocalizedMethodFault{Fault: &types.SystemError{Reason: cause.Error()}, LocalizedMessage: cause.Error()})
}

// leaseProgressStep is how many bytes of a disk are read between two reports to the lease
// updater. The updater sends the lease a whole percentage every 2 s, so a report per 4 MiB is
// more than it can show.
const leaseProgressStep = 4 << 20

// leaseProgress reports the bytes read from a disk to the lease updater, through the lease item's
// sink: every leaseProgressStep bytes, then at the end (done). It stands in for govmomi's
// progress.Reader, which sends a report and arms a timer on every Read: hundreds of thousands per
// disk, each a hand-off to two goroutines and garbage for the collector (64 MB per GiB read).
type leaseProgress struct {
	ctx       context.Context
	r         io.Reader
	sink      chan<- progress.Report
	size      int64 // the item's size, of which the updater takes the reports' percentage
	pos, sent int64 // bytes read, and bytes read at the last report
}

func (p *leaseProgress) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.pos += int64(n)
	if p.pos-p.sent >= leaseProgressStep {
		p.report(nil)
	}
	return n, err
}

// done ends the reports: a failed read is reported as an error (the updater stops counting the
// item); then the sink is closed, which the updater counts as the item read in full.
func (p *leaseProgress) done(err error) {
	if err != nil && !p.report(err) {
		return // the context is done: the updater may no longer be listening
	}
	close(p.sink)
}

// report sends the bytes read so far, unless the context ends first.
func (p *leaseProgress) report(err error) bool {
	select {
	case p.sink <- leaseReport{pos: p.pos, size: p.size, err: err}:
		p.sent = p.pos
		return true
	case <-p.ctx.Done():
		return false
	}
}

// leaseReport is a progress.Report of leaseProgress.
type leaseReport struct {
	pos, size int64
	err       error
}

func (r leaseReport) Percentage() float32 {
	if r.size <= 0 {
		return 0
	}
	return 100 * float32(r.pos) / float32(r.size)
}

func (r leaseReport) Detail() string { return "" }

func (r leaseReport) Error() error { return r.err }

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

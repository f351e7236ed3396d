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
func (c *Client) ExportSnapshot(ctx context.Context, vmID, snapshotID string, each func(d ExportDisk, r io.Reader) error) error {
	lease, info, err := c.openExport(ctx, vmID, snapshotID)
	if err != nil {
		return err
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
	for i, item := range disks.Items {
		if err := c.exportDisk(ctx, item, sizes[i], track, each); err != nil {
			done()
			err = fmt.Errorf("exporting disk %s of %s (snapshot %s): %w", item.Path, vmID, snapshotID, err)
			abortLease(ctx, lease, err)
			return err
		}
	}
	done()
	cctx, cancel := context.WithTimeout(ctx, c.cfg.APITimeout)
	defer cancel()
	if err := lease.Complete(cctx); err != nil {
		return fmt.Errorf("completing the export of snapshot %s of %s: %w", snapshotID, vmID, err)
	}
	return nil
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
func (c *Client) exportDisk(ctx context.Context, item nfc.FileItem, size int64, track bool, each func(ExportDisk, io.Reader) error) (err error) {
	body, length, err := c.vim.Download(ctx, item.URL, &soap.DefaultDownload)
	if err != nil {
		return err
	}
	defer func() { _ = body.Close() }()
	d := ExportDisk{Key: item.DeviceId, Name: item.Path, Size: size}
	if length >= 0 {
		d.Size = length
	}
	cr := &countingReader{r: body}
	if track {
		pr := progress.NewReader(ctx, item, body, item.Size) // the share of the item's size the updater counts
		defer func() { pr.Done(err) }()
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

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

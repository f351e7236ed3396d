package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/job"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/repo"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// The extraConfig stamps that vmgmt's other functions leave on a VM, which a restore needs to
// give the recreated VM the same catalog item, baselines and security groups.
const (
	catalogItemKey      = "vmgmt.catalog.item"
	baselinePrefix      = "vmgmt.baseline."
	securityGroupPrefix = "vmgmt.security-group."
)

// unit is one VM or one host of a job: what a runner sees through under its lease.
type unit struct {
	vm   *target
	host *vsphere.HostRef
}

func (u unit) id() string {
	if u.host != nil {
		return u.host.ID
	}
	return u.vm.ID
}

func (u unit) name() string {
	if u.host != nil {
		return u.host.Name
	}
	return u.vm.Name
}

// lease is the vCenter lease a runner holds while it works on the VM or host.
func (u unit) lease(jobName string) string {
	if u.host != nil {
		return "backup.host." + jobName + "." + u.host.ID
	}
	return "backup.vm." + jobName + "." + u.vm.ID
}

// points lists the unit's restore points in one listing: complete (newest first) and partial.
func (u unit) points(ctx context.Context, r *repo.Repository, jobName string) (complete, partial []repo.Point, err error) {
	if u.host != nil {
		return r.SubjectPoints(ctx, jobName, "", u.host.Name)
	}
	return r.SubjectPoints(ctx, jobName, u.vm.Name, "")
}

func (u unit) start(out Output, jobName string) {
	if u.host != nil {
		out.HostStart(jobName, u.host.Name)
		return
	}
	out.VMStart(jobName, u.vm.Name)
}

func (u unit) done(out Output, jobName string, res VMResult) {
	if u.host != nil {
		out.HostDone(jobName, res)
		return
	}
	out.VMDone(jobName, res)
}

// seeThroughLeased sees one VM or host through under its lease, so that of the runners sharing
// the run only one works on it at a time; a lease another runner holds for the whole wait skips
// it. Under the lease the runner removes what a dead runner left, and leaves it alone when
// another runner of the run already backed it up or failed to.
func seeThroughLeased(ctx context.Context, c *vsphere.Client, r *repo.Repository, j *job.Job, u unit, runID string, opts Options, wait time.Duration) VMResult {
	start := time.Now()
	res := VMResult{ID: u.id(), Name: u.name()}
	lopts := opts.VMLock
	lopts.Wait = wait
	lease, err := c.Lock(ctx, u.lease(j.Name), lopts)
	if err != nil {
		var held *vsphere.LockHeldError
		if errors.As(err, &held) {
			res.Status = VMSkipped
			res.Err = fmt.Errorf("another runner held it for the whole wait (%s)", held.Holder)
			return res
		}
		res.Status, res.Err = VMFailed, fmt.Errorf("taking its lease: %w", err)
		return res
	}
	defer func() { _ = lease.Release(context.WithoutCancel(ctx)) }()
	res = seeThrough(ctx, c, r, j, u, runID, opts)
	res.Duration = time.Since(start)
	if err := noteOutcome(ctx, c, j, runID, u, res); err != nil {
		res.Err = errors.Join(res.Err, err)
	}
	return res
}

// seeThrough is the work on one VM or host under its lease: clean up, skip when the run has it,
// back up, prune.
func seeThrough(ctx context.Context, c *vsphere.Client, r *repo.Repository, j *job.Job, u unit, runID string, opts Options) VMResult {
	res := VMResult{ID: u.id(), Name: u.name(), Status: VMFailed}
	points, err := cleanup(ctx, c, r, j, u, &res)
	if err != nil {
		res.Err = err
		return res
	}
	if peer, err := doneInRun(ctx, c, r, j, u.id(), points, runID); err != nil || peer {
		res.Err = err
		if peer {
			res.Status = VMByPeer
			if len(points) > 0 {
				res.Point = points[0].ID
			}
		}
		return res
	}
	u.start(opts.Output, j.Name)
	done := backup(ctx, c, r, j, u, runID, opts)
	done.CleanedSnapshots, done.CleanedPoints = res.CleanedSnapshots, res.CleanedPoints
	if done.Status == VMOK {
		done.Pruned, done.pruneErr = prune(ctx, r, j, u, opts.Now())
	}
	return done
}

// backup backs the VM or host up once more when the first attempt failed while the client had
// to log in again (vCenter ended the session: the export lease and the snapshot task belonged to
// it). The failed attempt cleaned up after itself; the second starts over with a new snapshot.
func backup(ctx context.Context, c *vsphere.Client, r *repo.Repository, j *job.Job, u unit, runID string, opts Options) VMResult {
	var res VMResult
	for attempt := 0; attempt < 2; attempt++ {
		relogins := c.Stats().Relogins()
		if u.host != nil {
			res = backupHost(ctx, c, r, j, *u.host, runID, opts)
		} else {
			res = backupVM(ctx, c, r, j, *u.vm, runID, opts)
		}
		if res.Status != VMFailed || c.Stats().Relogins() == relogins || ctx.Err() != nil {
			break
		}
		res.Err = fmt.Errorf("after the vCenter session was lost and renewed: %w", res.Err)
	}
	return res
}

// doneInRun says whether another runner of the run has seen the VM or host through already: its
// newest complete point is of the run, or the run records it as failed.
func doneInRun(ctx context.Context, c *vsphere.Client, r *repo.Repository, j *job.Job, id string, points []repo.Point, runID string) (bool, error) {
	if len(points) > 0 {
		m, err := r.ReadManifest(ctx, points[0])
		if err != nil {
			return false, fmt.Errorf("reading its newest restore point %s: %w", points[0], err)
		}
		if m.Run == runID {
			return true, nil
		}
	}
	runs, err := job.ReadRuns(ctx, c, true)
	if err != nil {
		return false, fmt.Errorf("reading the job's run from vCenter: %w", err)
	}
	run := runs[j.Name]
	return run != nil && run.ID == runID && run.HasFailed(id), nil
}

// noteOutcome records on the run, as soon as it is known, that the VM or host was backed up (its
// count and bytes: a runner that dies later has counted it) or failed (so that no other runner of
// the run tries it again). Skipped and by-peer outcomes are not the run's news.
func noteOutcome(ctx context.Context, c *vsphere.Client, j *job.Job, runID string, u unit, res VMResult) error {
	if res.Status != VMOK && res.Status != VMFailed {
		return nil
	}
	err := job.ChangeRun(context.WithoutCancel(ctx), c, j.Name, func(run *job.LastRun) (bool, error) {
		if run.ID != runID {
			return false, nil // a newer run has started: this one's record is gone
		}
		switch {
		case res.Status == VMFailed:
			run.AddFailed(u.id())
		case u.host != nil:
			run.Hosts++
		default:
			run.VMs++
		}
		run.Bytes += res.Bytes
		return true, nil
	})
	if err != nil && res.Status == VMFailed {
		return fmt.Errorf("the failure could not be recorded on the run, so another runner may try it again: %w", err)
	}
	if err != nil {
		return fmt.Errorf("the backup could not be counted on the run in vCenter: %w", err)
	}
	return nil
}

// backupVM takes the VM's snapshot, streams its disks into a new restore point, commits the
// point's manifest and removes the snapshot (also when anything failed). A failed point is
// aborted: it is never listed.
func backupVM(ctx context.Context, c *vsphere.Client, r *repo.Repository, j *job.Job, vm target, runID string, opts Options) VMResult {
	res := VMResult{ID: vm.ID, Name: vm.Name, Status: VMFailed}
	if opts.beforeSnapshot != nil {
		opts.beforeSnapshot(ctx, vm.ID)
	}
	facts, err := c.GetVM(ctx, vm.ID)
	if err != nil {
		res.Err = fmt.Errorf("reading the VM: %w", err)
		return res
	}
	snapID, err := c.CreateSnapshot(ctx, vm.ID, snapshotPrefix(j.Name)+runID, snapshotStamp(j.Name, runID), j.Consistency == job.Quiesced)
	if err != nil {
		res.Err = err
		return res
	}
	defer func() {
		if err := c.RemoveSnapshot(context.WithoutCancel(ctx), vm.ID, snapID); err != nil && res.Err == nil {
			// The point is complete; the snapshot left behind is removed by the next run.
			res.Err = fmt.Errorf("the restore point is complete, but the snapshot could not be removed (the next run removes it): %w", err)
		}
	}()
	w, err := r.BeginPoint(ctx, j.Name, vm.Name, opts.Now())
	if err != nil {
		res.Err = err
		return res
	}
	var disks []repo.Disk
	var written int64
	nics, err := c.ExportSnapshot(ctx, vm.ID, snapID, func(d vsphere.ExportDisk, body io.Reader) error {
		file := fmt.Sprintf("disk-%d.vmdk", len(disks))
		if opts.wrapDisk != nil {
			body = opts.wrapDisk(vm.Name, body)
		}
		size := d.Size
		if size <= 0 {
			size = -1
		}
		name := path.Base(d.Name)
		opts.Output.DiskStart(j.Name, vm.Name, name, d.Size)
		first := &head{r: body, n: 12}
		meter := newDiskMeter(first, opts.Output, j.Name, vm.Name, name, d.Size, opts.progressEvery, time.Now)
		info, err := w.WriteFileSized(ctx, file, meter, size)
		if err != nil {
			opts.Output.DiskDone(j.Name, vm.Name, name, meter.done, err)
			return err
		}
		opts.Output.DiskDone(j.Name, vm.Name, name, info.Bytes, nil)
		written += info.Bytes
		disk := manifestDisk(d, file)
		disk.Format = diskFormat(first.b)
		disks = append(disks, disk)
		return nil
	})
	return finishPoint(ctx, w, res, err, written, func() repo.Manifest { return manifest(j, vm, facts, disks, nics, runID) })
}

// finishPoint ends a point's backup: with the data written (err nil) it commits the point with
// the manifest m makes and the result is ok with bytes; on any failure the point is aborted (it
// is never listed) and the result failed.
func finishPoint(ctx context.Context, w *repo.PointWriter, res VMResult, err error, bytes int64, m func() repo.Manifest) VMResult {
	if err == nil {
		var p repo.Point
		p, err = w.Commit(ctx, m())
		res.Point = p.ID
	}
	if err != nil {
		if aerr := w.Abort(context.WithoutCancel(ctx)); aerr != nil {
			err = fmt.Errorf("%w (and the partial restore point could not be removed, the next run removes it: %v)", err, aerr)
		}
		res.Status, res.Err = VMFailed, err
		return res
	}
	res.Bytes, res.Status = bytes, VMOK
	return res
}

// manifestDisk is the manifest's entry of an exported disk stored as file: where the disk sat
// on its controller, when the snapshot's hardware says.
func manifestDisk(d vsphere.ExportDisk, file string) repo.Disk {
	disk := repo.Disk{Label: d.Name, File: file, CapacityBytes: d.Size}
	if dev := d.Device; dev != nil {
		bus, unit := dev.Bus, dev.Unit
		disk.Key, disk.Label, disk.CapacityBytes = dev.Key, dev.Label, dev.CapacityBytes
		disk.Controller, disk.Bus, disk.Unit = dev.Controller, &bus, &unit
		disk.Thin, disk.Source = dev.Thin, dev.File
	}
	return disk
}

// manifest is what recreating the VM needs, from what vCenter says of it and the snapshot's
// network adapters (nics, in device order). Commit fills the
// point's fields and the files' sizes and hashes.
func manifest(j *job.Job, vm target, facts *vsphere.VM, disks []repo.Disk, nics []vsphere.NICDevice, runID string) repo.Manifest {
	m := repo.Manifest{
		Run:         runID,
		VM:          &repo.VMInfo{ID: vm.ID, Name: vm.Name, UUID: facts.UUID},
		Consistency: repo.Consistency(j.Consistency),
		Hardware: &repo.Hardware{
			CPUs: int(facts.CPUs), MemoryMB: facts.MemoryMB, Firmware: vm.Firmware, GuestID: vm.GuestID,
		},
		Disks:       disks,
		ExtraConfig: vm.ExtraConfig,
		Tags:        vm.Tags,
		CatalogItem: vm.ExtraConfig[catalogItemKey],
	}
	if vm.HardwareVersion > 0 {
		m.Hardware.HardwareVersion = "vmx-" + strconv.Itoa(vm.HardwareVersion)
	}
	for _, n := range nics {
		m.Networks = append(m.Networks, repo.Network{
			Label: n.Label, Network: facts.NICNetwork(n), Adapter: n.Adapter, MAC: n.MAC, AddressType: n.AddressType,
		})
	}
	for k, v := range vm.ExtraConfig {
		switch {
		case strings.HasPrefix(k, baselinePrefix):
			if m.Baseline == nil {
				m.Baseline = map[string]string{}
			}
			m.Baseline[k] = v
		case strings.HasPrefix(k, securityGroupPrefix):
			if m.SecurityGroups == nil {
				m.SecurityGroups = map[string]string{}
			}
			m.SecurityGroups[k] = v
		}
	}
	return m
}

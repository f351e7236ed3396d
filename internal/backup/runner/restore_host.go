package runner

import (
	"context"
	"fmt"
	"io"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/repo"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/restore"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// hostPoint is the point a host restore uses: the one given by ID, or the host's newest.
func hostPoint(ctx context.Context, r *repo.Repository, jobName string, opts RestoreOptions) (repo.Point, error) {
	if opts.Point != "" {
		p, err := restore.FindPoint(ctx, r, jobName, opts.Point)
		if err == nil && !p.IsHost() {
			err = fmt.Errorf("restore point %s is a VM's, not a host configuration backup", p)
		}
		return p, err
	}
	complete, _, err := r.SubjectPoints(ctx, jobName, "", opts.Host)
	if err != nil {
		return repo.Point{}, err
	}
	if len(complete) == 0 {
		return repo.Point{}, fmt.Errorf("job %s has no configuration backup of a host named %s in %s (see `backup list --job %s`)", jobName, opts.Host, r.Location(), jobName)
	}
	return complete[0], nil
}

// restoreHost restores a host's configuration from a host point: the bundle streams from the
// repository to the host (the one named ToHost, else the one of the point's name), its SHA-256
// checked on the way, so that a bundle that does not match is never applied; with
// EnterMaintenance the host is put in maintenance mode first (it must be, and its VMs must be
// able to move). ESXi reboots the host to apply the bundle, and it comes back in maintenance
// mode for the operator to check and take out.
func restoreHost(ctx context.Context, c *vsphere.Client, r *repo.Repository, jobName string, p repo.Point, opts RestoreOptions) RestoreResult {
	start := opts.Now()
	res := RestoreResult{VM: p.Host, Point: p.ID, Status: VMFailed}
	fail := func(err error) RestoreResult {
		res.Err, res.Duration = err, opts.Now().Sub(start)
		return res
	}
	m, err := r.ReadManifest(ctx, p)
	if err != nil {
		return fail(err)
	}
	if m.Host == nil {
		return fail(fmt.Errorf("restore point %s records no host", p))
	}
	var file *repo.FileInfo
	for i := range m.Files {
		if m.Files[i].Name == m.Host.Bundle {
			file = &m.Files[i]
		}
	}
	if file == nil || file.SHA256 == "" {
		return fail(fmt.Errorf("restore point %s: its bundle %s has no SHA-256 in the manifest, so it cannot be checked: it is not restored", p, m.Host.Bundle))
	}
	target := opts.ToHost
	if target == "" {
		target = m.Host.Name
	}
	h, err := c.FindHost(ctx, target)
	if err != nil {
		return fail(err)
	}
	res.Name, res.ID = h.Name, h.ID
	opts.Output.RestoreStart(jobName, "host "+h.Name, p.ID)
	if opts.EnterMaintenance {
		if err := c.EnterMaintenance(ctx, h.ID); err != nil {
			return fail(err)
		}
	}
	f, err := r.OpenFile(ctx, p, m.Host.Bundle)
	if err != nil {
		return fail(err)
	}
	defer func() { _ = f.Close() }()
	body := restore.Checked(p, m.Host.Bundle, file.Bytes, file.SHA256, f)
	if opts.wrapDisk != nil {
		body = opts.wrapDisk(p.Host, body)
	}
	cr := &countingReader{r: body}
	if err := c.RestoreHostConfig(ctx, h.ID, cr, file.Bytes, opts.Force); err != nil {
		res.Bytes = cr.n
		return fail(err)
	}
	res.Bytes, res.Status, res.Duration = cr.n, VMOK, opts.Now().Sub(start)
	return res
}

// countingReader counts the bytes read.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

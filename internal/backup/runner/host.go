package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/job"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/repo"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// results are the job's VM and host results together: what the run's status, its record and
// the command's exit code count.
func (r JobResult) results() []VMResult { return slices.Concat(r.VMs, r.Hosts) }

// resolveHosts resolves the job's hosts block in one read of every host and the inventory (and
// one vAPI call when it names tags), whatever the number of hosts; nil when it has none.
func resolveHosts(ctx context.Context, c *vsphere.Client, j *job.Job) ([]vsphere.HostRef, error) {
	if j.Hosts == nil {
		return nil, nil
	}
	hosts, err := c.SelectHosts(ctx, *j.Hosts)
	if err != nil {
		return nil, fmt.Errorf("job %s: resolving its hosts: %w", j.Name, err)
	}
	return hosts, nil
}

// planHosts is a dry run's host results: every host the job would back up, planned.
func planHosts(ctx context.Context, c *vsphere.Client, j *job.Job) ([]VMResult, error) {
	hosts, err := resolveHosts(ctx, c, j)
	out := make([]VMResult, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, VMResult{ID: h.ID, Name: h.Name, Status: VMPlanned})
	}
	return out, err
}

// backupHost streams the host's configuration bundle from its firmware system into a new host
// point through a pipe (the bundle is never held in memory whole), then commits the point's
// manifest. A failed point is aborted: it is never listed.
func backupHost(ctx context.Context, c *vsphere.Client, r *repo.Repository, j *job.Job, h vsphere.HostRef, runID string, opts Options) VMResult {
	res := VMResult{ID: h.ID, Name: h.Name, Status: VMFailed}
	if opts.beforeHost != nil {
		opts.beforeHost(ctx, h.ID)
	}
	w, err := r.BeginHostPoint(ctx, j.Name, h.Name, opts.Now())
	if err != nil {
		res.Err = err
		return res
	}
	pr, pw := io.Pipe()
	downloaded := make(chan error, 1)
	go func() {
		_, err := c.BackupHostConfig(ctx, h.ID, pw)
		_ = pw.CloseWithError(err) // nil: the reader sees the end of the bundle
		downloaded <- err
	}()
	gz := &head{r: pr, n: 2}
	info, err := w.WriteFile(ctx, repo.HostBundleFile, gz)
	// A write that failed stops the download, which then fails writing into the closed pipe.
	_ = pr.CloseWithError(err)
	if derr := <-downloaded; derr != nil {
		err = derr // the cause, rather than the repository's report of a broken stream
	}
	if err == nil {
		err = checkBundle(gz, info.Bytes)
	}
	return finishPoint(ctx, w, res, err, info.Bytes, func() repo.Manifest {
		return repo.Manifest{
			Run:  runID,
			Host: &repo.HostInfo{ID: h.ID, Name: h.Name, Version: h.Version, Build: h.Build, Bundle: repo.HostBundleFile},
		}
	})
}

// check says why a bundle of n bytes whose first bytes head kept is not one: empty, or not gzip
// (a configuration bundle is a .tgz; an error page served with 200 must not become a point).
func checkBundle(h *head, n int64) error {
	switch {
	case n == 0:
		return errors.New("the host served an empty configuration bundle")
	case len(h.b) < 2 || h.b[0] != 0x1f || h.b[1] != 0x8b:
		return fmt.Errorf("the host served a configuration bundle of %d bytes that is not gzip (it starts % x): not stored", n, h.b[:min(len(h.b), 2)])
	}
	return nil
}

// andHosts is the hosts part of the run's event message, for a job with hosts.
func andHosts(j *job.Job, n int) string {
	if j.Hosts == nil {
		return ""
	}
	return fmt.Sprintf(" and %d hosts", n)
}

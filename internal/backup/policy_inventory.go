package backup

import (
	"context"
	"net/url"
	"sort"
	"strings"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/job"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/repo"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// PolicyInventory implements framework.PolicyInventory: what a backup job gives the policy gate
// beside the change (inventory, in jobResource's ModifyPlan, apply and destroy), for rules such as
// the backup pack's.
func (r *jobResource) PolicyInventory() map[string]*policy.Schema {
	return map[string]*policy.Schema{
		"protected": policy.Array("The VMs the job protects: its selection's and the catalog VMs whose item names it. For a destroy, "+
			"those it protects now. Missing at plan time while they cannot be known (values unknown until apply, or VMs this run "+
			"creates).", policy.Object("One VM.", map[string]*policy.Schema{
			"id":   policy.String("Managed object ID of the VM."),
			"name": policy.String("Name of the VM."),
			"tags": policy.Array("The VM's tags, as category/name.", policy.String("")),
		})),
		"schedule": policy.Object("What the schedule means in time. Missing while the schedule is not known.", map[string]*policy.Schema{
			"longest_gap_minutes": policy.Integer("The longest time between two consecutive runs over the next year, minutes " +
				"(\"0 2 * * *\": 1440; \"0 2 * * 1-5\": 4320)."),
		}),
		"datastores": policy.Array("The datastores the protected VMs' files are on, each with the protected VMs that use it, "+
			"sorted by name. Missing while the protected VMs are.", policy.Object("One datastore.", map[string]*policy.Schema{
			"id":   policy.String("Managed object ID of the datastore."),
			"name": policy.String("Name of the datastore."),
			"type": policy.String("File system type: VMFS, NFS, NFS41, vsan, vvol, OTHER..."),
			"url": policy.String("The datastore's URL as its hosts mount it: ds:///vmfs/volumes/<uuid>/ on ESXi (a local " +
				"directory on a simulator)."),
			"remote_host": policy.String("For an NFS datastore, the NFS server (as the datastore names it); else empty."),
			"remote_path": policy.String("For an NFS datastore, the export's path on that server; else empty."),
			"vms":         policy.Array("Names of the protected VMs on the datastore, sorted.", policy.String("")),
		})),
		"repository": policy.Object("The repository URL, parsed. Missing while the repository is not known.", map[string]*policy.Schema{
			"scheme":        policy.String("file or s3."),
			"path":          policy.String("A file repository's directory (absolute, cleaned); else empty."),
			"bucket":        policy.String("An S3 repository's bucket; else empty."),
			"endpoint_host": policy.String("An S3 repository's endpoint host name, lower case, without the port; empty for AWS's own."),
		}),
		"other_jobs": policy.Array("For a destroy only: the other backup jobs defined in vCenter that protect some of the VMs this job "+
			"protects, sorted by name, with those VMs. A job whose selection cannot be resolved now protects nothing.",
			policy.Object("One other job.", map[string]*policy.Schema{
				"name":     policy.String("Name of the job."),
				"enabled":  policy.Boolean("Whether the runner runs it: a disabled job protects nothing."),
				"protects": policy.Array("IDs of this job's protected VMs that it protects too, sorted.", policy.String("")),
			})),
	}
}

// repositoryFact is the parsed repository for the policy gate; nil when the URL cannot be parsed
// (validation reports that).
func repositoryFact(raw string) map[string]any {
	loc, err := repo.ParseURL(raw)
	if err != nil {
		return nil
	}
	host := ""
	if loc.Endpoint != "" {
		if u, err := url.Parse(loc.Endpoint); err == nil {
			host = strings.ToLower(u.Hostname())
		}
	}
	return map[string]any{"scheme": loc.Scheme, "path": loc.Path, "bucket": loc.Bucket, "endpoint_host": host}
}

// datastoreFacts are the protected VMs' datastores, read in one round trip for all of them.
func datastoreFacts(ctx context.Context, c *vsphere.Client, vms []protectedVM) ([]any, error) {
	users := map[string][]string{}
	var ids []string
	for _, vm := range vms {
		for _, ds := range vm.Datastores {
			if users[ds] == nil {
				ids = append(ids, ds)
			}
			users[ds] = append(users[ds], vm.Name)
		}
	}
	dss, err := c.DatastoresByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(dss))
	for _, d := range dss {
		names := users[d.ID]
		sort.Strings(names)
		out = append(out, map[string]any{"id": d.ID, "name": d.Name, "type": d.Type, "url": d.URL,
			"remote_host": d.RemoteHost, "remote_path": d.RemotePath, "vms": strings2any(names)})
	}
	return out, nil
}

// otherJobFacts are, for a destroy of job name, the other jobs that protect some of its VMs: every
// definition read once, all their selections resolved at the cost of one.
func otherJobFacts(ctx context.Context, c *vsphere.Client, name string, vms []protectedVM) ([]any, error) {
	out := []any{}
	if len(vms) == 0 {
		return out, nil
	}
	jobs, err := job.ReadJobs(ctx, c, true)
	if err != nil {
		return nil, err
	}
	var others []*job.Job
	for n, j := range jobs {
		if n != name {
			others = append(others, j)
		}
	}
	sort.Slice(others, func(a, b int) bool { return others[a].Name < others[b].Name })
	sels := make([]vsphere.Selection, len(others))
	for i, j := range others {
		sels[i] = j.VMSelection()
	}
	selected, errs, err := c.SelectEach(ctx, sels, nil)
	if err != nil {
		return nil, err
	}
	mine := map[string]bool{}
	for _, vm := range vms {
		mine[vm.ID] = true
	}
	for i, j := range others {
		if errs[i] != nil {
			continue // cannot be resolved: it protects nothing now
		}
		var shared []string
		for _, vm := range selected[i] {
			if mine[vm.ID] {
				shared = append(shared, vm.ID)
			}
		}
		if len(shared) > 0 {
			sort.Strings(shared)
			out = append(out, map[string]any{"name": j.Name, "enabled": j.Enabled, "protects": strings2any(shared)})
		}
	}
	return out, nil
}

func strings2any(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/runner"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// networkMap is a repeated --network-map FROM=TO flag.
type networkMap map[string]string

func (m networkMap) String() string {
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

func (m networkMap) Set(s string) error {
	from, to, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(from) == "" || strings.TrimSpace(to) == "" {
		return fmt.Errorf("%q: want FROM=TO (the network the VM was on = the network it goes to)", s)
	}
	m[strings.TrimSpace(from)] = strings.TrimSpace(to)
	return nil
}

// backupRestore is `backup restore`: one VM (--point, or --vm with its newest verified point or
// --latest), an application (--app TAG: its VMs from one run, powered on in boot order) or every
// VM of a job (--all), into a target folder, pool, datastore and network map, on the vCenter of
// the environment, from the job's repository or the one --repository names (another site's
// vCenter never knew the job). Exit 0 when every VM was restored, 1 when any failed, 2 when
// nothing could be restored (bad flags, vCenter or the repository unreachable, a check failed).
func backupRestore(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("backup restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts runner.RestoreOptions
	nets := networkMap{}
	restoreFlags(fs, &opts, nets)
	datacenter := fs.String("datacenter", "", "the datacenter to restore into (default: VSPHERE_DATACENTER, else the vCenter's only one)")
	output := fs.String("output", outputAuto, "how to report progress: auto (bars on a terminal, json otherwise), bars, json or plain")
	rest, err := parse(fs, args)
	if err != nil {
		return flagExit(err)
	}
	boundMemory()
	opts.Target.Networks = nets
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "terraform-provider-vmgmt backup restore: "+format+"\n", a...)
		return ExitUsage
	}
	switch {
	case len(rest) > 0:
		return fail("unexpected arguments %q", rest)
	case !validOutput(*output):
		return fail("--output %q: want auto, bars, json or plain", *output)
	case opts.Target.Name != "" && (opts.App != "" || opts.All):
		return fail("--name renames one VM: with --app or --all each VM keeps its name (give --folder)")
	case opts.Latest && opts.VM == "":
		return fail("--latest goes with --vm")
	case opts.Host == "" && (opts.ToHost != "" || opts.Force || opts.EnterMaintenance):
		return fail("--to-host, --force and --enter-maintenance go with --host")
	case opts.Concurrency < 1:
		return fail("--concurrency %d: want at least 1", opts.Concurrency)
	}
	return withVCenterIn("backup restore", *datacenter, stderr, func(ctx context.Context, c *vsphere.Client) int {
		out, finish := newOutput(*output, stdout)
		opts.Output = out
		sum, err := runner.Restore(ctx, c, opts)
		finish()
		if err != nil {
			return fail("%v", err)
		}
		if !isJSON(out) {
			ok := 0
			for _, r := range sum.Results {
				if r.Status == runner.VMOK {
					ok++
				}
			}
			fmt.Fprintf(stdout, "job %s: %d of %d VMs restored in %s\n", sum.Job, ok, len(sum.Results), sum.Duration.Round(100*time.Millisecond))
		}
		if sum.Failed() {
			return ExitFail
		}
		return ExitOK
	})
}

func validOutput(s string) bool {
	switch s {
	case outputAuto, outputBars, outputJSON, outputPlain:
		return true
	}
	return false
}

func isJSON(out runner.Output) bool {
	_, ok := out.(*runner.JSONLines)
	return ok
}

// restoreFlags defines the flags of `backup restore` that fill opts (and the network map).
func restoreFlags(fs *flag.FlagSet, opts *runner.RestoreOptions, nets networkMap) {
	fs.StringVar(&opts.Job, "job", "", "the backup job whose restore points are restored")
	fs.StringVar(&opts.Repository, "repository", "", "the repository URL (file:// or s3://), to restore from the repository alone: when this vCenter does not hold the job (disaster recovery)")
	fs.StringVar(&opts.Point, "point", "", "restore the restore point of this ID")
	fs.StringVar(&opts.VM, "vm", "", "restore the VM of this name (as it was backed up): its newest verified point, or its newest with --latest")
	fs.BoolVar(&opts.Latest, "latest", false, "with --vm: restore its newest point even when no restore test has verified it")
	fs.StringVar(&opts.App, "app", "", "restore an application: every VM whose point carries this tag (category/name), all from one run, powered on in boot order (tag category "+runner.BootOrderCategory+")")
	fs.BoolVar(&opts.All, "all", false, "restore every VM of the job: each one's newest verified point (its newest, with a warning, when none is verified)")
	fs.StringVar(&opts.Host, "host", "", "restore the configuration of the host of this name (as backed up) from its newest configuration backup (or --point)")
	fs.StringVar(&opts.ToHost, "to-host", "", "with --host: the host (name or ID) the configuration goes to (default: the host of the backed-up name)")
	fs.BoolVar(&opts.Force, "force", false, "with --host: apply a bundle made on another host (ESXi refuses it otherwise)")
	fs.BoolVar(&opts.EnterMaintenance, "enter-maintenance", false, "with --host: put the host in maintenance mode first (its VMs must be able to move away); ESXi reboots it to apply the bundle")
	fs.StringVar(&opts.Target.Name, "name", "", "with --point or --vm: the restored VM's name (default: its name when backed up)")
	fs.StringVar(&opts.Target.Folder, "folder", "", "the VM folder to restore into, inventory path or ID (default: the datacenter's vm folder)")
	fs.StringVar(&opts.Target.Pool, "pool", "", "the cluster or resource pool to restore into, inventory path or ID (default: the datacenter's only cluster)")
	fs.StringVar(&opts.Target.Datastore, "datastore", "", "the datastore to restore onto (default: the one the VM was on, when this vCenter has it, else its only one)")
	fs.Var(nets, "network-map", "FROM=TO: attach the NICs that were on network FROM to network TO (repeatable; unmapped networks keep their names)")
	fs.BoolVar(&opts.Target.PowerOn, "power-on", false, "power the restored VMs on (an application's and the job's in boot order)")
	fs.IntVar(&opts.Concurrency, "concurrency", runner.DefaultConcurrency, "VMs restored at once")
}

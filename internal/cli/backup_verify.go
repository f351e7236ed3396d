package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/runner"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// backupVerify is `backup verify`: restore tests. Each point tested is restored into an isolated
// folder and network under a temporary name, powered on and waited for, its measured recovery
// time and the outcome are recorded in its manifest, and the copy is removed. Exit 0 when every
// test passed, 1 when any failed, 2 when none could be run.
func backupVerify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("backup verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts runner.VerifyOptions
	fs.StringVar(&opts.Job, "job", "", "test the restore points of the backup job of this name now")
	fs.BoolVar(&opts.AllDue, "all-due", false, "run the restore_test of every enabled job whose schedule says it is due")
	fs.StringVar(&opts.VM, "vm", "", "test only the points of the VM of this name")
	fs.BoolVar(&opts.Latest, "latest", false, "test each VM's newest point, tested before or not (default: every point not yet verified)")
	fs.IntVar(&opts.Sample, "sample", 0, "test at most N points, of the VMs verified longest ago first (default: the restore_test's sample, else all)")
	fs.StringVar(&opts.Folder, "folder", "", "the isolated VM folder the copies go to (default: the job's restore_test folder)")
	fs.StringVar(&opts.Network, "network", "", "the isolated network every NIC of a copy is put on (default: the job's restore_test network)")
	fs.StringVar(&opts.Datastore, "datastore", "", "the datastore of the copies (default: as a restore places them)")
	fs.StringVar(&opts.Pool, "pool", "", "the cluster or resource pool of the copies (default: as a restore places them)")
	fs.DurationVar(&opts.MaxRecovery, "max-recovery", 0, "fail a test whose recovery takes longer, e.g. 15m (default: the restore_test's, else no bound)")
	fs.DurationVar(&opts.BootTimeout, "boot-timeout", runner.DefaultBootTimeout, "how long a copy has to come up")
	fs.IntVar(&opts.Concurrency, "concurrency", runner.DefaultConcurrency, "points tested at once")
	output := fs.String("output", outputAuto, "how to report progress: auto (bars on a terminal, json otherwise), bars, json or plain")
	rest, err := parse(fs, args)
	if err != nil {
		return flagExit(err)
	}
	boundMemory()
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "terraform-provider-vmgmt backup verify: "+format+"\n", a...)
		return ExitUsage
	}
	switch {
	case len(rest) > 0:
		return fail("unexpected arguments %q", rest)
	case !validOutput(*output):
		return fail("--output %q: want auto, bars, json or plain", *output)
	case (opts.Job == "") == !opts.AllDue:
		return fail("give either --job NAME or --all-due")
	case opts.Sample < 0 || opts.Concurrency < 1 || opts.MaxRecovery < 0 || opts.BootTimeout <= 0:
		return fail("--sample, --max-recovery must not be negative; --concurrency and --boot-timeout must be positive")
	}
	return withVCenter("backup verify", stderr, func(ctx context.Context, c *vsphere.Client) int {
		out, finish := newOutput(*output, stdout)
		opts.Output = out
		start := time.Now()
		sum, err := runner.Verify(ctx, c, opts)
		finish()
		if err != nil {
			return fail("%v", err)
		}
		if !isJSON(out) {
			ok, slowest := 0, time.Duration(0)
			for _, r := range sum.Results {
				if r.OK {
					ok++
				}
				slowest = max(slowest, r.Recovery)
			}
			fmt.Fprintf(stdout, "%d of %d restore points verified, slowest recovery %.1fs, in %s\n", ok, len(sum.Results),
				slowest.Seconds(), time.Since(start).Round(100*time.Millisecond))
		}
		if sum.Failed() {
			return ExitFail
		}
		return ExitOK
	})
}

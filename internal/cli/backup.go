package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/runner"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/provider"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

func runBackup(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "terraform-provider-vmgmt backup: give a subcommand: run, list, restore, verify\n\n%s", usage)
		return ExitUsage
	}
	switch args[0] {
	case "run":
		return backupRun(args[1:], stdout, stderr)
	case "list":
		return backupList(args[1:], stdout, stderr)
	case "restore":
		return backupRestore(args[1:], stdout, stderr)
	case "verify":
		return backupVerify(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return ExitOK
	}
	fmt.Fprintf(stderr, "terraform-provider-vmgmt backup: unknown subcommand %q (want run, list, restore or verify)\n\n%s", args[0], usage)
	return ExitUsage
}

// backupRun is `backup run`: it connects to vCenter with the provider's environment variables
// and runs the jobs the flags pick. Exit 0 when every VM was backed up (or skipped for another
// runner), 1 when any failed, 2 when nothing could be run.
func backupRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("backup run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts runner.Options
	fs.StringVar(&opts.Job, "job", "", "run the backup job of this name now, due or not")
	fs.BoolVar(&opts.AllDue, "all-due", false, "run every enabled job whose schedule says it is due")
	fs.BoolVar(&opts.DryRun, "dry-run", false, "print the jobs and VMs a run would back up, and change nothing")
	fs.IntVar(&opts.Concurrency, "concurrency", runner.DefaultConcurrency, "VMs of a job backed up at once")
	fs.DurationVar(&opts.PeerWait, "peer-wait", runner.DefaultPeerWait,
		"how long to wait for a VM another runner of the same run is backing up, so that a VM whose runner died is still backed up")
	leaseTTL := fs.Duration("lease-ttl", 30*time.Second,
		"how long a runner's job lock and VM leases outlive its last heartbeat: after that, another runner takes over what a dead runner held")
	output := fs.String("output", outputAuto, "how to report progress: auto (bars on a terminal, json otherwise), bars, json (one JSON event per line) or plain (lines)")
	rest, err := parse(fs, args)
	if err != nil {
		return flagExit(err)
	}
	boundMemory()
	if *leaseTTL < time.Second {
		fmt.Fprintf(stderr, "terraform-provider-vmgmt backup run: --lease-ttl %s: want at least 1s (heartbeats come every third of it)\n", *leaseTTL)
		return ExitUsage
	}
	opts.JobLock.TTL, opts.VMLock.TTL = *leaseTTL, *leaseTTL
	if !validOutput(*output) {
		fmt.Fprintf(stderr, "terraform-provider-vmgmt backup run: --output %q: want auto, bars, json or plain\n", *output)
		return ExitUsage
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "terraform-provider-vmgmt backup run: unexpected arguments %q\n", rest)
		return ExitUsage
	}
	if (opts.Job == "") == !opts.AllDue {
		fmt.Fprintln(stderr, "terraform-provider-vmgmt backup run: give either --job NAME or --all-due")
		return ExitUsage
	}
	return withVCenter("backup run", stderr, func(ctx context.Context, c *vsphere.Client) int {
		out, finish := newOutput(*output, stdout)
		opts.Output = out
		sum, err := runner.Run(ctx, c, opts)
		finish()
		if err != nil {
			fmt.Fprintf(stderr, "terraform-provider-vmgmt backup run: %v\n", err)
			if len(sum.Jobs) == 0 {
				return ExitUsage
			}
			return ExitFail
		}
		if sum.Failed() {
			return ExitFail
		}
		return ExitOK
	})
}

// The values of `backup run --output`.
const (
	outputAuto  = "auto"
	outputBars  = "bars"
	outputJSON  = "json"
	outputPlain = "plain"
)

// newOutput makes the run's Output: auto is bars when stdout is a terminal and JSON lines
// otherwise (CI logs, log shippers). With JSON lines the summary is the job_done event; plain and
// bars print the per-VM summary lines. finish, called after the run, draws the bars' last frame.
func newOutput(kind string, stdout io.Writer) (out runner.Output, finish func()) {
	if kind == outputAuto {
		kind = outputJSON
		if f, ok := stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			kind = outputBars
		}
	}
	switch kind {
	case outputBars:
		b := runner.NewBars(stdout, 0)
		return b, b.Wait
	case outputJSON:
		return runner.NewJSONLines(stdout), func() {}
	}
	return &runner.Plain{W: stdout}, func() {}
}

// withVCenter connects to vCenter with the provider's environment variables, runs f with a
// context that SIGINT and SIGTERM end, and logs out after; it returns f's exit code, or ExitUsage
// (with the reason on stderr, prefixed by the command's name) when vCenter cannot be reached.
func withVCenter(command string, stderr io.Writer, f func(ctx context.Context, c *vsphere.Client) int) int {
	return withVCenterIn(command, "", stderr, f)
}

// withVCenterIn is withVCenter in the datacenter of that name (VSPHERE_DATACENTER's when empty).
func withVCenterIn(command, datacenter string, stderr io.Writer, f func(ctx context.Context, c *vsphere.Client) int) int {
	cfg, err := vcenterFromEnv()
	if err != nil {
		fmt.Fprintf(stderr, "terraform-provider-vmgmt %s: %v\n", command, err)
		return ExitUsage
	}
	if datacenter != "" {
		cfg.Datacenter = datacenter
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := vsphere.Connect(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "terraform-provider-vmgmt %s: connecting to vCenter %s: %v\n", command, cfg.Server, err)
		return ExitUsage
	}
	defer func() { _ = c.Close(context.WithoutCancel(ctx)) }()
	return f(ctx, c)
}

// vcenterFromEnv reads the vCenter connection from the environment variables the provider reads
// (VSPHERE_SERVER, VSPHERE_USER, VSPHERE_PASSWORD, VSPHERE_ALLOW_UNVERIFIED_SSL, VSPHERE_CA_FILE,
// VSPHERE_DATACENTER). The runner keeps no session file: it logs out when done.
func vcenterFromEnv() (vsphere.Config, error) {
	cfg := vsphere.Config{
		Server:     strings.TrimSpace(os.Getenv(provider.EnvServer)),
		User:       os.Getenv(provider.EnvUser),
		Password:   os.Getenv(provider.EnvPassword),
		CAFile:     strings.TrimSpace(os.Getenv(provider.EnvCAFile)),
		Datacenter: os.Getenv(provider.EnvDatacenter),
	}
	var missing []string
	for env, v := range map[string]string{provider.EnvServer: cfg.Server, provider.EnvUser: cfg.User, provider.EnvPassword: cfg.Password} {
		if v == "" {
			missing = append(missing, env)
		}
	}
	if len(missing) > 0 {
		return cfg, fmt.Errorf("set %s to reach vCenter (the same variables the provider reads)", strings.Join(sorted(missing), ", "))
	}
	if s := strings.TrimSpace(os.Getenv(provider.EnvAllowUnverified)); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return cfg, fmt.Errorf("%s=%q is not a boolean: use true or false", provider.EnvAllowUnverified, s)
		}
		cfg.Insecure = b
	}
	if cfg.CAFile != "" {
		if err := vsphere.CheckCAFile(cfg.CAFile); err != nil {
			return cfg, fmt.Errorf("%s=%q: %w", provider.EnvCAFile, cfg.CAFile, err)
		}
	}
	return cfg, nil
}

func sorted(s []string) []string {
	sort.Strings(s)
	return s
}

// runnerMemoryLimit is the heap the runner asks the Go runtime to keep to (a soft limit: the
// collector works harder near it, it never fails an allocation). A run streams disks through
// fixed buffers (the S3 upload's parts, the NFC reads), so what grows with a disk is only garbage
// the collector has not reclaimed yet; without a limit it lets that grow to twice the live heap.
const runnerMemoryLimit = 40 << 20

// boundMemory sets runnerMemoryLimit, unless GOMEMLIMIT says otherwise.
func boundMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(runnerMemoryLimit)
	}
}

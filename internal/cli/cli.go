// Package cli holds the operator commands of the provider binary (terraform-provider-vmgmt
// policy test, policy eval, version). Terraform starts the binary without arguments and never
// reaches this package; main dispatches here only when Handles says the arguments are a command.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Version is the provider version the commands report; main sets it from its build-time version.
var Version = "dev"

// Exit codes.
const (
	ExitOK    = 0 // everything passed
	ExitFail  = 1 // a test failed, or policy blocks the plan
	ExitUsage = 2 // bad usage, or policy / plan could not be loaded or evaluated: no verdict
)

const usage = `Usage: terraform-provider-vmgmt [command] [arguments]

Run without arguments (as Terraform does) it serves the vmgmt provider; -debug serves it for a
debugger. With a command it is an operator tool:

  policy test [--verbose] [--no-packs] [DIR...]
        Run Rego tests in-process, like 'opa test': the built-in packs' tests and the tests
        under each DIR. Exit 0 when all pass, 1 when some fail, 2 when they cannot be loaded.

  policy eval --plan PLAN.json [--source PATH]... [--pack NAME]... [--decision-log FILE]
              [--principal NAME] [--explain none|fails] [--format text|json]
        Judge every vmgmt_ resource change of a 'terraform show -json' plan file with the same
        policy engine the provider runs at plan time. Give the sources and packs of the
        provider's policy block. Exit 0 when nothing blocks, 1 when a mandatory rule blocks,
        2 when the plan or policy cannot be loaded or evaluated.

  backup run (--job NAME | --all-due) [--dry-run] [--concurrency N]
             [--output auto|bars|json|plain]
        Run backup jobs defined by vmgmt_backup_job: the named job now, or every enabled job
        that is due. vCenter from VSPHERE_SERVER, VSPHERE_USER, VSPHERE_PASSWORD,
        VSPHERE_ALLOW_UNVERIFIED_SSL (as the provider); the repository's credentials from the
        environment (AWS_*). Reports progress as bars per disk on a terminal and as JSON lines
        otherwise (one event per job, VM and disk: start, progress, done, error; the job_done
        event carries the per-VM results), or --output plain: lines, and one summary line per
        VM. Exit 0 when all were backed up, 1 when any failed, 2 when nothing could be run.

  backup list [--job NAME] [--vm NAME] [--format text|json]
        List the complete restore points of the backup jobs (of one job, of one VM): job, VM,
        point, time, size, consistency, verified, disks; newest first per VM. Without --vm, the
        VMs and hosts each job protects now. Same environment as 'backup run'. Exit 0 when every
        job's repository was listed, 1 when one could not be (reported on stderr, the others
        still listed), 2 when nothing could be listed.

  backup restore --job NAME (--point ID | --vm NAME [--latest] | --app TAG | --all |
                             --host NAME [--to-host NAME] [--force] [--enter-maintenance])
                 [--repository URL] [--datacenter NAME] [--name NAME] [--folder PATH] [--pool PATH]
                 [--datastore NAME] [--network-map FROM=TO]... [--power-on]
                 [--concurrency N] [--output auto|bars|json|plain]
        Recreate VMs from restore points: hardware, disks (SHA-256 checked while they stream;
        a mismatch fails the VM and removes it), extraConfig and vmgmt's stamps, tags. One VM
        (its newest verified point, or --latest), an application (the VMs tagged TAG, from one
        run, powered on in boot order by their vmgmt-boot-order tag) or every VM of the job.
        --repository restores from the repository alone, onto a vCenter that never held the
        job (disaster recovery). --host uploads a host's configuration bundle (SHA-256
        checked first) and applies it; ESXi reboots the host. Every VM is checked before any is made; a rerun after an
        interruption finishes or starts over what it left, never duplicating a VM. Exit 0
        when all were restored, 1 when any failed, 2 when nothing could be restored.

  backup verify (--job NAME | --all-due) [--vm NAME] [--latest] [--sample N]
                [--folder PATH] [--network NAME] [--max-recovery DURATION]
                [--boot-timeout DURATION] [--concurrency N] [--output auto|bars|json|plain]
        Restore tests: restore points into an isolated folder and network under a temporary
        name, without tags or vmgmt stamps, power them on, wait for the guest (its heartbeat,
        or power alone without VMware Tools), record the measured recovery time and the
        outcome in the point's manifest, and remove the copy. A checksum mismatch, a copy that
        does not come up or a recovery slower than --max-recovery fails. --all-due runs each
        job's restore_test when its schedule is due. Exit 0 when all passed, 1 when any
        failed, 2 when none could be run.

  version
        Print the provider version.

  help
        Print this help. 'COMMAND -h' prints the flags of a command.
`

// Handles reports whether the command-line arguments (without the program name) ask for an
// operator command rather than the provider server: a first argument that is not a flag, or a
// help or version flag.
func Handles(args []string) bool {
	if len(args) == 0 {
		return false
	}
	switch args[0] {
	case "-h", "-help", "--help", "-version", "--version":
		return true
	}
	return !strings.HasPrefix(args[0], "-")
}

// Run runs an operator command and returns the process exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return ExitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return ExitOK
	case "version", "-version", "--version":
		fmt.Fprintf(stdout, "terraform-provider-vmgmt %s\n", Version)
		return ExitOK
	case "policy":
		return runPolicy(args[1:], stdout, stderr)
	case "backup":
		return runBackup(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "terraform-provider-vmgmt: unknown command %q\n\n%s", args[0], usage)
	return ExitUsage
}

func runPolicy(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "terraform-provider-vmgmt policy: give a subcommand: test or eval\n\n%s", usage)
		return ExitUsage
	}
	switch args[0] {
	case "test":
		return policyTest(args[1:], stdout, stderr)
	case "eval":
		return policyEval(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return ExitOK
	}
	fmt.Fprintf(stderr, "terraform-provider-vmgmt policy: unknown subcommand %q (want test or eval)\n\n%s", args[0], usage)
	return ExitUsage
}

// parse parses flags that may come before, between or after the positional arguments
// (`policy test DIR --verbose`), which flag.FlagSet alone stops at. It returns the positional
// arguments, or flag.ErrHelp when -h was asked for.
// Everything after "--" is positional.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for i, a := range args {
		if a == "--" {
			args, rest = args[:i], args[i+1:]
			break
		}
	}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return append(positional, rest...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// flagExit maps a flag parsing error to an exit code: -h is not an error.
func flagExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	return ExitUsage
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string { return strings.Join(*m, ",") }

func (m *multi) Set(v string) error {
	if v == "" {
		return errors.New("must not be empty")
	}
	*m = append(*m, v)
	return nil
}

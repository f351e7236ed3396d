// Command peakrss runs a command and writes the command's peak RSS, in KiB, to a file:
//
//	peakrss OUT COMMAND [ARG...]
//
// It passes its stdin, stdout, stderr and environment to the command and exits with the
// command's exit code. BenchmarkBackupRun starts the runner through it.
//
// Why not read the child's rusage in the benchmark directly: Go starts a child with
// CLONE_VM|CLONE_VFORK, so until the child execs it runs on its parent's address space, and at
// exec Linux folds that address space's high-water RSS into the child's ru_maxrss. A child of the
// benchmark process would report at least the benchmark's own peak (simulator, test binary). A
// child of this small program reports at least this program's peak, which OUT's second field
// gives so that the reader can check that the command's figure is its own.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: peakrss OUT COMMAND [ARG...]")
		os.Exit(2)
	}
	own := hwmKiB() // this program's high-water RSS just before the command starts
	cmd := exec.Command(os.Args[2], os.Args[3:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		fmt.Fprintf(os.Stderr, "peakrss: %v\n", err)
		os.Exit(2)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		fmt.Fprintln(os.Stderr, "peakrss: no rusage for the command")
		os.Exit(2)
	}
	// Maxrss is in KiB on Linux.
	if err := os.WriteFile(os.Args[1], fmt.Appendf(nil, "%d %d\n", ru.Maxrss, own), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "peakrss: %v\n", err)
		os.Exit(2)
	}
	os.Exit(cmd.ProcessState.ExitCode())
}

// hwmKiB is VmHWM from /proc/self/status: the high-water RSS of this process's own address space.
func hwmKiB() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer func() { _ = f.Close() }()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			var kib int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kib); err == nil {
				return kib
			}
		}
	}
	return -1
}

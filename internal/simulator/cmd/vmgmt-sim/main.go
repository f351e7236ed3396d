// Command vmgmt-sim serves the vmgmt demo inventory on a loopback port until interrupted.
//
//	go run ./internal/simulator/cmd/vmgmt-sim -listen 127.0.0.1:8989 -env-file sim.env
//
// `vmgmt-sim tag [-detach] VM CATEGORY/TAG` changes a VM's tags, and `vmgmt-sim set VM KEY VALUE`
// one of its advanced settings, on a running simulator (named by VSPHERE_SERVER, VSPHERE_USER and
// VSPHERE_PASSWORD) as an administrator would outside Terraform. `terraform show -json PLANFILE |
// vmgmt-sim plan-check` lists a plan's changes other than the standing diff of audit baselines
// (exit status 1 when there is any), for the demo's check that a plan has nothing left to do.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "tag" {
		os.Exit(tagCommand(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "set" {
		os.Exit(setCommand(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "plan-check" {
		os.Exit(planCheckCommand(os.Args[2:]))
	}
	listen := flag.String("listen", "127.0.0.1:8989", "loopback address to serve the SDK on (port 0 picks a free one)")
	user := flag.String("user", simulator.DefaultUser, "user name the simulator accepts")
	password := flag.String("password", simulator.DefaultPassword, "password the simulator accepts")
	envFile := flag.String("env-file", "", "also write the connection settings to this file as shell exports, once serving")
	bigDiskMiB := flag.Int64("big-disk-mib", simulator.DefaultBigDiskSize>>20,
		"size in MiB of the sparse data disk of "+simulator.BigDiskVM+" (what a backup of it exports); small keeps a demo's backup fast")
	flag.Parse()
	if *bigDiskMiB <= 0 {
		fmt.Fprintf(os.Stderr, "vmgmt-sim: -big-disk-mib %d: give a positive size in MiB\n", *bigDiskMiB)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	sim, err := simulator.Start(ctx, simulator.Options{Addr: *listen, User: *user, Password: *password, BigDiskSize: *bigDiskMiB << 20})
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmgmt-sim:", err)
		os.Exit(1)
	}
	defer sim.Close()

	env := sim.Env()
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "export %s=%q\n", k, env[k])
	}
	fmt.Printf("vmgmt-sim: vCenter simulator serving %s (datacenter %s, cluster %s)\n", sim.URL, simulator.Datacenter, simulator.ClusterPath)
	fmt.Print(b.String())
	if *envFile != "" {
		tmp := *envFile + ".tmp"
		err := os.WriteFile(tmp, []byte(b.String()), 0o600)
		if err == nil {
			err = os.Rename(tmp, *envFile)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "vmgmt-sim: writing env file:", err)
			os.Exit(1)
		}
	}
	<-ctx.Done()
	fmt.Println("vmgmt-sim: stopping")
}

func tagCommand(args []string) int {
	fs := flag.NewFlagSet("tag", flag.ContinueOnError)
	detach := fs.Bool("detach", false, "remove the tag instead of attaching it")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	category, tag, ok := strings.Cut(fs.Arg(1), "/")
	if fs.NArg() != 2 || !ok {
		fmt.Fprintln(os.Stderr, "usage: vmgmt-sim tag [-detach] VM CATEGORY/TAG (with VSPHERE_SERVER, VSPHERE_USER, VSPHERE_PASSWORD set)")
		return 2
	}
	err := simulator.TagVM(context.Background(), os.Getenv("VSPHERE_SERVER"), os.Getenv("VSPHERE_USER"), os.Getenv("VSPHERE_PASSWORD"),
		fs.Arg(0), category, tag, *detach)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmgmt-sim tag:", err)
		return 1
	}
	return 0
}

func setCommand(args []string) int {
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: vmgmt-sim set VM KEY VALUE (with VSPHERE_SERVER, VSPHERE_USER, VSPHERE_PASSWORD set)")
		return 2
	}
	err := simulator.SetExtraConfig(context.Background(), os.Getenv("VSPHERE_SERVER"), os.Getenv("VSPHERE_USER"), os.Getenv("VSPHERE_PASSWORD"),
		args[0], args[1], args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmgmt-sim set:", err)
		return 1
	}
	return 0
}

// Command vmgmt-sim serves the vmgmt demo inventory on a loopback port until interrupted.
//
//	go run ./internal/simulator/cmd/vmgmt-sim -listen 127.0.0.1:8989 -env-file sim.env
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
	listen := flag.String("listen", "127.0.0.1:8989", "loopback address to serve the SDK on (port 0 picks a free one)")
	user := flag.String("user", simulator.DefaultUser, "user name the simulator accepts")
	password := flag.String("password", simulator.DefaultPassword, "password the simulator accepts")
	envFile := flag.String("env-file", "", "also write the connection settings to this file as shell exports, once serving")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	sim, err := simulator.Start(ctx, simulator.Options{Addr: *listen, User: *user, Password: *password})
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

// Command terraform-provider-vmgmt is the vmgmt Terraform provider. Run without arguments (as
// Terraform does) it serves the plugin protocol; with a command (policy test, policy eval,
// version, help) it is an operator tool: see internal/cli.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"runtime/debug"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/cli"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/provider"
)

// version is set at build time: -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	if cli.Handles(os.Args[1:]) {
		cli.Version = version
		os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr))
	}

	var debug bool
	flag.BoolVar(&debug, "debug", false, "start the provider with support for debuggers like delve")
	flag.Parse()
	quietSDKLogs()
	lessGC()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address:         "registry.terraform.io/vmgmt/vmgmt",
		Debug:           debug,
		ProtocolVersion: 6,
	})
	// Terraform has stopped the provider: log out sessions that are not persisted.
	provider.Shutdown(context.Background())
	if err != nil {
		log.Fatal(err)
	}
}

// quietSDKLogs turns off the plugin SDK's own trace logging when nobody asked for logs (TF_LOG
// and TF_LOG_PROVIDER unset): Terraform then discards those lines anyway, and producing them costs
// about a quarter of a refresh's CPU. Any TF_LOG* setting leaves logging as Terraform configures it.
func quietSDKLogs() {
	for _, k := range []string{"TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_PATH"} {
		if os.Getenv(k) != "" {
			return
		}
	}
	for _, k := range []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK"} {
		if _, set := os.LookupEnv(k); !set {
			_ = os.Setenv(k, "off")
		}
	}
}

// lessGC lets the heap grow to five times the live data between collections (GOGC=400) unless
// GOGC says otherwise. The provider lives for one Terraform command and its live heap is small
// (tens of MB), while the plugin framework allocates heavily on every call: with the default
// GOGC=100 the collector took a fifth of the CPU of a plan of 100 catalog VMs; at 400 a plan
// uses about 15 % less CPU for a few tens of MB more memory.
func lessGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(400)
	}
}

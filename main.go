// Command terraform-provider-vmgmt is the vmgmt Terraform provider. Run without arguments (as
// Terraform does) it serves the plugin protocol; with a command (policy test, policy eval,
// version, help) it is an operator tool: see internal/cli.
package main

import (
	"context"
	"flag"
	"log"
	"os"

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
	provider.TuneProcess()

	factory, shutdown := provider.NewWithShutdown(version)
	err := providerserver.Serve(context.Background(), factory, providerserver.ServeOpts{
		Address:         "registry.terraform.io/vmgmt/vmgmt",
		Debug:           debug,
		ProtocolVersion: 6,
	})
	// Terraform has stopped the provider: log out sessions that are not persisted.
	shutdown(context.Background())
	if err != nil {
		log.Fatal(err)
	}
}

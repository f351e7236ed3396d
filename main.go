// Command terraform-provider-vmgmt is the vmgmt Terraform provider. Run without arguments (as
// Terraform does) it serves the plugin protocol; operator commands are added as subcommands.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/provider"
)

// version is set at build time: -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "start the provider with support for debuggers like delve")
	flag.Parse()

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

package catalog_test

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/catalog"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// hclBlock writes a resource block of the given attributes (raw HCL values), defaults replaced
// by over; an override of "" removes the attribute.
func hclBlock(header string, defaults, over map[string]string) string {
	attrs := map[string]string{}
	for k, v := range defaults {
		attrs[k] = v
	}
	for k, v := range over {
		attrs[k] = v
	}
	keys := make([]string, 0, len(attrs))
	for k, v := range attrs {
		if v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(header + " {\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "  %s = %s\n", k, attrs[k])
	}
	b.WriteString("}\n")
	return b.String()
}

var (
	badItemDefaults = map[string]string{
		"name":             `"app-server"`,
		"version":          `"1.0.0"`,
		"template":         fmt.Sprintf("%q", templatePath),
		"sizes":            `{ small = { cpus = 2, memory_mb = 4096, disk_gb = 40 } }`,
		"entitled_groups":  `["erp-ops"]`,
		"allowed_folders":  fmt.Sprintf("[%q]", simulator.WorkloadFolder),
		"allowed_networks": fmt.Sprintf("[%q]", simulator.PortGroups[0]),
	}
	badVMDefaults = map[string]string{
		"name":          `"app01"`,
		"catalog_item":  `vmgmt_catalog_item.app.name`,
		"size":          `"small"`,
		"owner":         `"jane.doe"`,
		"job_function":  `"erp-ops"`,
		"customization": `{ domain = "corp.example", ipv4_address = "10.0.20.11/24", ipv4_gateway = "10.0.20.1", dns_servers = ["10.0.0.2"] }`,
	}
)

// The bad-input table of the catalog: every class of input vCenter would refuse or store
// differently is refused by the plan, on the attribute, and nothing is created in vCenter (VMs,
// pools, folders and published items are counted before and after each case).
func TestAccCatalog_badInput(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	pc := sim.ProviderConfig()
	item := func(over map[string]string) string {
		return pc + hclBlock(`resource "vmgmt_catalog_item" "app"`, badItemDefaults, over)
	}
	vm := func(over map[string]string) string {
		return item(nil) + hclBlock(`resource "vmgmt_catalog_vm" "app01"`, badVMDefaults, over)
	}
	cust := func(fields string) map[string]string { return map[string]string{"customization": "{ " + fields + " }"} }
	cases := []acctest.BadInput{
		// Control characters, white space at the ends, in anything that becomes a vCenter name,
		// a tag or a stamp.
		{Class: "names", Name: "vm name with a control character", Config: vm(map[string]string{"name": `"app\u000101"`}),
			Want: `Attribute name: "app\\x0101" contains the control character U\+0001`},
		{Class: "names", Name: "vm name with a tab", Config: vm(map[string]string{"name": `"app\t01"`}),
			Want: `Attribute name: .* control character U\+0009`},
		{Class: "names", Name: "vm name with trailing space", Config: vm(map[string]string{"name": `"app01 "`}),
			Want: `Attribute name: "app01 " starts or ends with white space`},
		{Class: "names", Name: "owner with a line feed", Config: vm(map[string]string{"owner": `"jane\ndoe"`}),
			Want: `Attribute owner: .* control character U\+000A`},
		{Class: "names", Name: "job function with a bidi override", Config: vm(map[string]string{"job_function": `"erp\u202eops"`}),
			Want: `Attribute job_function: .* U\+202E`},
		{Class: "names", Name: "item description with a bell", Config: item(map[string]string{"description": `"ERP\u0007 server"`}),
			Want: `Attribute description: .* U\+0007`},
		{Class: "names", Name: "entitled group with NUL", Config: item(map[string]string{"entitled_groups": `["erp\u0000ops"]`}),
			Want: `Attribute entitled_groups\[0\]: .* U\+0000`},
		{Class: "names", Name: "size name with a C1 control", Config: item(map[string]string{"sizes": `{ "sm\u0085all" = { cpus = 2, memory_mb = 4096, disk_gb = 40 } }`}),
			Want: `Attribute sizes\["sm\\u0085all"\]: .* U\+0085`},
		{Class: "names", Name: "quota group with escape", Config: item(map[string]string{"quota": `{ "erp\u001bops" = { instances = 1 } }`}),
			Want: `Attribute quota\["erp\\x1bops"\]: .* U\+001B`},
		{Class: "names", Name: "network with a control character", Config: vm(map[string]string{"network": `"VM\u0001Network"`}),
			Want: `Attribute network: .* U\+0001`},
		{Class: "names", Name: "catalog group with a control character",
			Config: pc + `data "vmgmt_catalog" "c" { group = "erp\u0002" }`, Want: `Attribute group: .* U\+0002`},
		{Class: "names", Name: "item name with a control character", Config: item(map[string]string{"name": `"app\u0001"`}),
			Want: `Attribute name must be lower-case letters, digits and dashes`},
		{Class: "names", Name: "vm name too long", Config: vm(map[string]string{"name": fmt.Sprintf("%q", strings.Repeat("v", 81))}),
			Want: `Attribute name: .* is 81 characters long, more than the 80 vCenter accepts`},

		// Numbers beyond what vCenter takes, including beyond 64 bits.
		{Class: "numbers", Name: "cpus 1e20", Config: item(map[string]string{"sizes": `{ small = { cpus = 1e20, memory_mb = 4096, disk_gb = 40 } }`}),
			Want: `Attribute sizes\["small"\].cpus must be a whole number from 1 to 768; got 1e\+20`},
		{Class: "numbers", Name: "cpus 769", Config: item(map[string]string{"sizes": `{ small = { cpus = 769, memory_mb = 4096, disk_gb = 40 } }`}),
			Want: `Attribute sizes\["small"\].cpus must be a whole number from 1 to 768; got 769`},
		{Class: "numbers", Name: "memory not a multiple of 4", Config: item(map[string]string{"sizes": `{ small = { cpus = 2, memory_mb = 4098, disk_gb = 40 } }`}),
			Want: `Attribute sizes\["small"\].memory_mb must be a multiple of 4; got 4098`},
		{Class: "numbers", Name: "memory above 24 TB", Config: item(map[string]string{"sizes": `{ small = { cpus = 2, memory_mb = 25165828, disk_gb = 40 } }`}),
			Want: `Attribute sizes\["small"\].memory_mb must be a whole number from 256 to 25,165,824`},
		{Class: "numbers", Name: "disk 2.5 GB", Config: item(map[string]string{"sizes": `{ small = { cpus = 2, memory_mb = 4096, disk_gb = 2.5 } }`}),
			Want: `Attribute sizes\["small"\].disk_gb must be a whole number from 1 to 63,488; got 2.5`},
		{Class: "numbers", Name: "quota instances 1e20", Config: item(map[string]string{"quota": `{ erp-ops = { instances = 1e20 } }`}),
			Want: `Attribute quota\["erp-ops"\].instances must be a whole number from 1 to 45,000; got 1e\+20`},
		{Class: "numbers", Name: "lease max_days 1e20", Config: item(map[string]string{"lease": `{ max_days = 1e20 }`}),
			Want: `Attribute lease.max_days must be a whole number from 1 to 3,650; got 1e\+20`},
		{Class: "numbers", Name: "vm lease_days 1e20", Config: vm(map[string]string{"lease_days": `1e20`}),
			Want: `Attribute lease_days must be a whole number from 1 to 3,650; got 1e\+20`},
		{Class: "numbers", Name: "vm lease_days -9223372036854775809", Config: vm(map[string]string{"lease_days": `-9223372036854775809`}),
			Want: `Attribute lease_days must be a whole number from 1 to 3,650; got -9.223372036854775809e\+18`},

		// Names that read as paths.
		{Class: "paths", Name: "vm name ..", Config: vm(map[string]string{"name": `".."`}),
			Want: `Attribute name: "\.\." is not a name`},
		{Class: "paths", Name: "vm name with a slash", Config: vm(map[string]string{"name": `"app/01"`}),
			Want: `Attribute name: "app/01" contains '/'`},
		{Class: "paths", Name: "vm name with a backslash", Config: vm(map[string]string{"name": `"app\\01"`}),
			Want: `Attribute name: "app\\\\01" contains '\\\\'`},
		{Class: "paths", Name: "vm name with a percent", Config: vm(map[string]string{"name": `"app%2f01"`}),
			Want: `Attribute name: "app%2f01" contains '%'`},
		{Class: "paths", Name: "size name .", Config: item(map[string]string{"sizes": `{ "." = { cpus = 2, memory_mb = 4096, disk_gb = 40 } }`}),
			Want: `Attribute sizes\["\."\]: "\." is not a name`},
		{Class: "paths", Name: "size name with a slash", Config: item(map[string]string{"sizes": `{ "a/b" = { cpus = 2, memory_mb = 4096, disk_gb = 40 } }`}),
			Want: `Attribute sizes\["a/b"\]: "a/b" contains '/'`},
		{Class: "paths", Name: "requested size ..", Config: vm(map[string]string{"size": `".."`}),
			Want: `Attribute size: "\.\." is not a name`},
		{Class: "paths", Name: "folder climbing out", Config: vm(map[string]string{"folder": `"workloads/../templates"`}),
			Want: `Attribute folder: "workloads/\.\./templates" has a "\.\." element`},
		{Class: "paths", Name: "allowed folder .", Config: item(map[string]string{"allowed_folders": `["./workloads"]`}),
			Want: `Attribute allowed_folders\[0\]: "\./workloads" has a "\." element`},

		// Customization values a guest cannot take.
		{Class: "customization", Name: "gateway outside the network", Config: vm(cust(`ipv4_address = "10.0.20.11/24", ipv4_gateway = "10.0.21.1"`)),
			Want: `Attribute customization.ipv4_gateway: gateway 10.0.21.1 is outside network 10.0.20.0/24`},
		{Class: "customization", Name: "gateway is the VM's address", Config: vm(cust(`ipv4_address = "10.0.20.11/24", ipv4_gateway = "10.0.20.11"`)),
			Want: `Attribute customization.ipv4_gateway: gateway 10.0.20.11 is the VM's own address`},
		{Class: "customization", Name: "gateway without an address", Config: vm(cust(`ipv4_gateway = "10.0.20.1"`)),
			Want: `Attribute customization.ipv4_gateway: .* ipv4_address is not`},
		{Class: "customization", Name: "gateway not an address", Config: vm(cust(`ipv4_address = "10.0.20.11/24", ipv4_gateway = "10.0.20.300"`)),
			Want: `Attribute customization.ipv4_gateway: "10.0.20.300" is not an IPv4 address`},
		{Class: "customization", Name: "network address", Config: vm(cust(`ipv4_address = "10.0.20.0/24"`)),
			Want: `Attribute customization.ipv4_address: 10.0.20.0 is the address of network 10.0.20.0/24 itself`},
		{Class: "customization", Name: "address without prefix", Config: vm(cust(`ipv4_address = "10.0.20.11"`)),
			Want: `Attribute customization.ipv4_address: "10.0.20.11" has no prefix length`},
		{Class: "customization", Name: "dns server not an address", Config: vm(cust(`dns_servers = ["10.0.0.2", "dns.corp.example"]`)),
			Want: `Attribute customization.dns_servers\[1\]: "dns.corp.example" is not an IPv4 address`},
		{Class: "customization", Name: "four dns servers", Config: vm(cust(`dns_servers = ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"]`)),
			Want: `Attribute customization.dns_servers list must contain at most 3 elements`},
		{Class: "customization", Name: "host name with underscore", Config: vm(cust(`hostname = "app_01"`)),
			Want: `Attribute customization.hostname: "app_01" contains '_'`},
		{Class: "customization", Name: "host name with domain", Config: vm(cust(`hostname = "app01.corp.example"`)),
			Want: `Attribute customization.hostname: "app01.corp.example" contains a dot`},
		{Class: "customization", Name: "vm name as host name", Config: vm(map[string]string{"name": `"App Server 1"`, "customization": `{ domain = "corp.example" }`}),
			Want: `Attribute customization.hostname: not set, so the VM name is the guest's host name, but "App Server 1" contains ' '`},
		{Class: "customization", Name: "domain with an empty label", Config: vm(cust(`domain = "corp..example"`)),
			Want: `Attribute customization.domain: in "corp..example": the label is empty`},
		{Class: "customization", Name: "domain with a trailing dot", Config: vm(cust(`domain = "corp.example."`)),
			Want: `Attribute customization.domain: "corp.example." ends with a dot`},
		{Class: "customization", Name: "domain is an address", Config: vm(cust(`domain = "10.0.0.1"`)),
			Want: `Attribute customization.domain: "10.0.0.1" ends in an all-numeric label`},

		// References that exist before the apply.
		{Class: "references", Name: "unknown catalog item",
			Config: vm(map[string]string{"catalog_item": `"nope"`}), Want: `catalog_item.*"nope"`},
		{Class: "references", Name: "unknown capacity reservation of a vm",
			Config: vm(map[string]string{"capacity_reservation": `"resgroup-999999"`}), Want: `capacity_reservation.*resgroup-999999`},
		{Class: "references", Name: "unknown capacity reservation of an item",
			Config: item(map[string]string{"capacity_reservation": `"/dc1/host/nope/Resources"`}), Want: `capacity_reservation.*nope`},
		{Class: "references", Name: "unknown network of an item",
			Config: item(map[string]string{"allowed_networks": `["no-such-network"]`}), Want: `allowed_networks.*no-such-network`},
		{Class: "references", Name: "unknown folder of an item",
			Config: item(map[string]string{"allowed_folders": `["no/such/folder"]`}), Want: `allowed_folders.*no/such/folder`},
	}
	acctest.RunBadInput(t, sim, cases, acctest.Counter{What: "published items", Count: func(ctx context.Context, c *vsphere.Client) (int, error) {
		catalog.InvalidateItems(c)
		items, err := catalog.Items(ctx, c)
		return len(items), err
	}})
}

// A VM whose name is its guest's host name is checked when it is created; once it exists its
// guest is customized, so renaming it to a name that is no host name is an update like any other.
func TestAccCatalogVM_vmNameAsHostNameAtBirth(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	cfg := func(name string) string {
		return sim.ProviderConfig() + hclBlock(`resource "vmgmt_catalog_item" "app"`, badItemDefaults, nil) +
			hclBlock(`resource "vmgmt_catalog_vm" "app01"`, badVMDefaults, map[string]string{"name": fmt.Sprintf("%q", name)})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg("App 01"), PlanOnly: true, ExpectError: regexp.MustCompile(`VM name is not a host name`)},
			{Config: cfg("app01")},
			{
				Config:           cfg("App 01"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("vmgmt_catalog_vm.app01", plancheck.ResourceActionUpdate)}},
			},
		},
	})
}

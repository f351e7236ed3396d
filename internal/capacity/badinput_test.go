package capacity_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// The bad-input table of capacity reservations: each class of input vCenter would refuse or
// store differently is refused by the plan, on the attribute, and no pool (nor VM or folder) is
// created in vCenter.
func TestAccCapacity_badInput(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	pc := sim.ProviderConfig()
	pool := func(name, body string) string {
		return pc + fmt.Sprintf(`
resource "vmgmt_capacity_reservation" "bad" {
  name   = %s
  parent = %q
  %s
}
`, name, simulator.ClusterPath, body)
	}
	cases := []acctest.BadInput{
		{Class: "names", Name: "control character", Config: pool(`"tier\u00011"`, ""),
			Want: `Attribute name: "tier\\x011" contains the control character U\+0001`},
		{Class: "names", Name: "line feed", Config: pool(`"tier\n1"`, ""),
			Want: `Attribute name: .* control character U\+000A`},
		{Class: "names", Name: "bidi override", Config: pool(`"tier\u202e1"`, ""),
			Want: `Attribute name: .* U\+202E`},
		{Class: "names", Name: "leading space", Config: pool(`" tier-1"`, ""),
			Want: `Attribute name: " tier-1" starts or ends with white space`},
		{Class: "names", Name: "empty", Config: pool(`""`, ""),
			Want: `Attribute name: the value is empty`},
		{Class: "names", Name: "81 characters", Config: pool(fmt.Sprintf("%q", strings.Repeat("p", 81)), ""),
			Want: `Attribute name: .* is 81 characters long, more than the 80 vCenter accepts`},
		{Class: "names", Name: "data source path with a control character",
			Config: pc + `data "vmgmt_capacity" "c" { path = "/dc1/host/\u0007cluster" }`, Want: `Attribute path: .* U\+0007`},

		{Class: "numbers", Name: "cpu reservation 1e20", Config: pool(`"tier-1"`, `cpu = { reservation = 1e20 }`),
			Want: `Attribute cpu.reservation must be a whole number from 0 to 1,000,000,000; got 1e\+20`},
		{Class: "numbers", Name: "memory limit 2e10", Config: pool(`"tier-1"`, `memory = { limit = 2e10 }`),
			Want: `Attribute memory.limit must be a whole number from -1 to 10,000,000,000; got 20,000,000,000`},
		{Class: "numbers", Name: "memory reservation 2.5", Config: pool(`"tier-1"`, `memory = { reservation = 2.5 }`),
			Want: `Attribute memory.reservation must be a whole number from 0 to 10,000,000,000; got 2.5`},
		{Class: "numbers", Name: "cpu limit below int64", Config: pool(`"tier-1"`, `cpu = { limit = -1e19 }`),
			Want: `Attribute cpu.limit must be a whole number from -1 to 1,000,000,000; got -1e\+19`},
		{Class: "numbers", Name: "custom shares beyond int32", Config: pool(`"tier-1"`, `cpu = { shares_level = "custom", shares = 4294967296 }`),
			Want: `Attribute cpu.shares must be a whole number from 0 to 2,147,483,647; got 4,294,967,296`},

		{Class: "paths", Name: "name ..", Config: pool(`".."`, ""), Want: `Attribute name: "\.\." is not a name`},
		{Class: "paths", Name: "name .", Config: pool(`"."`, ""), Want: `Attribute name: "\." is not a name`},
		{Class: "paths", Name: "name with a slash", Config: pool(`"tier/1"`, ""), Want: `Attribute name: "tier/1" contains '/'`},
		{Class: "paths", Name: "name with a backslash", Config: pool(`"tier\\1"`, ""), Want: `Attribute name: "tier\\\\1" contains '\\\\'`},
		{Class: "paths", Name: "name with a percent", Config: pool(`"tier%1"`, ""), Want: `Attribute name: "tier%1" contains '%'`},
		{Class: "paths", Name: "parent with ..", Config: pc + `
resource "vmgmt_capacity_reservation" "bad" {
  name   = "tier-1"
  parent = "/dc1/host/../host/cluster1"
}`, Want: `Attribute parent: "/dc1/host/\.\./host/cluster1" has a "\.\." element`},
		{Class: "paths", Name: "data source path with ..", Config: pc + `data "vmgmt_capacity" "c" { path = "../host" }`,
			Want: `Attribute path: "\.\./host" has a "\.\." element`},

		{Class: "references", Name: "unknown parent path", Config: pc + `
resource "vmgmt_capacity_reservation" "bad" {
  name   = "tier-1"
  parent = "/dc1/host/no-such-cluster"
}`, Want: `Parent not found.*no-such-cluster`},
		{Class: "references", Name: "unknown parent ID", Config: pc + `
resource "vmgmt_capacity_reservation" "bad" {
  name   = "tier-1"
  parent = "resgroup-999999"
}`, Want: `Parent not found.*No cluster or resource pool "resgroup-999999"`},
	}
	acctest.RunBadInput(t, sim, cases)
}

package acctest

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// BadInput is one case of a bad-input table: a configuration whose plan must fail, on the
// attribute, before anything is written to vCenter.
type BadInput struct {
	// Class is the kind of bad input (names, numbers, paths, customization, references).
	Class string
	Name  string
	// Config is the whole configuration, provider block included.
	Config string
	// Want is a regular expression the error must match; it names the attribute path. A space
	// in it matches any white space, since terraform wraps long messages.
	Want string
	// Skip, when set, skips the case with this reason.
	Skip string
}

// Counter counts one kind of object in vCenter, for checking that a failed plan made none.
type Counter struct {
	What  string
	Count func(ctx context.Context, c *vsphere.Client) (int, error)
}

// CountRefs counts the managed objects of a kind (VirtualMachine, ResourcePool, Folder).
func CountRefs(kind string) Counter {
	return Counter{What: kind, Count: func(ctx context.Context, c *vsphere.Client) (int, error) {
		refs, err := c.Refs(ctx, kind)
		return len(refs), err
	}}
}

// RunBadInput runs each case through the terraform CLI (plan, and apply if the plan passed) and
// checks that the plan failed with the case's error, and that the objects the counters count
// are as many after the case as before it: nothing was created in vCenter.
func RunBadInput(t *testing.T, sim *Sim, cases []BadInput, counters ...Counter) {
	t.Helper()
	counters = append([]Counter{CountRefs("VirtualMachine"), CountRefs("ResourcePool"), CountRefs("Folder")}, counters...)
	ctx := context.Background()
	c, err := vsphere.Connect(ctx, vsphere.Config{Server: sim.URL.Host, User: sim.User, Password: sim.Password, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	count := func(t *testing.T) map[string]int {
		t.Helper()
		c.Refresh() // read vCenter anew, not this client's snapshot
		n := map[string]int{}
		for _, k := range counters {
			v, err := k.Count(ctx, c)
			if err != nil {
				t.Fatalf("counting %s: %v", k.What, err)
			}
			n[k.What] = v
		}
		return n
	}
	perClass := map[string]int{}
	for _, tc := range cases {
		perClass[tc.Class]++
		t.Run(tc.Class+"/"+tc.Name, func(t *testing.T) {
			if tc.Skip != "" {
				t.Skip(tc.Skip)
			}
			before := count(t)
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: ProtoV6ProviderFactories,
				Steps: []resource.TestStep{
					{
						Config: tc.Config,
						// The plan, not the apply, must fail: an apply error reads "Error running apply".
						ExpectError: regexp.MustCompile(`(?s)Error running pre-apply plan.*` + strings.ReplaceAll(tc.Want, " ", `\s+`)),
					},
					{
						// Counted before the end of the test case destroys what an apply made. The
						// configuration without resources then plans nothing, as nothing is in state.
						PreConfig: func() {
							if after := count(t); fmt.Sprint(after) != fmt.Sprint(before) {
								t.Errorf("vCenter changed: before %v, after %v", before, after)
							}
						},
						Config:   sim.ProviderConfig(),
						PlanOnly: true,
					},
				},
			})
		})
	}
	t.Logf("bad-input cases per class: %v", perClass)
}

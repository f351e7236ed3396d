package policy_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy/packs"
)

// Every built-in pack carries Rego tests, and they pass.
func TestBuiltinPacks(t *testing.T) {
	for _, name := range packs.Names() {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			sum, err := policy.RunTests(context.Background(), &out, policy.TestConfig{Verbose: true, Packs: []string{name}})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Passed == 0 {
				t.Fatalf("pack %s has no Rego tests", name)
			}
			if sum.Failed+sum.Errors > 0 {
				t.Fatalf("pack %s: %d failed, %d errors\n%s", name, sum.Failed, sum.Errors, out.String())
			}
			t.Logf("pack %s: %d Rego tests passed", name, sum.Passed)
		})
	}
}

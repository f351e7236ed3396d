package policy_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy"
)

// benchEvaluate measures one decision per op on a prepared engine. It reports how many times the
// engine's query was prepared over the whole run, New included (the design says once per
// provider process, whatever b.N is).
func benchEvaluate(b *testing.B, cfg policy.Config, c policy.Change) {
	b.Helper()
	ctx := context.Background()
	before := policy.PrepareCount()
	e := newEngine(b, cfg)
	if d, err := e.Evaluate(ctx, c); err != nil || d.Blocked() {
		b.Fatalf("the benchmark change must pass: %+v, %v", d, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.Evaluate(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(policy.PrepareCount()-before), "prepares")
}

// The built-in capacity pack on a realistic plan-time create of a reservation: computed values
// unknown, the parent cluster with 20 child pools as inventory.
func BenchmarkEvaluate_capacityPack(b *testing.B) {
	b.Run("plan", func(b *testing.B) {
		benchEvaluate(b, policy.Config{Packs: []string{"capacity"}}, capacityChange("tier-1-erp", 4000))
	})
	b.Run("apply", func(b *testing.B) {
		c := capacityChange("tier-1-erp", 4000)
		c.Phase = policy.PhaseApply
		benchEvaluate(b, policy.Config{Packs: []string{"capacity"}}, c)
	})
	b.Run("plan+decision_log", func(b *testing.B) {
		benchEvaluate(b, policy.Config{Packs: []string{"capacity"}, DecisionLog: filepath.Join(b.TempDir(), "d.jsonl")},
			capacityChange("tier-1-erp", 4000))
	})
}

// Baseline: the same change through a policy whose single rule never applies, i.e. the cost of
// building the input, one prepared query and judging an empty result.
func BenchmarkEvaluate_noRules(b *testing.B) {
	dir := acctest.WriteFiles(b, map[string]string{"none.rego": "package vmgmt.none\n\ndeny contains \"never\" if input.type == \"vmgmt_nothing\"\n"})
	benchEvaluate(b, policy.Config{Sources: []string{dir}}, capacityChange("tier-1-erp", 4000))
}

// The plan-value-to-input conversion the gate runs twice per change (prior and planned state).
func BenchmarkFromTerraform(b *testing.B) {
	v := reservation(map[string]tftypes.Value{"id": unknown(tftypes.String)})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, _, err := policy.FromTerraform(v); err != nil {
			b.Fatal(err)
		}
	}
}

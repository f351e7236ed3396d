package policy_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy"
)

const exemptRego = `package vmgmt.ex

ids := ["ex.by_name", "ex.by_id", "ex.by_tag", "ex.prefix.sub", "ex.prefixed", "ex.old", "ex.none"]

violation contains {"id": id, "level": "mandatory", "msg": sprintf("%s fired", [id])} if {
	some id in ids
}

violation contains {"id": "ex.advice", "level": "advisory", "msg": "advice is not exempted"} if true
`

const exemptData = `{"vmgmt": {"exemptions": [
	{"policy": "ex.by_name", "selector": {"type": "vmgmt_capacity_reservation", "name": "tier-1"}, "reason": "by name", "approver": "jane", "expires": "2999-01-01"},
	{"policy": "ex.by_id", "selector": {"id": "resgroup-7"}, "reason": "by id", "expires": "2999-01-01T00:00:00Z"},
	{"policy": "ex.by_tag", "selector": {"tag": "legacy"}, "reason": "by tag", "expires": "2999-01-01"},
	{"policy": "ex.prefix", "selector": {"name": "tier-1"}, "reason": "prefix", "expires": "2999-01-01"},
	{"policy": "ex.old", "selector": {"name": "tier-1"}, "reason": "long gone", "approver": "joe", "expires": "2020-01-31"},
	{"policy": "ex.advice", "selector": {"name": "tier-1"}, "reason": "unused", "expires": "2999-01-01"}
]}}`

func TestExemptions(t *testing.T) {
	e := engineFrom(t, map[string]string{"ex.rego": exemptRego, "exemptions.json": exemptData})
	subject := policy.Change{Type: resType, Name: "tier-1", ID: "resgroup-7", Tags: []string{"prod", "legacy"},
		Actions: []string{"create"}, After: res("tier-1", 1), Phase: policy.PhasePlan}

	t.Run("matching", func(t *testing.T) {
		fs := byPolicy(t, evaluate(t, e, subject))
		for id, reason := range map[string]string{"ex.by_name": "by name", "ex.by_id": "by id", "ex.by_tag": "by tag", "ex.prefix.sub": "prefix"} {
			f := wantOutcome(t, fs, id, policy.OutcomeExempted)
			if f.Exemption == nil || f.Exemption.Reason != reason || f.Blocks() {
				t.Errorf("%s: exemption %+v, blocks %t", id, f.Exemption, f.Blocks())
			}
		}
		if ex := fs["ex.by_name"].Exemption; ex.Approver != "jane" || !ex.Expires.Equal(time.Date(2999, 1, 2, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("by_name exemption %+v: a date expires at the end of that day", ex)
		}
		// "ex.prefix" covers ex.prefix.sub, not ex.prefixed.
		wantOutcome(t, fs, "ex.prefixed", policy.OutcomeBlock)
		wantOutcome(t, fs, "ex.none", policy.OutcomeBlock)
		wantOutcome(t, fs, "ex.advice", policy.OutcomeWarn)
		if fs["ex.advice"].Exemption != nil {
			t.Error("an advisory finding used an exemption")
		}
		old := wantOutcome(t, fs, "ex.old", policy.OutcomeExpired)
		if !old.Blocks() || old.Exemption == nil || !strings.Contains(old.Exemption.String(), "long gone") ||
			!strings.Contains(old.Exemption.String(), "approved by joe") || !strings.Contains(old.Exemption.String(), "2020-01-31") {
			t.Errorf("expired: blocks %t, exemption %v", old.Blocks(), old.Exemption)
		}
	})

	t.Run("not matching", func(t *testing.T) {
		other := subject
		other.Name, other.ID, other.Tags = "tier-2", "resgroup-8", nil
		other.After = res("tier-2", 1)
		for _, f := range evaluate(t, e, other).Findings {
			if f.Exemption != nil {
				t.Errorf("%s exempted for another object: %+v", f.Policy, f.Exemption)
			}
		}
		// The selector's type must match too.
		otherType := subject
		otherType.Type, otherType.ID, otherType.Tags = "vmgmt_other", "", nil
		fs := byPolicy(t, evaluate(t, e, otherType))
		wantOutcome(t, fs, "ex.by_name", policy.OutcomeBlock)
		wantOutcome(t, fs, "ex.prefix.sub", policy.OutcomeExempted) // its selector names no type
	})
}

// A live exemption wins over an expired one for the same policy and object.
func TestExemptions_renewed(t *testing.T) {
	e := engineFrom(t, map[string]string{
		"p.rego": "package vmgmt.p\n\ndeny contains \"no\" if true\n",
		"exemptions.json": `{"vmgmt": {"exemptions": [
			{"policy": "p", "selector": {"name": "tier-1"}, "reason": "first", "expires": "2020-01-01"},
			{"policy": "p", "selector": {"name": "tier-1"}, "reason": "renewed", "expires": "2999-01-01"}]}}`,
	})
	f := wantOutcome(t, byPolicy(t, evaluate(t, e, create(res("tier-1", 1)))), "p", policy.OutcomeExempted)
	if f.Exemption.Reason != "renewed" {
		t.Errorf("used %+v", f.Exemption)
	}
}

// An exemption without reason, expiry or selector is a load error that says what is missing.
func TestExemptions_loadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, entry string
		want        []string
	}{
		{"no reason", `{"policy": "p", "selector": {"name": "x"}, "expires": "2030-01-01"}`, []string{"[0] (p): reason is required"}},
		{"blank reason", `{"policy": "p", "selector": {"name": "x"}, "reason": "  ", "expires": "2030-01-01"}`, []string{"reason is required"}},
		{"no expiry", `{"policy": "p", "selector": {"name": "x"}, "reason": "r"}`, []string{"expires is required", "exemptions must end"}},
		{"bad date", `{"policy": "p", "selector": {"name": "x"}, "reason": "r", "expires": "31/01/2030"}`, []string{`expires "31/01/2030"`, "YYYY-MM-DD or RFC 3339"}},
		{"no selector", `{"policy": "p", "reason": "r", "expires": "2030-01-01"}`, []string{"selector is required"}},
		{"type-only selector", `{"policy": "p", "selector": {"type": "vmgmt_capacity_reservation"}, "reason": "r", "expires": "2030-01-01"}`, []string{"selector needs a name, id or tag"}},
		{"no policy", `{"selector": {"name": "x"}, "reason": "r", "expires": "2030-01-01"}`, []string{"policy is required"}},
		{"not an object", `"p"`, []string{"[0]: must be an object"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := acctest.WriteFiles(t, map[string]string{
				"p.rego":          "package vmgmt.p\n\ndeny contains \"no\" if false\n",
				"exemptions.json": `{"vmgmt": {"exemptions": [` + tc.entry + `]}}`,
			})
			_, err := policy.New(context.Background(), policy.Config{Sources: []string{dir}})
			var le *policy.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("New = %v, want a *LoadError", err)
			}
			wantErrContains(t, err, append([]string{"data.vmgmt.exemptions"}, tc.want...)...)
		})
	}
	// Every problem is reported at once.
	dir := acctest.WriteFiles(t, map[string]string{
		"p.rego": "package vmgmt.p\n\ndeny contains \"no\" if false\n",
		"exemptions.json": `{"vmgmt": {"exemptions": [{"policy": "a", "selector": {"name": "x"}, "expires": "2030-01-01"},
			{"policy": "b", "selector": {"name": "x"}, "reason": "r"}]}}`,
	})
	_, err := policy.New(context.Background(), policy.Config{Sources: []string{dir}})
	wantErrContains(t, err, "[0] (a): reason is required", "[1] (b): expires is required")
}

// An exempted finding on a value unknown until apply is the package's one finding: the exemption
// is reported once, not beside a second "waits for apply" finding of the same policy.
func TestExemptions_deferredFinding(t *testing.T) {
	e := engineFrom(t, map[string]string{
		"p.rego": "package vmgmt.p\n\ndeny contains {\"msg\": \"no reservation\", \"path\": \"cpu.reservation\"} if input.change.after.cpu.reservation == null\n",
		"exemptions.json": `{"vmgmt": {"exemptions": [
			{"policy": "p", "selector": {"name": "tier-1"}, "reason": "sized at apply", "expires": "2999-01-01"}]}}`,
	})
	after := res("tier-1", 0)
	after["cpu"].(map[string]any)["reservation"] = nil
	c := create(after)
	c.AfterUnknown = map[string]any{"cpu": map[string]any{"reservation": true}}
	f := wantOutcome(t, byPolicy(t, evaluate(t, e, c)), "p", policy.OutcomeExempted)
	if len(f.Unknown) != 1 || f.Unknown[0] != "cpu.reservation" {
		t.Errorf("exempted finding waits for %v, want [cpu.reservation]", f.Unknown)
	}
}

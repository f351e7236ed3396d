package vsphere

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

// AttachedTags reads the tags of several VMs in one call, naming them even for a client that
// has not met them yet; a VM without tags maps to an empty list.
func TestAttachedTags(t *testing.T) {
	sim := newSim(t)
	writer := connect(t, sim)
	ctx := context.Background()
	db, app, web := workloadID(t, sim, "erp-db01"), workloadID(t, sim, "erp-app01"), workloadID(t, sim, "web01")
	if err := writer.SetTags(ctx, db, map[string]string{"tier": "tier-1", "environment": "production"}, false); err != nil {
		t.Fatal(err)
	}
	if err := writer.SetTags(ctx, app, map[string]string{"tier": "tier-2"}, false); err != nil {
		t.Fatal(err)
	}
	want := map[string][]TagRef{
		db:  {{Category: "environment", Name: "production"}, {Category: "tier", Name: "tier-1"}},
		app: {{Category: "tier", Name: "tier-2"}},
	}
	for name, c := range map[string]*Client{"the writing client": writer, "a fresh client": connect(t, sim)} {
		got, err := c.AttachedTags(ctx, []string{db, app, web})
		if err != nil {
			t.Fatalf("%s: AttachedTags: %v", name, err)
		}
		for id, tags := range want {
			if !reflect.DeepEqual(got[id], tags) {
				t.Errorf("%s: tags of %s = %v, want %v", name, id, got[id], tags)
			}
		}
		if len(got[web]) != 0 {
			t.Errorf("%s: untagged %s has tags %v", name, web, got[web])
		}
		if len(got) > 3 {
			t.Errorf("%s: AttachedTags answered for VMs not asked about: %v", name, got)
		}
	}
	if got, err := writer.AttachedTags(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("AttachedTags(nil) = %v, %v", got, err)
	}
}

// MissingTags reports only the tags that do not exist, each with a hint naming the nearest
// tags of its category or the nearest categories.
func TestMissingTags(t *testing.T) {
	c := connect(t, sharedSim(t))
	tier9 := TagRef{Category: "tier", Name: "tier-9"}
	teir := TagRef{Category: "teir", Name: "x"}
	got, err := c.MissingTags(context.Background(), []TagRef{tier1, tier9, teir})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got[tier1]; ok {
		t.Errorf("the seeded %s is reported missing: %q", tier1, got[tier1])
	}
	if len(got) != 2 {
		t.Errorf("MissingTags = %v, want tier/tier-9 and teir/x", got)
	}
	hint, ok := got[tier9]
	if !ok {
		t.Fatalf("%s not reported missing", tier9)
	}
	for _, want := range []string{"did you mean", `"tier-1"`, `"tier-2"`, `"tier-3"`} {
		if !strings.Contains(hint, want) {
			t.Errorf("hint for %s = %q, lacks %s", tier9, hint, want)
		}
	}
	hint, ok = got[teir]
	if !ok {
		t.Fatalf("%s not reported missing", teir)
	}
	if !strings.Contains(hint, "category") || !strings.Contains(hint, `"tier"`) {
		t.Errorf("hint for %s = %q, want it to name category \"tier\"", teir, hint)
	}
}

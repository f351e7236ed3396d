package vsphere

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// Tags and content library calls share one vAPI session; when vCenter stops accepting it
// (logged out elsewhere, expired), each call logs in again once and succeeds.
func TestRESTSessionReplaced(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	c := connect(t, sim)
	vm, err := c.FindVM(ctx, "workloads/"+simulator.Workloads[0])
	if err != nil {
		t.Fatal(err)
	}
	logout := func() {
		t.Helper()
		rc, err := c.restClient(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := rc.Logout(ctx); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{"vmgmt-test-owner": "jane.doe"}
	logout()
	if err := c.SetTags(ctx, vm.ID, want, false); err != nil {
		t.Fatalf("SetTags after the vAPI session ended: %v", err)
	}
	logout()
	got, err := c.VMTags(ctx, vm.ID)
	if err != nil || got["vmgmt-test-owner"] != "jane.doe" {
		t.Fatalf("VMTags after the vAPI session ended: %v %v", got, err)
	}
	logout()
	if _, err := c.FindLibraryItem(ctx, simulator.Library+"/"+simulator.LibraryItems[0].Item); err != nil {
		t.Fatalf("FindLibraryItem after the vAPI session ended: %v", err)
	}
}

// SetTagSets puts back several tags of one category: a category it makes for them takes many
// (cardinality multiple); a single-cardinality category asked for two is refused before any
// tag changes; run again it changes nothing; a tag no longer wanted in a category is detached.
func TestSetTagSets(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	c := connect(t, sim)
	vm, err := c.FindVM(ctx, "workloads/"+simulator.Workloads[0])
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"vmgmt-test-compliance": {"pci", "sox"}, "vmgmt-test-tier": {"tier-1"}}
	for i := 0; i < 2; i++ {
		if err := c.SetTagSets(ctx, vm.ID, want, i == 0); err != nil {
			t.Fatalf("SetTagSets (run %d): %v", i+1, err)
		}
	}
	got := attachedTags(t, c, vm.ID)
	if w := []string{"vmgmt-test-compliance/pci", "vmgmt-test-compliance/sox", "vmgmt-test-tier/tier-1"}; !slices.Equal(got, w) {
		t.Fatalf("tags = %v, want %v", got, w)
	}
	rc, err := c.restClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := tags.NewManager(rc)
	if cat, err := m.GetCategory(ctx, "vmgmt-test-compliance"); err != nil || cat.Cardinality != "MULTIPLE" {
		t.Errorf("category made for two tags: %+v %v, want cardinality MULTIPLE", cat, err)
	}
	if cat, err := m.GetCategory(ctx, "vmgmt-test-tier"); err != nil || cat.Cardinality != "SINGLE" {
		t.Errorf("category made for one tag: %+v %v, want cardinality SINGLE", cat, err)
	}

	err = c.SetTagSets(ctx, vm.ID, map[string][]string{"vmgmt-test-compliance": {"pci"}, "vmgmt-test-tier": {"tier-1", "tier-2"}}, false)
	if err == nil || !strings.Contains(err.Error(), "category vmgmt-test-tier takes one tag per object") {
		t.Fatalf("two tags in a single-cardinality category: %v", err)
	}
	if got := attachedTags(t, c, vm.ID); len(got) != 3 {
		t.Fatalf("a refused SetTagSets changed the tags: %v", got)
	}

	if err := c.SetTagSets(ctx, vm.ID, map[string][]string{"vmgmt-test-compliance": {"sox"}}, false); err != nil {
		t.Fatal(err)
	}
	if got, w := attachedTags(t, c, vm.ID), []string{"vmgmt-test-compliance/sox", "vmgmt-test-tier/tier-1"}; !slices.Equal(got, w) {
		t.Fatalf("after dropping pci: tags = %v, want %v", got, w)
	}
}

// attachedTags are a VM's tags as sorted "category/name".
func attachedTags(t *testing.T, c *Client, vmID string) []string {
	t.Helper()
	ctx := context.Background()
	rc, err := c.restClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := tags.NewManager(rc)
	attached, err := m.GetAttachedTags(ctx, types.ManagedObjectReference{Type: "VirtualMachine", Value: vmID})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tag := range attached {
		cat, err := m.GetCategory(ctx, tag.CategoryID)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, cat.Name+"/"+tag.Name)
	}
	sort.Strings(out)
	return out
}

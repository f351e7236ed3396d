package catalog

import (
	"context"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// The inventory facts the catalog builds conform to what it describes for the policy input
// schemas: every described fact is there, and nothing else. (The usage vmResource.inventory
// counts is checked against real inputs in internal/provider's policy schema test.)
func TestPolicyInventory_conforms(t *testing.T) {
	ctx := context.Background()
	validate := func(name string, s *policy.Schema, doc any) {
		t.Helper()
		if s == nil {
			t.Fatalf("%s: not described", name)
		}
		if err := s.Validate(ctx, doc); err != nil {
			t.Errorf("%s does not conform to its schema: %v\n%v", name, err, doc)
		}
	}
	item := (&itemResource{}).PolicyInventory()
	validate("template VM", item["template"], (&Source{ID: "vm-7", Path: "/dc1/vm/templates/rhel9-base",
		VM: &vsphere.VM{ID: "vm-7", Path: "/dc1/vm/templates/rhel9-base", CPUs: 2, MemoryMB: 4096, DiskGB: 40}}).Facts())
	validate("library item", item["template"], (&Source{ID: "4a1e0c2e-0000-0000-0000-000000000001", Path: LibraryPrefix + "lib/rhel9",
		Library: &vsphere.LibraryItem{Type: vsphere.LibraryItemVMTemplate}}).Facts())

	vm := (&vmResource{}).PolicyInventory()
	full := Definition{
		Name: "db-server", Version: "1.2.0", Description: "not in the input",
		Sizes:           map[string]Size{"large": {CPUs: 16, MemoryMB: 65536, DiskGB: 500}},
		AllowedFolders:  []string{"workloads"},
		AllowedNetworks: []string{"pg-db"},
		EntitledGroups:  []string{"dba"},
		Quota:           map[string]Quota{"dba": {Instances: 10, CPUs: 256}},
		Lease:           Lease{DefaultDays: 90, MaxDays: 365, GraceDays: 14},
	}
	validate("item", vm["item"], definitionDoc(full))
	validate("item with nothing optional", vm["item"], definitionDoc(Definition{Name: "bare", Version: "1"}))
	validate("usage", vm["usage"], map[string]any{"dba": map[string]any{"instances": int64(2), "cpus": int64(32), "memory_mb": int64(131072)}})
	validate("baselines", vm["baselines"], []any{map[string]any{"name": "db-hardening", "mode": "enforce"}})
	validate("baselines, undefined", vm["baselines"], []any{map[string]any{"name": "db-hardening", "mode": ""}})
	validate("no baselines", vm["baselines"], []any{})
	if s := vm["baselines"]; s != nil && s.Validate(ctx, []any{map[string]any{"name": "db-hardening", "mode": "enforcing"}}) == nil {
		t.Error("a baseline mode outside enforce, audit and \"\" conforms")
	}
	if len(vm) != 3 || len(item) != 1 {
		t.Errorf("described facts: item %d, vm %d", len(item), len(vm))
	}
}

// The schemas notice a fact that is missing or renamed, so the test above could fail.
func TestPolicyInventory_schemaIsStrict(t *testing.T) {
	ctx := context.Background()
	s := definitionDocSchema("")
	doc := definitionDoc(Definition{Name: "x", Version: "1"})
	delete(doc, "lease")
	if s.Validate(ctx, doc) == nil {
		t.Error("an item without lease conforms")
	}
	doc = definitionDoc(Definition{Name: "x", Version: "1"})
	doc["owner"] = "nobody"
	if s.Validate(ctx, doc) == nil {
		t.Error("an item with an undescribed fact conforms")
	}
	src := sourceFactsSchema("")
	if src.Validate(ctx, map[string]any{"id": "vm-1", "path": "/x", "type": templateTypeLibrary, "cpus": 1, "memory_mb": 1, "disk_gb": 1}) == nil {
		t.Error("a template VM typed as a library item conforms")
	}
}

package capacity

import (
	"context"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// The inventory facts capacity builds conform to what it describes for the policy input schemas:
// every described fact is there, and nothing else.
func TestPolicyInventory_conforms(t *testing.T) {
	ctx := context.Background()
	capa := &vsphere.Capacity{
		ID: "resgroup-22", Name: "Resources", Kind: "cluster",
		CPU:      vsphere.ResourceCapacity{Capacity: 332800, Reserved: 1000, Unreserved: 331800, Limit: 332800},
		Memory:   vsphere.ResourceCapacity{Capacity: 2097152, Unreserved: 2097152, Expandable: true, Limit: -1},
		Children: []vsphere.ChildPool{{}}, VMs: 3,
	}
	check := func(name string, described map[string]*policy.Schema, facts map[string]any) {
		t.Run(name, func(t *testing.T) {
			if len(facts) != len(described) {
				t.Errorf("facts %v, described %v", keys(facts), keys(described))
			}
			for k, s := range described {
				if err := s.Validate(ctx, facts[k]); err != nil {
					t.Errorf("inventory.%s does not conform to its schema: %v\n%v", k, err, facts[k])
				}
			}
		})
	}
	check("reservation", (&reservationResource{}).PolicyInventory(), inventory(capa, held{cpu: 1000, mem: 0}))
	check("data source", (&capacityDataSource{}).PolicyInventory(), map[string]any{"pool": poolFacts(capa)})
}

// The schema notices a fact that is missing, renamed or of another type (the test above could fail).
func TestPolicyInventory_schemaIsStrict(t *testing.T) {
	ctx := context.Background()
	s := poolFactsSchema("")
	facts := poolFacts(&vsphere.Capacity{ID: "resgroup-1", Name: "p", Kind: "pool"})
	for name, edit := range map[string]func(m map[string]any){
		"missing": func(m map[string]any) { delete(m, "vm_count") },
		"renamed": func(m map[string]any) { m["vms"] = m["vm_count"]; delete(m, "vm_count") },
		"type":    func(m map[string]any) { m["kind"] = "folder" },
		"nested":  func(m map[string]any) { m["cpu"].(map[string]any)["free"] = 1 },
	} {
		m := poolFacts(&vsphere.Capacity{ID: "resgroup-1", Name: "p", Kind: "pool"})
		edit(m)
		if err := s.Validate(ctx, m); err == nil {
			t.Errorf("%s: %v conforms", name, m)
		}
	}
	if err := s.Validate(ctx, facts); err != nil {
		t.Errorf("unedited facts: %v", err)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

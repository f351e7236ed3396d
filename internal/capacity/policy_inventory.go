package capacity

import "github.com/vmgmt/terraform-provider-vmgmt/internal/policy"

// The inventory facts capacity gives the policy gate (input.inventory), described for the policy
// input schemas. inventory and poolFacts build them; policy_inventory_test.go checks they agree.

// PolicyInventory implements framework.PolicyInventory.
func (r *reservationResource) PolicyInventory() map[string]*policy.Schema {
	return map[string]*policy.Schema{
		"parent": poolFactsSchema("The parent pool (a cluster's root pool for a top-level reservation) as it is now. " +
			"Missing at plan time when the parent is created in the same apply: rules that read it are deferred to the apply."),
		"held": policy.Object("What this reservation already holds in the parent: its current reservations (0 for a new one), "+
			"which the parent's unreserved capacity does not count.", map[string]*policy.Schema{
			"cpu":    policy.Integer("CPU reservation, MHz."),
			"memory": policy.Integer("Memory reservation, MB."),
		}),
	}
}

// PolicyInventory implements framework.PolicyInventory.
func (d *capacityDataSource) PolicyInventory() map[string]*policy.Schema {
	return map[string]*policy.Schema{
		"pool": poolFactsSchema("The cluster or resource pool read."),
	}
}

// poolFactsSchema describes poolFacts.
func poolFactsSchema(description string) *policy.Schema {
	res := func(what, unit string) *policy.Schema {
		return policy.Object(what+" of the pool, in "+unit+".", map[string]*policy.Schema{
			"capacity":   policy.Integer("What the pool can give to its children: its reservation, or for a cluster's root pool the cluster's total capacity."),
			"reserved":   policy.Integer("Sum of the reservations of the child pools and VMs directly in the pool."),
			"unreserved": policy.Integer("capacity - reserved, never negative: the headroom for new reservations."),
			"expandable": policy.Boolean("Whether the pool may borrow unreserved capacity from its parent."),
			"limit":      policy.Integer("Limit of the pool itself; -1 is unlimited."),
		})
	}
	return policy.Object(description, map[string]*policy.Schema{
		"id":          policy.String("Managed object ID of the pool, e.g. resgroup-42."),
		"name":        policy.String("Name of the pool (Resources for a cluster's root pool)."),
		"kind":        {Type: "string", Enum: []string{"cluster", "pool"}, Description: "cluster for the root pool of a cluster or host, else pool."},
		"vm_count":    policy.Integer("Number of VMs directly in the pool."),
		"child_count": policy.Integer("Number of pools directly below it."),
		"cpu":         res("CPU", "MHz"),
		"memory":      res("Memory", "MB"),
	})
}

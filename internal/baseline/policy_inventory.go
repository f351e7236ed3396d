package baseline

import "github.com/vmgmt/terraform-provider-vmgmt/internal/policy"

// PolicyInventory implements framework.PolicyInventory: what a baseline gives the policy gate
// beside the change (inventory, in baselineResource's ModifyPlan).
func (r *baselineResource) PolicyInventory() map[string]*policy.Schema {
	return map[string]*policy.Schema{
		"scope": policy.Array("A VM baseline's VMs in scope. Missing for a host baseline, and at plan time while the scope cannot "+
			"be known (values unknown until apply, or VMs this run creates).", policy.Object("One VM.", map[string]*policy.Schema{
			"id":   policy.String("Managed object ID of the VM."),
			"name": policy.String("Name of the VM."),
			"tags": policy.Array("The VM's tags, as category/name.", policy.String("")),
		})),
		"hosts": policy.Array("A host baseline's hosts in scope. Missing for a VM baseline, and like scope.", policy.Object("One host.", map[string]*policy.Schema{
			"id":      policy.String("Managed object ID of the host."),
			"name":    policy.String("Name of the host."),
			"cluster": policy.String("Name of the host's cluster; empty for a standalone host."),
		})),
		"relaxed": policy.Array("Explicit settings that relax a pack's.", policy.Object("One relaxed setting.", map[string]*policy.Schema{
			"key":        policy.String("The key."),
			"pack":       policy.String("The pack whose setting it relaxes."),
			"pack_value": policy.String("What the pack requires."),
			"value":      policy.String("What the baseline requires instead."),
			"control":    policy.String("The pack's control ID."),
		})),
		"drifted_count": policy.Integer("VMs (hosts) in scope that break at least one rule now."),
	}
}

package baseline

import "github.com/vmgmt/terraform-provider-vmgmt/internal/policy"

// PolicyInventory implements framework.PolicyInventory: what a baseline gives the policy gate
// beside the change (inventory, in baselineResource's ModifyPlan).
func (r *baselineResource) PolicyInventory() map[string]*policy.Schema {
	return map[string]*policy.Schema{
		"scope": policy.Array("The VMs in scope. Missing at plan time while the scope cannot be known (values unknown until apply, "+
			"or VMs this run creates).", policy.Object("One VM.", map[string]*policy.Schema{
			"id":   policy.String("Managed object ID of the VM."),
			"name": policy.String("Name of the VM."),
		})),
		"relaxed": policy.Array("Explicit settings that relax a pack's.", policy.Object("One relaxed setting.", map[string]*policy.Schema{
			"key":        policy.String("The key."),
			"pack":       policy.String("The pack whose setting it relaxes."),
			"pack_value": policy.String("What the pack requires."),
			"value":      policy.String("What the baseline requires instead."),
			"control":    policy.String("The pack's control ID."),
		})),
		"drifted_count": policy.Integer("VMs in scope that break at least one rule now."),
	}
}

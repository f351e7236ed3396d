package backup

import "github.com/vmgmt/terraform-provider-vmgmt/internal/policy"

// PolicyInventory implements framework.PolicyInventory: what a backup job gives the policy gate
// beside the change (inventory, in jobResource's ModifyPlan, apply and destroy), for rules such as
// the backup pack's.
func (r *jobResource) PolicyInventory() map[string]*policy.Schema {
	return map[string]*policy.Schema{
		"protected": policy.Array("The VMs the job protects: its selection's and the catalog VMs whose item names it. For a destroy, "+
			"those it protects now. Missing at plan time while they cannot be known (values unknown until apply, or VMs this run "+
			"creates).", policy.Object("One VM.", map[string]*policy.Schema{
			"id":   policy.String("Managed object ID of the VM."),
			"name": policy.String("Name of the VM."),
			"tags": policy.Array("The VM's tags, as category/name.", policy.String("")),
		})),
		"schedule": policy.Object("What the schedule means in time. Missing while the schedule is not known.", map[string]*policy.Schema{
			"longest_gap_minutes": policy.Integer("The longest time between two consecutive runs over the next year, minutes " +
				"(\"0 2 * * *\": 1440; \"0 2 * * 1-5\": 4320)."),
		}),
	}
}

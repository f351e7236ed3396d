package security

import "github.com/vmgmt/terraform-provider-vmgmt/internal/policy"

// The inventory facts a security group gives the policy gate (input.inventory), described for
// the policy input schemas; groupResource.inventory builds them.

// PolicyInventory implements framework.PolicyInventory.
func (r *groupResource) PolicyInventory() map[string]*policy.Schema {
	flag := func(d string) *policy.Schema {
		return &policy.Schema{Type: []string{"boolean", "null"}, Description: d}
	}
	return map[string]*policy.Schema{
		"role": policy.Object("The role the group grants, as defined in vCenter (for a role the group owns, as it will be defined). "+
			"Missing at plan time when a value of the group is unknown until apply.", map[string]*policy.Schema{
			"name":       policy.String("Name of the role."),
			"owned":      policy.Boolean("Whether the group owns the role (defines it from privileges) and deletes it on destroy."),
			"privileges": policy.Array("Privilege IDs the role grants, including the System ones vCenter gives every role.", policy.String("")),
		}),
		"members": policy.Array("The VMs the group will reach.", policy.Object("One member VM.", map[string]*policy.Schema{
			"id":   policy.String("Managed object ID of the VM."),
			"name": policy.String("Name of the VM."),
			"tags": policy.Array("Tags on the VM, as category/name.", policy.String("")),
		})),
		"port_groups": policy.Array("The distributed port groups the network policy applies to (those the members use, or "+
			"network_policy.port_groups), with the security policy they will have after apply: the group's network_policy where "+
			"set, else the live value. Empty without network_policy.", policy.Object("One distributed port group.", map[string]*policy.Schema{
			"id":                     policy.String("Managed object ID of the port group."),
			"name":                   policy.String("Name of the port group."),
			"allow_promiscuous":      flag("Promiscuous mode after apply; null when not set on the port group."),
			"allow_mac_changes":      flag("MAC address changes after apply; null when not set."),
			"allow_forged_transmits": flag("Forged transmits after apply; null when not set."),
			"member_ids":             policy.Array("The group's members on the port group.", policy.String("")),
			"other_vm_count":         policy.Integer("VMs on the port group that are not members: the network policy changes them too."),
		})),
		"principals": policy.Array("The principals.", policy.Object("One principal.", map[string]*policy.Schema{
			"name":     policy.String("The principal as configured."),
			"is_group": policy.Boolean("Whether it is a directory group."),
			"domain":   policy.String("Its directory domain, upper-case (VSPHERE.LOCAL); empty when it has none."),
		})),
	}
}

package catalog

import "github.com/vmgmt/terraform-provider-vmgmt/internal/policy"

// The inventory facts the catalog gives the policy gate (input.inventory), described for the
// policy input schemas. Source.Facts, definitionDoc and vmResource.inventory build them;
// policy_inventory_test.go checks they agree.

// PolicyInventory implements framework.PolicyInventory.
func (r *itemResource) PolicyInventory() map[string]*policy.Schema {
	return map[string]*policy.Schema{
		"template": sourceFactsSchema("The item's template as it is in vCenter. Missing at plan time when the template is named by a value unknown until apply."),
	}
}

// PolicyInventory implements framework.PolicyInventory.
func (r *vmResource) PolicyInventory() map[string]*policy.Schema {
	return map[string]*policy.Schema{
		"item": definitionDocSchema("The catalog item the VM is requested from, as published. Missing at plan time when the item is published in the same apply."),
		"usage": policy.Map("What the item's other VMs hold, by the job function they were requested for (this VM excluded). Missing like item.",
			policy.Object("The VMs of one job function.", map[string]*policy.Schema{
				"instances": policy.Integer("Number of VMs."),
				"cpus":      policy.Integer("Their vCPUs."),
				"memory_mb": policy.Integer("Their memory, MB."),
			})),
		"baselines": policy.Array("The configuration baselines that hold the VM: the one its item names (config_baseline), or none when the item names none. Missing like item.",
			policy.Object("One baseline.", map[string]*policy.Schema{
				"name": policy.String("Name of the baseline."),
				"mode": {Type: "string", Enum: []string{"enforce", "audit", ""}, Description: "Its mode as planned in this run or defined in vCenter: enforce or audit; empty when no baseline of that name is defined or planned."},
			})),
	}
}

// sourceFactsSchema describes Source.Facts: a template VM or a content library item.
func sourceFactsSchema(description string) *policy.Schema {
	return policy.OneOf(description,
		policy.Object("A template VM.", map[string]*policy.Schema{
			"id":        policy.String("Managed object ID of the template VM."),
			"path":      policy.String("Inventory path of the template VM."),
			"type":      {Type: "string", Const: templateTypeVM, Description: "The kind of template."},
			"cpus":      policy.Integer("vCPUs of the template."),
			"memory_mb": policy.Integer("Memory of the template, MB."),
			"disk_gb":   policy.Integer("First disk of the template, GB."),
		}),
		policy.Object("A content library item.", map[string]*policy.Schema{
			"id":                policy.String("ID of the content library item."),
			"path":              policy.String(LibraryPrefix + "<library>/<item>."),
			"type":              {Type: "string", Const: templateTypeLibrary, Description: "The kind of template."},
			"library_item_type": policy.String("The library item's type, e.g. vm-template or ovf."),
		}),
	)
}

// definitionDocSchema describes definitionDoc.
func definitionDocSchema(description string) *policy.Schema {
	names := func(what string) *policy.Schema { return policy.Array(what, policy.String("")) }
	return policy.Object(description, map[string]*policy.Schema{
		"name":    policy.String("Name of the item."),
		"version": policy.String("Published version."),
		"sizes": policy.Map("The sizes offered, by name.", policy.Object("One size.", map[string]*policy.Schema{
			"cpus":      policy.Integer("vCPUs."),
			"memory_mb": policy.Integer("Memory, MB."),
			"disk_gb":   policy.Integer("First disk, GB."),
		})),
		"quota": policy.Map("What one entitled group may hold of the item, by group; 0 is no limit.", policy.Object("One group's quota.", map[string]*policy.Schema{
			"instances": policy.Integer("VMs."),
			"cpus":      policy.Integer("vCPUs."),
			"memory_mb": policy.Integer("Memory, MB."),
		})),
		"allowed_folders":  names("Folders VMs of the item may be placed in (and folders below them)."),
		"allowed_networks": names("Networks VMs of the item may attach to."),
		"entitled_groups":  names("Job functions the item may be requested for."),
		"lease": policy.Object("How long a VM of the item lives.", map[string]*policy.Schema{
			"default_days": policy.Integer("Lease of a VM that asks for none, days."),
			"max_days":     policy.Integer("Longest lease, days; 0 is no maximum."),
			"grace_days":   policy.Integer("Days after the lease ends before the VM is reclaimed."),
		}),
	})
}

package security

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/framework"
)

// MaxGroupNameLength bounds a group's name: it becomes part of a role's and a custom attribute's
// name in vCenter.
const MaxGroupNameLength = 64

func (r *groupResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Version: 0,
		MarkdownDescription: "A security group: which principals hold which role on which VMs, resolved live from the " +
			"`members` selection at every plan, so that a plan shows the VMs gaining or losing access when a tag, folder " +
			"or pool changes, even if the configuration did not.\n\n" +
			"Permissions are managed **per principal and non-authoritatively**: the group grants and revokes only the " +
			"permissions it made. Every other permission on a member (set in the vSphere Client, by another tool or by " +
			"another group) survives create, update and destroy; a principal that already holds a permission on a member " +
			"that this group did not grant keeps it, and the plan says so. An optional `network_policy` locks down the " +
			"security policy of the distributed port groups the members use.\n\n" +
			"`foreign_grants` lists the permissions on members that the group did not grant and that exceed its role (or " +
			"`ceiling_privileges`): what an auditor needs to see. The definition, with what the group granted, is kept in " +
			"vCenter (custom attribute `vmgmt.security-group.<name>` on the datacenter), so that nothing lives only in " +
			"Terraform state. Import by name.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The group's name.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				MarkdownDescription: "Name of the group, unique in the datacenter. A role the group owns is named `vmgmt-sg-<name>`. " +
					"Changing it replaces the group.",
				Required:      true,
				Validators:    []validator.String{framework.Name(MaxGroupNameLength)},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"description": schema.StringAttribute{
				MarkdownDescription: "What the group is for. Defaults to empty.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(""),
				Validators:          []validator.String{stringvalidator.LengthAtMost(1024)},
			},
			"role": schema.StringAttribute{
				MarkdownDescription: "An existing vCenter role the principals get on every member, by name (e.g. `ReadOnly`). " +
					"Exactly one of `role` and `privileges` is set.",
				Optional: true,
				Validators: []validator.String{
					stringvalidator.LengthBetween(1, 255),
					stringvalidator.ExactlyOneOf(path.MatchRoot("role"), path.MatchRoot("privileges")),
				},
			},
			"privileges": schema.SetAttribute{
				ElementType: types.StringType,
				MarkdownDescription: "Privilege IDs (e.g. `VirtualMachine.Interact.PowerOn`) of a role the group owns and " +
					"maintains, named `vmgmt-sg-<name>`: a change updates the role in place, destroy deletes it (unless someone " +
					"else's permission still uses it). Checked at plan time against vCenter's privilege list.",
				Optional:   true,
				Validators: []validator.Set{setvalidator.SizeAtLeast(1), setvalidator.ValueStringsAre(stringvalidator.LengthBetween(1, 255))},
			},
			"principals": schema.ListNestedAttribute{
				MarkdownDescription: "Users and groups of vCenter's directory that get the role on every member, checked at plan " +
					"time against the directory. A principal is `DOMAIN\\name` (in HCL: `\"VSPHERE.LOCAL\\\\db-admins\"`) or `name@domain`.",
				Required: true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name": schema.StringAttribute{
						MarkdownDescription: "The user or group, `DOMAIN\\name` or `name@domain`.",
						Required:            true,
						Validators:          []validator.String{stringvalidator.LengthBetween(1, 512)},
					},
					"is_group": schema.BoolAttribute{
						MarkdownDescription: "Whether the principal is a group. Defaults to `false` (a user).",
						Optional:            true,
						Computed:            true,
						Default:             booldefault.StaticBool(false),
					},
					"propagate": schema.BoolAttribute{
						MarkdownDescription: "Whether the permission propagates to the member's children. Defaults to `true`.",
						Optional:            true,
						Computed:            true,
						Default:             booldefault.StaticBool(true),
					},
				}},
				Validators: []validator.List{listvalidator.SizeBetween(1, 100)},
			},
			"trusted_principals": schema.ListAttribute{
				ElementType: types.StringType,
				MarkdownDescription: "Principals whose permissions never count as foreign grants, such as vCenter's own " +
					"administrators. Defaults to none.",
				Optional:   true,
				Validators: []validator.List{listvalidator.UniqueValues()},
			},
			"ceiling_privileges": schema.SetAttribute{
				ElementType: types.StringType,
				MarkdownDescription: "The privileges a foreign permission on a member may grant before it counts as a foreign " +
					"grant. Defaults to the privileges of the group's role.",
				Optional:   true,
				Validators: []validator.Set{setvalidator.SizeAtLeast(1), setvalidator.ValueStringsAre(stringvalidator.LengthBetween(1, 255))},
			},
			"member_ids": schema.SetAttribute{
				ElementType: types.StringType,
				MarkdownDescription: "Managed object IDs of the members: at plan time the VMs the selection resolves to now; " +
					"after refresh the VMs on which every principal holds the group's permission.",
				Computed: true,
			},
			"member_count": schema.Int64Attribute{MarkdownDescription: "How many members.", Computed: true},
			"role_id": schema.Int64Attribute{
				MarkdownDescription: "ID of the role the principals get (known after apply for a role the group creates).",
				Computed:            true,
			},
			"permission_count": schema.Int64Attribute{
				MarkdownDescription: "How many permissions the group holds: one per member and principal, less those a " +
					"principal already held on a member from someone else.",
				Computed: true,
			},
			"port_groups":    portGroupsAttribute(),
			"foreign_grants": foreignGrantsAttribute(),
		},
		Blocks: map[string]schema.Block{
			"members": framework.SelectionBlock(),
			"network_policy": schema.SingleNestedBlock{
				MarkdownDescription: "The security policy of the distributed port groups the members use (or those listed): " +
					"set flags are applied, unset ones left as they are. Destroy (or a port group leaving the group) puts back " +
					"what was there before, unless someone changed it since. A port group shared with VMs that are not members " +
					"changes for them too; the plan warns with how many.",
				Attributes: map[string]schema.Attribute{
					"allow_promiscuous":      schema.BoolAttribute{Optional: true, MarkdownDescription: "Allow promiscuous mode."},
					"allow_mac_changes":      schema.BoolAttribute{Optional: true, MarkdownDescription: "Allow MAC address changes."},
					"allow_forged_transmits": schema.BoolAttribute{Optional: true, MarkdownDescription: "Allow forged transmits."},
					"port_groups": schema.ListAttribute{
						ElementType: types.StringType,
						Optional:    true,
						MarkdownDescription: "The distributed port groups to apply the policy to, by name or managed object ID " +
							"(`dvportgroup-42`), instead of those the members use.",
						Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues()},
					},
				},
			},
		},
	}
}

var portGroupAttrTypes = map[string]attr.Type{
	"id": types.StringType, "name": types.StringType,
	"allow_promiscuous": types.BoolType, "allow_mac_changes": types.BoolType, "allow_forged_transmits": types.BoolType,
	"other_vm_count": types.Int64Type,
}

func portGroupsAttribute() schema.ListNestedAttribute {
	return schema.ListNestedAttribute{
		MarkdownDescription: "The port groups `network_policy` applies to, with their security policy (planned values at plan " +
			"time, live values after refresh: a change made outside Terraform shows as drift) and how many VMs that are not " +
			"members use each. Empty without `network_policy`.",
		Computed: true,
		NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"id":                     schema.StringAttribute{Computed: true, MarkdownDescription: "Managed object ID."},
			"name":                   schema.StringAttribute{Computed: true, MarkdownDescription: "Name."},
			"allow_promiscuous":      schema.BoolAttribute{Computed: true, MarkdownDescription: "Promiscuous mode allowed (null: not set on the port group)."},
			"allow_mac_changes":      schema.BoolAttribute{Computed: true, MarkdownDescription: "MAC address changes allowed."},
			"allow_forged_transmits": schema.BoolAttribute{Computed: true, MarkdownDescription: "Forged transmits allowed."},
			"other_vm_count":         schema.Int64Attribute{Computed: true, MarkdownDescription: "VMs on the port group that are not members."},
		}},
	}
}

var foreignGrantAttrTypes = map[string]attr.Type{
	"principal": types.StringType, "is_group": types.BoolType, "role": types.StringType,
	"defined_on": types.StringType, "defined_on_name": types.StringType,
	"excess_privileges": types.ListType{ElemType: types.StringType}, "excess_privilege_count": types.Int64Type,
	"vm_ids": types.ListType{ElemType: types.StringType},
}

func foreignGrantsAttribute() schema.ListNestedAttribute {
	return schema.ListNestedAttribute{
		MarkdownDescription: "Permissions in force on members that this group did not grant and whose role exceeds the " +
			"group's role (or `ceiling_privileges`), one entry per permission: who holds it, which role, the object it is " +
			"defined on (a member itself, or the folder or datacenter it is inherited from), the privileges beyond the " +
			"ceiling and the members it reaches. A plan warns when one appears or reaches a new member.",
		Computed: true,
		NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"principal":       schema.StringAttribute{Computed: true, MarkdownDescription: "Who holds the permission."},
			"is_group":        schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the principal is a group."},
			"role":            schema.StringAttribute{Computed: true, MarkdownDescription: "The role it grants."},
			"defined_on":      schema.StringAttribute{Computed: true, MarkdownDescription: "Managed object ID the permission is defined on."},
			"defined_on_name": schema.StringAttribute{Computed: true, MarkdownDescription: "Name of that object."},
			"excess_privileges": schema.ListAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: fmt.Sprintf(
				"The first %d privileges beyond the ceiling, sorted.", maxListedExcess)},
			"excess_privilege_count": schema.Int64Attribute{Computed: true, MarkdownDescription: "How many privileges the role has beyond the ceiling."},
			"vm_ids":                 schema.ListAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: "The members it reaches, sorted."},
		}},
	}
}

// groupModel is the resource's value.
type groupModel struct {
	ID                types.String              `tfsdk:"id"`
	Name              types.String              `tfsdk:"name"`
	Description       types.String              `tfsdk:"description"`
	Role              types.String              `tfsdk:"role"`
	Privileges        types.Set                 `tfsdk:"privileges"`
	Principals        []principalModel          `tfsdk:"principals"`
	TrustedPrincipals types.List                `tfsdk:"trusted_principals"`
	CeilingPrivileges types.Set                 `tfsdk:"ceiling_privileges"`
	MemberIDs         types.Set                 `tfsdk:"member_ids"`
	MemberCount       types.Int64               `tfsdk:"member_count"`
	RoleID            types.Int64               `tfsdk:"role_id"`
	PermissionCount   types.Int64               `tfsdk:"permission_count"`
	PortGroups        types.List                `tfsdk:"port_groups"`
	ForeignGrants     types.List                `tfsdk:"foreign_grants"`
	Members           *framework.SelectionModel `tfsdk:"members"`
	NetworkPolicy     *networkPolicyModel       `tfsdk:"network_policy"`
}

type principalModel struct {
	Name      types.String `tfsdk:"name"`
	IsGroup   types.Bool   `tfsdk:"is_group"`
	Propagate types.Bool   `tfsdk:"propagate"`
}

type networkPolicyModel struct {
	AllowPromiscuous     types.Bool `tfsdk:"allow_promiscuous"`
	AllowMACChanges      types.Bool `tfsdk:"allow_mac_changes"`
	AllowForgedTransmits types.Bool `tfsdk:"allow_forged_transmits"`
	PortGroups           types.List `tfsdk:"port_groups"`
}

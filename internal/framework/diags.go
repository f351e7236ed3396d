package framework

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// AddVSphereError turns an error from internal/vsphere into a diagnostic whose summary says what
// failed; the detail carries vCenter's own words.
func AddVSphereError(diags *diag.Diagnostics, summary string, err error) {
	detail := err.Error()
	var le *vsphere.LoginError
	if errors.As(err, &le) {
		detail = fmt.Sprintf("%s\n\nCheck vsphere_server, user and password (or VSPHERE_SERVER, VSPHERE_USER, VSPHERE_PASSWORD).", detail)
	}
	diags.AddError(summary, detail)
}

// RemoveGone removes from state an object that was deleted outside Terraform, with a warning
// that says so and what the next apply does, so that the user learns why it is created again.
func RemoveGone(ctx context.Context, state *tfsdk.State, diags *diag.Diagnostics, kind, name, id string) {
	diags.AddWarning(fmt.Sprintf("%s %s not found", capitalize(kind), name),
		fmt.Sprintf("%s %s (%s) was not found in vCenter and is removed from state; the next apply creates it again. "+
			"If it was removed on purpose, remove it from the configuration too.", capitalize(kind), name, id))
	state.RemoveResource(ctx)
}

// AddAdopted warns that a create adopted the object an interrupted create of the same request had
// made (vsphere.Created), naming it and what was finished.
func AddAdopted(diags *diag.Diagnostics, kind, name string, c vsphere.Created) {
	finished := "nothing was left to do"
	if len(c.Finished) > 0 {
		finished = "finished: " + strings.Join(c.Finished, ", ")
	}
	diags.AddWarning(fmt.Sprintf("Adopted %s %s", kind, name),
		fmt.Sprintf("%s %s (%s) was made by an earlier apply of this same request that was interrupted before Terraform "+
			"recorded it (its %s stamp matches); it is now in state instead of being created again (%s).",
			kind, name, c.ID, vsphere.StampRequest, finished))
}

// AddForeign reports, on the attribute that names the object, that a create found its name taken
// by an object vmgmt did not make for this request, with the import command that brings it
// under Terraform. importID is what the resource's import takes for that object.
func AddForeign(diags *diag.Diagnostics, attr path.Path, summary string, err *vsphere.ForeignObjectError, importID string) {
	diags.AddAttributeError(attr, summary, fmt.Sprintf("%s. Choose another name, or, if this resource is meant to manage it, "+
		"bring it under Terraform with:\n\n  terraform import <address> %s\n\nwhere <address> is this resource's address "+
		"(Terraform names it above, e.g. vmgmt_catalog_vm.web).", capitalize(err.Error()), importID))
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

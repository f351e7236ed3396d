package framework

import (
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"

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

package catalog

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// bornCompliant adds to a VM's clone spec what the enforcing configuration baseline its item
// names requires (framework.Client.Baselines): the baseline's advanced settings and stamp
// beside the catalog's stamps, and its flags. The baseline is read at apply, as vCenter holds it
// then: it is applied before the VMs that name it, so its next plan finds them compliant. The
// catalog's own stamps win over a baseline setting of the same key.
func (r *vmResource) bornCompliant(ctx context.Context, it *Item, spec *vsphere.CloneSpec, diags *diag.Diagnostics) {
	if it.ConfigBaseline == "" || r.Client.Baselines == nil {
		return
	}
	born, ok, err := r.Client.Baselines.Birth(ctx, r.Client.VSphere, it.ConfigBaseline)
	if err != nil {
		diags.AddAttributeError(path.Root("catalog_item"), "Cannot read the item's configuration baseline",
			fmt.Sprintf("Catalog item %s names configuration baseline %s, whose settings a new VM is made with: %v", it.Name, it.ConfigBaseline, err))
		return
	}
	if !ok {
		return // not defined, or audit only: the VM is made as the template is
	}
	if spec.ExtraConfig == nil {
		spec.ExtraConfig = map[string]string{}
	}
	for k, v := range born.ExtraConfig {
		if _, taken := spec.ExtraConfig[k]; !taken {
			spec.ExtraConfig[k] = v
		}
	}
	born.VMID, born.ExtraConfig, born.HardwareVersion = "", nil, 0
	spec.Flags = born
}

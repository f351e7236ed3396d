package baseline

import (
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// Secure boot on a BIOS VM is drift that vmgmt does not remediate (manual); on an EFI VM it is a
// power-cycle remediation.
func TestSecureBootNeedsEFI(t *testing.T) {
	on := true
	rs := buildRules(nil, nil, Flags{SecureBoot: &on})
	bios := rs.evaluate(vsphere.VMConfig{ID: "vm-1", Firmware: "bios"}, "")
	efi := rs.evaluate(vsphere.VMConfig{ID: "vm-2", Firmware: "efi"}, "")
	if len(bios) != 1 || !bios[0].Manual {
		t.Errorf("BIOS VM: %+v, want one manual drift", bios)
	}
	if len(efi) != 1 || efi[0].Manual || !efi[0].PowerCycle {
		t.Errorf("EFI VM: %+v, want one power-cycle drift, not manual", efi)
	}
	if got := rs.evaluate(vsphere.VMConfig{ID: "vm-3", Firmware: "efi", SecureBoot: &on}, ""); len(got) != 0 {
		t.Errorf("EFI VM with secure boot: %+v, want compliant", got)
	}
	if _, some, _ := remediation("vm-1", bios, true); some {
		t.Error("a BIOS VM's secure boot was remediated")
	}
}

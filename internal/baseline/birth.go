package baseline

import (
	"context"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// Birth configuration: a catalog VM whose item names an enforcing baseline is made already
// compliant with it, so that the baseline's next plan finds nothing to remediate. The baseline is
// applied before the VMs that name it, so it cannot reach them at its own apply.

// Birth implements framework.Baselines: it returns what a new VM must be made with to comply with the baseline of that name,
// from the baseline's record as vCenter holds it now: every extraConfig rule (an exact or
// default_ok value set, an absent key removed with ""), the flags a clone's ConfigSpec can set
// (secure boot, CPU and memory hot add, logging, vMotion and FT encryption) and the baseline's
// stamp. Secure boot is asked for whatever the source's firmware: the clone leaves it out when the
// source is not EFI. The hardware version and the vTPM are left out, since a clone cannot set
// them: the baseline reports them. It reports false when no such baseline exists or it only
// audits.
func (Lookup) Birth(ctx context.Context, c *vsphere.Client, name string) (vsphere.Remediation, bool, error) {
	recs, err := readRecords(ctx, c)
	if err != nil {
		return vsphere.Remediation{}, false, err
	}
	rec := recs[name]
	if rec == nil || rec.Mode != ModeEnforce {
		return vsphere.Remediation{}, false, nil
	}
	in := &input{Name: rec.Name, Mode: rec.Mode, Packs: rec.Packs, Settings: rec.Settings, Flags: rec.Flags}
	r, _, _ := remediation("", birthDrift(in.rules(), in.stampKey()), true)
	r.HardwareVersion = 0
	return r, true, nil
}

// birthDrift is every rule of the set as drift to fix on a VM that has nothing yet: a VM that
// happens to comply with a rule (a default_ok or absent key it lacks, a flag it has) is still
// given the rule, because a clone inherits the source's configuration, which may not comply.
// The stamp is one more exact rule.
func birthDrift(rs ruleSet, stampKey string) []drift {
	var out []drift
	for _, r := range rs.settings {
		d, _ := judgeSetting(r, nil)
		out = append(out, d)
	}
	for _, f := range rs.flags {
		if f.Name == flagMinHardwareVersion || f.Name == flagVTPMRequired {
			continue // a clone cannot set them
		}
		out = append(out, drift{Key: f.Name, Expected: f.Want, Match: string(MatchExact), Source: f.Source, PowerCycle: f.PowerCycle, Manual: f.Manual})
	}
	return append(out, drift{Key: stampKey, Expected: rs.hash(), Match: string(MatchExact), Source: "stamp"})
}

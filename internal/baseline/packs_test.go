package baseline

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
)

// controlID is the form of a vSphere 8 SCG control ID, by target: VM packs cite vm-8 (VM
// advanced parameters and settings) and guest-8 (secure boot, virtual hardware), host packs esxi-8.
var controlID = map[string]*regexp.Regexp{
	"vm":   regexp.MustCompile(`^(vm|guest)-8\.[a-z0-9]+(-[a-z0-9]+)*$`),
	"host": regexp.MustCompile(`^esxi-8\.[a-z0-9]+(-[a-z0-9]+)*$`),
}

// TestPacksWellFormed checks every built-in pack against the rules the resource relies on.
func TestPacksWellFormed(t *testing.T) {
	if len(packs) == 0 {
		t.Fatal("no built-in packs")
	}
	for name, p := range packs {
		t.Run(name, func(t *testing.T) {
			if p.Name != name || p.Title == "" {
				t.Errorf("pack registered as %q has Name %q, Title %q", name, p.Name, p.Title)
			}
			re, ok := controlID[p.Target]
			if !ok {
				t.Fatalf("target %q is neither vm nor host", p.Target)
			}
			if len(p.Settings) == 0 {
				t.Error("no settings")
			}
			seen := map[string]bool{}
			for _, s := range p.Settings {
				checkSetting(t, p.Target, re, s)
				// extraConfig keys and host option keys are matched without regard to case.
				k := strings.ToLower(s.Key)
				if seen[k] {
					t.Errorf("%s: key appears twice", s.Key)
				}
				seen[k] = true
			}
			checkFlags(t, p, re)
		})
	}
}

func checkSetting(t *testing.T, target string, re *regexp.Regexp, s Setting) {
	t.Helper()
	if s.Key == "" || strings.ContainsAny(s.Key, " \t\n") {
		t.Errorf("setting %+v: empty key or key with blanks", s)
	}
	if !slices.Contains(Matches(), string(s.Match)) {
		t.Errorf("%s: match %q is not one of %v", s.Key, s.Match, Matches())
	}
	if (s.Value == "") != (s.Match == MatchAbsent) {
		t.Errorf("%s: value %q with match %q: a value is needed unless the key must be absent, and only then", s.Key, s.Value, s.Match)
	}
	if !re.MatchString(s.Control) {
		t.Errorf("%s: control %q is not a vSphere 8 SCG control ID for a %s", s.Key, s.Control, target)
	}
	if s.Title == "" {
		t.Errorf("%s: no title", s.Key)
	}
	// vCenter stores a VM's boolean extraConfig values as TRUE and FALSE.
	if target == "vm" && (strings.EqualFold(s.Value, "true") || strings.EqualFold(s.Value, "false")) && s.Value != strings.ToUpper(s.Value) {
		t.Errorf("%s: boolean value %q is not upper-case as vCenter stores it", s.Key, s.Value)
	}
}

func checkFlags(t *testing.T, p Pack, re *regexp.Regexp) {
	t.Helper()
	if p.Target == "host" {
		if len(packFlagRows(p.Flags)) != 0 || len(p.Flags.Controls) != 0 {
			t.Errorf("host pack sets VM flags: %+v", p.Flags)
		}
		return
	}
	for flag, control := range p.Flags.Controls {
		if !slices.Contains(packFlagNames, flag) {
			t.Errorf("control %q given for unknown flag %q", control, flag)
		} else if packFlagValue(p.Flags, flag) == "" {
			t.Errorf("control %q given for flag %q, which the pack does not set", control, flag)
		}
		if !re.MatchString(control) {
			t.Errorf("flag %s: control %q is not a vSphere 8 SCG control ID", flag, control)
		}
	}
	for _, r := range packFlagRows(p.Flags) {
		if p.Flags.Controls[r.name] == "" {
			t.Errorf("flag %s is set without a control ID", r.name)
		}
	}
	if m := p.Flags.MigrateEncryption; m != "" && !slices.Contains([]string{"required", "opportunistic", "disabled"}, m) {
		t.Errorf("migrate_encryption %q is not a vSphere value", m)
	}
	if m := p.Flags.FTEncryption; m != "" && !slices.Contains([]string{"ftEncryptionRequired", "ftEncryptionOpportunistic", "ftEncryptionDisabled"}, m) {
		t.Errorf("ft_encryption %q is not a vSphere value", m)
	}
}

type want struct {
	value   string
	match   Match
	control string
}

// checkContents asserts that the pack holds at least the wanted settings, each as wanted.
func checkContents(t *testing.T, name string, wants map[string]want) {
	t.Helper()
	p, ok := LookupPack(name)
	if !ok {
		t.Fatalf("pack %s missing", name)
	}
	got := map[string]Setting{}
	for _, s := range p.Settings {
		got[s.Key] = s
	}
	for key, w := range wants {
		s, ok := got[key]
		if !ok {
			t.Errorf("%s: %s missing", name, key)
			continue
		}
		if s.Value != w.value || s.Match != w.match || s.Control != w.control {
			t.Errorf("%s: %s = %q (%s, %s), want %q (%s, %s)", name, key, s.Value, s.Match, s.Control, w.value, w.match, w.control)
		}
	}
}

// TestSCG8 pins the VM settings, their match semantics and the SCG 8 controls.
func TestSCG8(t *testing.T) {
	checkContents(t, "scg-8", map[string]want{
		"isolation.tools.copy.disable":         {"TRUE", MatchDefaultOK, "vm-8.deactivate-console-copy"},
		"isolation.tools.paste.disable":        {"TRUE", MatchDefaultOK, "vm-8.deactivate-console-paste"},
		"isolation.tools.dnd.disable":          {"TRUE", MatchDefaultOK, "vm-8.isolation-tools-dnd-deactivate"},
		"isolation.tools.diskShrink.disable":   {"TRUE", MatchDefaultOK, "vm-8.deactivate-disk-shrinking-shrink"},
		"isolation.tools.diskWiper.disable":    {"TRUE", MatchDefaultOK, "vm-8.deactivate-disk-shrinking-wiper"},
		"isolation.device.connectable.disable": {"TRUE", MatchDefaultOK, "vm-8.isolation-device-connectable-deactivate"},
		"RemoteDisplay.maxConnections":         {"1", MatchExact, "vm-8.limit-console-connections"},
		"mks.enable3d":                         {"FALSE", MatchExact, "vm-8.deactivate-non-essential-3d-features"},
		"tools.setInfo.sizeLimit":              {"1048576", MatchDefaultOK, "vm-8.limit-setinfo-size"},
		"tools.guestlib.enableHostInfo":        {"FALSE", MatchDefaultOK, "vm-8.restrict-host-info"},
		"tools.guest.desktop.autolock":         {"TRUE", MatchExact, "vm-8.vmrc-lock"},
		"log.rotateSize":                       {"2048000", MatchDefaultOK, "vm-8.log-rotation-size"},
		"log.keepOld":                          {"10", MatchDefaultOK, "vm-8.log-retention"},
		"sched.mem.pshare.salt":                {"", MatchAbsent, "vm-8.transparentpagesharing-inter-vm-enabled"},
	})
	p, _ := LookupPack("scg-8")
	f := p.Flags
	if f.SecureBoot == nil || !*f.SecureBoot || f.MinHardwareVersion != 19 || f.MigrateEncryption != "required" ||
		f.FTEncryption != "ftEncryptionRequired" || f.Logging == nil || !*f.Logging {
		t.Errorf("scg-8 flags = %+v", f)
	}
	wantControls := map[string]string{
		"secure_boot":          "guest-8.secure-boot",
		"min_hardware_version": "guest-8.virtual-hardware",
		"migrate_encryption":   "vm-8.vmotion-encrypted",
		"ft_encryption":        "vm-8.ft-encrypted",
		"logging":              "vm-8.log-enable",
	}
	for flag, c := range wantControls {
		if f.Controls[flag] != c {
			t.Errorf("scg-8 flag %s control %q, want %q", flag, f.Controls[flag], c)
		}
	}
}

// TestSCG8Host pins the ESXi options of scg-8-host, and that the site-specific log host is left out.
func TestSCG8Host(t *testing.T) {
	checkContents(t, "scg-8-host", map[string]want{
		"UserVars.ESXiShellTimeOut":               {"600", MatchExact, "esxi-8.shell-timeout"},
		"UserVars.ESXiShellInteractiveTimeOut":    {"900", MatchExact, "esxi-8.shell-interactive-timeout"},
		"UserVars.DcuiTimeOut":                    {"600", MatchExact, "esxi-8.dcui-timeout"},
		"UserVars.HostClientSessionTimeout":       {"900", MatchExact, "esxi-8.host-client-session-timeout"},
		"UserVars.SuppressShellWarning":           {"0", MatchExact, "esxi-8.shell-warning"},
		"Security.AccountLockFailures":            {"5", MatchExact, "esxi-8.account-lockout"},
		"Security.AccountUnlockTime":              {"900", MatchExact, "esxi-8.account-auto-unlock-time"},
		"Security.PasswordQualityControl":         {"similar=deny retry=3 min=disabled,disabled,disabled,disabled,15 max=64", MatchExact, "esxi-8.account-password-policies"},
		"Security.PasswordHistory":                {"5", MatchExact, "esxi-8.account-password-history"},
		"Mem.ShareForceSalting":                   {"2", MatchExact, "esxi-8.transparent-page-sharing"},
		"Net.BlockGuestBPDU":                      {"1", MatchExact, "esxi-8.network-bpdu"},
		"Config.HostAgent.plugins.solo.enableMob": {"false", MatchExact, "esxi-8.deactivate-mob"},
	})
	p, _ := LookupPack("scg-8-host")
	for _, s := range p.Settings {
		if s.Key == "Syslog.global.logHost" {
			t.Errorf("scg-8-host sets the site-specific %s", s.Key)
		}
	}
}

// TestHostPackKeysInSimulator checks that every host pack key is an option the simulated ESXi
// hosts carry, with a value of the option's type (the host refuses other keys and types), and
// that a fresh simulated host is not already compliant, so the simulator shows host drift.
func TestHostPackKeysInSimulator(t *testing.T) {
	for _, name := range PackNames("host") {
		p, _ := LookupPack(name)
		drifted := 0
		for _, s := range p.Settings {
			cur, ok := simulator.HostOptions[s.Key]
			if !ok {
				t.Errorf("%s: %s is not an advanced option of the simulated hosts", name, s.Key)
				continue
			}
			if err := typedAs(s.Value, cur); err != "" {
				t.Errorf("%s: %s = %q: %s", name, s.Key, s.Value, err)
			}
			if s.Value != optionString(cur) {
				drifted++
			}
		}
		if drifted == 0 {
			t.Errorf("%s: a fresh simulated host already holds every value; no host drift to find", name)
		}
	}
}

// typedAs says why v, a pack value, does not read back as the option's type; "" when it does.
func typedAs(v string, cur any) string {
	switch cur.(type) {
	case int64, int32:
		if n, err := strconv.ParseInt(v, 10, 64); err != nil || strconv.FormatInt(n, 10) != v {
			return "the option is a whole number; give it in decimal"
		}
	case bool:
		if v != "true" && v != "false" {
			return `the option is a boolean; give "true" or "false"`
		}
	case string:
	default:
		return "the option has an unexpected type"
	}
	return ""
}

// optionString formats a host option's value as a pack writes it.
func optionString(v any) string {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case bool:
		return strconv.FormatBool(x)
	case string:
		return x
	}
	return ""
}

func TestMatches(t *testing.T) {
	got := Matches()
	want := []string{"exact", "default_ok", "absent"}
	if !slices.Equal(got, want) {
		t.Errorf("Matches() = %v, want %v", got, want)
	}
}

func TestPackNames(t *testing.T) {
	if got := PackNames("vm"); !slices.Equal(got, []string{"scg-8"}) {
		t.Errorf(`PackNames("vm") = %v`, got)
	}
	if got := PackNames("host"); !slices.Equal(got, []string{"scg-8-host"}) {
		t.Errorf(`PackNames("host") = %v`, got)
	}
	if got := PackNames("datastore"); len(got) != 0 {
		t.Errorf(`PackNames("datastore") = %v, want none`, got)
	}

	// With several packs for a target the names come sorted.
	for _, n := range []string{"zz-test", "aa-test", "mm-test"} {
		packs[n] = Pack{Name: n, Target: "vm"}
	}
	t.Cleanup(func() {
		for _, n := range []string{"zz-test", "aa-test", "mm-test"} {
			delete(packs, n)
		}
	})
	if got := PackNames("vm"); !slices.Equal(got, []string{"aa-test", "mm-test", "scg-8", "zz-test"}) {
		t.Errorf(`PackNames("vm") with test packs = %v`, got)
	}
}

func TestLookupPack(t *testing.T) {
	if _, ok := LookupPack("scg-9"); ok {
		t.Error(`LookupPack("scg-9") found a pack`)
	}
	if _, ok := LookupPack(""); ok {
		t.Error(`LookupPack("") found a pack`)
	}
	p, ok := LookupPack("scg-8")
	if !ok || p.Name != "scg-8" || p.Target != "vm" {
		t.Fatalf(`LookupPack("scg-8") = %+v, %v`, p, ok)
	}

	// A caller changing its copy does not change the built-in pack.
	before := PackMarkdown("scg-8")
	p.Settings[0].Value = "FALSE"
	*p.Flags.SecureBoot = false
	*p.Flags.Logging = false
	p.Flags.Controls["logging"] = "changed"
	again, _ := LookupPack("scg-8")
	if again.Settings[0].Value != "TRUE" || !*again.Flags.SecureBoot || !*again.Flags.Logging || again.Flags.Controls["logging"] != "vm-8.log-enable" {
		t.Errorf("changing a looked-up pack changed the built-in one: %+v", again)
	}
	if PackMarkdown("scg-8") != before {
		t.Error("changing a looked-up pack changed its docs table")
	}
}

// mdCells splits a markdown table row into its cells as a markdown renderer does: at every
// pipe that is not escaped as \|.
func mdCells(row string) []string {
	row = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(row), "|"), "|")
	row = strings.ReplaceAll(row, `\|`, "\x00")
	cells := strings.Split(row, "|")
	for i := range cells {
		cells[i] = strings.ReplaceAll(strings.TrimSpace(cells[i]), "\x00", "|")
	}
	return cells
}

// TestPackMarkdown checks the docs table: a header, then one five-cell row per setting and per
// flag the pack sets, each naming its key or flag and its control.
func TestPackMarkdown(t *testing.T) {
	if got := PackMarkdown("nope"); got != "" {
		t.Errorf(`PackMarkdown("nope") = %q, want ""`, got)
	}
	for name := range packs {
		p, _ := LookupPack(name)
		lines := strings.Split(strings.TrimSuffix(PackMarkdown(name), "\n"), "\n")
		if len(lines) < 2 || lines[0] != "| Control | Key or flag | Value | Match | What it protects |" || lines[1] != "|---|---|---|---|---|" {
			t.Fatalf("%s: table header = %q", name, lines[:min(2, len(lines))])
		}
		rows := lines[2:]
		// Every flag the pack sets has a control ID (TestPacksWellFormed), so Controls counts them.
		if want := len(p.Settings) + len(p.Flags.Controls); len(rows) != want {
			t.Errorf("%s: %d rows, want %d (one per setting and flag)", name, len(rows), want)
		}
		for i, row := range rows {
			cells := mdCells(row)
			if len(cells) != 5 {
				t.Errorf("%s row %d: %d cells: %q", name, i, len(cells), row)
				continue
			}
			if i < len(p.Settings) {
				s := p.Settings[i]
				if cells[0] != s.Control || cells[1] != "`"+s.Key+"`" || cells[3] != string(s.Match) || cells[4] != s.Title {
					t.Errorf("%s row %d = %q, for %+v", name, i, row, s)
				}
			} else if flag := strings.Trim(cells[1], "`"); cells[0] != p.Flags.Controls[flag] || cells[4] == "" {
				t.Errorf("%s row %d = %q: flag %s, control %q", name, i, row, flag, p.Flags.Controls[flag])
			}
		}
	}

	// A pipe in a value is escaped, so it does not split the row.
	var b strings.Builder
	writeRow(&b, "c", "`k`", "`a|b`", "exact", "t")
	if cells := mdCells(strings.TrimSuffix(b.String(), "\n")); len(cells) != 5 || cells[2] != "`a|b`" {
		t.Errorf("row with a pipe = %q, cells %q", b.String(), cells)
	}
}

package baseline

import (
	"fmt"
	"strconv"
	"strings"
)

// PackMarkdown returns the built-in pack as a markdown table, one row per setting and then one
// per typed flag the pack sets, for the docs: Control | Key or flag | Value | Match | What it
// protects. An unknown pack gives "".
func PackMarkdown(name string) string {
	p, ok := LookupPack(name)
	if !ok {
		return ""
	}
	var b strings.Builder
	b.WriteString("| Control | Key or flag | Value | Match | What it protects |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, s := range p.Settings {
		value := "(none)"
		if s.Match != MatchAbsent {
			value = mdCode(s.Value)
		}
		writeRow(&b, s.Control, mdCode(s.Key), value, string(s.Match), s.Title)
	}
	for _, f := range packFlagRows(p.Flags) {
		writeRow(&b, p.Flags.Controls[f.name], mdCode(f.name), mdCode(f.value), f.match, packFlagTitles[f.name])
	}
	return b.String()
}

// packFlagRow is one typed flag a pack sets, its value as the resource attribute takes it.
type packFlagRow struct {
	name, value, match string
}

// packFlagRows lists the flags f sets, in packFlagNames order. min_hardware_version is a floor;
// the others must hold the value.
func packFlagRows(f Flags) []packFlagRow {
	var rows []packFlagRow
	for _, name := range packFlagNames {
		value := packFlagValue(f, name)
		if value == "" {
			continue
		}
		match := string(MatchExact)
		if name == "min_hardware_version" {
			match = "at least"
		}
		rows = append(rows, packFlagRow{name: name, value: value, match: match})
	}
	return rows
}

// packFlagValue is the value f requires for the flag, as the resource attribute takes it; ""
// when f has no requirement.
func packFlagValue(f Flags, name string) string {
	boolStr := func(b *bool) string {
		if b == nil {
			return ""
		}
		return strconv.FormatBool(*b)
	}
	switch name {
	case "secure_boot":
		return boolStr(f.SecureBoot)
	case "min_hardware_version":
		if f.MinHardwareVersion > 0 {
			return strconv.Itoa(f.MinHardwareVersion)
		}
	case "cpu_hot_add":
		return boolStr(f.CPUHotAdd)
	case "memory_hot_add":
		return boolStr(f.MemoryHotAdd)
	case "migrate_encryption":
		return f.MigrateEncryption
	case "ft_encryption":
		return f.FTEncryption
	case "logging":
		return boolStr(f.Logging)
	case "vtpm_required":
		return boolStr(f.VTPMRequired)
	}
	return ""
}

func writeRow(b *strings.Builder, cells ...string) {
	for i, c := range cells {
		cells[i] = strings.ReplaceAll(c, "|", `\|`)
	}
	fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
}

// mdCode formats s as inline code, or "" for an empty s.
func mdCode(s string) string {
	if s == "" {
		return `""`
	}
	return "`" + s + "`"
}

package framework

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

// The validators here refuse at plan time, on the attribute, the values vCenter would refuse at
// apply or store differently from what was sent (so that the next read disagrees with the plan).
// Each has a Description that completes "value must be ..." and shows in the docs, and a message
// that says what is wrong and what to write instead. Null and unknown values pass: Required is
// Terraform's to check, and an unknown value is checked when it is known.

// NameValidator checks a name that vmgmt writes to vCenter: an inventory name, a tag, a stamp.
type NameValidator struct {
	// Max is the most characters (not bytes).
	Max int
	// Inventory adds the rules of vSphere inventory names: no '/', '\' or '%' (vCenter stores
	// them escaped, as %2f, %5c and %25, so the name read back differs), and not "." or "..".
	Inventory bool
	// Multiline allows line feeds and tabs (free text such as a description).
	Multiline bool
	// Trimmed refuses white space at either end.
	Trimmed bool
}

// ObjectName is the validator of the name of a vSphere inventory object that vmgmt creates (a
// VM, a resource pool) or a name that is written into one (a size).
func ObjectName() NameValidator {
	return NameValidator{Max: vsphere.MaxNameLength, Inventory: true, Trimmed: true}
}

// Name is the validator of a name vmgmt stores as a tag or a stamp (owner, job function, group)
// or a reference to an object by name (a network): at most maxLen characters.
func Name(maxLen int) NameValidator { return NameValidator{Max: maxLen, Trimmed: true} }

// Text is the validator of free text (a description): any printable text and line breaks.
func Text(maxLen int) NameValidator { return NameValidator{Max: maxLen, Multiline: true} }

func (v NameValidator) Description(context.Context) string {
	var b strings.Builder
	fmt.Fprintf(&b, "1 to %d characters of valid UTF-8 without control characters", v.Max)
	if v.Multiline {
		b.WriteString(" (line breaks and tabs allowed)")
	}
	if v.Trimmed {
		b.WriteString(", not starting or ending with white space")
	}
	if v.Inventory {
		b.WriteString(", without `/`, `\\` or `%`, and not `.` or `..`")
	}
	return b.String()
}

func (v NameValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v NameValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if problem, fix := v.Check(req.ConfigValue.ValueString()); problem != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid "+attrName(req.Path), fmt.Sprintf("Attribute %s: %s. %s", req.Path, problem, fix))
	}
}

// Check returns what is wrong with s and how to fix it, or "" when s is a valid name.
func (v NameValidator) Check(s string) (problem, fix string) {
	if !utf8.ValidString(s) {
		return fmt.Sprintf("%q is not valid UTF-8", s), "Write the name in UTF-8."
	}
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0:
		return "the value is empty", "Give a name, or leave the attribute out where it is optional."
	case n > v.Max:
		return fmt.Sprintf("%q is %d characters long, more than the %d vCenter accepts", s, n, v.Max), fmt.Sprintf("Shorten it to at most %d characters.", v.Max)
	}
	for i, r := range s {
		if forbiddenRune(r, v.Multiline) {
			kind := "control character"
			if !unicode.IsControl(r) {
				kind = "invisible formatting character"
			}
			return fmt.Sprintf("%q contains the %s %U at byte %d", s, kind, r, i),
				"Remove it: vCenter would store it or drop it, and the name read back would differ."
		}
	}
	if v.Trimmed {
		first, _ := utf8.DecodeRuneInString(s)
		last, _ := utf8.DecodeLastRuneInString(s)
		if unicode.IsSpace(first) || unicode.IsSpace(last) {
			return fmt.Sprintf("%q starts or ends with white space", s), "Remove the white space at the ends."
		}
	}
	if v.Inventory {
		if s == "." || s == ".." {
			return fmt.Sprintf("%q is not a name: inventory paths read it as this folder or the parent folder", s), "Choose another name."
		}
		if i := strings.IndexAny(s, `/\%`); i >= 0 {
			return fmt.Sprintf("%q contains %q, which vCenter stores escaped in names (and which separates inventory paths)", s, s[i]),
				"Choose a name without '/', '\\' and '%'."
		}
	}
	return "", ""
}

// forbiddenRune reports control and format characters: C0 and C1 controls, DEL, bidirectional
// overrides and other invisible format characters, and the Unicode line and paragraph separators.
func forbiddenRune(r rune, multiline bool) bool {
	if multiline && (r == '\n' || r == '\t' || r == '\r') {
		return false
	}
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// PathValidator checks an inventory path or a reference to an object (a path, a managed object
// ID, a UUID): text without control characters, and no "." or ".." element.
type PathValidator struct{}

// InventoryPath is the validator of an inventory path or object reference.
func InventoryPath() PathValidator { return PathValidator{} }

func (PathValidator) Description(context.Context) string {
	return "a non-empty inventory path or ID of valid UTF-8 without control characters, white space at the ends, or `.` and `..` elements"
}

func (v PathValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v PathValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if problem, fix := v.Check(req.ConfigValue.ValueString()); problem != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid "+attrName(req.Path), fmt.Sprintf("Attribute %s: %s. %s", req.Path, problem, fix))
	}
}

// Check returns what is wrong with path s and how to fix it, or "" when it is valid.
func (PathValidator) Check(s string) (problem, fix string) {
	if problem, fix := (NameValidator{Max: 2048, Trimmed: true}).Check(s); problem != "" {
		return problem, fix
	}
	for _, elem := range strings.Split(s, "/") {
		if elem == "." || elem == ".." {
			return fmt.Sprintf("%q has a %q element", s, elem), "Write the path from the datacenter (or the folder it is relative to) without . and .. elements."
		}
	}
	return "", ""
}

// HostNameValidator checks a host name: one label of RFC 1123 (the domain is given apart).
type HostNameValidator struct{}

// HostName is the validator of a guest host name.
func HostName() HostNameValidator { return HostNameValidator{} }

func (HostNameValidator) Description(context.Context) string {
	return "1 to 63 letters, digits and hyphens, not starting or ending with a hyphen (an RFC 1123 host name, without the domain)"
}

func (v HostNameValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v HostNameValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if problem := CheckHostName(req.ConfigValue.ValueString()); problem != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid host name",
			fmt.Sprintf("Attribute %s: %s. A host name is 1 to 63 letters, digits and hyphens, not starting or ending with a hyphen (RFC 1123), e.g. app01; put the domain in domain.", req.Path, problem))
	}
}

// CheckHostName returns what is wrong with host name s, or "".
func CheckHostName(s string) string {
	if strings.Contains(s, ".") {
		return fmt.Sprintf("%q contains a dot: the host name is the first label only", s)
	}
	return checkLabel(s)
}

func checkLabel(s string) string {
	switch {
	case s == "":
		return "the label is empty"
	case len(s) > 63:
		return fmt.Sprintf("%q is longer than 63 characters", s)
	case s[0] == '-' || s[len(s)-1] == '-':
		return fmt.Sprintf("%q starts or ends with a hyphen", s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			r, _ := utf8.DecodeRuneInString(s[i:])
			return fmt.Sprintf("%q contains %q, which is not a letter, digit or hyphen", s, r)
		}
	}
	return ""
}

// DomainNameValidator checks a DNS domain name: labels of RFC 1123 separated by dots.
type DomainNameValidator struct{}

// DomainName is the validator of a DNS domain.
func DomainName() DomainNameValidator { return DomainNameValidator{} }

func (DomainNameValidator) Description(context.Context) string {
	return "labels of letters, digits and hyphens separated by dots (RFC 1123), e.g. `corp.example`, at most 253 characters, without a trailing dot"
}

func (v DomainNameValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v DomainNameValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if problem := CheckDomainName(req.ConfigValue.ValueString()); problem != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid domain name",
			fmt.Sprintf("Attribute %s: %s. Write a domain such as corp.example: labels of 1 to 63 letters, digits and hyphens, separated by dots (RFC 1123).", req.Path, problem))
	}
}

// CheckDomainName returns what is wrong with domain s, or "".
func CheckDomainName(s string) string {
	switch {
	case s == "":
		return "the domain is empty"
	case len(s) > 253:
		return fmt.Sprintf("the domain is %d characters long, more than 253", len(s))
	case strings.HasSuffix(s, "."):
		return fmt.Sprintf("%q ends with a dot", s)
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if p := checkLabel(l); p != "" {
			return fmt.Sprintf("in %q: %s", s, p)
		}
	}
	// RFC 3696 2: a top-level label is not all digits, so that an address is never a domain.
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return fmt.Sprintf("%q ends in an all-numeric label, which makes it read as an IP address", s)
	}
	return ""
}

// IPv4Validator checks an IPv4 address, or with Prefix an address with prefix length.
type IPv4Validator struct{ Prefix bool }

// IPv4Address is the validator of an IPv4 address (a gateway, a DNS server).
func IPv4Address() IPv4Validator { return IPv4Validator{} }

// IPv4Prefix is the validator of an interface address with its prefix length, e.g. 10.0.10.15/24.
func IPv4Prefix() IPv4Validator { return IPv4Validator{Prefix: true} }

func (v IPv4Validator) Description(context.Context) string {
	if v.Prefix {
		return "an IPv4 host address with prefix length, e.g. `10.0.10.15/24` (not the network or broadcast address)"
	}
	return "an IPv4 address in dotted decimal, e.g. `10.0.10.1`"
}

func (v IPv4Validator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v IPv4Validator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	s := req.ConfigValue.ValueString()
	if v.Prefix {
		if _, problem := ParseIPv4Prefix(s); problem != "" {
			resp.Diagnostics.AddAttributeError(req.Path, "Invalid IPv4 address",
				fmt.Sprintf("Attribute %s: %s. Give the VM's address with the prefix length of its network, e.g. 10.0.10.15/24.", req.Path, problem))
		}
		return
	}
	if _, problem := ParseIPv4(s); problem != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid IPv4 address",
			fmt.Sprintf("Attribute %s: %s. Give an IPv4 address in dotted decimal, e.g. 10.0.10.1.", req.Path, problem))
	}
}

// ParseIPv4 parses a unicast IPv4 address; problem says what is wrong when it is not one.
func ParseIPv4(s string) (addr netip.Addr, problem string) {
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil || a.Zone() != "":
		return a, fmt.Sprintf("%q is not an IPv4 address", s)
	case !a.Is4():
		return a, fmt.Sprintf("%q is an IPv6 address; this attribute takes IPv4", s)
	case a.IsUnspecified():
		return a, fmt.Sprintf("%q is the unspecified address", s)
	case a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return a, fmt.Sprintf("%q is a multicast or broadcast address", s)
	}
	return a, ""
}

// ParseIPv4Prefix parses an interface address with prefix length (10.0.10.15/24) whose address
// is a host of its network; problem says what is wrong when it is not one.
func ParseIPv4Prefix(s string) (p netip.Prefix, problem string) {
	addr, bits, ok := strings.Cut(s, "/")
	if !ok {
		return p, fmt.Sprintf("%q has no prefix length", s)
	}
	a, problem := ParseIPv4(addr)
	if problem != "" {
		return p, problem
	}
	if a.IsLoopback() {
		return p, fmt.Sprintf("%q is a loopback address", s)
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || p.Bits() < 1 {
		return p, fmt.Sprintf("%q does not end in a prefix length from 1 to 32 (/%s)", s, bits)
	}
	if p.Bits() <= 30 {
		if a == p.Masked().Addr() {
			return p, fmt.Sprintf("%s is the address of network %s itself, not of a host in it", a, p.Masked())
		}
		if a == broadcast(p) {
			return p, fmt.Sprintf("%s is the broadcast address of network %s, not a host in it", a, p.Masked())
		}
	}
	return p, ""
}

// broadcast is the last address of p's network.
func broadcast(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n |= host
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// CheckGateway returns what is wrong with gateway gw for an interface address p, or "": it must
// be another host of p's network.
func CheckGateway(p netip.Prefix, gw netip.Addr) string {
	network := p.Masked()
	switch {
	case !network.Contains(gw):
		return fmt.Sprintf("gateway %s is outside network %s of address %s, so the VM could not reach it", gw, network, p)
	case gw == p.Addr():
		return fmt.Sprintf("gateway %s is the VM's own address", gw)
	case p.Bits() <= 30 && (gw == network.Addr() || gw == broadcast(p)):
		return fmt.Sprintf("gateway %s is the network or broadcast address of %s", gw, network)
	}
	return ""
}

// attrName names the value at p for a diagnostic's summary: "name", "sizes key", "dns servers
// element".
func attrName(p path.Path) string {
	steps := p.Steps()
	suffix := ""
	for i := len(steps) - 1; i >= 0; i-- {
		switch n := steps[i].(type) {
		case path.PathStepAttributeName:
			return strings.ReplaceAll(string(n), "_", " ") + suffix
		case path.PathStepElementKeyString:
			if suffix == "" {
				suffix = " key"
			}
		default:
			if suffix == "" {
				suffix = " element"
			}
		}
	}
	return "value"
}

package framework

import (
	"context"
	"math/big"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// validateString runs v on s at attribute "attr" and returns the error detail, or "".
func validateString(t *testing.T, v validator.String, s string) string {
	t.Helper()
	var resp validator.StringResponse
	v.ValidateString(context.Background(), validator.StringRequest{Path: path.Root("attr"), ConfigValue: types.StringValue(s)}, &resp)
	if !resp.Diagnostics.HasError() {
		return ""
	}
	d := resp.Diagnostics.Errors()[0]
	if !strings.Contains(d.Detail(), "Attribute attr") {
		t.Errorf("%q: the message does not name the attribute: %s", s, d.Detail())
	}
	return d.Summary() + ": " + d.Detail()
}

func TestNameValidators(t *testing.T) {
	cases := []struct {
		v    validator.String
		in   string
		want string // a regexp the error matches; "" for a valid value
	}{
		{ObjectName(), "app01", ""},
		{ObjectName(), "Prod DB (eu-west) #1", ""},
		{ObjectName(), "münchen-ärzte", ""},
		{ObjectName(), strings.Repeat("é", 80), ""},
		{ObjectName(), strings.Repeat("é", 81), `81 characters long, more than the 80`},
		{ObjectName(), "", `empty`},
		{ObjectName(), "a\x00b", `control character U\+0000 at byte 1`},
		{ObjectName(), "a\nb", `control character U\+000A`},
		{ObjectName(), "tab\there", `control character U\+0009`},
		{ObjectName(), "del\x7f", `U\+007F`},
		{ObjectName(), "c1\u0085", `U\+0085`},
		{ObjectName(), "rtl\u202eoverride", `U\+202E`},
		{ObjectName(), "zero\u200bwidth", `U\+200B`},
		{ObjectName(), "line\u2028sep", `U\+2028`},
		{ObjectName(), "bad\xffutf8", `not valid UTF-8`},
		{ObjectName(), " lead", `white space`},
		{ObjectName(), "trail ", `white space`},
		{ObjectName(), "trail\u00a0", `white space`},
		{ObjectName(), ".", `not a name`},
		{ObjectName(), "..", `not a name`},
		{ObjectName(), "...", ""},
		{ObjectName(), "a/b", `contains '/'`},
		{ObjectName(), `a\b`, `contains '\\\\'`},
		{ObjectName(), "100%", `contains '%'`},
		{Name(256), "a/b", ""},
		{Name(256), "50%", ""},
		{Name(256), "jane.doe@corp.example", ""},
		{Name(256), "CN=Jane Doe,OU=ERP", ""},
		{Name(3), "abcd", `more than the 3`},
		{Name(256), "x\ry", `U\+000D`},
		{Text(100), "line one\nline two\ttabbed\r\n", ""},
		{Text(100), " leading space is fine in text", ""},
		{Text(100), "bell\a", `U\+0007`},
		{Text(5), "toolong", `more than the 5`},
	}
	for _, tc := range cases {
		got := validateString(t, tc.v, tc.in)
		switch {
		case tc.want == "" && got != "":
			t.Errorf("%T%+v refused %q: %s", tc.v, tc.v, tc.in, got)
		case tc.want != "" && !regexp.MustCompile(tc.want).MatchString(got):
			t.Errorf("%T%+v on %q: got %q, want match of %s", tc.v, tc.v, tc.in, got, tc.want)
		}
	}
}

func TestInventoryPath(t *testing.T) {
	for in, want := range map[string]string{
		"/dc1/vm/workloads":                  "",
		"workloads/erp":                      "",
		"resgroup-42":                        "",
		"library:vmgmt-library/rhel9":        "",
		"/dc1/vm/..":                         `has a "\.\." element`,
		"../other":                           `has a "\.\." element`,
		"./workloads":                        `has a "\." element`,
		"workloads/\x01":                     `control character`,
		"":                                   `empty`,
		" /dc1":                              `white space`,
		"/dc1/vm/..hidden":                   "",
		"/dc1/vm/" + strings.Repeat("a", 80): "",
	} {
		got := validateString(t, InventoryPath(), in)
		if want == "" && got != "" || want != "" && !regexp.MustCompile(want).MatchString(got) {
			t.Errorf("InventoryPath on %q: got %q, want %q", in, got, want)
		}
	}
}

func TestHostAndDomainNames(t *testing.T) {
	for in, want := range map[string]string{
		"app01":                 "",
		"APP-01":                "",
		"1web":                  "",
		"a":                     "",
		strings.Repeat("a", 63): "",
		strings.Repeat("a", 64): `longer than 63`,
		"-app":                  `hyphen`,
		"app-":                  `hyphen`,
		"app_01":                `'_', which is not a letter`,
		"app 01":                `' ', which is not a letter`,
		"app.corp.example":      `contains a dot`,
		"":                      `empty`,
		"münchen":               `'ü'`,
	} {
		got := validateString(t, HostName(), in)
		if want == "" && got != "" || want != "" && !regexp.MustCompile(want).MatchString(got) {
			t.Errorf("HostName on %q: got %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"corp.example":                    "",
		"local":                           "",
		"a-b.c-d.example":                 "",
		"10.example":                      "",
		"corp.example.":                   `ends with a dot`,
		"corp..example":                   `label is empty`,
		".corp":                           `label is empty`,
		"corp_x.example":                  `'_'`,
		"-corp.example":                   `hyphen`,
		"10.0.0.1":                        `all-numeric`,
		strings.Repeat("a.", 127) + "com": `more than 253`,
		"corp.example\n":                  `'\\n'`,
	} {
		got := validateString(t, DomainName(), in)
		if want == "" && got != "" || want != "" && !regexp.MustCompile(want).MatchString(got) {
			t.Errorf("DomainName on %q: got %q, want %q", in, got, want)
		}
	}
}

func TestIPv4(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.2":        "",
		"127.0.0.53":      "", // a local resolver is a valid DNS server
		"10.0.0.300":      `not an IPv4 address`,
		"010.0.0.1":       `not an IPv4 address`,
		"10.0.0":          `not an IPv4 address`,
		"10.0.0.1/24":     `not an IPv4 address`,
		"::1":             `IPv6`,
		"::ffff:10.0.0.1": `IPv6`,
		"0.0.0.0":         `unspecified`,
		"224.0.0.1":       `multicast or broadcast`,
		"255.255.255.255": `multicast or broadcast`,
		"":                `not an IPv4 address`,
		" 10.0.0.1":       `not an IPv4 address`,
	} {
		got := validateString(t, IPv4Address(), in)
		if want == "" && got != "" || want != "" && !regexp.MustCompile(want).MatchString(got) {
			t.Errorf("IPv4Address on %q: got %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"10.0.10.15/24":  "",
		"10.0.10.1/31":   "", // point-to-point: both addresses are hosts
		"10.0.10.0/31":   "",
		"10.0.10.7/32":   "",
		"10.0.10.1/30":   "",
		"10.0.10.15":     `no prefix length`,
		"10.0.10.15/33":  `prefix length from 1 to 32`,
		"10.0.10.15/0":   `prefix length from 1 to 32`,
		"10.0.10.15/x":   `prefix length from 1 to 32`,
		"10.0.10.0/24":   `address of network 10.0.10.0/24 itself`,
		"10.0.10.255/24": `broadcast address of network 10.0.10.0/24`,
		"10.0.10.3/30":   `broadcast address`,
		"127.0.0.1/8":    `loopback`,
		"10.0.10.300/24": `not an IPv4 address`,
		"fd00::1/64":     `IPv6`,
	} {
		got := validateString(t, IPv4Prefix(), in)
		if want == "" && got != "" || want != "" && !regexp.MustCompile(want).MatchString(got) {
			t.Errorf("IPv4Prefix on %q: got %q, want %q", in, got, want)
		}
	}
}

func TestCheckGateway(t *testing.T) {
	for _, tc := range []struct{ addr, gw, want string }{
		{"10.0.10.15/24", "10.0.10.1", ""},
		{"10.0.10.15/24", "10.0.10.254", ""},
		{"10.0.10.15/24", "10.0.11.1", `outside network 10.0.10.0/24`},
		{"10.0.10.15/24", "10.0.10.15", `VM's own address`},
		{"10.0.10.15/24", "10.0.10.0", `network or broadcast`},
		{"10.0.10.15/24", "10.0.10.255", `network or broadcast`},
		{"10.0.10.129/25", "10.0.10.1", `outside network 10.0.10.128/25`},
		{"10.0.10.0/31", "10.0.10.1", ""},
		{"10.0.10.7/32", "10.0.10.1", `outside`},
	} {
		p, problem := ParseIPv4Prefix(tc.addr)
		if problem != "" {
			t.Fatalf("%s: %s", tc.addr, problem)
		}
		got := CheckGateway(p, netip.MustParseAddr(tc.gw))
		if tc.want == "" && got != "" || tc.want != "" && !regexp.MustCompile(tc.want).MatchString(got) {
			t.Errorf("CheckGateway(%s, %s) = %q, want %q", tc.addr, tc.gw, got, tc.want)
		}
	}
}

// numberConfig is a configuration {cpu = {reservation = n}} whose number is s.
func numberConfig(t *testing.T, s string) tfsdk.Config {
	t.Helper()
	f, ok := new(big.Float).SetString(s)
	if !ok {
		t.Fatalf("bad number %q", s)
	}
	inner := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"reservation": tftypes.Number}}
	outer := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"cpu": inner}}
	return tfsdk.Config{Raw: tftypes.NewValue(outer, map[string]tftypes.Value{
		"cpu": tftypes.NewValue(inner, map[string]tftypes.Value{"reservation": tftypes.NewValue(tftypes.Number, f)}),
	})}
}

// A number that is not a 64-bit integer is read as unknown, and Int64Between, reading the
// configuration itself, refuses it with the range; 64-bit integers read as themselves.
func TestInt64TypeAndRange(t *testing.T) {
	ctx := context.Background()
	at := path.Root("cpu").AtName("reservation")
	v := Int64Between(0, 1000)
	for in, want := range map[string]string{
		"0":                    "",
		"1000":                 "",
		"1001":                 `cpu\.reservation must be a whole number from 0 to 1,000; got 1,001\.`,
		"-1":                   `got -1\.`,
		"1e20":                 `cpu\.reservation must be a whole number from 0 to 1,000; got 1e\+20\.`,
		"-1e20":                `got -1e\+20\.`,
		"9223372036854775807":  `got 9,223,372,036,854,775,807\.`,
		"9223372036854775808":  `got 9\.223372036854775808e\+18\.`,
		"2.5":                  `got 2\.5\.`,
		"1e400":                `got 1e\+400\.`,
		"-9223372036854775808": `got -9,223,372,036,854,775,808\.`,
		"1p100000":             `got a number of about 2\^100001\.`,
		"-1p-100000":           `got a fraction of about 2\^-99999\.`,
	} {
		cfg := numberConfig(t, in)
		raw, _, err := tftypes.WalkAttributePath(cfg.Raw, tftypes.NewAttributePath().WithAttributeName("cpu").WithAttributeName("reservation"))
		if err != nil {
			t.Fatal(err)
		}
		val, err := Int64Type{}.ValueFromTerraform(ctx, raw.(tftypes.Value))
		if err != nil {
			t.Fatalf("%s: ValueFromTerraform failed: %v", in, err)
		}
		i := val.(types.Int64)
		f, _ := new(big.Float).SetString(in)
		if isInt64(f) == i.IsUnknown() {
			t.Errorf("%s: read as %v", in, i)
		}
		if n, _ := f.Int64(); !i.IsUnknown() && i.ValueInt64() != n {
			t.Errorf("%s: read as %d", in, i.ValueInt64())
		}
		if diags := (Int64Type{}).Validate(ctx, raw.(tftypes.Value), at); diags.HasError() {
			t.Errorf("%s: type validation failed: %v", in, diags)
		}
		var resp validator.Int64Response
		v.ValidateInt64(ctx, validator.Int64Request{Path: at, ConfigValue: i, Config: cfg}, &resp)
		got := ""
		if resp.Diagnostics.HasError() {
			got = resp.Diagnostics.Errors()[0].Detail()
		}
		if want == "" && got != "" || want != "" && !regexp.MustCompile(want).MatchString(got) {
			t.Errorf("%s: got %q, want %q", in, got, want)
		}
	}
	// A value that is unknown in the configuration too is left for when it is known.
	var resp validator.Int64Response
	unknownCfg := tfsdk.Config{Raw: tftypes.NewValue(tftypes.Object{AttributeTypes: map[string]tftypes.Type{"n": tftypes.Number}},
		map[string]tftypes.Value{"n": tftypes.NewValue(tftypes.Number, tftypes.UnknownValue)})}
	v.ValidateInt64(ctx, validator.Int64Request{Path: path.Root("n"), ConfigValue: types.Int64Unknown(), Config: unknownCfg}, &resp)
	if resp.Diagnostics.HasError() {
		t.Errorf("unknown value refused: %v", resp.Diagnostics)
	}
}

func TestInt64MultipleOf(t *testing.T) {
	v := Int64Between(256, 1<<20).MultipleOf(4)
	for n, want := range map[int64]string{4096: "", 4098: `multiple of 4; got 4098\. Use 4096 or 4100\.`, 255: `from 256`} {
		var resp validator.Int64Response
		v.ValidateInt64(context.Background(), validator.Int64Request{Path: path.Root("memory_mb"), ConfigValue: types.Int64Value(n)}, &resp)
		got := ""
		if resp.Diagnostics.HasError() {
			got = resp.Diagnostics.Errors()[0].Detail()
		}
		if want == "" && got != "" || want != "" && !regexp.MustCompile(want).MatchString(got) {
			t.Errorf("%d: got %q, want %q", n, got, want)
		}
	}
	if d := v.Description(context.Background()); d != "a whole number from 256 to 1,048,576, a multiple of 4" {
		t.Errorf("description %q", d)
	}
}

func TestInt64TypeEquality(t *testing.T) {
	ctx := context.Background()
	// Objects built by resources with framework.Int64Type attribute types hold the
	// framework's Int64 values; the framework checks those values' types against the schema's.
	obj, diags := types.ObjectValue(map[string]attr.Type{"n": Int64Type{}}, map[string]attr.Value{"n": types.Int64Value(1)})
	if diags.HasError() {
		t.Fatal(diags)
	}
	if !obj.Type(ctx).Equal(types.ObjectType{AttrTypes: map[string]attr.Type{"n": Int64Type{}}}) {
		t.Error("object types differ")
	}
	if (Int64Type{}).Equal(types.StringType) {
		t.Error("Int64Type equals StringType")
	}
}

func TestAttrName(t *testing.T) {
	for p, want := range map[*path.Path]string{
		ptr(path.Root("job_function")):                                       "job function",
		ptr(path.Root("sizes").AtMapKey("a/b")):                              "sizes key",
		ptr(path.Root("customization").AtName("dns_servers").AtListIndex(1)): "dns servers element",
	} {
		if got := attrName(*p); got != want {
			t.Errorf("attrName(%s) = %q, want %q", p, got, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// FuzzObjectName checks the rules against any string: a name ObjectName accepts is valid UTF-8
// of 1 to 80 characters, with no control or format character, no '/', '\' or '%', not "." or
// "..", and no white space at the ends; and a refusal always says why and how to fix it.
func FuzzObjectName(f *testing.F) {
	for _, s := range []string{"app01", "", ".", "..", "a/b", `a\b`, "50%", " x", "x ", "a\x00b", "\xff", "é", "\u202e",
		strings.Repeat("x", 81), "Prod DB #1", "a\nb", "\u00a0x", "x\u3000"} {
		f.Add(s)
	}
	v := ObjectName()
	f.Fuzz(func(t *testing.T, s string) {
		problem, fix := v.Check(s)
		if problem != "" {
			if fix == "" {
				t.Fatalf("%q refused without a fix: %s", s, problem)
			}
			return
		}
		if !utf8.ValidString(s) || utf8.RuneCountInString(s) < 1 || utf8.RuneCountInString(s) > 80 {
			t.Fatalf("accepted %q", s)
		}
		if strings.ContainsAny(s, `/\%`) || s == "." || s == ".." || strings.TrimSpace(s) != s {
			t.Fatalf("accepted %q", s)
		}
		for _, r := range s {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("accepted %q with %U", s, r)
			}
		}
	})
}

var labelRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// FuzzHostAndDomain checks that accepted host names and domains are made of RFC 1123 labels.
func FuzzHostAndDomain(f *testing.F) {
	for _, s := range []string{"app01", "corp.example", "-a", "a-", "a..b", "a.", "10.0.0.1", "x_y", "ü", strings.Repeat("a", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckHostName(s) == "" && !labelRE.MatchString(s) {
			t.Fatalf("host name %q accepted", s)
		}
		if CheckDomainName(s) == "" {
			if len(s) > 253 {
				t.Fatalf("domain %q accepted", s)
			}
			for _, l := range strings.Split(s, ".") {
				if !labelRE.MatchString(l) {
					t.Fatalf("domain %q accepted with label %q", s, l)
				}
			}
		}
	})
}

// FuzzIPv4 checks that an accepted interface address is a host of its network and that an
// accepted gateway is another host of that network.
func FuzzIPv4(f *testing.F) {
	for _, s := range [][2]string{{"10.0.10.15/24", "10.0.10.1"}, {"10.0.10.0/24", "10.0.10.1"}, {"10.0.10.255/24", "x"},
		{"1.2.3.4/32", "1.2.3.4"}, {"::1/64", "::2"}, {"010.1.1.1/8", "10.0.0.1"}, {"10.0.0.1/31", "10.0.0.0"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, addr, gw string) {
		p, problem := ParseIPv4Prefix(addr)
		if problem != "" {
			return
		}
		std, err := netip.ParsePrefix(addr)
		if err != nil || !std.Addr().Is4() || std.Bits() < 1 || std.Addr() != p.Addr() {
			t.Fatalf("accepted %q", addr)
		}
		if p.Bits() <= 30 && (p.Addr() == p.Masked().Addr() || p.Addr() == broadcast(p)) {
			t.Fatalf("accepted network or broadcast address %q", addr)
		}
		g, problem := ParseIPv4(gw)
		if problem != "" {
			return
		}
		if CheckGateway(p, g) == "" && (!p.Masked().Contains(g) || g == p.Addr()) {
			t.Fatalf("gateway %s accepted for %s", gw, addr)
		}
	})
}

// FuzzInt64Type checks that no number fails to convert: one that is a 64-bit integer reads as
// itself, any other reads as unknown and is refused by Int64Between with the number written.
func FuzzInt64Type(f *testing.F) {
	for _, s := range []string{"0", "-1", "1e20", "2.5", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "1e-300", "123456789012345678901234567890",
		"20p1000000700", "1p-1000000000", "92P3372 fuz"} {
		f.Add(s)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := new(big.Float).SetString(s)
		if !ok || n.IsInf() {
			return
		}
		val, err := Int64Type{}.ValueFromTerraform(ctx, tftypes.NewValue(tftypes.Number, n))
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		i := val.(types.Int64)
		if isInt64(n) == i.IsUnknown() {
			t.Fatalf("%s read as %v", s, i)
		}
		cfg := tfsdk.Config{Raw: tftypes.NewValue(tftypes.Object{AttributeTypes: map[string]tftypes.Type{"n": tftypes.Number}},
			map[string]tftypes.Value{"n": tftypes.NewValue(tftypes.Number, n)})}
		var resp validator.Int64Response
		Int64Between(-5, 5).ValidateInt64(ctx, validator.Int64Request{Path: path.Root("n"), ConfigValue: i, Config: cfg}, &resp)
		inRange := isInt64(n) && i.ValueInt64() >= -5 && i.ValueInt64() <= 5
		if resp.Diagnostics.HasError() == inRange {
			t.Fatalf("%s: in range %v, diagnostics %v", s, inRange, resp.Diagnostics)
		}
	})
}

package policy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy"
)

// poolType is a resource with every kind of attribute.
var poolType = tftypes.Object{AttributeTypes: map[string]tftypes.Type{
	"name":   tftypes.String,
	"cpu":    tftypes.Object{AttributeTypes: map[string]tftypes.Type{"reservation": tftypes.Number, "expandable": tftypes.Bool}},
	"tags":   tftypes.Set{ElementType: tftypes.String},
	"disks":  tftypes.List{ElementType: tftypes.Object{AttributeTypes: map[string]tftypes.Type{"size": tftypes.Number}}},
	"labels": tftypes.Map{ElementType: tftypes.String},
}}

func poolValue(name tftypes.Value, reservation any) tftypes.Value {
	cpuType := poolType.AttributeTypes["cpu"]
	diskType := poolType.AttributeTypes["disks"].(tftypes.List).ElementType
	return tftypes.NewValue(poolType, map[string]tftypes.Value{
		"name": name,
		"cpu": tftypes.NewValue(cpuType, map[string]tftypes.Value{
			"reservation": tftypes.NewValue(tftypes.Number, reservation),
			"expandable":  tftypes.NewValue(tftypes.Bool, nil),
		}),
		"tags": tftypes.NewValue(tftypes.Set{ElementType: tftypes.String}, []tftypes.Value{tftypes.NewValue(tftypes.String, "a")}),
		"disks": tftypes.NewValue(poolType.AttributeTypes["disks"], []tftypes.Value{
			tftypes.NewValue(diskType, map[string]tftypes.Value{"size": tftypes.NewValue(tftypes.Number, tftypes.UnknownValue)}),
		}),
		"labels": tftypes.NewValue(tftypes.Map{ElementType: tftypes.String}, map[string]tftypes.Value{"env": tftypes.NewValue(tftypes.String, "prod")}),
	})
}

// describeCPU says cpu.reservation holds whole numbers and describes it.
func describeCPU(p *tftypes.AttributePath) (string, bool) {
	if p.Equal(tftypes.NewAttributePath().WithAttributeName("cpu").WithAttributeName("reservation")) {
		return "MHz", true
	}
	return "", false
}

func poolSchemas() policy.Schemas {
	return policy.Schemas{
		"vmgmt_pool": policy.InputSchema("vmgmt_pool", policy.KindResource, poolType, describeCPU, map[string]*policy.Schema{
			"parent": policy.Object("The parent.", map[string]*policy.Schema{"free": policy.Integer("MHz.")}),
		}),
		"vmgmt_report": policy.InputSchema("vmgmt_report", policy.KindDataSource,
			tftypes.Object{AttributeTypes: map[string]tftypes.Type{"name": tftypes.String, "rows": tftypes.Number}},
			func(*tftypes.AttributePath) (string, bool) { return "Described differently.", false }, nil),
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Values are described as FromTerraform writes them: closed objects, nullable values, lists, sets
// and maps, whole numbers where the describer says so.
func TestValuesSchema(t *testing.T) {
	s := policy.ValuesSchema(poolType, describeCPU)
	for path, want := range map[string]string{
		"":                 `"additionalProperties":false`,
		"cpu.reservation":  `{"description":"MHz","type":["integer","null"]}`,
		"cpu.expandable":   `{"type":["boolean","null"]}`,
		"tags":             `{"type":["array","null"],"items":{"type":["string","null"]}}`,
		"labels":           `{"type":["object","null"],"additionalProperties":{"type":["string","null"]}}`,
		"disks.items.size": `{"type":["number","null"]}`,
	} {
		cur := s
		for _, step := range strings.Split(path, ".") {
			switch step {
			case "":
			case "items":
				cur = cur.Items
			default:
				cur = cur.Properties[step]
			}
		}
		if got := mustJSON(t, cur); !strings.Contains(got, want) {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
}

// What FromTerraform makes of a value, and its after_unknown companion, conform to the schemas;
// a misspelt key does not.
func TestValuesSchema_conformsToFromTerraform(t *testing.T) {
	ctx := context.Background()
	after, unknown, err := policy.FromTerraform(poolValue(tftypes.NewValue(tftypes.String, tftypes.UnknownValue), big.NewFloat(1000)))
	if err != nil {
		t.Fatal(err)
	}
	if err := policy.ValuesSchema(poolType, describeCPU).Validate(ctx, after); err != nil {
		t.Errorf("after: %v\n%v", err, after)
	}
	if err := policy.UnknownSchema(poolType).Validate(ctx, unknown); err != nil {
		t.Errorf("after_unknown: %v\n%v", err, unknown)
	}
	if mustJSON(t, unknown) != `{"disks":[{"size":true}],"name":true}` {
		t.Fatalf("after_unknown %s: the test no longer covers unknowns in a list and at the top", mustJSON(t, unknown))
	}
	after.(map[string]any)["nmae"] = "x"
	if err := policy.ValuesSchema(poolType, nil).Validate(ctx, after); err == nil || !strings.Contains(err.Error(), "nmae") {
		t.Errorf("a misspelt attribute conforms: %v", err)
	}
	c := policy.Change{Type: "vmgmt_pool", Actions: []string{"create"}, After: map[string]any{"name": "x"}, Phase: policy.PhasePlan}
	if err := poolSchemas()["vmgmt_pool"].Validate(ctx, c.Input(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))); err != nil {
		t.Errorf("Change.Input does not conform: %v", err)
	}
}

// The union merges the types property by property and stays closed, also where a type has no
// inventory at all; the per-type schemas stay as they are.
func TestSchemasUnion(t *testing.T) {
	ss := poolSchemas()
	before := mustJSON(t, ss)
	u := ss.Union()
	if mustJSON(t, ss) != before {
		t.Error("Union changed the per-type schemas")
	}
	if got := u.Properties["type"].Enum; strings.Join(got, ",") != "vmgmt_pool,vmgmt_report" {
		t.Errorf("type enum %v", got)
	}
	after := u.Properties["change"].Properties["after"]
	for _, k := range []string{"name", "cpu", "rows"} {
		if after.Properties[k] == nil {
			t.Errorf("after lacks %s", k)
		}
	}
	if got := mustJSON(t, after.Properties["name"]); got != `{"type":["string","null"]}` {
		t.Errorf("name, a string in both (described differently), merged into %s", got)
	}
	inv := u.Properties["inventory"]
	if inv.AdditionalProperties != false || inv.Properties["parent"] == nil {
		t.Errorf("inventory %s, want the closed object of both types' facts", mustJSON(t, inv))
	}
	if got := u.Properties["change"].Properties["actions"].Items.Enum; strings.Join(got, ",") != "create,delete,no-op,read,update" {
		t.Errorf("actions %v", got)
	}

	a := policy.Object("", map[string]*policy.Schema{"n": policy.Integer("")})
	b := policy.Object("", map[string]*policy.Schema{"n": policy.String(""), "m": policy.Boolean("")})
	m := policy.Merge(a, b)
	if len(m.Properties["n"].AnyOf) != 2 || m.Properties["m"] == nil || len(m.Required) != 1 || m.Required[0] != "n" {
		t.Errorf("merge of objects %s", mustJSON(t, m))
	}
}

// Loaded with schemas, a rule reading a field no input has is a load error with the file, the
// line and what was probably meant; a package or rule that declares its type is checked against
// that type only; an inline empty schema opts out.
func TestSchemas_typeCheckAtLoad(t *testing.T) {
	ss := poolSchemas()
	deny := func(body string) string { return "deny contains \"no\" if {\n" + body + "\n}\n" }
	for _, tc := range []struct {
		name, rego, want string
	}{
		{"misspelt change", "package vmgmt.p\n\n" + deny(`  input.change.aftr.name == "x"`),
			`p.rego:4: rego_type_error: undefined ref: input.change.aftr.name: input.change has no "aftr"; did you mean "after"?`},
		{"few keys are listed", "package vmgmt.p\n\n" + deny(`  input.change.after.cpu.limit > 0`),
			`p.rego:4: .*input.change.after.cpu has no "limit" \(it has expandable, reservation\)`},
		{"misspelt fact, where one type has no inventory", "package vmgmt.p\n\n" + deny(`  input.inventory.parent.fre > 0`),
			`p.rego:4: .*input.inventory.parent has no "fre"; did you mean "free"?`},
		{"package declares its type", "# METADATA\n# schemas:\n#   - input: schema.vmgmt_report\npackage vmgmt.p\n\n" + deny(`  input.change.after.cpu.reservation > 0`),
			`p.rego:7: .*input.change.after has no "cpu"`},
		{"rule declares its type", "package vmgmt.p\n\n# METADATA\n# schemas:\n#   - input: schema.vmgmt_report\n" + deny(`  input.change.before.cpu.reservation > 0`),
			`p.rego:7: .*input.change.before has no "cpu"`},
		{"the union by name", "# METADATA\n# schemas:\n#   - input: schema.input\npackage vmgmt.p\n\n" + deny(`  input.change.after.rows > input.inventory.parent.free`), ""},
		{"another rule keeps the union", "package vmgmt.p\n\n# METADATA\n# schemas:\n#   - input: schema.vmgmt_report\n" + deny(`  input.change.after.rows > 0`) + "\n" + deny(`  input.change.after.cpu.reservation > 0`), ""},
		{"opted out", "# METADATA\n# schemas:\n#   - input: {}\npackage vmgmt.p\n\n" + deny(`  input.resource_changes[_].type == "x"`), ""},
		{"unknown schema", "# METADATA\n# schemas:\n#   - input: schema.vmgmt_nope\npackage vmgmt.p\n\n" + deny(`  input.type == "x"`), `undefined schema: schema.vmgmt_nope`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := acctest.WriteFiles(t, map[string]string{"p.rego": tc.rego})
			e, err := policy.New(context.Background(), policy.Config{Sources: []string{dir}, Schemas: ss})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("does not load: %v", err)
				}
				_ = e.Close()
				return
			}
			if err == nil {
				_ = e.Close()
				t.Fatal("loads")
			}
			if !regexp.MustCompile(tc.want).MatchString(err.Error()) {
				t.Errorf("error\n%v\ndoes not match %s", err, tc.want)
			}
		})
	}
}

// Rego tests are type-checked like the policy: a test module that misspells the input fails to
// load, and without schemas the same tests run.
func TestRunTests_schemas(t *testing.T) {
	dir := acctest.WriteFiles(t, map[string]string{
		"p.rego":      "package vmgmt.p\n\ndeny contains \"no\" if {\n  input.change.after.name == \"x\"\n}\n",
		"p_test.rego": "package vmgmt.p_test\n\nimport data.vmgmt.p\n\ntest_x if {\n  p.deny[\"no\"] with input as {\"change\": {\"after\": {\"name\": \"x\"}}}\n}\n\nfires if input.change.aftr\n",
	})
	var out bytes.Buffer
	_, err := policy.RunTests(context.Background(), &out, policy.TestConfig{Packs: []string{}, Dirs: []string{dir}, Schemas: poolSchemas()})
	if err == nil || !regexp.MustCompile(`p_test.rego:9: rego_type_error: .*did you mean "after"`).MatchString(err.Error()) {
		t.Errorf("err = %v", err)
	}
	sum, err := policy.RunTests(context.Background(), &out, policy.TestConfig{Packs: []string{}, Dirs: []string{dir}})
	if err != nil || sum.Passed != 1 {
		t.Errorf("without schemas: %+v, %v\n%s", sum, err, out.String())
	}
}

// The shipped files are the union as input.json and one file per type, so that `opa check
// --schema <dir>` resolves schema.input and schema.<type> as the provider does.
func TestSchemasFiles(t *testing.T) {
	files, err := poolSchemas().Files()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 || files["input.json"] == nil || files["vmgmt_pool.json"] == nil || files["vmgmt_report.json"] == nil {
		t.Fatalf("files %v", keys(files))
	}
	var doc map[string]any
	if err := json.Unmarshal(files["vmgmt_pool.json"], &doc); err != nil {
		t.Fatal(err)
	}
	if doc["$schema"] != "http://json-schema.org/draft-07/schema#" || doc["additionalProperties"] != false {
		t.Errorf("vmgmt_pool.json %v", doc)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

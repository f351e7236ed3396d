package provider_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/loader"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/acctest"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/backup/runner"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy/packs"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/provider"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/simulator"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/vsphere"
)

var updateSchemas = flag.Bool("update-schemas", false, "rewrite schemas/policy-input from the resource schemas (make schemas)")

// schemaDir holds the policy input schemas shipped for `opa check --schema`.
const schemaDir = "../../schemas/policy-input"

func inputSchemas(t testing.TB) policy.Schemas {
	t.Helper()
	ss, err := provider.PolicyInputSchemas(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

// The committed schemas are what the code generates; `make schemas` rewrites them.
func TestPolicyInputSchemas_committed(t *testing.T) {
	files, err := inputSchemas(t).Files()
	if err != nil {
		t.Fatal(err)
	}
	if *updateSchemas {
		old, _ := filepath.Glob(filepath.Join(schemaDir, "*.json"))
		for _, f := range old {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.MkdirAll(schemaDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(schemaDir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	committed, _ := filepath.Glob(filepath.Join(schemaDir, "*.json"))
	seen := map[string]bool{}
	for _, f := range committed {
		name := filepath.Base(f)
		seen[name] = true
		want, ok := files[name]
		if !ok {
			t.Errorf("%s is committed but no resource or data source has that type: run `make schemas` and commit the result", f)
			continue
		}
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the resource schemas generate: run `make schemas` and commit the result", f)
		}
	}
	for name := range files {
		if !seen[name] {
			t.Errorf("%s is missing from %s: run `make schemas` and commit the result", name, schemaDir)
		}
	}
}

// The shipped files work as `opa check` reads them: --schema <dir> resolves the packs'
// schema.<type> annotations, and --schema <dir>/input.json is the input schema of policies that
// declare none; both refuse a misspelt field with the file and line.
func TestPolicyInputSchemas_opaCheck(t *testing.T) {
	annotated := acctest.WriteFiles(t, map[string]string{"a.rego": "# METADATA\n# schemas:\n#   - input: schema.input\npackage vmgmt.a\n\n" +
		"deny contains \"no\" if {\n  input.change.aftr.name == \"x\"\n}\n"})
	plain := acctest.WriteFiles(t, map[string]string{"p.rego": "package vmgmt.p\n\ndeny contains \"no\" if {\n  input.change.after.nmae == \"x\"\n}\n"})
	check := func(schemaPath string, dirs ...string) error {
		t.Helper()
		ss, err := loader.Schemas(schemaPath)
		if err != nil {
			t.Fatal(err)
		}
		res, err := loader.NewFileLoader().WithRegoVersion(ast.RegoV1).WithProcessAnnotation(true).All(dirs)
		if err != nil {
			t.Fatal(err)
		}
		modules := map[string]*ast.Module{}
		for name, m := range res.Modules {
			modules[name] = m.Parsed
		}
		c := ast.NewCompiler().WithSchemas(ss).WithUseTypeCheckAnnotations(true)
		if c.Compile(modules); c.Failed() {
			return c.Errors
		}
		return nil
	}
	if err := check(schemaDir, "../policy/packs", "../../examples/demo/policy"); err != nil {
		t.Errorf("opa check --schema %s on the packs and the demo policy: %v", schemaDir, err)
	}
	if err := check(schemaDir, annotated); err == nil || !strings.Contains(err.Error(), "a.rego:7: rego_type_error: undefined ref: input.change.aftr.name") {
		t.Errorf("opa check --schema %s on a misspelt annotated policy: %v", schemaDir, err)
	}
	union := filepath.Join(schemaDir, "input.json")
	if err := check(union, "../../examples/demo/policy"); err != nil {
		t.Errorf("opa check --schema %s on the demo policy: %v", union, err)
	}
	if err := check(union, plain); err == nil || !strings.Contains(err.Error(), "p.rego:4: rego_type_error: undefined ref: input.change.after.nmae") {
		t.Errorf("opa check --schema %s on a misspelt policy: %v", union, err)
	}
}

// Every resource and data source has a schema, and the union covers them all.
func TestPolicyInputSchemas_everyType(t *testing.T) {
	ss := inputSchemas(t)
	p := provider.New("test")()
	want := len(p.Resources(context.Background())) + len(p.DataSources(context.Background()))
	if len(ss) != want {
		t.Errorf("schemas for %v, want one per resource and data source (%d)", ss.Types(), want)
	}
	union := ss.Union()
	if got := union.Properties["type"].Enum; strings.Join(got, ",") != strings.Join(ss.Types(), ",") {
		t.Errorf("union type enum %v, want %v", got, ss.Types())
	}
}

// What the built-in packs, the demo policy and the guide's examples read exists in the input:
// they load, and their Rego tests pass, type-checked against the schemas.
func TestPolicyInputSchemas_existingPolicyLoads(t *testing.T) {
	ctx := context.Background()
	ss := inputSchemas(t)
	e, err := policy.New(ctx, policy.Config{Packs: packs.Names(), Sources: []string{"../../examples/demo/policy"}, Schemas: ss})
	if err != nil {
		t.Fatalf("the packs and the demo policy do not load against the input schemas: %v", err)
	}
	_ = e.Close()
	var out bytes.Buffer
	sum, err := policy.RunTests(ctx, &out, policy.TestConfig{Dirs: []string{"../../examples/demo/policy"}, Schemas: ss})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed+sum.Errors > 0 || sum.Passed == 0 {
		t.Fatalf("%+v\n%s", sum, out.String())
	}
}

// The Rego examples of the policy guide compile against the schemas (each on its own).
func TestPolicyInputSchemas_guideExamplesCompile(t *testing.T) {
	guide, err := os.ReadFile("../../templates/guides/policy.md.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```rego\n(.*?)```").FindAllSubmatch(guide, -1)
	if len(blocks) < 3 {
		t.Fatalf("%d rego blocks in the guide", len(blocks))
	}
	for i, b := range blocks {
		dir := acctest.WriteFiles(t, map[string]string{"example.rego": string(b[1])})
		var out bytes.Buffer
		if _, err := policy.RunTests(context.Background(), &out, policy.TestConfig{Packs: []string{}, Dirs: []string{dir}, Schemas: inputSchemas(t)}); err != nil {
			t.Errorf("rego block %d of the guide:\n%s\n%v", i+1, b[1], err)
		}
	}
}

// A rule that reads a field no input has is a load error naming the file and line, whatever part
// of the input it misspells; fields that exist load.
func TestPolicyInputSchemas_misspeltFieldIsALoadError(t *testing.T) {
	ss := inputSchemas(t)
	rule := func(body string) string {
		return "package vmgmt.user\n\ndeny contains \"no\" if {\n" + body + "\n}\n"
	}
	vmRule := "# METADATA\n# schemas:\n#   - input: schema.vmgmt_catalog_vm\n"
	for _, tc := range []struct {
		name, rego string
		want       string // empty: loads
	}{
		{"change", rule(`  input.change.aftr.name == "x"`), `user.rego:4: rego_type_error: undefined ref: input.change.aftr.name: input.change has no "aftr"; did you mean "after"?`},
		{"attribute", rule(`  input.change.after.nmae == "x"`), `user.rego:4: .*input.change.after has no "nmae"; did you mean "name"?`},
		{"nested attribute", rule(`  input.change.before.cpu.reservaton > 0`), `user.rego:4: .*input.change.before.cpu has no "reservaton"; did you mean "reservation"?`},
		{"after_unknown", rule(`  input.change.after_unknown.cpu.limt`), `user.rego:4: .*has no "limt"; did you mean "limit"?`},
		{"inventory fact", rule(`  input.inventory.parent.cpu.unreservd > 0`), `user.rego:4: .*input.inventory.parent.cpu has no "unreservd"; did you mean "unreserved"?`},
		{"context", rule(`  input.context.principle == "x"`), `user.rego:4: .*input.context has no "principle"; did you mean "principal"?`},
		{"top level", rule(`  input.resource_changes[_].type == "x"`), `user.rego:4: .*input has no "resource_changes"`},
		{"second line", rule("  input.type == \"vmgmt_catalog_vm\"\n  input.change.after.lease_dayz > 30"), `user.rego:5: .*did you mean "lease_days"?`},
		{"another type's attribute, in a rule that declares its type",
			"package vmgmt.user\n\n" + vmRule + "deny contains \"no\" if {\n  input.change.after.cpu.reservation > 0\n}\n",
			`user.rego:7: .*input.change.after has no "cpu"`},
		{"every type's fields", rule(`  input.type == "vmgmt_capacity_reservation"
  input.change.after.cpu.reservation > input.inventory.parent.cpu.unreserved
  input.inventory.held.memory > 0
  input.change.after_unknown.name
  input.inventory.template.cpus > 1
  input.inventory.item.sizes[input.change.after.size].cpus > input.inventory.usage["dba"].cpus
  input.inventory.pool.kind == "cluster"
  input.change.after.items[0].name == input.context.principal
  some a in input.change.actions
  a == "create"`), ""},
		{"its type's fields, declared", "package vmgmt.user\n\n" + vmRule + "deny contains \"no\" if {\n  input.change.after.job_function == input.inventory.item.entitled_groups[_]\n}\n", ""},
		{"opted out with an inline schema", "package vmgmt.user\n\n# METADATA\n# schemas:\n#   - input: {}\ndeny contains \"no\" if {\n  input.resource_changes[_].type == \"x\"\n}\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := acctest.WriteFiles(t, map[string]string{"user.rego": tc.rego})
			e, err := policy.New(context.Background(), policy.Config{Sources: []string{dir}, Schemas: ss})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("does not load: %v", err)
				}
				_ = e.Close()
				return
			}
			var le *policy.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("New = %v, want a load error", err)
			}
			if !regexp.MustCompile(regexp.QuoteMeta(dir) + "/" + tc.want).MatchString(err.Error()) {
				t.Errorf("error\n%v\ndoes not match %s", err, tc.want)
			}
			// Without the schemas the same policy loads: the check is what catches it.
			e, err = policy.New(context.Background(), policy.Config{Sources: []string{dir}})
			if err != nil {
				t.Fatalf("without schemas: %v", err)
			}
			_ = e.Close()
		})
	}
}

// Through the provider's Configure: the misspelling fails the plan with the file and line.
func TestAccPolicyInputSchemas_misspeltFieldFailsThePlan(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSim(t)
	dir := acctest.WriteFiles(t, map[string]string{"misspelt.rego": `package vmgmt.user

deny contains "renamed" if {
	input.change.aftr.name != input.change.before.name
}
`})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: sim.ProviderConfigWith(fmt.Sprintf("  policy {\n    sources = [%q]\n  }", dir)) + capacityDS,
			ExpectError: regexp.MustCompile(`(?s)Invalid policy.*` + regexp.QuoteMeta(filepath.Join(dir, "misspelt.rego")) +
				`:4:\s+rego_type_error:\s+undefined\s+ref:\s+input.change.aftr.name.*did\s+you\s+mean\s+"after"\?`),
		}},
	})
}

// The inputs the resources and data sources really build conform to the shipped schemas: every
// decision-log input of a run that creates, updates, reads and destroys every type validates
// against the schema of its type, with every described inventory fact seen (not empty) at least
// once: two VMs of one item, so each sees the other in its usage, and the item names the baseline
// (the VMs' baselines).
func TestAccPolicyInputSchemas_inputsConform(t *testing.T) {
	acctest.PreCheck(t)
	sim := acctest.NewSimWith(t, simulator.Options{BigDiskSize: 1 << 20})
	acctest.NewAdmin(t, sim).Tag("web01", "tier", "tier-3")
	log := filepath.Join(t.TempDir(), "decisions.jsonl")
	providerCfg := sim.ProviderConfigWith(fmt.Sprintf("  policy {\n    packs        = [\"capacity\", \"catalog\"]\n    decision_log = %q\n  }", log))
	template := "/" + simulator.Datacenter + "/vm/" + simulator.TemplateFolder + "/" + simulator.Templates[0]
	base := fmt.Sprintf(`
resource "vmgmt_capacity_reservation" "tier" {
  name   = "tier-9"
  parent = %q
  cpu    = { reservation = %%[1]d, expandable = false }
}

data "vmgmt_capacity" "cluster" {
  path = %q
}

resource "vmgmt_catalog_item" "app" {
  name     = "app-server"
  version  = %%[2]q
  template = %q
  sizes = {
    small = { cpus = 2, memory_mb = 4096, disk_gb = 40 }
  }
  entitled_groups = ["erp-ops"]
  quota           = { "erp-ops" = { instances = 5 } }
  allowed_folders = [%q]
  lease           = { default_days = 30, max_days = 90, grace_days = 7 }
  config_baseline = "erp-hardening"
}

data "vmgmt_catalog" "all" {
  depends_on = [vmgmt_catalog_item.app]
}
`, simulator.ClusterPath, simulator.ClusterPath, template, simulator.WorkloadFolder)
	vm := `
resource "vmgmt_catalog_vm" "app" {
  count        = 2
  name         = "app0${count.index}"
  catalog_item = vmgmt_catalog_item.app.name
  size         = "small"
  owner        = "jane.doe"
  job_function = "erp-ops"
  lease_days   = %d
}
`
	group := fmt.Sprintf(`
resource "vmgmt_security_group" "ops" {
  name        = "erp-ops"
  description = "%%[1]s"
  privileges  = ["VirtualMachine.Interact.PowerOn"]
  principals  = [{ name = "VSPHERE.LOCAL\\app-operators", is_group = true }]
  members {
    folders = [%[1]q]
  }
  network_policy {
    allow_promiscuous = false
  }
  depends_on = [vmgmt_catalog_vm.app]
}

resource "vmgmt_config_baseline" "ops" {
  name        = "erp-hardening"
  description = "%%[1]s"
  packs       = ["scg-8"]
  settings    = [{ key = "mks.enable3d", value = "TRUE" }]
  scope {
    folders = [%[1]q]
  }
  depends_on = [vmgmt_catalog_vm.app]
}

data "vmgmt_compliance" "ops" {
  packs    = ["scg-8"]
  settings = [{ key = "mks.enable3d", value = "TRUE" }]
  scope {
    folders = [%[1]q]
  }
  depends_on = [vmgmt_config_baseline.ops]
}

resource "vmgmt_config_baseline" "esxi" {
  name        = "esxi-hardening"
  description = "%%[1]s"
  target      = "host"
  packs       = ["scg-8-host"]
  hosts {
    clusters = [%[2]q]
  }
}

data "vmgmt_compliance" "esxi" {
  target = "host"
  packs  = ["scg-8-host"]
  hosts {
    clusters = [%[2]q]
  }
}

resource "vmgmt_backup_job" "ops" {
  name        = "erp-nightly"
  description = "%%[1]s"
  schedule    = { cron = "0 2 * * *" }
  retention   = { keep_last = 7 }
  repository  = "file:///var/backups/vmgmt"
  selection {
    folders = [%[1]q]
    # web01 (tier 3) is left out: vmgmt_protection_coverage finds it unprotected.
    exclude {
      tags = [{ category = "tier", name = "tier-3" }]
    }
  }
  depends_on = [vmgmt_catalog_vm.app]
}

# A second job over the same VMs, disabled: each job's destroy sees the other
# (inventory.other_jobs), and web01 stays unprotected.
resource "vmgmt_backup_job" "weekly" {
  name       = "erp-weekly"
  enabled    = false
  schedule   = { cron = "0 3 * * 0" }
  retention  = { keep_last = 4 }
  repository = "s3://erp-backups/weekly?endpoint=https://minio.example.com:9000"
  selection {
    folders = [%[1]q]
  }
  depends_on = [vmgmt_catalog_vm.app]
}

data "vmgmt_access_report" "ops" {
  selection {
    folders = [%[1]q]
  }
  depends_on = [vmgmt_security_group.ops]
}

data "vmgmt_restore_points" "ops" {
  job = vmgmt_backup_job.ops.name
}

data "vmgmt_protection_coverage" "ops" {
  scope {
    folders = [%[1]q]
  }
  depends_on = [vmgmt_backup_job.ops, vmgmt_backup_job.weekly]
}
`, simulator.WorkloadFolder, simulator.Cluster)
	// The ops job's repository is a real directory: vmgmt_restore_points lists it, and erp-app01's
	// point in it (a backup run before the second step) is restored, renamed and destroyed.
	group = strings.ReplaceAll(group, "file:///var/backups/vmgmt", "file://"+t.TempDir())
	restored := func(name string) string {
		return fmt.Sprintf(`
resource "vmgmt_vm_restore" "app" {
  job    = vmgmt_backup_job.ops.name
  vm     = "erp-app01"
  latest = true
  name   = %q
}
`, name)
	}
	backUp := func() {
		c, err := vsphere.Connect(context.Background(), vsphere.Config{Server: sim.URL.Host, User: sim.User, Password: sim.Password, Insecure: true})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Close(context.Background()) }()
		if sum, err := runner.Run(context.Background(), c, runner.Options{Job: "erp-nightly"}); err != nil || sum.Failed() {
			t.Fatalf("backup run: %v %+v", err, sum)
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: providerCfg + fmt.Sprintf(base, 1000, "1.0.0")},
			// The audit baseline finds drift, so its plan is never empty (CI's -detailed-exitcode exits 2).
			{Config: providerCfg + fmt.Sprintf(base, 2000, "1.0.0") + fmt.Sprintf(vm, 30) + fmt.Sprintf(group, "operators"), ExpectNonEmptyPlan: true},
			{Config: providerCfg + fmt.Sprintf(base, 2000, "1.1.0") + fmt.Sprintf(vm, 60) + fmt.Sprintf(group, "ERP operators"), ExpectNonEmptyPlan: true},
			{PreConfig: backUp, Config: providerCfg + fmt.Sprintf(base, 2000, "1.1.0") + fmt.Sprintf(vm, 60) + fmt.Sprintf(group, "ERP operators") + restored("erp-app01-restored"), ExpectNonEmptyPlan: true},
			{Config: providerCfg + fmt.Sprintf(base, 2000, "1.1.0") + fmt.Sprintf(vm, 60) + fmt.Sprintf(group, "ERP operators") + restored("erp-app01-copy"), ExpectNonEmptyPlan: true},
		},
	})

	ctx := context.Background()
	ss := inputSchemas(t)
	f, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	n := 0
	for sc.Scan() {
		var entry struct {
			Type    string         `json:"resource_type"`
			Phase   string         `json:"phase"`
			Actions []string       `json:"actions"`
			Input   map[string]any `json:"input"`
		}
		if err := json.Unmarshal(sc.Bytes(), &entry); err != nil {
			t.Fatal(err)
		}
		n++
		s := ss[entry.Type]
		if s == nil {
			t.Errorf("no schema for %s", entry.Type)
			continue
		}
		if err := s.Validate(ctx, entry.Input); err != nil {
			t.Errorf("%s %s %v: the input does not conform to %s.json: %v", entry.Phase, entry.Type, entry.Actions, entry.Type, err)
		}
		seen[entry.Type+" "+strings.Join(entry.Actions, ",")] = true
		inv, _ := entry.Input["inventory"].(map[string]any)
		for k, v := range inv {
			m, isMap := v.(map[string]any)
			l, isList := v.([]any)
			if v != nil && !(isMap && len(m) == 0) && !(isList && len(l) == 0) {
				seen[entry.Type+" inventory."+k] = true // a fact with something in it
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, typ := range ss.Types() {
		if strings.HasSuffix(typ, "_capacity") || strings.HasSuffix(typ, "_catalog") || strings.HasSuffix(typ, "_access_report") || strings.HasSuffix(typ, "_compliance") ||
			strings.HasSuffix(typ, "_restore_points") || strings.HasSuffix(typ, "_protection_coverage") {
			want = append(want, typ+" read")
		} else {
			want = append(want, typ+" create", typ+" update", typ+" delete")
		}
		for k := range ss[typ].Properties["inventory"].Properties {
			want = append(want, typ+" inventory."+k)
		}
	}
	var missing []string
	for _, w := range want {
		if !seen[w] {
			missing = append(missing, w)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d decisions, none for: %s", n, strings.Join(missing, "; "))
	}
}

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy/packs"
	"github.com/vmgmt/terraform-provider-vmgmt/internal/provider"
)

// policyTest runs Rego tests in-process, like `opa test`.
func policyTest(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("policy test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	verbose := fs.Bool("verbose", false, "report every test, not only failures")
	noPacks := fs.Bool("no-packs", false, "skip the tests of the built-in packs ("+strings.Join(packs.Names(), ", ")+")")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: terraform-provider-vmgmt policy test [--verbose] [--no-packs] [DIR...]\n\n"+
			"Runs the Rego tests (test_* rules, usually in *_test.rego files) of the built-in packs and of each DIR,\n"+
			"with the data files found there. The policy and its tests are type-checked against the policy input\n"+
			"schemas as the provider loads policy: a rule that reads a field no input has fails to load.\n"+
			"Exit 0 when all pass, 1 when some fail, 2 when they cannot be loaded.\n\n")
		fs.PrintDefaults()
	}
	dirs, err := parse(fs, args)
	if err != nil {
		return flagExit(err)
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); err != nil {
			fmt.Fprintf(stderr, "policy test: %v\n", err)
			return ExitUsage
		}
	}
	var packNames []string // nil: every built-in pack
	if *noPacks {
		if len(dirs) == 0 {
			fmt.Fprintln(stderr, "policy test: nothing to test: --no-packs and no DIR given")
			return ExitUsage
		}
		packNames = []string{}
	}
	ctx := context.Background()
	schemas, err := provider.PolicyInputSchemas(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "policy test: %v\n", err)
		return ExitUsage
	}
	// Type-checked as the provider loads policy: a rule that reads a field no input has fails here.
	sum, err := policy.RunTests(ctx, stdout, policy.TestConfig{Verbose: *verbose, Packs: packNames, Dirs: dirs, Schemas: schemas})
	if err != nil {
		fmt.Fprintf(stderr, "policy test: %v\n", err)
		return ExitUsage
	}
	if sum.Passed+sum.Failed+sum.Errors == 0 {
		fmt.Fprintf(stderr, "policy test: no Rego tests found in %s (tests are rules named test_*)\n", strings.Join(dirs, ", "))
		return ExitUsage
	}
	if sum.Failed+sum.Errors > 0 {
		return ExitFail
	}
	return ExitOK
}

// evalResult is the decision on one resource change of the plan (the json format prints them).
type evalResult struct {
	Address    string           `json:"address"`
	Type       string           `json:"type"`
	Name       string           `json:"name,omitempty"`
	Actions    []string         `json:"actions"`
	DecisionID string           `json:"decision_id,omitempty"`
	Blocked    bool             `json:"blocked"`
	Findings   []policy.Finding `json:"findings"`
	Error      string           `json:"error,omitempty"`
}

type evalReport struct {
	Plan      string       `json:"plan"`
	Revision  string       `json:"policy_revision"`
	Packages  []string     `json:"policy_packages"`
	Blocked   bool         `json:"blocked"`
	Errors    int          `json:"errors"`
	Resources []evalResult `json:"resources"`
	// NotPlanned are vmgmt resources Terraform deferred out of this plan: judged when planned.
	NotPlanned []string `json:"not_planned,omitempty"`
}

// policyEval judges the vmgmt_ resource changes of a `terraform show -json` plan file.
func policyEval(args []string, stdout, stderr io.Writer) int {
	opts, exit, ok := parseEvalFlags(args, stderr)
	if !ok {
		return exit
	}
	plan, err := readPlan(opts.plan)
	if err != nil {
		fmt.Fprintf(stderr, "policy eval: %v\n", err)
		return ExitUsage
	}
	ctx := context.Background()
	engine, err := opts.engine(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "policy eval: %v\n", err)
		return ExitUsage
	}
	report := judgePlan(ctx, engine, plan, opts)
	if err := engine.Close(); err != nil {
		fmt.Fprintf(stderr, "policy eval: closing the decision log: %v\n", err)
		report.Errors++
	}
	if err := writeReport(stdout, report, opts.format); err != nil {
		fmt.Fprintf(stderr, "policy eval: %v\n", err)
		return ExitUsage
	}
	switch {
	case report.Errors > 0:
		return ExitUsage // fail closed: no verdict is not a pass
	case report.Blocked:
		return ExitFail
	}
	return ExitOK
}

// evalOptions are the flags of `policy eval`.
type evalOptions struct {
	plan          string
	sources, pack multi
	decisionLog   string
	principal     string
	explain       string
	format        string
}

// parseEvalFlags reads and checks the flags of `policy eval`; when it returns !ok, the command
// exits with exit (the problem is already printed).
func parseEvalFlags(args []string, stderr io.Writer) (opts evalOptions, exit int, ok bool) {
	fs := flag.NewFlagSet("policy eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&opts.plan, "plan", "", "plan file written by `terraform show -json PLANFILE` (required)")
	fs.Var(&opts.sources, "source", "Rego file, directory or bundle .tar.gz, as in the provider's policy.sources (repeatable)")
	fs.Var(&opts.pack, "pack", "built-in pack ("+strings.Join(packs.Names(), ", ")+"), as in the provider's policy.packs (repeatable)")
	fs.StringVar(&opts.decisionLog, "decision-log", "", "append one JSON line per decision to this file")
	fs.StringVar(&opts.principal, "principal", os.Getenv("USER"), "principal in the policy context (input.context.principal)")
	fs.StringVar(&opts.explain, "explain", policy.ExplainNone, "none, or fails: print a trimmed evaluation trace under blocking findings")
	fs.StringVar(&opts.format, "format", "text", "output format: text or json")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: terraform-provider-vmgmt policy eval --plan PLAN.json [--source PATH]... [--pack NAME]... [flags]\n\n"+
			"Judges every vmgmt_ resource change of a saved plan with the policy engine the provider runs at plan time:\n"+
			"  terraform plan -out tfplan && terraform show -json tfplan > plan.json\n"+
			"A saved plan holds no vCenter inventory, so rules that read input.inventory are reported as deferred\n"+
			"(the provider judges them against vCenter when it plans and applies).\n"+
			"Exit 0 when nothing blocks, 1 when a mandatory rule blocks, 2 when the plan or policy cannot be\n"+
			"loaded or evaluated.\n\n")
		fs.PrintDefaults()
	}
	rest, err := parse(fs, args)
	if err != nil {
		return opts, flagExit(err), false
	}
	if msg := opts.problem(rest); msg != "" {
		fmt.Fprintln(stderr, "policy eval: "+msg)
		return opts, ExitUsage, false
	}
	return opts, ExitOK, true
}

// problem says what is wrong with the flags (and the arguments left after them), or "".
func (o evalOptions) problem(rest []string) string {
	switch {
	case len(rest) > 0:
		return fmt.Sprintf("unexpected arguments %q (the plan is given with --plan)", rest)
	case o.plan == "":
		return "--plan is required (a `terraform show -json` plan file)"
	case len(o.sources) == 0 && len(o.pack) == 0:
		return fmt.Sprintf("no policy: give --source and/or --pack, as in the provider's policy block (built-in packs: %s)",
			strings.Join(packs.Names(), ", "))
	case o.format != "text" && o.format != "json":
		return fmt.Sprintf("--format %q: want text or json", o.format)
	case o.explain != policy.ExplainNone && o.explain != policy.ExplainFails:
		return fmt.Sprintf("--explain %q: want none or fails", o.explain)
	}
	return ""
}

// engine loads the policy the flags name, type-checked against the policy input schemas as the
// provider loads it.
func (o evalOptions) engine(ctx context.Context) (*policy.Engine, error) {
	schemas, err := provider.PolicyInputSchemas(ctx)
	if err != nil {
		return nil, err
	}
	engine, err := policy.New(ctx, policy.Config{
		Sources: o.sources, Packs: o.pack, DecisionLog: o.decisionLog, Explain: o.explain, Schemas: schemas,
	})
	if err != nil {
		return nil, fmt.Errorf("loading policy: %w", err)
	}
	return engine, nil
}

// judgePlan evaluates every vmgmt_ resource change of the plan and lists the vmgmt_ changes
// Terraform deferred out of it.
func judgePlan(ctx context.Context, engine *policy.Engine, plan *tfjson.Plan, opts evalOptions) evalReport {
	report := evalReport{Plan: opts.plan, Revision: engine.Revision(), Packages: engine.Packages(), Resources: []evalResult{}}
	for _, rc := range plan.ResourceChanges {
		if !strings.HasPrefix(rc.Type, "vmgmt_") {
			continue
		}
		res := judgeChange(ctx, engine, rc, opts.principal)
		if res.Error != "" {
			report.Errors++
		}
		report.Blocked = report.Blocked || res.Blocked
		report.Resources = append(report.Resources, res)
	}
	for _, dc := range plan.DeferredChanges {
		if dc.ResourceChange != nil && strings.HasPrefix(dc.ResourceChange.Type, "vmgmt_") {
			report.NotPlanned = append(report.NotPlanned, fmt.Sprintf("%s (%s)", address(dc.ResourceChange), dc.Reason))
		}
	}
	return report
}

// judgeChange evaluates one resource change; an evaluation error is recorded in the result.
func judgeChange(ctx context.Context, engine *policy.Engine, rc *tfjson.ResourceChange, principal string) evalResult {
	c := policy.ChangeFromPlan(rc)
	c.Principal, c.Version = principal, Version
	res := evalResult{Address: address(rc), Type: rc.Type, Name: c.Name, Actions: c.Actions, Findings: []policy.Finding{}}
	if res.Actions == nil {
		res.Actions = []string{}
	}
	d, err := engine.Evaluate(ctx, c)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	res.DecisionID = d.ID
	res.Findings = append(res.Findings, d.Findings...)
	res.Blocked = d.Blocked()
	return res
}

// writeReport prints the report in the format asked for.
func writeReport(w io.Writer, report evalReport, format string) error {
	if format != "json" {
		printText(w, report)
		return nil
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(report)
}

// readPlan reads a `terraform show -json` plan, keeping numbers exact.
func readPlan(path string) (*tfjson.Plan, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the plan: %w", err)
	}
	if bytes.HasPrefix(raw, []byte("PK")) {
		return nil, fmt.Errorf("%s is a binary plan file: convert it with `terraform show -json %s > plan.json`", path, path)
	}
	var plan tfjson.Plan
	plan.UseJSONNumber(true)
	if err := json.Unmarshal(raw, &plan); err != nil {
		return nil, fmt.Errorf("%s is not a `terraform show -json` plan: %w", path, err)
	}
	return &plan, nil
}

func address(rc *tfjson.ResourceChange) string {
	a := rc.Address
	if a == "" {
		a = rc.Type + "." + rc.Name
	}
	if rc.DeposedKey != "" {
		a += " (deposed " + rc.DeposedKey + ")"
	}
	return a
}

func printText(w io.Writer, r evalReport) {
	var blocking, warnings, deferred, other int
	for _, res := range r.Resources {
		if res.Error != "" {
			fmt.Fprintf(w, "%s: ERROR %s\n", res.Address, res.Error)
			continue
		}
		for _, f := range res.Findings {
			fmt.Fprintf(w, "%s: %s %s\n", res.Address, strings.ToUpper(string(f.Outcome)), describe(f))
			if f.Trace != "" {
				fmt.Fprintf(w, "    evaluation trace (trimmed):\n    %s\n", strings.ReplaceAll(f.Trace, "\n", "\n    "))
			}
			switch {
			case f.Blocks():
				blocking++
			case f.Outcome == policy.OutcomeWarn:
				warnings++
			case f.Outcome == policy.OutcomeDeferred:
				deferred++
			default:
				other++
			}
		}
	}
	for _, a := range r.NotPlanned {
		fmt.Fprintf(w, "%s: NOT PLANNED: Terraform deferred it out of this plan; it is judged when it is planned\n", a)
	}
	if len(r.Resources) == 0 {
		fmt.Fprintf(w, "No vmgmt_ resource changes in %s.\n", r.Plan)
	}
	fmt.Fprintf(w, "\n%d vmgmt resource change(s), policy revision %s: %d blocking, %d warning(s), %d deferred, %d exempted or grandfathered, %d error(s).\n",
		len(r.Resources), r.Revision, blocking, warnings, deferred, other, r.Errors)
	switch {
	case r.Errors > 0:
		fmt.Fprintln(w, "ERROR: policy could not be evaluated for every change, so the plan is refused (fail closed).")
	case r.Blocked:
		fmt.Fprintln(w, "FAIL: policy blocks this plan.")
	default:
		fmt.Fprintln(w, "PASS")
	}
}

// describe renders a finding on one line: policy id, message, where, and why it did not block.
func describe(f policy.Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s]", f.Policy)
	switch f.Outcome {
	case policy.OutcomeDeferred:
		fmt.Fprintf(&b, " reads %s: judged by the provider against vCenter at plan and apply time", unknownList(f.Unknown))
		if f.Message != "" && f.Message != "reads values that are unknown until apply" {
			fmt.Fprintf(&b, "; with the values known now it reports: %s", f.Message)
		}
	default:
		fmt.Fprintf(&b, " %s", f.Message)
	}
	if len(f.Path) > 0 {
		fmt.Fprintf(&b, " (attribute %s)", joinPath(f.Path))
	}
	switch f.Outcome {
	case policy.OutcomeGrandfathered:
		b.WriteString(" (not blocking: the attributes it judges did not change)")
	case policy.OutcomeExempted, policy.OutcomeExpired:
		if f.Exemption != nil {
			fmt.Fprintf(&b, " (%s)", f.Exemption)
		}
	}
	return b.String()
}

func unknownList(unknown []string) string {
	var out []string
	inventory := false
	for _, u := range unknown {
		if u == "inventory" || strings.HasPrefix(u, "inventory.") {
			if !inventory {
				out = append(out, "vCenter inventory (not in a saved plan)")
				inventory = true
			}
			continue
		}
		out = append(out, u+" (unknown until apply)")
	}
	if len(out) == 0 {
		return "values unknown until apply"
	}
	return strings.Join(out, ", ")
}

func joinPath(p []any) string {
	parts := make([]string, len(p))
	for i, e := range p {
		parts[i] = fmt.Sprint(e)
	}
	return strings.Join(parts, ".")
}

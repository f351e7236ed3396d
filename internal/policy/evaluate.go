package policy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Change is one planned change, the subject of a decision.
type Change struct {
	Type string // resource type, e.g. vmgmt_capacity_reservation
	// Name and ID identify the object for exemption selectors and the log.
	Name string
	ID   string
	Tags []string
	// Actions as in terraform show -json: ["create"], ["update"], ["delete"], ["no-op"], ["read"].
	Actions      []string
	Before       any
	After        any
	AfterUnknown any
	// Sensitive lists attribute paths (dotted) whose values are masked in the decision log.
	Sensitive []string
	// Inventory holds the live facts the resource gathered for the rules.
	Inventory map[string]any
	// InventoryUnknown names inventory facts that cannot be known at plan time (e.g. "parent" when
	// the parent is created in the same apply): rules that read them are deferred like unknown values.
	InventoryUnknown []string
	Phase            Phase
	Principal        string
	Version          string
}

// Finding is one rule result after levels, exemptions, grandfathering and deferral were applied.
type Finding struct {
	Policy    string     `json:"policy"`
	Message   string     `json:"msg"`
	Level     Level      `json:"level"`
	Path      []any      `json:"path,omitempty"`
	Outcome   Outcome    `json:"outcome"`
	Exemption *Exemption `json:"exemption,omitempty"`
	// Unknown lists the attributes a deferred policy is waiting for.
	Unknown []string `json:"unknown,omitempty"`
	// Trace is a trimmed evaluation trace (explain = "fails").
	Trace string `json:"-"`
}

// Blocks reports whether the finding fails the plan or apply.
func (f Finding) Blocks() bool { return f.Outcome == OutcomeBlock || f.Outcome == OutcomeExpired }

// Decision is the result of evaluating one change.
type Decision struct {
	ID       string
	Findings []Finding
	Revision string
	Duration time.Duration
}

// Blocked reports whether any finding blocks.
func (d *Decision) Blocked() bool {
	for _, f := range d.Findings {
		if f.Blocks() {
			return true
		}
	}
	return false
}

// EvalError means the policy could not be evaluated: the change must not proceed (fail closed).
type EvalError struct {
	Err error
}

func (e *EvalError) Error() string {
	return fmt.Sprintf("policy could not be evaluated, so the change is refused (fail closed): %v", e.Err)
}

func (e *EvalError) Unwrap() error { return e.Err }

// Input builds the Rego input document for a change: one resource_changes[] entry of
// `terraform show -json`, plus context and inventory.
func (c Change) Input(now time.Time) map[string]any {
	actions := c.Actions
	if actions == nil {
		actions = []string{}
	}
	unknown := c.AfterUnknown
	if unknown == nil {
		unknown = map[string]any{}
	}
	inv := c.Inventory
	if inv == nil {
		inv = map[string]any{}
	}
	return map[string]any{
		"type": c.Type,
		"name": c.Name,
		"change": map[string]any{
			"actions":       actions,
			"before":        c.Before,
			"after":         c.After,
			"after_unknown": unknown,
		},
		"context": map[string]any{
			"phase":            c.Phase,
			"time":             now.UTC().Format(time.RFC3339),
			"principal":        c.Principal,
			"provider_version": c.Version,
		},
		"inventory": inv,
	}
}

// Evaluate decides on one change. An error means the policy could not be evaluated; the caller
// must refuse the change.
func (e *Engine) Evaluate(ctx context.Context, c Change) (*Decision, error) {
	start := time.Now()
	now := e.now()
	input := c.Input(now)
	d := &Decision{ID: newDecisionID(), Revision: e.revision}

	raw, err := e.evalLocal(ctx, input, nil)
	if err != nil {
		e.logDecision(c, d, input, err)
		return nil, err
	}
	if e.remote != nil {
		rr, err := e.remote.decide(ctx, input)
		if err != nil {
			err = &EvalError{Err: err}
			e.logDecision(c, d, input, err)
			return nil, err
		}
		raw = append(raw, rr...)
	}
	d.Findings = e.judge(c, raw, now)

	if e.cfg.Explain == ExplainFails && d.Blocked() && e.hasLocal {
		trace := e.trace(ctx, input)
		for i := range d.Findings {
			if d.Findings[i].Blocks() {
				d.Findings[i].Trace = trimTrace(trace, d.Findings[i].Policy)
			}
		}
	}
	d.Duration = time.Since(start)
	e.logDecision(c, d, input, nil)
	return d, nil
}

// rawFinding is a rule result before judgement.
type rawFinding struct {
	pkg     *pkgInfo // nil for remote results
	policy  string
	msg     string
	level   Level
	path    []any
	remote  bool
	invalid string
}

func (e *Engine) evalLocal(ctx context.Context, input map[string]any, tracer *topdown.BufferTracer) ([]rawFinding, error) {
	if !e.hasLocal {
		return nil, nil
	}
	// Convert the input to OPA's value once, directly: rego.EvalInput would round-trip it
	// through JSON first, which costs more than evaluating the packs.
	parsed, err := ast.InterfaceToValue(input)
	if err != nil {
		return nil, &EvalError{Err: fmt.Errorf("converting the policy input: %w", err)}
	}
	opts := []rego.EvalOption{rego.EvalParsedInput(parsed)}
	if tracer != nil {
		opts = append(opts, rego.EvalQueryTracer(tracer))
	}
	rs, err := e.query.Eval(ctx, opts...)
	if err != nil {
		return nil, &EvalError{Err: err}
	}
	if len(rs) == 0 {
		return nil, &EvalError{Err: fmt.Errorf("the decision is undefined (a rule of %s produced no value)", strings.Join(e.Packages(), ", "))}
	}
	b := rs[0].Bindings
	var out []rawFinding
	for i, p := range e.packages {
		for _, rule := range Rules() {
			if !p.rules[rule] {
				continue
			}
			v, ok := b[bindVar(i, rule)]
			if !ok {
				return nil, &EvalError{Err: fmt.Errorf("%s.%s is undefined", p.path, rule)}
			}
			fs, err := parseRuleValue(p.path, rule, v)
			if err != nil {
				return nil, &EvalError{Err: err}
			}
			for j := range fs {
				fs[j].pkg = p
			}
			out = append(out, fs...)
		}
	}
	return out, nil
}

// parseRuleValue turns the value of deny / warn / violation into raw findings.
func parseRuleValue(pkg string, rule Rule, v any) ([]rawFinding, error) {
	items, ok := v.([]any)
	if !ok {
		if v == nil {
			return nil, nil
		}
		return nil, fmt.Errorf("%s.%s must be a set, got %T", pkg, rule, v)
	}
	policyID := strings.TrimPrefix(pkg, Root+".")
	var out []rawFinding
	for _, it := range items {
		switch rule {
		case RuleDeny, RuleWarn:
			level := LevelMandatory
			if rule == RuleWarn {
				level = LevelAdvisory
			}
			switch x := it.(type) {
			case string:
				out = append(out, rawFinding{policy: policyID, msg: x, level: level})
			case map[string]any:
				f := violationFromObject(policyID, x)
				f.level = level
				out = append(out, f)
			default:
				return nil, fmt.Errorf("%s.%s contains %T; deny and warn hold strings or {msg, path} objects", pkg, rule, it)
			}
		case RuleViolation:
			x, ok := it.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s.violation contains %T; it holds {id, msg, level, path} objects", pkg, it)
			}
			out = append(out, violationFromObject(policyID, x))
		}
	}
	return out, nil
}

func violationFromObject(defaultID string, x map[string]any) rawFinding {
	f := rawFinding{policy: defaultID, level: LevelMandatory}
	if id, ok := x["id"].(string); ok && id != "" {
		f.policy = id
	}
	if msg, ok := x["msg"].(string); ok {
		f.msg = msg
	} else {
		f.msg = fmt.Sprintf("%v", x["msg"])
	}
	if lvl, ok := x["level"].(string); ok {
		if level := Level(lvl); slices.Contains(Levels(), level) {
			f.level = level
		} else {
			f.invalid = fmt.Sprintf("level %q is not %s; treated as mandatory", lvl, strings.Join(Strings(Levels()), " or "))
		}
	}
	f.path = parsePath(x["path"])
	return f
}

// parsePath accepts "cpu.reservation", ["cpu", "reservation"] or ["disks", 0, "size"].
func parsePath(v any) []any {
	switch p := v.(type) {
	case string:
		if p == "" {
			return nil
		}
		var out []any
		for _, s := range strings.Split(p, ".") {
			out = append(out, s)
		}
		return out
	case []any:
		var out []any
		for _, e := range p {
			switch x := e.(type) {
			case string:
				out = append(out, x)
			case json.Number:
				if n, err := x.Int64(); err == nil {
					out = append(out, int(n))
				}
			case float64:
				out = append(out, int(x))
			case int:
				out = append(out, x)
			}
		}
		return out
	}
	return nil
}

// judge applies levels, deferral, grandfathering and exemptions.
func (e *Engine) judge(c Change, raw []rawFinding, now time.Time) []Finding {
	unknown := unknownInputs(c)
	var out []Finding
	deferredFired := map[string]bool{}
	for _, r := range raw {
		f := e.judgeOne(c, r, unknown, now)
		// A finding that waits for apply names what it waits for, also when an exemption covers it.
		if f.Unknown != nil && r.pkg != nil {
			deferredFired[r.pkg.path] = true
		}
		out = append(out, f)
	}
	out = append(out, e.waitingForApply(c, unknown, deferredFired)...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Policy < out[j].Policy })
	return out
}

// unknownInputs lists the values of the change unknown until apply, as input paths:
// change.after.<attr> and inventory.<fact>.
func unknownInputs(c Change) []string {
	var unknown []string
	for _, u := range unknownPaths(c.AfterUnknown, "") {
		unknown = append(unknown, "change.after."+u)
	}
	for _, p := range c.InventoryUnknown {
		unknown = append(unknown, "inventory."+p)
	}
	return unknown
}

// judgeOne gives one rule result its outcome: advisory warns; at plan time, a finding on an
// unknown attribute waits for apply; an unchanged attribute is grandfathered; the rest blocks,
// unless an exemption covers it.
func (e *Engine) judgeOne(c Change, r rawFinding, unknown []string, now time.Time) Finding {
	f := Finding{Policy: r.policy, Message: r.msg, Level: r.level, Path: r.path}
	if r.invalid != "" {
		f.Message += " (" + r.invalid + ")"
	}
	action := ""
	if len(c.Actions) > 0 {
		action = c.Actions[0]
	}
	switch {
	case r.level == LevelAdvisory:
		f.Outcome = OutcomeWarn
	case c.Phase == PhasePlan && pathUnknown(r.path, unknown):
		// It judges an attribute that is unknown until apply: judged for real then.
		f.Outcome = OutcomeDeferred
		f.Unknown = []string{joinPath(r.path)}
	case (action == "update" || action == "no-op") && e.unchanged(c, r):
		f.Outcome = OutcomeGrandfathered
	default:
		f.Outcome = OutcomeBlock
	}
	if f.Outcome == OutcomeBlock || f.Outcome == OutcomeGrandfathered || f.Outcome == OutcomeDeferred {
		if ex := e.exemptionFor(c, f.Policy); ex != nil {
			exc := *ex
			f.Exemption = &exc
			if ex.expired(now) {
				f.Outcome = OutcomeExpired
			} else {
				f.Outcome = OutcomeExempted
			}
		}
	}
	return f
}

// waitingForApply is a deferred finding for each package that reads unknown values at plan
// time: such a policy is not a pass. A package one of whose findings is already deferred
// (fired) says so itself. (A finding on a known attribute does not: the package's other rules,
// those that read the unknown values, could not be judged.)
func (e *Engine) waitingForApply(c Change, unknown []string, fired map[string]bool) []Finding {
	if c.Phase != PhasePlan || len(unknown) == 0 {
		return nil
	}
	var out []Finding
	for _, p := range e.packages {
		if !p.appliesTo(c.Type) || fired[p.path] {
			continue
		}
		u := p.readsUnknown(unknown)
		if len(u) == 0 {
			continue
		}
		for i := range u {
			// Shown as attribute paths (cpu.reservation) and inventory facts (inventory.parent).
			u[i] = strings.TrimPrefix(u[i], "change.after.")
		}
		out = append(out, Finding{
			Policy:  strings.TrimPrefix(p.path, Root+"."),
			Level:   LevelMandatory,
			Outcome: OutcomeDeferred,
			Unknown: u,
			Message: "reads values that are unknown until apply",
		})
	}
	return out
}

func joinPath(p []any) string {
	parts := make([]string, len(p))
	for i, e := range p {
		parts[i] = fmt.Sprint(e)
	}
	return strings.Join(parts, ".")
}

// pathUnknown reports whether an attribute path is (inside) an unknown value.
func pathUnknown(p []any, unknown []string) bool {
	if len(p) == 0 {
		return false
	}
	ps := strings.Split("change.after."+joinPath(p), ".")
	for _, u := range unknown {
		us := strings.Split(u, ".")
		if len(us) <= len(ps) && segmentsOverlap(us, ps) {
			return true
		}
	}
	return false
}

// unchanged reports whether the attributes a mandatory finding judges are the same before and
// after: then a new rule does not block an existing resource (it warns instead).
func (e *Engine) unchanged(c Change, r rawFinding) bool {
	if c.Before == nil {
		return false
	}
	if len(r.path) > 0 {
		b, okb := lookup(c.Before, r.path)
		a, oka := lookup(c.After, r.path)
		return okb == oka && reflect.DeepEqual(normalize(b), normalize(a))
	}
	if r.pkg == nil || len(r.pkg.refs) == 0 {
		return reflect.DeepEqual(normalize(c.Before), normalize(c.After))
	}
	for _, full := range r.pkg.refs {
		ref, ok := strings.CutPrefix(full, "change.after.")
		if !ok {
			continue // inventory facts are not attributes of the resource
		}
		if strings.Contains(ref, "*") {
			base := strings.TrimSuffix(strings.TrimSuffix(ref, "*"), ".")
			var p []any
			if base != "" {
				p = parsePath(base)
			}
			b, _ := lookup(c.Before, p)
			a, _ := lookup(c.After, p)
			if !reflect.DeepEqual(normalize(b), normalize(a)) {
				return false
			}
			continue
		}
		p := parsePath(ref)
		b, okb := lookup(c.Before, p)
		a, oka := lookup(c.After, p)
		if okb != oka || !reflect.DeepEqual(normalize(b), normalize(a)) {
			return false
		}
	}
	return true
}

func lookup(v any, p []any) (any, bool) {
	cur := v
	for _, k := range p {
		switch key := k.(type) {
		case string:
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			cur, ok = m[key]
			if !ok {
				return nil, false
			}
		case int:
			l, ok := cur.([]any)
			if !ok || key < 0 || key >= len(l) {
				return nil, false
			}
			cur = l[key]
		default:
			return nil, false
		}
	}
	return cur, true
}

// normalize makes JSON-ish values comparable (json.Number vs float64, etc.).
func normalize(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// unknownPaths lists the dotted paths marked true in an after_unknown document.
func unknownPaths(v any, prefix string) []string {
	var out []string
	switch x := v.(type) {
	case bool:
		if x {
			if prefix == "" {
				return []string{"*"}
			}
			return []string{prefix}
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out = append(out, unknownPaths(x[k], p)...)
		}
	case []any:
		for i, e := range x {
			out = append(out, unknownPaths(e, fmt.Sprintf("%s.%d", prefix, i))...)
		}
	}
	return out
}

func (e *Engine) trace(ctx context.Context, input map[string]any) string {
	tracer := topdown.NewBufferTracer()
	if _, err := e.evalLocal(ctx, input, tracer); err != nil {
		return ""
	}
	var buf bytes.Buffer
	topdown.PrettyTraceWithLocation(&buf, *tracer)
	return buf.String()
}

// trimTrace keeps the trace lines of the failing policy's rules, at most 40.
func trimTrace(trace, policy string) string {
	var keep []string
	pkgFile := strings.ReplaceAll(strings.SplitN(policy, ".", 2)[0], "-", "_")
	for _, line := range strings.Split(trace, "\n") {
		if strings.Contains(line, pkgFile) && (strings.Contains(line, "Enter") || strings.Contains(line, "Fail") ||
			strings.Contains(line, "Exit") || strings.Contains(line, "Eval")) {
			keep = append(keep, strings.TrimRight(line, " "))
		}
	}
	if len(keep) > 40 {
		keep = append(keep[:40], fmt.Sprintf("... (%d more trace lines)", len(keep)-40))
	}
	return strings.Join(keep, "\n")
}

func newDecisionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

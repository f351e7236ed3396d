// Package policy is vmgmt's policy gate: Rego policy (local files and directories, bundles, the
// built-in packs, an optional remote OPA) prepared once per provider process and evaluated for
// every planned change, at plan time and again at apply time. It turns decisions into findings
// (blocking, warning, deferred, grandfathered, exempted) and writes the decision log.
// It knows nothing of govmomi.
package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/loader"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy/packs"
)

// Root is the package every vmgmt rule lives under: rules are read from data.vmgmt.<pkg>.
const Root = "vmgmt"

// Explain modes.
const (
	ExplainNone  = "none"
	ExplainFails = "fails"
)

// Config says where policy comes from.
type Config struct {
	// Sources are Rego files, directories (Rego + JSON/YAML data) and bundle .tar.gz files.
	Sources []string
	// Packs are built-in packs by name (see packs.Names()).
	Packs []string
	// DecisionLog is the path of a JSON-lines file; empty disables the log.
	DecisionLog string
	// Explain is ExplainNone or ExplainFails.
	Explain string
	// Remote, when set, asks an OPA server as well.
	Remote *RemoteConfig
	// Schemas, when set, are the input schemas policy is type-checked against at load time:
	// a rule that reads a field no input has (input.change.aftr.name) is a load error naming
	// the file and line. Rules that declare no input schema are checked against the union of
	// all types; a METADATA schemas annotation (input: schema.vmgmt_catalog_vm) narrows it.
	Schemas Schemas `json:"-"`
}

// Enabled reports whether the configuration asks for any policy at all.
func (c Config) Enabled() bool {
	return len(c.Sources) > 0 || len(c.Packs) > 0 || c.Remote != nil
}

// Engine evaluates policy. It is prepared once and safe for concurrent use.
type Engine struct {
	cfg        Config
	query      rego.PreparedEvalQuery
	hasLocal   bool
	packages   []*pkgInfo // sorted by path
	exemptions []Exemption
	revision   string
	remote     *remoteClient
	log        *decisionLog
	now        func() time.Time
}

// pkgInfo is what the engine knows about one policy package.
type pkgInfo struct {
	path  string // e.g. vmgmt.capacity
	rules map[Rule]bool
	// refs are the input.change.after paths its rules read (dynamic reads are "*").
	refs []string
	// types are the resource types it compares input.type with; empty means any.
	types map[string]bool
}

// prepareCount counts PrepareForEval calls in this process (the benchmark reports it: it must be 1).
var prepareCount atomic.Int64

// PrepareCount returns how many times a policy query was prepared in this process.
func PrepareCount() int64 { return prepareCount.Load() }

// LoadError is a policy that cannot be loaded or compiled; it names the file and line.
type LoadError struct {
	Source string
	Err    error
}

func (e *LoadError) Error() string {
	if e.Source == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("%s: %v", e.Source, e.Err)
}

func (e *LoadError) Unwrap() error { return e.Err }

// New loads, compiles and prepares the policy once.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.Explain == "" {
		cfg.Explain = ExplainNone
	}
	e := &Engine{cfg: cfg, now: time.Now}
	src, err := load(cfg)
	if err != nil {
		return nil, err
	}
	e.revision = src.revision()
	if e.exemptions, err = parseExemptions(src.docs); err != nil {
		return nil, &LoadError{Source: "exemptions (data.vmgmt.exemptions)", Err: err}
	}
	if err := e.prepare(ctx, src); err != nil {
		return nil, err
	}
	if err := e.openRemote(cfg.Remote); err != nil {
		return nil, err
	}
	if err := e.openDecisionLog(cfg.DecisionLog); err != nil {
		return nil, err
	}
	if !e.hasLocal && e.remote == nil {
		return nil, &LoadError{Err: errors.New("no rules found: policy packages must be under package vmgmt.<name> and define deny, warn or violation")}
	}
	return e, nil
}

// loaded is the policy read from the built-in packs and the sources, before it is compiled.
type loaded struct {
	modules map[string]*ast.Module
	docs    map[string]any
	// hash covers every module and document read, for the revision of sources with none.
	hash hash.Hash
	// revisions are the manifest revisions of the bundles read, as file@revision.
	revisions []string
}

// load reads the packs, then the sources, in the order the configuration lists them.
func load(cfg Config) (*loaded, error) {
	l := &loaded{modules: map[string]*ast.Module{}, docs: map[string]any{}, hash: sha256.New()}
	for _, name := range cfg.Packs {
		if err := l.addPack(name); err != nil {
			return nil, err
		}
	}
	for _, src := range cfg.Sources {
		if err := l.addSource(src); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// addPack parses the Rego modules of one built-in pack.
func (l *loaded) addPack(name string) error {
	files, err := packs.Modules(name)
	if err != nil {
		return &LoadError{Source: "pack " + name, Err: err}
	}
	// In name order, so that the revision hash is the same in every process.
	for _, fname := range slices.Sorted(maps.Keys(files)) {
		src := files[fname]
		m, err := ast.ParseModuleWithOpts(fname, src, ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
		if err != nil {
			return &LoadError{Err: err}
		}
		l.modules[fname] = m
		l.hash.Write([]byte(src))
	}
	return nil
}

// addSource reads one Rego file, directory (Rego + JSON/YAML data) or bundle, leaving out Rego
// tests, and records a bundle's manifest revision.
func (l *loaded) addSource(src string) error {
	if _, err := os.Stat(src); err != nil {
		return &LoadError{Source: src, Err: fmt.Errorf("cannot read policy source: %w", err)}
	}
	res, err := loader.NewFileLoader().
		WithRegoVersion(ast.RegoV1).
		WithProcessAnnotation(true).
		Filtered([]string{src}, func(_ string, info os.FileInfo, depth int) bool {
			// Rego tests are for `policy test`, not for the gate.
			return !info.IsDir() && strings.HasSuffix(info.Name(), "_test.rego")
		})
	if err != nil {
		return &LoadError{Source: src, Err: err}
	}
	// In name order, so that the revision hash is the same in every process.
	for _, name := range slices.Sorted(maps.Keys(res.Modules)) {
		f := res.Modules[name]
		if _, dup := l.modules[name]; dup {
			return &LoadError{Source: name, Err: errors.New("loaded twice (listed in two sources?)")}
		}
		l.modules[name] = f.Parsed
		l.hash.Write(f.Raw)
	}
	if err := mergeDocs(l.docs, res.Documents); err != nil {
		return &LoadError{Source: src, Err: err}
	}
	if strings.HasSuffix(src, ".tar.gz") || strings.HasSuffix(src, ".tgz") {
		if b, err := loader.NewFileLoader().AsBundle(src); err == nil && b.Manifest.Revision != "" {
			l.revisions = append(l.revisions, filepath.Base(src)+"@"+b.Manifest.Revision)
		}
	}
	return nil
}

// revision names the policy in force: the bundles' revisions when they have any, else a hash
// of every module and document read.
func (l *loaded) revision() string {
	if len(l.revisions) > 0 {
		return strings.Join(l.revisions, ",")
	}
	if raw, err := json.Marshal(l.docs); err == nil {
		l.hash.Write(raw)
	}
	return "sha256:" + hex.EncodeToString(l.hash.Sum(nil))[:16]
}

// prepare compiles the loaded modules, finds the decision packages and prepares the one query
// that reads them all. With no modules, or no decision rules in them, there is nothing local.
func (e *Engine) prepare(ctx context.Context, l *loaded) error {
	if len(l.modules) == 0 {
		return nil
	}
	compiler := newCompiler(e.cfg.Schemas)
	compiler.Compile(l.modules)
	if compiler.Failed() {
		return &LoadError{Err: compileErrors(compiler.Errors)}
	}
	e.packages = discover(compiler)
	query := e.buildQuery()
	if query == "" {
		return nil
	}
	// AST values on read: data is converted once here, not on every evaluation.
	store := inmem.NewFromObjectWithOpts(l.docs, inmem.OptReturnASTValuesOnRead(true))
	pq, err := rego.New(
		rego.Compiler(compiler),
		rego.Store(store),
		rego.Query(query),
		rego.StrictBuiltinErrors(true),
	).PrepareForEval(ctx)
	prepareCount.Add(1)
	if err != nil {
		return &LoadError{Err: err}
	}
	e.query = pq
	e.hasLocal = true
	return nil
}

// openRemote sets up the client of the remote OPA, when one is configured.
func (e *Engine) openRemote(cfg *RemoteConfig) error {
	if cfg == nil {
		return nil
	}
	rc, err := newRemoteClient(*cfg)
	if err != nil {
		return &LoadError{Source: "remote", Err: err}
	}
	e.remote = rc
	return nil
}

// openDecisionLog opens the decision log file, when one is configured.
func (e *Engine) openDecisionLog(path string) error {
	if path == "" {
		return nil
	}
	l, err := openDecisionLog(path)
	if err != nil {
		return &LoadError{Source: path, Err: err}
	}
	e.log = l
	return nil
}

// Revision identifies the policy in force: bundle revisions, or a hash of the sources.
func (e *Engine) Revision() string { return e.revision }

// Packages lists the policy packages the engine evaluates.
func (e *Engine) Packages() []string {
	out := make([]string, 0, len(e.packages))
	for _, p := range e.packages {
		out = append(out, p.path)
	}
	return out
}

// Close flushes the decision log.
func (e *Engine) Close() error {
	if e.log != nil {
		return e.log.close()
	}
	return nil
}

// newCompiler is the compiler policy is loaded with: type-checked against the input schemas when
// there are any.
func newCompiler(schemas Schemas) *ast.Compiler {
	c := ast.NewCompiler().WithDefaultRegoVersion(ast.RegoV1)
	if len(schemas) == 0 {
		return c
	}
	return c.WithSchemas(schemas.schemaSet()).WithUseTypeCheckAnnotations(true)
}

func compileErrors(errs ast.Errors) error {
	var lines []string
	inputRef := false
	for _, err := range errs {
		loc := ""
		if err.Location != nil {
			loc = fmt.Sprintf("%s:%d: ", err.Location.File, err.Location.Row)
		}
		line := fmt.Sprintf("%s%s: %s", loc, err.Code, err.Message)
		if d, ok := err.Details.(*ast.RefErrInvalidDetail); ok && d.Ref.HasPrefix(ast.InputRootRef) && d.Pos > 0 && d.Pos < len(d.Ref) {
			inputRef = true
			line += fmt.Sprintf(": %v has no %v", d.Ref[:d.Pos], d.Ref[d.Pos]) + suggest(d.Ref[d.Pos], d.OneOf)
		}
		lines = append(lines, line)
	}
	if inputRef {
		lines = append(lines, "\nA rule that reads a field no policy input has would never fire, so the policy is refused. "+
			"The fields of each resource and data source type are in the policy input schemas (schemas/policy-input; "+
			"see \"Checking field names\" in the policy guide). Fix the name; a rule about one type can declare it "+
			"with a METADATA schemas annotation (input: schema.<type>) to be checked against that type only.")
	}
	return errors.New(strings.Join(lines, "\n"))
}

// suggest names the closest of the keys a misspelt one could have meant, or lists them when
// they are few.
func suggest(have *ast.Term, keys []ast.Value) string {
	h, ok := have.Value.(ast.String)
	if !ok || len(keys) == 0 {
		return ""
	}
	names := make([]string, 0, len(keys))
	best, bestDist := "", -1
	for _, k := range keys {
		s, ok := k.(ast.String)
		if !ok {
			continue
		}
		names = append(names, string(s))
		if d := editDistance(string(h), string(s)); bestDist < 0 || d < bestDist {
			best, bestDist = string(s), d
		}
	}
	if bestDist >= 0 && bestDist <= max(2, len(h)/3) {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	if len(names) <= 12 {
		return " (it has " + strings.Join(names, ", ") + ")"
	}
	return ""
}

// editDistance is the Levenshtein distance of two strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func mergeDocs(dst, src map[string]any) error {
	for k, v := range src {
		if existing, ok := dst[k]; ok {
			em, ok1 := existing.(map[string]any)
			vm, ok2 := v.(map[string]any)
			if !ok1 || !ok2 {
				return fmt.Errorf("data path %q is defined twice", k)
			}
			if err := mergeDocs(em, vm); err != nil {
				return fmt.Errorf("%s.%w", k, err)
			}
			continue
		}
		dst[k] = v
	}
	return nil
}

// discover finds the packages under data.vmgmt that define deny, warn or violation, and what
// parts of the input each one reads.
func discover(c *ast.Compiler) []*pkgInfo {
	byPath := map[string]*pkgInfo{}
	for _, m := range c.Modules {
		p := strings.TrimPrefix(m.Package.Path.String(), "data.")
		if p != Root && !strings.HasPrefix(p, Root+".") {
			continue
		}
		info := byPath[p]
		if info == nil {
			info = &pkgInfo{path: p, rules: map[Rule]bool{}, types: map[string]bool{}}
			byPath[p] = info
		}
		for _, r := range m.Rules {
			if name := Rule(r.Head.Ref()[0].String()); slices.Contains(Rules(), name) {
				info.rules[name] = true
			}
		}
		collectRefs(m, info)
	}
	var out []*pkgInfo
	for _, p := range byPath {
		if len(p.rules) > 0 {
			sort.Strings(p.refs)
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

// buildQuery makes one query that reads every decision rule of every package.
func (e *Engine) buildQuery() string {
	var terms []string
	for i, p := range e.packages {
		for _, r := range Rules() {
			if p.rules[r] {
				terms = append(terms, fmt.Sprintf("%s := data.%s.%s", bindVar(i, r), p.path, r))
			}
		}
	}
	return strings.Join(terms, "; ")
}

func bindVar(i int, rule Rule) string { return fmt.Sprintf("p%d_%s", i, rule) }

// collectRefs records the input.change.after paths and input.type literals a module uses.
func collectRefs(m *ast.Module, info *pkgInfo) {
	seen := map[string]bool{}
	for _, r := range info.refs {
		seen[r] = true
	}
	ast.WalkRefs(m, func(ref ast.Ref) bool {
		if len(ref) < 2 || !ref[0].Equal(ast.InputRootDocument) {
			return false
		}
		// Patterns are input paths: "change.after.<attr...>" or "inventory.<fact...>", so a
		// wildcard in one can never stand for the other.
		var rest ast.Ref
		var parts []string
		literal := false
		switch s, _ := ref[1].Value.(ast.String); s {
		case "inventory":
			// Inventory facts the resource could not gather at plan time count as unknown too.
			parts = []string{"inventory"}
			rest = ref[2:]
			literal = true
			if len(rest) == 0 {
				parts = append(parts, "*")
			}
		case "change":
			if len(ref) < 3 {
				return false
			}
			if s, ok := ref[2].Value.(ast.String); !ok || (s != "after" && s != "after_unknown") {
				return false
			}
			parts = []string{"change", "after"}
			rest = ref[3:]
		default:
			return false
		}
		for _, t := range rest {
			s, ok := t.Value.(ast.String)
			if !ok {
				parts = append(parts, "*")
				continue
			}
			parts = append(parts, string(s))
			literal = true
		}
		if !literal {
			// input.change.after, or after[x] with nothing named: too vague to defer on; the
			// apply-phase check judges it with every value known.
			return false
		}
		key := strings.Join(parts, ".")
		if !seen[key] {
			seen[key] = true
			info.refs = append(info.refs, key)
		}
		return false
	})
	ast.WalkExprs(m, func(x *ast.Expr) bool {
		if !x.IsEquality() && !(x.IsCall() && x.Operator().String() == "equal") {
			return false
		}
		ops := x.Operands()
		if len(ops) != 2 {
			return false
		}
		for i := range ops {
			ref, ok := ops[i].Value.(ast.Ref)
			if !ok || !ref.Equal(ast.MustParseRef("input.type")) {
				continue
			}
			if s, ok := ops[1-i].Value.(ast.String); ok {
				info.types[string(s)] = true
			}
		}
		return false
	})
}

// readsUnknown returns the unknown paths (dotted) the package reads. A ref pattern matches an
// unknown path when they agree on every segment they share ("*" matches any one segment).
func (p *pkgInfo) readsUnknown(unknown []string) []string {
	var out []string
	for _, u := range unknown {
		us := strings.Split(u, ".")
		for _, r := range p.refs {
			if segmentsOverlap(us, strings.Split(r, ".")) {
				out = append(out, u)
				break
			}
		}
	}
	return out
}

func segmentsOverlap(a, b []string) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] == b[i] || a[i] == "*" {
			continue
		}
		// A wildcard in the rule's path may stand for this segment, unless the unknown value is
		// shorter than the path: then the wildcard is a guess about structure we cannot see.
		if b[i] == "*" && len(a) >= len(b) {
			continue
		}
		return false
	}
	return true
}

func (p *pkgInfo) appliesTo(typ string) bool {
	return len(p.types) == 0 || p.types[typ]
}

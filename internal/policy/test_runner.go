package policy

import (
	"context"
	"fmt"
	"io"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/vmgmt/terraform-provider-vmgmt/internal/policy/packs"
)

// TestSummary counts the Rego tests run by RunTests.
type TestSummary struct {
	Passed, Failed, Errors int
}

// RunTests runs Rego tests in-process, like `opa test`: the built-in packs' tests (when packNames
// is nil, all packs) plus the tests under the given directories. Results are written to w.
func RunTests(ctx context.Context, w io.Writer, verbose bool, packNames []string, dirs ...string) (TestSummary, error) {
	var sum TestSummary
	modules := map[string]*ast.Module{}
	if packNames == nil {
		packNames = packs.Names()
	}
	for _, name := range packNames {
		files, err := packs.Tests(name)
		if err != nil {
			return sum, err
		}
		for fname, src := range files {
			m, err := ast.ParseModuleWithOpts(fname, src, ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
			if err != nil {
				return sum, err
			}
			modules[fname] = m
		}
	}
	store := inmem.New()
	if len(dirs) > 0 {
		userMods, userStore, err := tester.LoadWithRegoVersion(dirs, nil, ast.RegoV1)
		if err != nil {
			return sum, fmt.Errorf("loading %v: %w", dirs, err)
		}
		for k, m := range userMods {
			modules[k] = m
		}
		store = userStore
	}
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		return sum, err
	}
	defer store.Abort(ctx, txn)
	ch, err := tester.NewRunner().
		SetCompiler(ast.NewCompiler().WithDefaultRegoVersion(ast.RegoV1)).
		SetStore(store).
		SetModules(modules).
		RaiseBuiltinErrors(true).
		RunTests(ctx, txn)
	if err != nil {
		return sum, err
	}
	results := make(chan *tester.Result)
	done := make(chan error, 1)
	go func() {
		done <- tester.PrettyReporter{Output: w, Verbose: verbose, FailureLine: true}.Report(results)
	}()
	for r := range ch {
		switch {
		case r.Error != nil:
			sum.Errors++
		case r.Fail:
			sum.Failed++
		case !r.Skip:
			sum.Passed++
		}
		results <- r
	}
	close(results)
	if err := <-done; err != nil {
		return sum, err
	}
	return sum, nil
}

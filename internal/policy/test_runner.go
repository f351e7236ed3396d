package policy

import (
	"context"
	"errors"
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

// TestConfig says which Rego tests RunTests runs, and how.
type TestConfig struct {
	// Verbose reports every test, not only failures.
	Verbose bool
	// Packs are the built-in packs whose tests run; nil runs every pack's.
	Packs []string
	// Dirs are directories of policy, tests and data.
	Dirs []string
	// Schemas type-check the policy and its tests as the provider does when it loads policy
	// (Config.Schemas).
	Schemas Schemas
}

// RunTests runs Rego tests in-process, like `opa test`: the built-in packs' tests plus the tests
// under the directories. Results are written to w. Policy that does not compile is an error
// naming the file and line.
func RunTests(ctx context.Context, w io.Writer, cfg TestConfig) (TestSummary, error) {
	var sum TestSummary
	modules := map[string]*ast.Module{}
	packNames, dirs := cfg.Packs, cfg.Dirs
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
		SetCompiler(newCompiler(cfg.Schemas)).
		SetStore(store).
		SetModules(modules).
		RaiseBuiltinErrors(true).
		RunTests(ctx, txn)
	if err != nil {
		var errs ast.Errors
		if errors.As(err, &errs) {
			return sum, compileErrors(errs)
		}
		return sum, err
	}
	results := make(chan *tester.Result)
	done := make(chan error, 1)
	go func() {
		done <- tester.PrettyReporter{Output: w, Verbose: cfg.Verbose, FailureLine: true}.Report(results)
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

package db

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestRulesListed reads this package's sources: every RuleError constant
// is in Rules once, and no two share a code, so that views' test of the
// sentences (TestRuleTextCoversRules) cannot miss one.
func TestRulesListed(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, v := range spec.Values {
				if call, ok := v.(*ast.CallExpr); ok {
					if fn, ok := call.Fun.(*ast.Ident); ok && fn.Name == "RuleError" {
						declared[spec.Names[i].Name] = true
					}
				}
			}
			return true
		})
	}
	if len(declared) == 0 {
		t.Fatal("found no RuleError constants in the sources")
	}
	listed := map[RuleError]bool{}
	for _, r := range Rules() {
		if listed[r] {
			t.Errorf("Rules lists the code %q twice (or two rules share it)", r)
		}
		listed[r] = true
	}
	if len(listed) != len(declared) {
		t.Errorf("Rules lists %d codes, want the %d RuleError constants declared: %v", len(listed), len(declared), keys(declared))
	}
}

func keys(m map[string]bool) []string {
	var list []string
	for k := range m {
		list = append(list, k)
	}
	return list
}

package views

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// auditedPure are the template functions checked to answer from their
// arguments alone: no clock, no randomness, no state that changes while
// Roster runs. The render memo (memo.go) serves a page's bytes again for
// the same data, so a function that answered differently for the same
// arguments would serve stale pages. Add a function here only after
// reading it (and what it calls) for that.
var auditedPure = map[string]string{
	"iso":           "formats its time in UTC",
	"datetime":      "formats its time in UTC",
	"roleName":      "db.RoleName: a switch over the role",
	"kindName":      "db.KindName: a lookup in a fixed table",
	"deliveryError": "PlainDeliveryError: matches its text against fixed patterns",
	"mailNote":      "MailNote: a switch over the mail state",
	"emailStatus":   "EmailStatus: a switch over the user and the mail state",
	"changeStatus":  "ChangeStatus: a switch over the email change",
	"roles":         "db.Roles: set once when the program starts, never written",
	"invites":       "Plural of its count",
	"static":        "a lookup in the static files' table, built once when the handlers start (Renderer.UseStatic) and never written after: a URL is constant for the process",
}

// TestFuncsAudited fails for a template function not read for purity.
func TestFuncsAudited(t *testing.T) {
	for name := range funcs {
		if _, ok := auditedPure[name]; !ok {
			t.Errorf("template function %q is not in auditedPure: check that it answers from its arguments alone, then list it", name)
		}
	}
	for name := range auditedPure {
		if _, ok := funcs[name]; !ok {
			t.Errorf("auditedPure lists %q, which is no template function any more", name)
		}
	}
}

// impure are calls that answer differently from one moment to the next.
var impure = []string{"time.Now", "time.Since", "time.Until", "rand.", "os.Getenv", "os.LookupEnv", "csrfmask.Mask"}

// impureAllowed are the places in views that may make such a call, with
// why the memo stays right.
var impureAllowed = map[string]string{
	// Clock.appendFormat: relative times without Clock.Now count from the
	// moment of rendering; the digest refuses such a clock, so those pages
	// are never memoized (handlers set Now for relative times).
	"clock.go: time.Now": "refused by the digest",
	// fillSlotsAt masks the CSRF token afresh for each slot after the
	// template has run (and after the memo, which keeps the slot): no
	// template sees the pad, and the digest has the raw token.
	"views.go: csrfmask.Mask": "fills slots after rendering",
	// digest.go, memo.go: the memo itself, not what a template calls.
}

// TestViewsCallNoClock reads the views package's source: no method or
// function a template can reach reads the clock, randomness or the
// environment, except where impureAllowed says why it is safe.
func TestViewsCallNoClock(t *testing.T) {
	fset := token.NewFileSet()
	names, err := fs.Glob(os.DirFS("."), "*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") || name == "digest.go" || name == "memo.go" {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			call := pkg.Name + "." + sel.Sel.Name
			for _, bad := range impure {
				if call == bad || (strings.HasSuffix(bad, ".") && strings.HasPrefix(call, bad)) {
					if _, ok := impureAllowed[name+": "+call]; !ok {
						t.Errorf("%s: %s at line %s: a template could read it, so the render memo could serve a stale page",
							name, call, strconv.Itoa(fset.Position(sel.Pos()).Line))
					}
				}
			}
			return true
		})
	}
	var imports []string
	for _, name := range names {
		f, _ := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		for _, imp := range f.Imports {
			imports = append(imports, imp.Path.Value)
		}
	}
	for _, bad := range []string{`"math/rand"`, `"math/rand/v2"`} {
		if slices.Contains(imports, bad) {
			t.Errorf("views imports %s", bad)
		}
	}
}

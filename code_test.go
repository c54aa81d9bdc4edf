package usher_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"usher"
)

// TestCodes checks the list of codes against code.go: every constant there
// is listed once, has a one-line meaning and a snake_case value, and the
// list holds nothing else.
func TestCodes(t *testing.T) {
	t.Parallel()
	f, err := parser.ParseFile(token.NewFileSet(), "code.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]string{} // value → constant
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			name := vs.Names[0].Name
			lit, ok := vs.Values[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s is not a string literal", name)
				continue
			}
			v, _ := strconv.Unquote(lit.Value)
			if other, dup := declared[v]; dup {
				t.Errorf("%s and %s are both %q", other, name, v)
			}
			declared[v] = name
			if vs.Comment == nil || strings.TrimSpace(vs.Comment.Text()) == "" {
				t.Errorf("%s has no comment saying what it means", name)
			}
		}
	}
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	listed := map[string]bool{}
	for _, c := range usher.Codes {
		if listed[c] {
			t.Errorf("usher.Codes lists %q twice", c)
		}
		listed[c] = true
		if !snake.MatchString(c) {
			t.Errorf("code %q is not snake_case", c)
		}
		if _, ok := declared[c]; !ok {
			t.Errorf("usher.Codes lists %q, which code.go does not declare", c)
		}
	}
	for v, name := range declared {
		if !listed[v] {
			t.Errorf("%s (%q) is missing from usher.Codes", name, v)
		}
	}
}

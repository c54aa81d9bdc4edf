package usher_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
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

// TestNoCodeLiterals fails when the core, the HTTP plumbing or a face spells
// an error code as a string literal where it makes or reads one: the Code of
// an Error or a FieldError, the code argument of web.Invalid, of the core's
// checker and of keyError, and a comparison or switch on a Code.
func TestNoCodeLiterals(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	isLit := func(e ast.Expr) bool {
		bl, ok := e.(*ast.BasicLit)
		return ok && bl.Kind == token.STRING
	}
	isCode := func(e ast.Expr) bool {
		sel, ok := e.(*ast.SelectorExpr)
		return ok && sel.Sel.Name == "Code"
	}
	checked := 0
	for _, dir := range []string{"core", "web", "face"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			checked++
			bad := func(n ast.Node, what string) {
				t.Errorf("%s: %s is a string literal; name the code's constant in code.go", fset.Position(n.Pos()), what)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.CompositeLit:
					typ := x.Type
					if at, ok := typ.(*ast.ArrayType); ok {
						typ = at.Elt
					}
					if sel, ok := typ.(*ast.SelectorExpr); !ok || (sel.Sel.Name != "Error" && sel.Sel.Name != "FieldError") {
						return true
					}
					ast.Inspect(x, func(n ast.Node) bool {
						if kv, ok := n.(*ast.KeyValueExpr); ok {
							if id, ok := kv.Key.(*ast.Ident); ok && id.Name == "Code" && isLit(kv.Value) {
								bad(kv, "the Code of an error")
							}
						}
						return true
					})
				case *ast.CallExpr:
					name := ""
					switch fn := x.Fun.(type) {
					case *ast.Ident:
						name = fn.Name
					case *ast.SelectorExpr:
						name = fn.Sel.Name
					}
					switch {
					case (name == "Invalid" || name == "add") && len(x.Args) >= 3 && isLit(x.Args[1]):
						bad(x, "the code given to "+name)
					case name == "keyError" && len(x.Args) > 0 && isLit(x.Args[0]):
						bad(x, "the code given to keyError")
					}
				case *ast.BinaryExpr:
					if (x.Op == token.EQL || x.Op == token.NEQ) &&
						(isCode(x.X) && isLit(x.Y) || isCode(x.Y) && isLit(x.X)) {
						bad(x, "a code compared")
					}
				case *ast.SwitchStmt:
					if x.Tag == nil || !isCode(x.Tag) {
						return true
					}
					for _, s := range x.Body.List {
						for _, e := range s.(*ast.CaseClause).List {
							if isLit(e) {
								bad(e, "a code switched on")
							}
						}
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked == 0 {
		t.Fatal("no source files checked")
	}
}

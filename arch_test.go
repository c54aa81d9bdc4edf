package usher_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// TestLayers enforces the architecture: faces reach storage only through the
// core, and the domain and the core know nothing of HTTP.
func TestLayers(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	rules := []struct {
		pkg       func(string) bool
		forbidden func(string) bool
		why       string
	}{
		{
			pkg: func(p string) bool { return strings.HasPrefix(p, "usher/face/") },
			forbidden: func(i string) bool {
				return i == "database/sql" || i == "usher/store" || strings.HasPrefix(i, "usher/store/") ||
					strings.HasPrefix(i, "github.com/jackc/pgx") || strings.HasPrefix(i, "modernc.org/sqlite")
			},
			why: "a face goes through the core, never to storage",
		},
		{
			pkg:       func(p string) bool { return p == "usher" || p == "usher/core" },
			forbidden: func(i string) bool { return i == "net/http" || strings.HasPrefix(i, "usher/face") || i == "usher/web" },
			why:       "the domain and the core know nothing of HTTP",
		},
		{
			pkg:       func(p string) bool { return p == "usher" },
			forbidden: func(i string) bool { return strings.HasPrefix(i, "usher/") },
			why:       "the domain package imports nothing of usher",
		},
		{
			pkg: func(p string) bool { return p == "usher/store" || strings.HasPrefix(p, "usher/store/") },
			forbidden: func(i string) bool {
				return i == "usher/core" || strings.HasPrefix(i, "usher/face") || i == "usher/web"
			},
			why: "storage depends on nothing above it",
		},
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		for _, r := range rules {
			if !r.pkg(p.ImportPath) {
				continue
			}
			checked++
			for _, imp := range p.Imports {
				if r.forbidden(imp) {
					t.Errorf("%s imports %s: %s", p.ImportPath, imp, r.why)
				}
			}
		}
	}
	if checked < 4 {
		t.Fatalf("only %d packages checked; the rules match nothing", checked)
	}
}

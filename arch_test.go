package usher_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// TestLayers enforces the architecture: a face speaks only the domain (the
// root package) and web/, never the core or storage; the adapters the core
// drives (mail, connector, userfile) know neither the core, storage nor a
// face; and the domain and the core know nothing of HTTP. The rules are about
// a package's own imports: its tests may import the core to set one up.
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
				return i == "database/sql" || strings.HasPrefix(i, "github.com/jackc/pgx") || strings.HasPrefix(i, "modernc.org/sqlite")
			},
			why: "a face goes through the core, never to storage",
		},
		{
			pkg: func(p string) bool { return strings.HasPrefix(p, "usher/face/") },
			forbidden: func(i string) bool {
				return strings.HasPrefix(i, "usher/") && !within(i, "usher/web")
			},
			why: "a face speaks only the domain (usher) and web/; a type it shares with the core belongs in the domain",
		},
		{
			pkg: func(p string) bool {
				return within(p, "usher/mail") || within(p, "usher/connector") || within(p, "usher/userfile")
			},
			forbidden: func(i string) bool {
				return within(i, "usher/core") || within(i, "usher/store") || within(i, "usher/face")
			},
			why: "an adapter the core drives speaks the domain, not the core, storage or a face",
		},
		{
			pkg:       func(p string) bool { return p == "usher" || p == "usher/core" },
			forbidden: func(i string) bool { return i == "net/http" || strings.HasPrefix(i, "usher/face") || i == "usher/web" },
			why:       "the domain and the core know nothing of HTTP",
		},
		{
			pkg: func(p string) bool { return p == "usher" || p == "usher/core" || p == "usher/password" },
			forbidden: func(i string) bool {
				return strings.HasPrefix(i, "github.com/prometheus/") || within(i, "usher/metric")
			},
			why: "the core tells an usher.Observer what it does; metric/ counts it for Prometheus",
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
	checked := make([]int, len(rules))
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
		for n, r := range rules {
			if !r.pkg(p.ImportPath) {
				continue
			}
			checked[n]++
			for _, imp := range p.Imports {
				if r.forbidden(imp) {
					t.Errorf("%s imports %s: %s", p.ImportPath, imp, r.why)
				}
			}
		}
	}
	for n, c := range checked {
		if c == 0 {
			t.Errorf("rule %q matches no package", rules[n].why)
		}
	}
}

// within reports whether the import path p is the package pkg or one below it.
func within(p, pkg string) bool {
	return p == pkg || strings.HasPrefix(p, pkg+"/")
}

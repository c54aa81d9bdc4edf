package core_test

import (
	"context"
	"fmt"
	"testing"
	"testing/fstest"

	"usher"
)

func TestScriptsLoadDir(t *testing.T) {
	t.Parallel()
	s := setupScripts(t, false)
	ctx := context.Background()
	dir := fstest.MapFS{
		"welcome.js": {Data: []byte("// Greets new users.\n// usher:trigger user.after_create, user.manual\nusher.log('hi')\n")},
		"widget.js":  {Data: []byte("// usher:kind client\n// usher:bundle admin\nwindow.w = 1;\n")},
		"off.js":     {Data: []byte("// usher:trigger auth.before_login\n// usher:disabled\nusher.refuse('no')\n")},
		"notes.txt":  {Data: []byte("not a script")},
	}
	n, err := s.env.Core.Scripts.LoadDir(ctx, dir)
	if err != nil || n != 3 {
		t.Fatalf("LoadDir: %d, %v", n, err)
	}
	w, err := s.env.Core.Scripts.Get(as(s.admin), "welcome")
	if err != nil || !w.Directory || fmt.Sprint(w.Triggers) != "[user.after_create user.manual]" || w.Kind != usher.ScriptServer {
		t.Fatalf("welcome: %+v, %v", w, err)
	}
	if g, _ := s.env.Core.Scripts.Get(as(s.admin), "widget"); g.Kind != usher.ScriptClient || g.Bundle != "admin" {
		t.Fatalf("widget: %+v", g)
	}
	if o, _ := s.env.Core.Scripts.Get(as(s.admin), "off"); o.Enabled {
		t.Fatalf("off is enabled")
	}
	// Directory scripts change only through their files.
	src := "usher.log('changed')"
	_, err = s.env.Core.Scripts.Update(as(s.admin), "welcome", usher.ScriptUpdate{Source: &src})
	wantKind(t, err, usher.KindConflict, usher.CodeScriptReadOnly)
	err = s.env.Core.Scripts.Delete(as(s.admin), "welcome")
	wantKind(t, err, usher.KindConflict, usher.CodeScriptReadOnly)

	// Loading again follows the files: a changed one changes, a gone one
	// goes.
	dir["welcome.js"] = &fstest.MapFile{Data: []byte("// usher:trigger user.after_create\nusher.log('v2')\n")}
	delete(dir, "off.js")
	if _, err := s.env.Core.Scripts.LoadDir(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if w, _ := s.env.Core.Scripts.Get(as(s.admin), "welcome"); w.Version != 2 || len(w.Triggers) != 1 {
		t.Fatalf("welcome after reload: %+v", w)
	}
	_, err = s.env.Core.Scripts.Get(as(s.admin), "off")
	wantKind(t, err, usher.KindNotFound, usher.CodeScriptNotFound)

	// A file may not take the name of a script of the API, nor carry an
	// unknown header line.
	s.mustScript(t, "api", "usher.log(1)")
	_, err = s.env.Core.Scripts.LoadDir(ctx, fstest.MapFS{"api.js": {Data: []byte("usher.log(2)")}})
	wantKind(t, err, usher.KindConflict, usher.CodeScriptExists)
	_, err = s.env.Core.Scripts.LoadDir(ctx, fstest.MapFS{"x.js": {Data: []byte("// usher:colour red\n1")}})
	wantKind(t, err, usher.KindUnprocessable, "")
}

package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"usher"
	"usher/store"
)

// Scripts manages automation scripts: server scripts that run in the
// sandbox on triggers or on request, and client scripts served in bundles.
// Only administrators manage them: a script runs with the system's reach.
// A script loaded from the scripts directory (see LoadDir) changes only
// there.
type Scripts struct{ *env }

// scriptNameRE is a script's or bundle's name: lower-case letters, digits
// and . _ -, starting with a letter or digit.
var scriptNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,99}$`)

// maxScriptName bounds a script's or a bundle's name, in bytes
// (scriptNameRE).
const maxScriptName = 100

// defaultBundle is the bundle of a client script that names none.
const defaultBundle = "default"

// errScriptNotFound answers for a script that does not exist.
func errScriptNotFound() error {
	return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeScriptNotFound, Message: "script not found"}
}

// authorizeScripts lets administrators, and only them, read (write false)
// or change scripts. Scripts are part of the instance's configuration: a
// token needs the scopes the instance settings need.
//
// Errors: Unauthenticated, Forbidden.
func authorizeScripts(p *usher.Principal, write bool) error {
	act := actInstanceRead
	if write {
		act = actInstanceManage
	}
	if err := precheck(p, act, nil); err != nil {
		return err
	}
	if !p.IsAdmin() {
		return errForbidden("only administrators manage scripts")
	}
	return nil
}

// checkScript adds to c what is wrong with a script as it would be stored.
func (s *Scripts) checkScript(c *checker, sc *usher.Script) {
	switch {
	case sc.Name == "":
		c.add("name", usher.CodeRequired, "is required")
	case !scriptNameRE.MatchString(sc.Name):
		c.add("name", usher.CodeInvalid, "is up to 100 lower-case letters, digits and . _ -")
	}
	if !sc.Kind.Valid() {
		c.add("kind", usher.CodeInvalidValue, "is server or client")
	}
	switch {
	case strings.TrimSpace(sc.Source) == "":
		c.add("source", usher.CodeRequired, "is required")
	case len(sc.Source) > s.policy.ScriptMaxSource:
		c.add("source", usher.CodeTooLarge, "is larger than %d bytes", s.policy.ScriptMaxSource)
	case !utf8.ValidString(sc.Source):
		c.add("source", usher.CodeInvalidUTF8, "is not valid UTF-8")
	case strings.ContainsRune(sc.Source, 0):
		c.add("source", usher.CodeControlCharacter, "contains a NUL character")
	}
	seen := map[usher.Trigger]bool{}
	for _, t := range sc.Triggers {
		switch {
		case !t.Valid():
			c.add("triggers", usher.CodeUnknown, "%q is not a trigger", t)
		case seen[t]:
			c.add("triggers", usher.CodeDuplicate, "names %s twice", t)
		case sc.Kind == usher.ScriptClient:
			c.add("triggers", usher.CodeNotAllowed, "client scripts run in browsers, on no trigger")
		}
		seen[t] = true
	}
	switch {
	case sc.Kind == usher.ScriptServer && sc.Bundle != "":
		c.add("bundle", usher.CodeNotAllowed, "server scripts are in no bundle")
	case sc.Kind == usher.ScriptClient && !scriptNameRE.MatchString(sc.Bundle):
		c.add("bundle", usher.CodeInvalid, "is up to 100 lower-case letters, digits and . _ -")
	}
}

// Create stores a script. Its source is compiled: one that does not
// compile is stored, listed as invalid and never run. A server script is
// kind server when in.Kind is empty, enabled unless in.Enabled says not.
//
// Errors: Unauthenticated, Forbidden, Unprocessable (a bad name, kind,
// source, trigger or bundle; a source too large), Conflict (the name is
// taken).
func (s *Scripts) Create(ctx context.Context, in usher.ScriptCreate) (*usher.Script, error) {
	p := usher.PrincipalFrom(ctx)
	if err := authorizeScripts(p, true); err != nil {
		return nil, err
	}
	now := s.now()
	sc := &usher.Script{Name: in.Name, Kind: in.Kind, Source: in.Source, Triggers: in.Triggers, Bundle: in.Bundle,
		Enabled: in.Enabled == nil || *in.Enabled, Directory: in.Directory && p.Kind == usher.PrincipalSystem,
		Version: 1, CreatedBy: p.UserID(), CreatedAt: now, UpdatedAt: now}
	if sc.Kind == "" {
		sc.Kind = usher.ScriptServer
	}
	if sc.Kind == usher.ScriptClient && sc.Bundle == "" {
		sc.Bundle = defaultBundle
	}
	var c checker
	s.checkScript(&c, sc)
	if err := c.err(); err != nil {
		return nil, err
	}
	sc.CompileError = compileError(sc.Name, sc.Source)
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.ScriptAdd(ctx, sc); err != nil {
			return err
		}
		return s.record(ctx, tx, now, event{action: "script.create", resourceType: "script",
			resourceID: strconv.FormatInt(sc.ID, 10), meta: scriptMeta(sc)})
	})
	if errors.Is(err, usher.ErrExists) {
		return nil, &usher.Error{Kind: usher.KindConflict, Code: usher.CodeScriptExists, Message: "a script has the name " + sc.Name,
			Fields: []usher.FieldError{{Field: "name", Code: usher.CodeTaken, Message: "is taken"}}}
	}
	if err != nil {
		return nil, err
	}
	s.scripts.changed()
	return sc, nil
}

// scriptMeta is what the audit log keeps of a script.
func scriptMeta(sc *usher.Script) map[string]string {
	ts := make([]string, len(sc.Triggers))
	for i, t := range sc.Triggers {
		ts[i] = string(t)
	}
	return map[string]string{"name": sc.Name, "kind": string(sc.Kind), "triggers": strings.Join(ts, " "),
		"version": strconv.Itoa(sc.Version), "enabled": strconv.FormatBool(sc.Enabled)}
}

// Get returns a script.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (s *Scripts) Get(ctx context.Context, name string) (*usher.Script, error) {
	if err := authorizeScripts(usher.PrincipalFrom(ctx), false); err != nil {
		return nil, err
	}
	if noSuchKey(name, maxScriptName) {
		return nil, errScriptNotFound()
	}
	sc, err := s.store.ScriptGet(ctx, name)
	if errors.Is(err, usher.ErrNotFound) {
		return nil, errScriptNotFound()
	}
	return sc, err
}

// List returns a page of the scripts matching f, by id.
//
// Errors: Unauthenticated, Forbidden, Invalid (a bad kind, trigger or
// cursor).
func (s *Scripts) List(ctx context.Context, f usher.ScriptFilter) (*usher.Page[*usher.Script], error) {
	if err := authorizeScripts(usher.PrincipalFrom(ctx), false); err != nil {
		return nil, err
	}
	if f.Kind != "" && !f.Kind.Valid() {
		return nil, invalid("kind", "is server or client")
	}
	if f.Trigger != "" && !f.Trigger.Valid() {
		return nil, invalid("trigger", "is not a trigger")
	}
	if err := filterText("bundle", f.Bundle); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		field  string
		values []string
		part   func(usher.Trigger) string
	}{{"resource", f.Resources, usher.Trigger.Resource}, {"event", f.Events, usher.Trigger.Event}} {
		for _, v := range p.values {
			if !slices.ContainsFunc(usher.Triggers, func(t usher.Trigger) bool { return p.part(t) == v }) {
				return nil, invalid(p.field, "%q is the %s of no trigger", v, p.field)
			}
		}
	}
	var err error
	if f.Page, err = s.idPage(f.Page); err != nil {
		return nil, err
	}
	return s.store.ScriptList(ctx, f)
}

// Update changes a script; a new source is compiled again, and the
// version grows. A script from the scripts directory changes only there.
//
// Errors: Unauthenticated, Forbidden, NotFound, Unprocessable (as Create),
// Conflict (a script from the directory).
func (s *Scripts) Update(ctx context.Context, name string, in usher.ScriptUpdate) (*usher.Script, error) {
	p := usher.PrincipalFrom(ctx)
	if err := authorizeScripts(p, true); err != nil {
		return nil, err
	}
	if noSuchKey(name, maxScriptName) {
		return nil, errScriptNotFound()
	}
	var out *usher.Script
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		changes := map[string]usher.Change{}
		sc, err := tx.ScriptUpdate(ctx, name, func(sc *usher.Script) error {
			if sc.Directory && p.Kind != usher.PrincipalSystem {
				return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeScriptReadOnly,
					Message: "the script was loaded from the scripts directory; change its file"}
			}
			old := *sc
			if in.Source != nil {
				sc.Source = *in.Source
			}
			if in.Triggers != nil {
				sc.Triggers = *in.Triggers
			}
			if in.Bundle != nil {
				sc.Bundle = *in.Bundle
			}
			if in.Enabled != nil {
				sc.Enabled = *in.Enabled
			}
			var c checker
			s.checkScript(&c, sc)
			if err := c.err(); err != nil {
				return err
			}
			if sc.Source != old.Source {
				changes["source"] = usher.Change{Old: len(old.Source), New: len(sc.Source)}
				sc.CompileError = compileError(sc.Name, sc.Source)
			}
			if a, b := scriptMeta(&old)["triggers"], scriptMeta(sc)["triggers"]; a != b {
				changes["triggers"] = usher.Change{Old: a, New: b}
			}
			if sc.Bundle != old.Bundle {
				changes["bundle"] = usher.Change{Old: old.Bundle, New: sc.Bundle}
			}
			if sc.Enabled != old.Enabled {
				changes["enabled"] = usher.Change{Old: old.Enabled, New: sc.Enabled}
			}
			if len(changes) == 0 {
				return errNoChange
			}
			sc.Version++
			sc.UpdatedAt = s.now()
			return nil
		})
		if err != nil {
			return err
		}
		out = sc
		return s.record(ctx, tx, sc.UpdatedAt, event{action: "script.update", resourceType: "script",
			resourceID: strconv.FormatInt(sc.ID, 10), changes: changes, meta: scriptMeta(sc)})
	})
	switch {
	case errors.Is(err, errNoChange):
		return s.store.ScriptGet(ctx, name)
	case errors.Is(err, usher.ErrNotFound):
		return nil, errScriptNotFound()
	case err != nil:
		return nil, err
	}
	s.scripts.changed()
	return out, nil
}

// Delete deletes a script and its queued runs. A script from the scripts
// directory is deleted by deleting its file.
//
// Errors: Unauthenticated, Forbidden, NotFound, Conflict (a script from
// the directory).
func (s *Scripts) Delete(ctx context.Context, name string) error {
	p := usher.PrincipalFrom(ctx)
	if err := authorizeScripts(p, true); err != nil {
		return err
	}
	if noSuchKey(name, maxScriptName) {
		return errScriptNotFound()
	}
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		sc, err := tx.ScriptGet(ctx, name)
		if err != nil {
			return err
		}
		if sc.Directory && p.Kind != usher.PrincipalSystem {
			return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeScriptReadOnly,
				Message: "the script was loaded from the scripts directory; delete its file"}
		}
		if err := tx.ScriptDelete(ctx, name); err != nil {
			return err
		}
		return s.record(ctx, tx, s.now(), event{action: "script.delete", resourceType: "script",
			resourceID: strconv.FormatInt(sc.ID, 10), meta: scriptMeta(sc)})
	})
	if errors.Is(err, usher.ErrNotFound) {
		return errScriptNotFound()
	}
	if err == nil {
		s.scripts.changed()
	}
	return err
}

// Bundle returns a bundle of client scripts: the enabled, valid client
// scripts of the bundle, by id, joined. Any signed-in caller whose token
// may read the API may fetch a bundle: browser clients load them.
//
// Errors: Unauthenticated, Forbidden, NotFound (no such bundle, or nothing
// in it).
func (s *Scripts) Bundle(ctx context.Context, name string) (*usher.ScriptBundle, error) {
	switch p := usher.PrincipalFrom(ctx); {
	case p.Anonymous():
		return nil, errUnauthenticated()
	case !p.HasScope(usher.ScopeReadAPI):
		return nil, errForbidden("the token's scopes do not allow this")
	}
	if noSuchKey(name, maxScriptName) {
		return nil, &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeScriptNotFound, Message: "no such bundle"}
	}
	no := false
	page, err := s.store.ScriptList(ctx, usher.ScriptFilter{Kind: usher.ScriptClient, Bundle: name, EnabledOnly: true, Invalid: &no})
	if err != nil {
		return nil, err
	}
	if len(page.Items) == 0 {
		return nil, &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeScriptNotFound, Message: "no such bundle"}
	}
	b := &usher.ScriptBundle{Name: name, Type: "text/javascript", Extension: "js"}
	var src strings.Builder
	for _, sc := range page.Items {
		src.WriteString("// " + sc.Name + " v" + strconv.Itoa(sc.Version) + "\n")
		src.WriteString(sc.Source)
		src.WriteString("\n;\n")
		if sc.UpdatedAt.After(b.UpdatedAt) {
			b.UpdatedAt = sc.UpdatedAt
		}
	}
	b.Source = []byte(src.String())
	sum := sha256.Sum256(b.Source)
	b.ETag = `"` + hex.EncodeToString(sum[:16]) + `"`
	return b, nil
}

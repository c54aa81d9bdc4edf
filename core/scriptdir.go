package core

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"usher"
)

// scriptHeader reads the header of a script file: the comment lines at its
// top, of which those that start with "// usher:" say what the script is:
//
//	// usher:trigger user.before_create user.after_create
//	// usher:kind client
//	// usher:bundle admin
//	// usher:disabled
//
// A file with no kind line is a server script; one with no trigger line
// runs on no trigger.
func scriptHeader(name, src string) (usher.ScriptCreate, error) {
	in := usher.ScriptCreate{Name: name, Source: src, Directory: true}
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		rest, ok := strings.CutPrefix(line, "//")
		if !ok {
			break
		}
		directive, ok := strings.CutPrefix(strings.TrimSpace(rest), "usher:")
		if !ok {
			continue
		}
		key, value, _ := strings.Cut(directive, " ")
		value = strings.TrimSpace(value)
		switch key {
		case "trigger", "triggers":
			for _, t := range strings.Fields(strings.ReplaceAll(value, ",", " ")) {
				in.Triggers = append(in.Triggers, usher.Trigger(t))
			}
		case "kind":
			in.Kind = usher.ScriptKind(value)
		case "bundle":
			in.Bundle = value
		case "disabled":
			no := false
			in.Enabled = &no
		default:
			return in, fmt.Errorf("%s: unknown header line usher:%s", name, key)
		}
	}
	if in.Kind == usher.ScriptClient && in.Bundle == "" {
		in.Bundle = defaultBundle
	}
	return in, nil
}

// LoadDir makes the scripts of the directory fsys the scripts marked as
// loaded from it: each "NAME.js" file becomes the script NAME, created or
// changed to match its file (see scriptHeader for the header that declares
// its kind and triggers), and a script loaded before whose file is gone is
// deleted. Such scripts change only through their files. A file whose name
// is a script created through the API is refused. It returns how many
// files it loaded.
//
// Errors: Unprocessable (a file's name, header or script breaks a rule),
// Conflict (a script of the API has a file's name), and the store's.
func (s *Scripts) LoadDir(ctx context.Context, fsys fs.FS) (int, error) {
	sys := usher.WithPrincipal(ctx, &usher.Principal{Kind: usher.PrincipalSystem})
	files, err := fs.Glob(fsys, "*.js")
	if err != nil {
		return 0, err
	}
	loaded := map[string]bool{}
	for _, file := range files {
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			return len(loaded), err
		}
		name := strings.TrimSuffix(path.Base(file), ".js")
		in, err := scriptHeader(name, string(data))
		if err != nil {
			return len(loaded), &usher.Error{Kind: usher.KindUnprocessable, Code: usher.CodeValidationFailed, Message: err.Error()}
		}
		if err := s.loadFile(sys, in); err != nil {
			return len(loaded), fmt.Errorf("%s: %w", file, err)
		}
		loaded[name] = true
	}
	page, err := s.store.ScriptList(ctx, usher.ScriptFilter{})
	if err != nil {
		return len(loaded), err
	}
	for _, sc := range page.Items {
		if sc.Directory && !loaded[sc.Name] {
			if err := s.Delete(sys, sc.Name); err != nil {
				return len(loaded), err
			}
		}
	}
	return len(loaded), nil
}

// loadFile creates or changes the script of one file, as the system.
func (s *Scripts) loadFile(sys context.Context, in usher.ScriptCreate) error {
	have, err := s.store.ScriptGet(sys, in.Name)
	switch {
	case errors.Is(err, usher.ErrNotFound):
		_, err = s.Create(sys, in)
		return err
	case err != nil:
		return err
	case !have.Directory:
		return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeScriptExists,
			Message: "a script made through the API has the name " + in.Name}
	case have.Kind != in.Kind && !(in.Kind == "" && have.Kind == usher.ScriptServer):
		if err := s.Delete(sys, in.Name); err != nil {
			return err
		}
		_, err = s.Create(sys, in)
		return err
	}
	enabled := in.Enabled == nil || *in.Enabled
	_, err = s.Update(sys, in.Name, usher.ScriptUpdate{Source: &in.Source, Triggers: &in.Triggers, Bundle: &in.Bundle, Enabled: &enabled})
	return err
}

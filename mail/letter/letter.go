// Package letter writes the subject and plain text of usher's mails from
// templates, one per kind of mail and language, in the language that best
// suits the recipient. English and German are built in; a directory may
// replace any of them or add a language.
package letter

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"text/template"

	"golang.org/x/text/language"

	"usher"
)

var _ usher.Letters = (*Set)(nil)

// builtin holds the built-in templates, templates/LANG/KIND.txt.
//
//go:embed templates
var builtin embed.FS

// Set is the templates of every kind of mail, by language. A Set is safe
// for concurrent use.
type Set struct {
	product string
	// kinds holds, by language, the template of each kind of mail.
	kinds map[string]map[string]*template.Template
	// tags are the languages with templates, the default first; matcher
	// picks among them.
	tags    []language.Tag
	matcher language.Matcher
}

// New returns the templates of mails signed by product. lang is the
// language used when no preference matches ("en" when empty). dir, when
// set, is a directory of LANG/KIND.txt files, each taking the place of the
// built-in template of its kind in its language, or adding a language.
func New(product, lang, dir string) (*Set, error) {
	s := &Set{product: product, kinds: map[string]map[string]*template.Template{}}
	if err := s.load(builtin, "templates"); err != nil {
		return nil, err
	}
	if dir != "" {
		if _, err := os.Stat(dir); err == nil {
			if err := s.load(os.DirFS(dir), "."); err != nil {
				return nil, err
			}
		}
	}
	if lang == "" {
		lang = "en"
	}
	def, err := language.Parse(lang)
	if err != nil {
		return nil, fmt.Errorf("letter: default language %q: %w", lang, err)
	}
	if _, ok := s.kinds[def.String()]; !ok {
		return nil, fmt.Errorf("letter: no mail templates in the default language %q", lang)
	}
	s.tags = []language.Tag{def}
	for l := range s.kinds {
		if t := language.Make(l); t != def {
			s.tags = append(s.tags, t)
		}
	}
	slices.SortFunc(s.tags[1:], func(a, b language.Tag) int { return strings.Compare(a.String(), b.String()) })
	s.matcher = language.NewMatcher(s.tags)
	return s, nil
}

// Builtin returns the built-in templates, signed "usher", in English by
// default.
func Builtin() *Set {
	s, err := New("usher", "en", "")
	if err != nil {
		panic(err) // the embedded templates parse: TestBuiltin
	}
	return s
}

// load parses root/LANG/KIND.txt of fsys, each replacing the one loaded
// before for its language and kind.
func (s *Set) load(fsys fs.FS, root string) error {
	files, err := fs.Glob(fsys, path.Join(root, "*", "*.txt"))
	if err != nil {
		return fmt.Errorf("letter: %w", err)
	}
	for _, f := range files {
		tag, err := language.Parse(path.Base(path.Dir(f)))
		if err != nil {
			return fmt.Errorf("letter: %s: the directory is not a language tag: %w", f, err)
		}
		src, err := fs.ReadFile(fsys, f)
		if err != nil {
			return fmt.Errorf("letter: %w", err)
		}
		kind := strings.TrimSuffix(path.Base(f), ".txt")
		t, err := template.New(kind).Option("missingkey=zero").Parse(string(src))
		if err != nil {
			return fmt.Errorf("letter: %s: %w", f, err)
		}
		for _, name := range []string{"subject", "body", "reason"} {
			if t.Lookup(name) == nil {
				return fmt.Errorf("letter: %s defines no %q template", f, name)
			}
		}
		lang := tag.String()
		if s.kinds[lang] == nil {
			s.kinds[lang] = map[string]*template.Template{}
		}
		s.kinds[lang][kind] = t
	}
	return nil
}

// Match returns the language with templates that best matches prefs, most
// preferred first, each a BCP 47 tag (en, pt-BR) or the value of an
// Accept-Language header; the default language when none matches.
func (s *Set) Match(prefs ...string) string {
	var tags []language.Tag
	for _, p := range prefs {
		if p == "" {
			continue
		}
		// An Accept-Language value, which a single tag also is; what
		// cannot be read prefers nothing.
		ts, _, err := language.ParseAcceptLanguage(p)
		if err != nil {
			continue
		}
		tags = append(tags, ts...)
	}
	if len(tags) == 0 {
		return s.tags[0].String()
	}
	_, i, conf := s.matcher.Match(tags...)
	if conf == language.No {
		return s.tags[0].String()
	}
	return s.tags[i].String()
}

// Write returns the mail of kind in the language best matching prefs (see
// Match) that has a template for it, or else in the default language,
// filled from data. Product is set in data, and the text ends with a
// signature: a line "-- ", the reason the recipient got the mail and the
// product's name.
func (s *Set) Write(kind string, data map[string]string, prefs ...string) (*usher.Letter, error) {
	lang := s.Match(prefs...)
	t, ok := s.kinds[lang][kind]
	if !ok {
		lang = s.tags[0].String()
		if t, ok = s.kinds[lang][kind]; !ok {
			return nil, fmt.Errorf("letter: no template for mail kind %q", kind)
		}
	}
	fill := map[string]string{"Product": s.product}
	for k, v := range data {
		fill[k] = v
	}
	var parts [3]string
	for i, name := range []string{"subject", "body", "reason"} {
		var b bytes.Buffer
		if err := t.ExecuteTemplate(&b, name, fill); err != nil {
			return nil, fmt.Errorf("letter: %s/%s: %w", lang, kind, err)
		}
		parts[i] = strings.TrimSpace(b.String())
	}
	if parts[0] == "" || parts[1] == "" {
		return nil, errors.New("letter: " + lang + "/" + kind + ": empty subject or body")
	}
	// A subject is one line, whatever a template or its data holds.
	subject := strings.Join(strings.Fields(parts[0]), " ")
	body := parts[1] + "\n\n" + Signature + parts[2] + "\n" + s.product + "\n"
	return &usher.Letter{Lang: lang, Subject: subject, Body: body}, nil
}

// Signature starts the end of a mail's text: the reason the recipient got
// it, and the product's name. The HTML layout sets it apart.
const Signature = "-- \n"

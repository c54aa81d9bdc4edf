package letter_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"usher/mail/letter"
)

// kinds are the mails usher writes from templates.
var kinds = []string{"confirm", "confirm_email", "confirm_change", "email_change_requested", "email_changed", "reset", "reminder",
	"password_changed", "new_sign_in", "invitation"}

// TestBuiltin: every kind is built in, in English and in German, with a
// subject, a body that carries its data, and a signature giving the reason
// and the product.
func TestBuiltin(t *testing.T) {
	t.Parallel()
	s, err := letter.New("Example ID", "en", "")
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]string{"Username": "dana", "Code": "C0DE", "Link": "https://id.example/x?c=C0DE",
		"ResetLink": "https://id.example/forgot-password", "Resource": "r"}
	for _, kind := range kinds {
		for _, lang := range []string{"en", "de"} {
			t.Run(kind+"/"+lang, func(t *testing.T) {
				t.Parallel()
				l, err := s.Write(kind, data, lang)
				if err != nil {
					t.Fatal(err)
				}
				if l.Lang != lang || l.Subject == "" || strings.Contains(l.Subject, "\n") {
					t.Fatalf("lang %q, subject %q", l.Lang, l.Subject)
				}
				_, sig, ok := strings.Cut(l.Body, "\n\n"+letter.Signature)
				if !ok || !strings.HasSuffix(sig, "\nExample ID\n") || len(sig) < 40 {
					t.Fatalf("signature %q in:\n%s", sig, l.Body)
				}
				if !strings.Contains(l.Body, "dana") {
					t.Fatalf("no user name:\n%s", l.Body)
				}
				if strings.Contains(l.Body, "<no value>") {
					t.Fatalf("a missing value:\n%s", l.Body)
				}
			})
		}
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	s := letter.Builtin()
	tests := []struct {
		name  string
		prefs []string
		want  string
	}{
		{"nothing", nil, "en"},
		{"a tag", []string{"de"}, "de"},
		{"a regional tag", []string{"de-AT"}, "de"},
		{"an Accept-Language header", []string{"fr-CH, fr;q=0.9, de;q=0.8, *;q=0.5"}, "de"},
		{"the first preference wins", []string{"en", "de"}, "en"},
		{"an unsupported first preference is passed over", []string{"fr", "de-DE,de;q=0.9"}, "de"},
		{"nothing supported", []string{"ja"}, "en"},
		{"garbage", []string{"((", "de"}, "de"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := s.Match(tt.prefs...); got != tt.want {
				t.Errorf("Match(%q) = %q, want %q", tt.prefs, got, tt.want)
			}
		})
	}
}

// TestOverride: a directory's LANG/KIND.txt replaces the built-in template
// of its kind, adds a language, and a broken one is refused at start.
func TestOverride(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("en/reset.txt", `{{define "subject"}}Forgot it, {{.Username}}?{{end}}{{define "reason"}}Ours.{{end}}{{define "body"}}Go to {{.Link}}{{end}}`)
	write("fr/reset.txt", `{{define "subject"}}Mot de passe{{end}}{{define "reason"}}Nous.{{end}}{{define "body"}}Allez à {{.Link}}{{end}}`)
	s, err := letter.New("Example ID", "en", dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.Write("reset", map[string]string{"Username": "dana", "Link": "https://id.example/r"})
	if err != nil || l.Subject != "Forgot it, dana?" || l.Body != "Go to https://id.example/r\n\n-- \nOurs.\nExample ID\n" {
		t.Fatalf("%+v, %v", l, err)
	}
	if l, _ := s.Write("reset", nil, "fr"); l.Lang != "fr" || l.Subject != "Mot de passe" {
		t.Fatalf("the added language: %+v", l)
	}
	// A kind the added language lacks comes in the default language.
	if l, _ := s.Write("confirm", nil, "fr"); l.Lang != "en" {
		t.Fatalf("confirm in %q", l.Lang)
	}
	write("de/confirm.txt", `{{define "subject"}}x{{end}}`)
	if _, err := letter.New("Example ID", "en", dir); err == nil || !strings.Contains(err.Error(), "de/confirm.txt") {
		t.Fatalf("a template without body: %v", err)
	}
	if _, err := letter.New("Example ID", "xx-not-a-tag-at-all", ""); err == nil {
		t.Fatal("a bad default language was taken")
	}
}

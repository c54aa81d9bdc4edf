package mail_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"usher"
	"usher/mail"
)

func TestLayoutHTML(t *testing.T) {
	t.Parallel()
	m := &usher.Mail{ID: 1, Kind: "reset", Subject: "Reset your password", Body: "Hello <b>dana</b>,\n\n" +
		"use this token:\n\n    AbC123\n\nOpen https://usher.example/reset-password?token=AbC123&x=1 to choose a new password.\n"}
	tests := []struct {
		name, lang string
		want       []string
		not        []string
	}{
		{"english", "", []string{`<html lang="en">`, "<h1", "Reset your password", "Hello &lt;b&gt;dana&lt;/b&gt;,",
			`<a href="https://usher.example/reset-password?token=AbC123&amp;x=1"`, ">AbC123</code>", "asked to reset the password"}, []string{"<b>dana"}},
		{"german", "de", []string{`<html lang="de">`, "Passwort des Kontos"}, nil},
		{"unknown language", "xx", []string{`<html lang="en">`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := mail.NewLayout("Example ID", tt.lang, "")
			if err != nil {
				t.Fatal(err)
			}
			html, err := l.HTML(m)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range append(tt.want, "Example ID") {
				if !strings.Contains(html, w) {
					t.Errorf("the HTML lacks %q:\n%s", w, html)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(html, n) {
					t.Errorf("the HTML holds %q", n)
				}
			}
		})
	}
}

func TestLayoutOverride(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mail.html"), []byte(`{{define "mail"}}<p>{{.Product}}: {{.Subject}}</p>{{end}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := mail.NewLayout("Example ID", "", dir)
	if err != nil {
		t.Fatal(err)
	}
	html, err := l.HTML(&usher.Mail{Subject: "Hi", Body: "x"})
	if err != nil || html != "<p>Example ID: Hi</p>" {
		t.Fatalf("%q, %v", html, err)
	}
}

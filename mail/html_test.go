package mail_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"usher"
	"usher/mail"
	"usher/mail/letter"
)

func TestLayoutHTML(t *testing.T) {
	t.Parallel()
	body := "Hello <b>dana</b>,\n\n" +
		"use this token:\n\n    AbC123\n\nOpen https://usher.example/reset-password?token=AbC123&x=1 to choose a new password.\n"
	signed := body + "\n" + letter.Signature + "You got this mail because someone asked to reset the password.\nExample ID\n"
	tests := []struct {
		name, lang, body string
		want             []string
		not              []string
	}{
		{"english", "", signed, []string{`<html lang="en">`, "<h1", "Reset your password", "Hello &lt;b&gt;dana&lt;/b&gt;,",
			`<a href="https://usher.example/reset-password?token=AbC123&amp;x=1"`, ">AbC123</code>",
			`font-size:13px">You got this mail because someone asked to reset the password.`}, []string{"<b>dana", "-- "}},
		{"the mail's language", "de", signed, []string{`<html lang="de">`}, nil},
		{"no signature, no footer", "", body, []string{`<html lang="en">`}, []string{"font-size:13px"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := mail.NewLayout("Example ID", "", "")
			if err != nil {
				t.Fatal(err)
			}
			html, err := l.HTML(&usher.Mail{ID: 1, Kind: "reset", Lang: tt.lang, Subject: "Reset your password", Body: tt.body})
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

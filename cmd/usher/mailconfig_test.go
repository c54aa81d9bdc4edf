package main

import (
	"testing"

	"usher/core"
	"usher/face/pages"
)

// TestMailConfig: the console is given the mail flags with the SMTP
// password hidden, and "log" when no SMTP server is configured.
func TestMailConfig(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, smtpURL string
		want          pages.MailConfig
	}{
		{"no server", "", pages.MailConfig{Transport: "log", From: "usher@example.org", Language: "de", PublicURL: "https://id.example.org"}},
		{"password hidden", "smtp://mailer:hunter2@mail.example.org:587?tls=starttls",
			pages.MailConfig{Transport: "smtp", Host: "mail.example.org:587", URL: "smtp://mailer:REDACTED@mail.example.org:587?tls=starttls",
				From: "usher@example.org", Language: "de", PublicURL: "https://id.example.org"}},
		{"smtps", "smtps://mail.example.org",
			pages.MailConfig{Transport: "smtps", Host: "mail.example.org", URL: "smtps://mail.example.org",
				From: "usher@example.org", Language: "de", PublicURL: "https://id.example.org"}},
	} {
		sc := &serveConfig{smtpURL: tt.smtpURL, mailFrom: "usher@example.org", mailLanguage: "de",
			policy: core.Policy{PublicURL: "https://id.example.org"}}
		if got := sc.mailConfig(); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

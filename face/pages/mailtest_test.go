package pages_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSettingsMail: the settings page shows the mail configuration, and
// an administrator's test mail goes through the core to the SMTP server,
// the page saying what happened — sent, or the server's refusal.
func TestSettingsMail(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.browser(t)
	admin.login(t, "root", password)
	p := admin.get(t, "/admin/settings")
	if p.status != http.StatusOK {
		t.Fatalf("settings: %d", p.status)
	}
	mustContain(t, p, "smtp to "+b.smtp.Addr(), "<code>smtp://usher:REDACTED@"+b.smtp.Addr()+"</code>",
		"usher@example.test", "<dd>en</dd>", "<dd>"+b.srv.URL+"</dd>", `action="/admin/settings/mail-test"`)

	p = admin.post(t, "/admin/settings/mail-test", url.Values{"to": {"check@example.org"}})
	if p.status != http.StatusOK {
		t.Fatalf("test mail: %d\n%s", p.status, p.body)
	}
	mustContain(t, p, "The test mail to check@example.org is sent: "+b.smtp.Addr()+" accepted it.")
	m := b.mailTo(t, 1, "check@example.org")
	if !strings.Contains(m.Subject, "usher: test mail") {
		t.Fatalf("the test mail's subject: %q", m.Subject)
	}
	mustContain(t, admin.get(t, "/admin/audit?action=mail."), "<code>mail.test", "check@example.org")

	b.smtp.FailNext(1)
	p = admin.post(t, "/admin/settings/mail-test", url.Values{"to": {"check@example.org"}})
	if p.status != http.StatusBadGateway {
		t.Fatalf("a refused test mail: %d\n%s", p.status, p.body)
	}
	mustContain(t, p, "The test mail to check@example.org was not sent: ", "451")
}

// TestSettingsMailRefused: a test mail needs an administrator, this
// site's form and an address; and it is counted like a reset request.
func TestSettingsMailRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.browser(t)
	admin.login(t, "root", password)
	admin.get(t, "/admin/settings")
	plain := b.browser(t)
	plain.login(t, "plain", password)
	plain.get(t, "/account")
	anon := b.browser(t)
	anon.get(t, "/login")
	for _, tc := range []struct {
		name   string
		br     *browser
		form   url.Values
		header []string
		status int
		want   string
	}{
		{"plain user", plain, url.Values{"to": {"x@example.org"}}, nil, http.StatusForbidden, "only administrators"},
		{"no token", admin, url.Values{"to": {"x@example.org"}, "csrf_token": {"forged"}}, nil, http.StatusForbidden, "did not come from this site"},
		{"another site", admin, url.Values{"to": {"x@example.org"}}, []string{"Origin", "https://evil.example"}, http.StatusForbidden, ""},
		{"not an address", admin, url.Values{"to": {"nobody"}}, nil, http.StatusBadRequest, "is not an e-mail address"},
		{"no address", admin, url.Values{"to": {""}}, nil, http.StatusBadRequest, "is not an e-mail address"},
	} {
		p := tc.br.post(t, "/admin/settings/mail-test", tc.form, tc.header...)
		if p.status != tc.status || !strings.Contains(p.body, tc.want) {
			t.Errorf("%s: %d, want %d with %q\n%s", tc.name, p.status, tc.status, tc.want, p.body)
		}
	}
	if p := anon.post(t, "/admin/settings/mail-test", url.Values{"to": {"x@example.org"}}); p.status != http.StatusSeeOther {
		t.Errorf("anonymous: %d, want a redirect to log in", p.status)
	}
	if n := len(b.smtp.Messages()); n != 0 {
		t.Fatalf("%d mails sent by refused tests", n)
	}
	var last page
	for range 12 {
		last = admin.post(t, "/admin/settings/mail-test", url.Values{"to": {"x@example.org"}})
		if last.status == http.StatusTooManyRequests {
			break
		}
	}
	if last.status != http.StatusTooManyRequests || last.header.Get("Retry-After") == "" {
		t.Fatalf("test mails are not limited: %d\n%s", last.status, last.body)
	}
}

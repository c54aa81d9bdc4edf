package pages_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/core/coretest"
	"usher/mail/letter"
	"usher/mail/smtptest"
)

// firefox is a browser other than the test client's own.
const firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"

// mustBeMail checks that m is a multipart mail with both parts, the link
// to the public URL, the product's name and the reason it was sent.
func (b *bundle) mustBeMail(t *testing.T, m smtptest.Message, subject, reason string) {
	t.Helper()
	if m.Subject != subject {
		t.Errorf("subject %q, want %q", m.Subject, subject)
	}
	if !strings.HasPrefix(m.Header.Get("Content-Type"), "multipart/alternative") {
		t.Errorf("Content-Type %q", m.Header.Get("Content-Type"))
	}
	for part, text := range map[string]string{"text": m.Body, "HTML": m.HTML} {
		for _, want := range []string{b.srv.URL + "/", "usher", reason} {
			if !strings.Contains(text, want) {
				t.Errorf("the %s part lacks %q:\n%s", part, want, text)
			}
		}
	}
}

// noMoreMail checks that no mail but the n already counted comes soon.
func (b *bundle) noMoreMail(t *testing.T, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if msgs, err := b.smtp.Wait(ctx, n+1); err == nil {
		t.Fatalf("an unexpected mail: %q to %v", msgs[n].Subject, msgs[n].To)
	}
}

// TestMailKinds: every kind of mail, caused over HTTP (or by an
// administrator, for the invitation), comes multipart with its link, the
// product's name and the reason it was sent.
func TestMailKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		cause           func(t *testing.T, b *bundle) (n int, to string)
		subject, reason string
	}{
		{"confirm on sign-up", func(t *testing.T, b *bundle) (int, string) {
			br := b.browser(t)
			br.get(t, "/signup")
			br.post(t, "/signup", url.Values{"username": {"dana"}, "email": {"dana@example.com"}, "password": {password}})
			return 1, "dana@example.com"
		}, "Confirm your e-mail address", "someone signed up with this address"},
		{"reset", func(t *testing.T, b *bundle) (int, string) {
			br := b.browser(t)
			br.get(t, "/forgot-password")
			br.post(t, "/forgot-password", url.Values{"email": {"plain@example.com"}})
			return 1, "plain@example.com"
		}, "Reset your password", "asked to reset the password"},
		{"password changed on the account page", func(t *testing.T, b *bundle) (int, string) {
			br := b.browser(t)
			br.login(t, "plain", password)
			br.get(t, "/account/password")
			p := br.post(t, "/account/password", url.Values{"current_password": {password}, "new_password": {"plain's new passphrase"}},
				"User-Agent", "usher-test/1")
			mustContain(t, p, "Your password is changed.")
			return 1, "plain@example.com"
		}, "Your password was changed", "the password of the account with this address was changed"},
		{"new sign-in", func(t *testing.T, b *bundle) (int, string) {
			b.browser(t).login(t, "plain", password)
			br := b.browser(t)
			br.get(t, "/login")
			if p := br.post(t, "/login", url.Values{"login": {"plain"}, "password": {password}}, "User-Agent", firefox); p.status != http.StatusSeeOther {
				t.Fatalf("log-in: %d", p.status)
			}
			return 1, "plain@example.com"
		}, "New sign-in to your account", "a device it had not been used from lately"},
		{"invitation", func(t *testing.T, b *bundle) (int, string) {
			admin := usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser, User: b.admin})
			if _, err := b.env.Core.Users.Create(admin, usher.UserCreate{Username: "newbie", Email: "newbie@example.com",
				SendConfirmation: true, SendInvitation: true}); err != nil {
				t.Fatal(err)
			}
			return 1, "newbie@example.com"
		}, "You have been invited to usher", "someone allowed to make accounts made one with this address"},
		{"another address", func(t *testing.T, b *bundle) (int, string) {
			br := b.browser(t)
			br.login(t, "plain", password)
			br.get(t, "/account/emails")
			br.post(t, "/account/emails", url.Values{"email": {"other@example.com"}})
			return 1, "other@example.com"
		}, "Confirm your e-mail address", "this address was added to an account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			n, to := tt.cause(t, b)
			m := b.mailTo(t, n, to)
			b.mustBeMail(t, m, tt.subject, tt.reason)
			b.noMoreMail(t, n)
		})
	}
}

// TestInvitationSetsPassword: the invitation's link leads to the page that
// sets the password, and the new user can log in with it.
func TestInvitationSetsPassword(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser, User: b.admin})
	if _, err := b.env.Core.Users.Create(admin, usher.UserCreate{Username: "newbie", Email: "newbie@example.com",
		SendInvitation: true}); err != nil {
		t.Fatal(err)
	}
	link := b.link(t, b.mailTo(t, 1, "newbie@example.com"), "/reset-password")
	br := b.browser(t)
	p := br.get(t, link)
	mustContain(t, p, `name="token" value="`)
	token := strings.SplitN(strings.SplitN(p.body, `name="token" value="`, 2)[1], `"`, 2)[0]
	p = br.post(t, "/reset-password", url.Values{"token": {token}, "password": {"newbie's first passphrase"}})
	if p.status >= 400 {
		t.Fatalf("setting the password: %d\n%s", p.status, p.body)
	}
	br.login(t, "newbie", "newbie's first passphrase")
	// A password and an invitation together are refused.
	_, err := b.env.Core.Users.Create(admin, usher.UserCreate{Username: "both", Email: "both@example.com",
		Password: password, SendInvitation: true})
	if usher.ErrorKind(err) != usher.KindUnprocessable {
		t.Fatalf("a password and an invitation: %v", err)
	}
}

// TestKnownDevice: a log-in from the device an account signed in from
// before sends no mail; the first log-in of an account sends none either.
func TestKnownDevice(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for range 3 {
		b.browser(t).login(t, "plain", password)
	}
	b.noMoreMail(t, 0)
}

// TestMailLanguage: a user whose language is German gets German mail,
// whatever the request prefers; a sign-up asking in German gets German
// mail, and its account keeps German.
func TestMailLanguage(t *testing.T) {
	t.Parallel()
	t.Run("the user's language", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.env.MustCreateUser(t, usher.UserCreate{Username: "jonas", Email: "jonas@example.com", Password: password, Language: "de"})
		br := b.browser(t)
		br.get(t, "/forgot-password")
		br.post(t, "/forgot-password", url.Values{"email": {"jonas@example.com"}}, "Accept-Language", "en-US,en;q=0.9")
		m := b.mailTo(t, 1, "jonas@example.com")
		b.mustBeMail(t, m, "Setzen Sie Ihr Passwort zurück", "das Passwort des Kontos mit dieser Adresse zurücksetzen")
		if !strings.Contains(m.HTML, `<html lang="de">`) {
			t.Errorf("the HTML part is not marked German")
		}
	})
	t.Run("Accept-Language on sign-up", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		br := b.browser(t)
		br.get(t, "/signup")
		br.post(t, "/signup", url.Values{"username": {"lena"}, "email": {"lena@example.com"}, "password": {password}},
			"Accept-Language", "de-AT, de;q=0.9, en;q=0.5")
		m := b.mailTo(t, 1, "lena@example.com")
		b.mustBeMail(t, m, "Bestätigen Sie Ihre E-Mail-Adresse", "weil sich jemand mit dieser Adresse registriert hat")
		u, err := b.env.Core.Users.Get(coretest.System(), usher.UserKey{Username: "lena"})
		if err != nil || u.Language != "de" {
			t.Fatalf("the account's language: %v, %v", u, err)
		}
	})
}

// TestMailTemplateOverride: a template in the directory the server is
// given replaces the built-in one.
func TestMailTemplateOverride(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "en"), 0o755); err != nil {
		t.Fatal(err)
	}
	src := `{{define "subject"}}Lost your key, {{.Username}}?{{end}}{{define "reason"}}Example Corp sends this.{{end}}` +
		`{{define "body"}}Go to {{.Link}} now.{{end}}`
	if err := os.WriteFile(filepath.Join(dir, "en", "reset.txt"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	letters, err := letter.New("usher", "en", dir)
	if err != nil {
		t.Fatal(err)
	}
	b := setupWith(t, coretest.Options{Letters: letters})
	br := b.browser(t)
	br.get(t, "/forgot-password")
	br.post(t, "/forgot-password", url.Values{"email": {"plain@example.com"}})
	m := b.mailTo(t, 1, "plain@example.com")
	b.mustBeMail(t, m, "Lost your key, plain?", "Example Corp sends this.")
	if !strings.HasPrefix(m.Body, "Go to "+b.srv.URL+"/reset-password?token=") {
		t.Fatalf("body:\n%s", m.Body)
	}
}

// TestMakePrimary: a confirmed address becomes the primary one, the old
// one staying among the others; an unconfirmed one, another user's, or a
// form without its CSRF token is refused.
func TestMakePrimary(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser, User: b.admin})
	confirmed, err := b.env.Core.Emails.Add(ctx, usher.UserKey{ID: b.user.ID}, "work@example.com", true)
	if err != nil {
		t.Fatal(err)
	}
	pending, err := b.env.Core.Emails.Add(usher.WithPrincipal(context.Background(),
		&usher.Principal{Kind: usher.PrincipalUser, User: b.user}), usher.UserKey{ID: b.user.ID}, "maybe@example.com", false)
	if err != nil {
		t.Fatal(err)
	}
	rootsOwn, err := b.env.Core.Emails.Add(ctx, usher.UserKey{ID: b.admin.ID}, "root2@example.com", true)
	if err != nil {
		t.Fatal(err)
	}
	br := b.browser(t)
	br.login(t, "plain", password)
	p := br.get(t, "/account/emails")
	mustContain(t, p, "/account/emails/"+itoa(confirmed.ID)+"/primary")
	if strings.Contains(p.body, "/account/emails/"+itoa(pending.ID)+"/primary") {
		t.Error("an unconfirmed address is offered as primary")
	}
	tests := []struct {
		name       string
		id         int64
		form       url.Values
		wantStatus int
		want       string
	}{
		{"no CSRF token", confirmed.ID, url.Values{"csrf_token": {"forged"}}, http.StatusForbidden, ""},
		{"unconfirmed", pending.ID, url.Values{}, http.StatusOK, "only a confirmed address can become the primary one"},
		{"another user's", rootsOwn.ID, url.Values{}, http.StatusNotFound, ""},
		{"unknown", 99999, url.Values{}, http.StatusNotFound, ""},
		{"confirmed", confirmed.ID, url.Values{}, http.StatusOK, "work@example.com is now your primary address."},
	}
	for _, tt := range tests {
		p := br.post(t, "/account/emails/"+itoa(tt.id)+"/primary", tt.form)
		if p.status != tt.wantStatus || !strings.Contains(p.body, tt.want) {
			t.Fatalf("%s: %d\n%s", tt.name, p.status, p.body)
		}
	}
	u, err := b.env.Core.Users.Get(coretest.System(), usher.UserKey{ID: b.user.ID})
	if err != nil || u.Email != "work@example.com" || u.EmailConfirmedAt == nil {
		t.Fatalf("after: %+v, %v", u, err)
	}
	list, _ := b.env.Core.Emails.List(ctx, usher.UserKey{ID: b.user.ID})
	var old *usher.Email
	for _, e := range list {
		if e.Email == "plain@example.com" {
			old = e
		}
		if e.Email == "work@example.com" {
			t.Error("the new primary address is still a secondary one")
		}
	}
	if old == nil {
		t.Fatalf("the old primary address is gone: %v", list)
	}
	mustContain(t, br.get(t, "/account/emails"), "Your primary address is <strong>work@example.com</strong>")
}

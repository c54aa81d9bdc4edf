package native_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/core/coretest"
)

// TestPasswordChangedMail: changing the password through the API mails the
// account's address when and from where it happened, with the link to the
// reset page; a wrong current password changes nothing and mails nothing;
// a link in the user agent does not reach the mail.
func TestPasswordChangedMail(t *testing.T) {
	t.Parallel()
	b := setupMail(t, core.Policy{})
	const first, second = "the first long passphrase", "the second long passphrase"
	b.env.MustCreateUser(t, usher.UserCreate{Username: "pat", Email: "pat@example.com", Password: first, EmailConfirmed: true})
	var sess sessionBody
	b.call(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"login": "pat", "password": first}}, 200, &sess)
	b.call(t, req{method: "POST", path: "/v1/auth/password", token: sess.Token,
		body: map[string]any{"current_password": "not the password at all", "new_password": second}}, 403, nil)
	b.call(t, req{method: "POST", path: "/v1/auth/password", token: sess.Token, header: map[string]string{"User-Agent": "pat-cli/2.1 (see https://evil.example/help)"},
		body: map[string]any{"current_password": first, "new_password": second}}, 204, nil)
	m, _ := b.mailTo(t, 1, "pat@example.com")
	if m.Subject != "Your password was changed" {
		t.Fatalf("subject %q", m.Subject)
	}
	// The user agent is told by its product, never as sent: a link in it
	// would be a link in the mail.
	if strings.Contains(m.Body+m.HTML, "evil.example") {
		t.Errorf("the user agent's link is in the mail:\n%s", m.Body)
	}
	for _, want := range []string{"from 127.0.0.1", "(pat-cli)", "/forgot-password",
		"the password of the account with this address was changed"} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("the mail lacks %q:\n%s", want, m.Body)
		}
	}
	if !strings.Contains(m.HTML, "usher") || !strings.Contains(m.HTML, "/forgot-password") {
		t.Errorf("the HTML part:\n%s", m.HTML)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if msgs, err := b.smtp.Wait(ctx, 2); err == nil {
		t.Fatalf("a second mail: %q", msgs[1].Subject)
	}
}

// TestMakePrimaryAPI: a confirmed secondary address becomes the primary
// one and the old one a secondary one; an unconfirmed, unknown or other
// user's address is refused.
func TestMakePrimaryAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sys := coretest.System()
	confirmed, err := b.env.Core.Emails.Add(sys, usher.UserKey{ID: b.user.ID}, "work@example.com", true)
	if err != nil {
		t.Fatal(err)
	}
	pending, err := b.env.Core.Emails.Add(usher.WithPrincipal(context.Background(),
		&usher.Principal{Kind: usher.PrincipalUser, User: b.user}), usher.UserKey{ID: b.user.ID}, "maybe@example.com", false)
	if err != nil {
		t.Fatal(err)
	}
	roots, err := b.env.Core.Emails.Add(sys, usher.UserKey{ID: b.admin.ID}, "root2@example.com", true)
	if err != nil {
		t.Fatal(err)
	}
	path := func(id int64) string { return fmt.Sprintf("/v1/users/%d/emails/%d/primary", b.user.ID, id) }
	tests := []struct {
		name   string
		path   string
		status int
		want   string
	}{
		{"unconfirmed", path(pending.ID), 422, `"field":"email"`},
		{"another user's", path(roots.ID), 404, "not_found"},
		{"unknown", path(99999), 404, "not_found"},
		{"not a number", fmt.Sprintf("/v1/users/%d/emails/x/primary", b.user.ID), 400, ""},
		{"confirmed", path(confirmed.ID), 200, `"email":"work@example.com"`},
	}
	for _, tt := range tests {
		res := b.api.do(t, req{method: "POST", path: tt.path, token: b.adminTok})
		if res.status != tt.status || !strings.Contains(string(res.body), tt.want) {
			t.Fatalf("%s: %d %s", tt.name, res.status, res.body)
		}
	}
	list, err := b.env.Core.Emails.List(sys, usher.UserKey{ID: b.user.ID})
	if err != nil || len(list) != 2 || !slices.ContainsFunc(list, func(e *usher.Email) bool {
		return e.Email == "plain@example.com" && e.ConfirmedAt == nil
	}) {
		t.Fatalf("the secondary addresses after: %v, %v", list, err)
	}
}

// TestNoActivityMailToUnprovedAddress replays an account holding an
// address nobody proved (sign-up with --skip-email-confirmation, an
// account made by a holder of a user.create rule, a pending log-in with
// --allow-unconfirmed-login) whose password its maker knows: each log-in
// from a "new device" mailed the address, each password change too, and
// each change of address asked mailed it a notice naming the new address,
// with text the maker chose (the username, the user agent's product). Mail
// about an account's activity goes only to an address that was proved.
func TestNoActivityMailToUnprovedAddress(t *testing.T) {
	t.Parallel()
	b := setupMail(t, core.Policy{SkipEmailConfirmation: true})
	const victim, pw = "victim@corp.example", "mallory's long passphrase"
	b.call(t, req{method: "POST", path: "/v1/auth/signup", body: map[string]any{
		"username": "IT-Helpdesk.call.555-0100", "email": victim, "password": pw}}, http.StatusCreated, nil)
	var s sessionBody
	for i := range 4 {
		b.call(t, req{method: "POST", path: "/v1/auth/login", header: map[string]string{"User-Agent": fmt.Sprintf("agent%d", i)},
			body: map[string]any{"login": victim, "password": pw}}, http.StatusOK, &s)
	}
	cur, next := pw, "mallory's other passphrase"
	for range 2 {
		b.call(t, req{method: "POST", path: "/v1/auth/password", token: s.Token,
			body: map[string]any{"current_password": cur, "new_password": next}}, http.StatusNoContent, nil)
		cur, next = next, cur
		b.call(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"login": victim, "password": cur}}, http.StatusOK, &s)
	}
	b.call(t, req{method: "PATCH", path: "/v1/users/IT-Helpdesk.call.555-0100", token: s.Token, body: map[string]any{"email": "mallory@evil.example"}}, http.StatusOK, nil)
	// The one mail due: the code to the address asked for.
	m, _ := b.mailTo(t, 1, "mallory@evil.example")
	time.Sleep(300 * time.Millisecond)
	for _, m := range b.smtp.Messages() {
		if slices.Contains(m.To, victim) {
			t.Errorf("mail to the unproved address: %q", m.Subject)
		}
	}
	if len(b.smtp.Messages()) != 1 {
		t.Errorf("%d mails, want the code's alone (%q)", len(b.smtp.Messages()), m.Subject)
	}
}

// TestSignInMailQuotesNoAgentText replays whoever holds an account's
// password signing in with a user agent that is no product name but a
// message ("Okta SSO check - ignore. Help: it-desk.co") or text turned
// around by a right-to-left override: the alarm mail to the account's
// owner quoted up to 40 bytes of it. It names a product, or no device.
func TestSignInMailQuotesNoAgentText(t *testing.T) {
	t.Parallel()
	b := setupMail(t, core.Policy{})
	const pw = "pat's long passphrase"
	for i, agent := range []string{"Okta SSO check - ignore. Help: it-desk.co", "\u202eoc.ksed-ti ta pleh"} {
		name := fmt.Sprintf("pat%d", i)
		b.env.MustCreateUser(t, usher.UserCreate{Username: name, Email: name + "@example.com", Password: pw, EmailConfirmed: true})
		b.call(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"login": name, "password": pw}}, http.StatusOK, nil)
		b.call(t, req{method: "POST", path: "/v1/auth/login", header: map[string]string{"User-Agent": agent},
			body: map[string]any{"login": name, "password": pw}}, http.StatusOK, nil)
		m, _ := b.mailTo(t, i+1, name+"@example.com")
		for _, bad := range []string{"it-desk", "ksed", "\u202e", "Okta"} {
			if strings.Contains(m.Body+m.HTML, bad) {
				t.Errorf("the mail quotes the agent (%q):\n%s", bad, m.Body)
			}
		}
	}
}

// TestMakePrimaryMailsNoUnprovedAddress: as TestNoActivityMailToUnprovedAddress,
// by another route: whoever signed up with someone else's address (no
// proof asked) added an address of their own, confirmed it and made it
// primary, and the replaced address — which nobody proved — was mailed
// "Your e-mail address was changed", naming an address and a username of
// the signer's choosing. A proved address replaced is still told.
func TestMakePrimaryMailsNoUnprovedAddress(t *testing.T) {
	t.Parallel()
	b := setupMail(t, core.Policy{SkipEmailConfirmation: true})
	const victim, pw = "victim@corp.example", "mallory's long passphrase"
	const lure = "it-desk.restore.account@evil.example"
	b.call(t, req{method: "POST", path: "/v1/auth/signup", body: map[string]any{
		"username": "IT-Helpdesk.call.555-0100", "email": victim, "password": pw}}, http.StatusCreated, nil)
	var s sessionBody
	b.call(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"login": victim, "password": pw}}, http.StatusOK, &s)
	var e struct{ ID int64 }
	b.call(t, req{method: "POST", path: "/v1/users/IT-Helpdesk.call.555-0100/emails", token: s.Token, body: map[string]any{"email": lure}}, http.StatusCreated, &e)
	_, code := b.mailTo(t, 1, lure)
	b.call(t, req{method: "POST", path: "/v1/auth/confirm-email", body: map[string]any{"code": code}}, http.StatusOK, nil)
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/users/IT-Helpdesk.call.555-0100/emails/%d/primary", e.ID), token: s.Token}, http.StatusOK, nil)
	time.Sleep(300 * time.Millisecond)
	for _, m := range b.smtp.Messages() {
		if slices.Contains(m.To, victim) {
			t.Fatalf("mail to the unproved address %s: %q\n%s", victim, m.Subject, m.Body)
		}
	}
	// The proved address, replaced in turn by the first, is told.
	b.call(t, req{method: "POST", path: "/v1/users/IT-Helpdesk.call.555-0100/emails", token: s.Token, body: map[string]any{"email": "second@evil.example"}}, http.StatusCreated, &e)
	_, code = b.mailTo(t, 2, "second@evil.example")
	b.call(t, req{method: "POST", path: "/v1/auth/confirm-email", body: map[string]any{"code": code}}, http.StatusOK, nil)
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/users/IT-Helpdesk.call.555-0100/emails/%d/primary", e.ID), token: s.Token}, http.StatusOK, nil)
	if m, _ := b.mailTo(t, 3, lure); !strings.Contains(m.Body, "second@evil.example") {
		t.Errorf("the proved address replaced was not told: %q\n%s", m.Subject, m.Body)
	}
}

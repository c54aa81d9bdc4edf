package native_test

// The threat model of an account's life, replayed over HTTP: an account
// made with someone else's address before they came gives its maker no
// way into it once its owner takes it.

import (
	"net/http"
	"strings"
	"testing"

	"usher/connector/oidctest"
)

// TestProviderLogInNotLinkedToAccountWithPassword replays a pre-account
// hijack through a provider's log-in: Mallory signs up with the victim's
// address and a password of hers. The victim, logging in through the
// provider, was told to confirm the address; once they did (the code
// reaches their mailbox), their next log-in through the provider was
// linked to Mallory's account, whose password Mallory still knows. An
// identity is never linked by address to an account with a password, and
// the answer no longer asks anyone to confirm the address.
func TestProviderLogInNotLinkedToAccountWithPassword(t *testing.T) {
	t.Parallel()
	b, idp := setupMailAndOIDC(t)
	const victim, malloryPW = "victim@corp.example", "mallory's long passphrase"
	res := b.api.do(t, req{method: "POST", path: "/v1/auth/signup", body: map[string]any{
		"username": "victim-corp", "email": victim, "password": malloryPW}})
	if res.status != http.StatusCreated {
		t.Fatalf("mallory's sign-up with the victim's address: %d %s", res.status, res.body)
	}
	mails := 1 // the confirmation code goes to the victim
	refused := func(when string) {
		t.Helper()
		res := b.oidcLogIn(t, idp)
		if res.status != http.StatusConflict {
			t.Fatalf("%s provider log-in: %d %s", when, res.status, res.body)
		}
		if p := res.problem(t); p.Code != "account_has_password" || strings.Contains(strings.ToLower(p.Detail), "confirm") {
			t.Errorf("%s provider log-in: %s %q, want account_has_password and no word of confirming", when, p.Code, p.Detail)
		}
	}
	// The victim logs in through the provider, which vouches for the address.
	idp.SetUser(oidctest.User{Subject: "victim-1", Email: victim, EmailVerified: true, Username: "victim"})
	refused("the first")
	// The victim confirms the address all the same: the code reaches them.
	if res := b.api.do(t, req{method: "POST", path: "/v1/auth/confirm/resend", body: map[string]any{"email": victim}}); res.status != http.StatusAccepted {
		t.Fatalf("resend: %d %s", res.status, res.body)
	}
	mails++
	_, code := b.nextMail(t, mails, victim)
	if res := b.api.do(t, req{method: "POST", path: "/v1/auth/confirm", body: map[string]any{"code": code}}); res.status != http.StatusOK {
		t.Fatalf("the victim confirms: %d %s", res.status, res.body)
	}
	refused("the second")
	var u userBody
	b.api.do(t, req{method: "GET", path: "/v1/users/victim-corp", token: b.adminTok}).decode(t, &u)
	if len(u.Identities) != 0 {
		t.Fatalf("the victim's identity was linked to mallory's account: %+v", u)
	}
}

package native_test

import (
	"fmt"
	"net/http"
	"testing"

	"usher"
	"usher/connector/oidctest"
	"usher/core/coretest"
)

// TestUsernameTakesNoOneElsesAddress replays a squat: a plain user took a
// mailbox nobody held yet as their username (PATCH /v1/users/mallory
// {"username": "victim@corp.example"}, 200), proving nothing, and one text
// names one account, so the mailbox's owner could then neither sign up
// with it (409 email_taken) nor sign in through a provider that vouches for
// it (409). A username shaped like an address must be one of the account's
// own — its address, or a confirmed secondary one — unless an
// administrator gives it.
func TestUsernameTakesNoOneElsesAddress(t *testing.T) {
	t.Parallel()
	b, idp := setupMailAndOIDC(t)
	mails := 0
	const victim = "victim@corp.example"
	mal := b.signUpConfirmed(t, &mails, "mallory", "mallory@evil.example")
	root := b.env.MustToken(t, b.admin.ID, usher.TokenPersonal)
	for _, tt := range []struct {
		name string
		rq   req
	}{
		{"a rename", req{method: "PATCH", path: "/v1/users/mallory", token: mal, body: map[string]any{"username": victim}}},
		{"a sign-up with another address", req{method: "POST", path: "/v1/auth/signup", body: map[string]any{
			"username": victim, "email": "mallory2@evil.example", "password": "a passphrase of mallory"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := b.api.do(t, tt.rq)
			if e := res.problem(t).Errors; res.status != http.StatusUnprocessableEntity || len(e) != 1 || e[0].Field != "username" || e[0].Code != usher.CodeNotAllowed {
				t.Fatalf("%d %s, want 422 naming username", res.status, res.body)
			}
		})
	}
	// The owner signs up with the address, and signs in through the
	// provider that vouches for it.
	b.call(t, req{method: "POST", path: "/v1/auth/signup", body: map[string]any{
		"username": "victim", "email": victim, "password": "a passphrase of victim"}}, http.StatusCreated, nil)
	mails++
	idp.SetUser(oidctest.User{Subject: "other-sub", Email: "other@corp.example", EmailVerified: true, Username: "other"})
	if res := b.oidcLogIn(t, idp); res.status != http.StatusOK {
		t.Fatalf("a provider log-in: %d %s", res.status, res.body)
	}

	// What stays allowed: an account's own address, confirmed secondary
	// ones, a sign-up's own address, and an administrator's word.
	b.call(t, req{method: "PATCH", path: "/v1/users/mallory", token: mal, body: map[string]any{"username": "MALLORY@evil.example"}}, http.StatusOK, nil)
	b.call(t, req{method: "PATCH", path: "/v1/users/MALLORY@evil.example", token: mal, body: map[string]any{"username": "mallory"}}, http.StatusOK, nil)
	b.call(t, req{method: "POST", path: "/v1/auth/signup", body: map[string]any{
		"username": "kim@corp.example", "email": "kim@corp.example", "password": "a passphrase of kim"}}, http.StatusCreated, nil)
	mails++
	mallory, err := b.env.Core.Users.Get(coretest.System(), usher.UserKey{Username: "mallory"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Emails.Add(coretest.System(), usher.UserKey{ID: mallory.ID}, "m@second.example", true); err != nil {
		t.Fatal(err)
	}
	b.call(t, req{method: "PATCH", path: "/v1/users/mallory", token: mal, body: map[string]any{"username": "m@second.example"}}, http.StatusOK, nil)
	b.call(t, req{method: "PATCH", path: "/v1/users/m@second.example", token: root, body: map[string]any{"username": "lee@corp.example"}}, http.StatusOK, nil)
}

// TestEndingACredentialEndsTheChangeItAsked replays a take-over the
// owner's recovery left open: a stolen session asked to move the account
// to the thief's address (the code in the thief's mailbox); the owner
// ended that session (DELETE /v1/me/sessions/{id}), as the new sign-in's
// mail tells them to — or revoked the token the stolen session had
// minted, which asked again after the owner changed the password — and
// the thief's code still moved the account (POST /v1/auth/confirm 200),
// whose resets then went to the thief. Ending one session, or revoking a
// token, ends the change the account waits for, as every other take-back
// does.
func TestEndingACredentialEndsTheChangeItAsked(t *testing.T) {
	t.Parallel()
	for _, revoke := range []bool{false, true} {
		t.Run(fmt.Sprintf("a token revoked: %v", revoke), func(t *testing.T) {
			t.Parallel()
			b, _ := setupMailAndOIDC(t)
			mails := 0
			const thief = "mallory@evil.example"
			own := b.signUpConfirmed(t, &mails, "dana", "dana@corp.example")
			var s sessionBody
			b.call(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"login": "dana", "password": "a passphrase of dana"}}, http.StatusOK, &s)
			asker, end := s.Token, fmt.Sprintf("/v1/me/sessions/%d", s.SessionID)
			if revoke {
				var tok struct {
					ID    int64  `json:"id"`
					Token string `json:"token"`
				}
				b.call(t, req{method: "POST", path: "/v1/me/tokens", token: s.Token, body: map[string]any{"name": "ci"}}, http.StatusCreated, &tok)
				asker, end = tok.Token, fmt.Sprintf("/v1/me/tokens/%d", tok.ID)
			}
			b.call(t, req{method: "PATCH", path: "/v1/users/dana", token: asker, body: map[string]any{"email": thief}}, http.StatusOK, nil)
			mails += 2 // the code to the new address, the notice to the old
			_, code := b.mailTo(t, mails, thief)
			b.call(t, req{method: "DELETE", path: end, token: own}, http.StatusNoContent, nil)
			if res := b.api.do(t, req{method: "POST", path: "/v1/auth/confirm", body: map[string]any{"code": code}}); res.status == http.StatusOK {
				t.Fatalf("the change asked with the credential ended after it was confirmed: the account's address is now %s", thief)
			}
			var me struct {
				Email            string `json:"email"`
				UnconfirmedEmail string `json:"unconfirmed_email"`
			}
			b.call(t, req{method: "GET", path: "/v1/me", token: own}, http.StatusOK, &me)
			if me.Email != "dana@corp.example" || me.UnconfirmedEmail != "" {
				t.Fatalf("the account after: %+v", me)
			}
		})
	}
}

// TestUsernameAddressStaysTheAccounts: past TestUsernameTakesNoOneElsesAddress,
// a reviewer kept a claim on an address not the account's three ways: a
// team's owner named a service account (which has no address) by another's
// mailbox (201); a sign-up named itself by its own unproved address and
// then moved the account to another address (the username stayed, and the
// mailbox's owner, no longer reached by the account's resets, could not
// sign up); an account named itself by a confirmed secondary address and
// deleted the address. The service account is refused (422), and an
// address the username names is not taken away — changed, deleted, or
// replaced by a change confirmed after the rename — until the account is
// renamed (409).
func TestUsernameAddressStaysTheAccounts(t *testing.T) {
	t.Parallel()
	b, _ := setupMailAndOIDC(t)
	mails := 0
	mal := b.signUpConfirmed(t, &mails, "mallory", "mallory@evil.example")
	var team groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: mal, body: map[string]any{"kind": "team", "handle": "mteam"}}, http.StatusCreated, &team)
	b.refused(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/service-accounts", team.ID), token: mal,
		body: map[string]any{"username": "victim@corp.example"}}, http.StatusUnprocessableEntity, usher.CodeValidationFailed)

	mallory, err := b.env.Core.Users.Get(coretest.System(), usher.UserKey{Username: "mallory"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := b.env.Core.Emails.Add(coretest.System(), usher.UserKey{ID: mallory.ID}, "m@second.example", true)
	if err != nil {
		t.Fatal(err)
	}
	me := fmt.Sprintf("/v1/users/%d", mallory.ID)
	b.call(t, req{method: "PATCH", path: me, token: mal, body: map[string]any{"username": "m@second.example"}}, http.StatusOK, nil)
	b.refused(t, req{method: "DELETE", path: fmt.Sprintf("%s/emails/%d", me, second.ID), token: mal}, http.StatusConflict, usher.CodeConflict)

	b.call(t, req{method: "PATCH", path: me, token: mal, body: map[string]any{"username": "mallory@evil.example"}}, http.StatusOK, nil)
	b.refused(t, req{method: "PATCH", path: me, token: mal, body: map[string]any{"email": "mallory@other.example"}}, http.StatusConflict, usher.CodeConflict)
	// Renamed in the same request, the change may go on.
	b.call(t, req{method: "PATCH", path: me, token: mal, body: map[string]any{"username": "mallory", "email": "mallory@other.example"}}, http.StatusOK, nil)
	mails += 2 // the code to the new address, the notice to the old
	_, code := b.mailTo(t, mails, "mallory@other.example")
	// Renamed to the address while the change waits: the code changes
	// nothing until the account is renamed again, then it does.
	b.call(t, req{method: "PATCH", path: me, token: mal, body: map[string]any{"username": "mallory@evil.example"}}, http.StatusOK, nil)
	b.refused(t, req{method: "POST", path: "/v1/auth/confirm", body: map[string]any{"code": code}}, http.StatusConflict, usher.CodeConflict)
	b.call(t, req{method: "PATCH", path: me, token: mal, body: map[string]any{"username": "mallory"}}, http.StatusOK, nil)
	b.call(t, req{method: "POST", path: "/v1/auth/confirm", body: map[string]any{"code": code}}, http.StatusOK, nil)
	// The account gave its old address up: its mailbox is free.
	b.call(t, req{method: "POST", path: "/v1/auth/signup", body: map[string]any{
		"username": "newcomer", "email": "mallory@evil.example", "password": "a passphrase of newcomer"}}, http.StatusCreated, nil)
}

// TestCaseChangeOfNamedAddressConfirms: an account named by its own
// address asked to change only the address's case (one key, one mailbox:
// the code was mailed); the username still names the account's own
// address after it, yet the confirmation was refused 409 (round 40). A
// change of case alone keeps the username the account's.
func TestCaseChangeOfNamedAddressConfirms(t *testing.T) {
	t.Parallel()
	b, _ := setupMailAndOIDC(t)
	mails := 0
	mal := b.signUpConfirmed(t, &mails, "mallory", "mallory@evil.example")
	b.call(t, req{method: "PATCH", path: "/v1/users/mallory", token: mal, body: map[string]any{"username": "mallory@evil.example"}}, http.StatusOK, nil)
	b.call(t, req{method: "PATCH", path: "/v1/users/mallory@evil.example", token: mal, body: map[string]any{"email": "Mallory@evil.example"}}, http.StatusOK, nil)
	mails += 2 // the code to the new spelling, the notice to the old
	_, code := b.mailTo(t, mails, "Mallory@evil.example")
	b.call(t, req{method: "POST", path: "/v1/auth/confirm", body: map[string]any{"code": code}}, http.StatusOK, nil)
}

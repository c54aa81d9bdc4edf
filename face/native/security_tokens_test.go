package native_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/core/coretest"
)

// The tests here replay, over HTTP, the attacks of the security review on
// avatars, tokens, JWTs and sessions, and prove each is refused.

// tokenBody is the part of a minted token the tests read.
type tokenBody struct {
	ID        int64      `json:"id"`
	Token     string     `json:"token"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// mustMint mints a token over HTTP with the credential and returns it.
func (b *bundle) mustMint(t *testing.T, credential string, body map[string]any) tokenBody {
	t.Helper()
	var tok tokenBody
	b.call(t, req{method: "POST", path: "/v1/me/tokens", token: credential, body: body}, http.StatusCreated, &tok)
	return tok
}

// mustJWT exchanges a credential for a JWT over HTTP.
func (b *bundle) mustJWT(t *testing.T, credential string) string {
	t.Helper()
	var j struct {
		JWT string `json:"jwt"`
	}
	b.call(t, req{method: "POST", path: "/v1/auth/jwt", token: credential}, http.StatusOK, &j)
	return j.JWT
}

// mustLogin logs in over HTTP and returns the session token.
func (b *bundle) mustLogin(t *testing.T, login, password string) string {
	t.Helper()
	var s struct {
		Token string `json:"token"`
	}
	b.call(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"login": login, "password": password}}, http.StatusOK, &s)
	return s.Token
}

// wantProblem checks a refusal's status and code.
func wantProblem(t *testing.T, what string, res *response, status int, code string) {
	t.Helper()
	if res.status != status {
		t.Fatalf("%s: %d %s, want %d %s", what, res.status, res.body, status, code)
	}
	if p := res.problem(t); p.Code != code || p.Status != status {
		t.Fatalf("%s: %s, want code %s", what, res.body, code)
	}
}

// TestAvatarAnswerSameForUnknownAndBareUser asks anonymously for the avatar
// of users who exist without one, a deleted one and ones who never existed:
// all get the one answer, so the endpoint tells nobody which names exist.
func TestAvatarAnswerSameForUnknownAndBareUser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	gone := b.env.MustCreateUser(t, usher.UserCreate{Username: "gone", Email: "gone@example.com"})
	if _, err := b.env.Core.Users.Delete(coretest.System(), usher.UserKey{ID: gone.ID}); err != nil {
		t.Fatal(err)
	}
	paths := []struct{ name, path string }{
		{"a user without an avatar, by name", "/v1/users/plain/avatar"},
		{"a user without an avatar, by id", fmt.Sprintf("/v1/users/%d/avatar", b.user.ID)},
		{"a deleted user, by id", fmt.Sprintf("/v1/users/%d/avatar", gone.ID)},
		{"a deleted user, by name", "/v1/users/gone/avatar"},
		{"nobody, by name", "/v1/users/nobody-at-all/avatar"},
		{"nobody, by id", "/v1/users/987654/avatar"},
	}
	var first map[string]any
	for _, p := range paths {
		res := b.api.do(t, req{method: "GET", path: p.path})
		if res.status != http.StatusNotFound {
			t.Fatalf("%s: %d %s", p.name, res.status, res.body)
		}
		// Everything but the request's own id is the same.
		var body map[string]any
		res.decode(t, &body)
		delete(body, "request_id")
		if first == nil {
			first = body
			continue
		}
		if !reflect.DeepEqual(body, first) {
			t.Errorf("%s answers %v; %s answers %v", p.name, body, paths[0].name, first)
		}
	}
	// A user with an avatar still gets it.
	b.call(t, req{method: "PUT", path: "/v1/users/plain/avatar", token: b.userTok, body: pngImage(t),
		header: map[string]string{"Content-Type": "image/png"}}, http.StatusOK, nil)
	if res := b.api.do(t, req{method: "GET", path: "/v1/users/plain/avatar"}); res.status != http.StatusOK || res.header.Get("Content-Type") != "image/png" {
		t.Fatalf("an avatar: %d %s", res.status, res.header)
	}
}

// TestScopedTokenCannotMintWiderToken mints tokens with tokens of limited
// scope and lifetime: a token mints only tokens with a subset of its scopes
// that expire no later than it does; a session, the account's own log-in,
// may mint any.
func TestScopedTokenCannotMintWiderToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	now := time.Now().UTC()
	soon, later := now.Add(24*time.Hour).Truncate(time.Second), now.Add(48*time.Hour).Truncate(time.Second)
	api := b.env.MustToken(t, b.user.ID, usher.TokenPersonal, usher.ScopeAPI)
	adminAPI := b.env.MustToken(t, b.admin.ID, usher.TokenPersonal, usher.ScopeAPI)
	short := b.mustMint(t, b.userTok, map[string]any{"name": "short", "expires_at": soon})
	tests := []struct {
		name       string
		credential string
		body       map[string]any
		status     int
		code       string
	}{
		{"api mints an unscoped token", api, map[string]any{"name": "x"}, 403, usher.CodeScopeExceeded},
		{"admin's api mints sudo", adminAPI, map[string]any{"name": "x", "scopes": []string{"sudo"}}, 403, usher.CodeScopeExceeded},
		{"admin's api mints api and sudo", adminAPI, map[string]any{"name": "x", "scopes": []string{"api", "sudo"}}, 403, usher.CodeScopeExceeded},
		{"admin's api mints an unscoped application key", adminAPI, map[string]any{"name": "x", "kind": "application"}, 403, usher.CodeScopeExceeded},
		{"api mints api", api, map[string]any{"name": "x", "scopes": []string{"api"}}, 201, ""},
		{"api mints read_api", api, map[string]any{"name": "x", "scopes": []string{"read_api"}}, 201, ""},
		{"expiring token mints a token that never expires", short.Token, map[string]any{"name": "x"}, 403, usher.CodeLifetimeExceeded},
		{"expiring token mints a token that outlives it", short.Token, map[string]any{"name": "x", "expires_at": later}, 403, usher.CodeLifetimeExceeded},
		{"expiring token mints a token that dies with it", short.Token, map[string]any{"name": "x", "expires_at": soon}, 201, ""},
		{"unscoped token mints sudo for an admin", b.adminTok, map[string]any{"name": "x", "scopes": []string{"sudo"}}, 201, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := b.api.do(t, req{method: "POST", path: "/v1/me/tokens", token: tt.credential, body: tt.body})
			if tt.status == 201 {
				if res.status != 201 {
					t.Fatalf("%d %s", res.status, res.body)
				}
				return
			}
			wantProblem(t, tt.name, res, tt.status, tt.code)
		})
	}

	// A JWT made from the api token carries its scope and mints no wider.
	jwt := b.mustJWT(t, api)
	wantProblem(t, "a JWT of an api token mints an unscoped token",
		b.api.do(t, req{method: "POST", path: "/v1/me/tokens", token: jwt, body: map[string]any{"name": "x"}}), 403, usher.CodeScopeExceeded)

	// A session is the account's own log-in: unscoped, and its tokens may
	// outlive it.
	b.env.MustCreateUser(t, usher.UserCreate{Username: "walker", Email: "walker@example.com", Password: "correct horse battery staple"})
	session := b.mustLogin(t, "walker", "correct horse battery staple")
	if tok := b.mustMint(t, session, map[string]any{"name": "forever"}); tok.ExpiresAt != nil || len(tok.Scopes) != 0 {
		t.Fatalf("a session's token: %+v", tok)
	}

	// Rotating a wider token of the same account is minting one.
	wide := b.mustMint(t, b.userTok, map[string]any{"name": "wide"})
	wantProblem(t, "api rotates an unscoped token",
		b.api.do(t, req{method: "POST", path: fmt.Sprintf("/v1/me/tokens/%d/rotate", wide.ID), token: api}), 403, usher.CodeScopeExceeded)
	wantProblem(t, "an expiring token rotates one that never expires",
		b.api.do(t, req{method: "POST", path: fmt.Sprintf("/v1/me/tokens/%d/rotate", wide.ID), token: short.Token}), 403, usher.CodeLifetimeExceeded)
	var rotated tokenBody
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/me/tokens/%d/rotate", short.ID), token: short.Token}, http.StatusOK, &rotated)
	if rotated.ExpiresAt == nil || !rotated.ExpiresAt.Equal(soon) {
		t.Fatalf("a token rotated by itself: %+v", rotated)
	}

	// A service account's token is no wider than the credential of the
	// team owner who mints it.
	var team struct{ ID int64 }
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "build"}}, 201, &team)
	sa := fmt.Sprintf("/v1/groups/%d/service-accounts", team.ID)
	b.call(t, req{method: "POST", path: sa, token: b.userTok, body: map[string]any{"username": "build-bot"}}, 201, nil)
	var saTok tokenBody
	b.call(t, req{method: "POST", path: sa + "/build-bot/token", token: api}, 201, &saTok)
	if len(saTok.Scopes) != 1 || saTok.Scopes[0] != usher.ScopeAPI {
		t.Fatalf("an api token's service-account token has scopes %v", saTok.Scopes)
	}
	b.call(t, req{method: "POST", path: sa + "/build-bot/token", token: rotated.Token}, 201, &saTok)
	if saTok.ExpiresAt == nil || saTok.ExpiresAt.After(soon) {
		t.Fatalf("an expiring token's service-account token expires at %v", saTok.ExpiresAt)
	}
}

// TestBoundedTokenSetsNoOwnLogIn: an administrator's token limited to
// `api` and an hour set its own account's password (PUT
// /v1/users/{id}/password asks an administrator for no current password),
// logged in with it, and with the session minted a token with `sudo` that
// never expires; or did the same through another administrator's account,
// or one it made an administrator. A credential bounded by scopes or an
// expiry now sets no password, identity or primary address of its own
// account or an administrator's, and makes no administrator — each opens
// sessions without its bound; a session still does.
func TestBoundedTokenSetsNoOwnLogIn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	boss, bossTok := b.mustPrincipal(t, "boss", true)
	soon := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	scoped := b.mustMint(t, bossTok, map[string]any{"name": "ci", "scopes": []string{"api"}})
	expiring := b.mustMint(t, bossTok, map[string]any{"name": "hour", "expires_at": soon})
	jwt := b.mustJWT(t, bossTok)
	me := fmt.Sprintf("/v1/users/%d", boss.ID)
	peer, _ := b.mustPrincipal(t, "boss2", true)
	other := fmt.Sprintf("/v1/users/%d", peer.ID)
	users, _ := b.env.Counts(t)
	for _, c := range []struct {
		name, token, code string
	}{
		{"scoped", scoped.Token, usher.CodeScopeExceeded},
		{"expiring", expiring.Token, usher.CodeLifetimeExceeded},
		{"a JWT", jwt, usher.CodeLifetimeExceeded},
	} {
		for _, r := range []req{
			{method: "PUT", path: me + "/password", body: map[string]any{"password": "a brand new secret phrase 42"}},
			{method: "PATCH", path: me, body: map[string]any{"email": "root@evil.example"}},
			{method: "PATCH", path: me, body: map[string]any{"external_id": "mine"}},
			// Another administrator's log-in, or a new one, is as wide.
			{method: "PUT", path: other + "/password", body: map[string]any{"password": "a brand new secret phrase 42"}},
			{method: "PATCH", path: other, body: map[string]any{"email": "boss2@evil.example"}},
			{method: "PATCH", path: "/v1/users/plain", body: map[string]any{"admin": true}},
			{method: "POST", path: "/v1/users", body: map[string]any{"username": "shadow", "email": "shadow@evil.example",
				"password": "a shadow secret phrase 42", "admin": true, "skip_confirmation": true}},
		} {
			r.token = c.token
			wantProblem(t, c.name+" "+r.method+" "+r.path, b.api.do(t, r), http.StatusForbidden, c.code)
		}
		// What opens no session it still changes, and others' passwords.
		b.call(t, req{method: "PATCH", path: me, token: c.token, body: map[string]any{"bio": c.name}}, http.StatusOK, nil)
		b.call(t, req{method: "PUT", path: "/v1/users/plain/password", token: c.token,
			body: map[string]any{"password": "a plain new secret phrase 42"}}, http.StatusNoContent, nil)
	}
	for _, login := range []string{"boss", "boss2"} {
		if _, err := b.env.Core.Auth.Login(context.Background(), login, "a brand new secret phrase 42"); err == nil {
			t.Fatalf("a bounded token set %s's password", login)
		}
	}
	if u, _ := b.env.Counts(t); u != users {
		t.Fatalf("a bounded token made an administrator: users %d, then %d", users, u)
	}
	// A session may.
	session := b.mustLogin(t, "boss", matrixPassword)
	b.call(t, req{method: "PUT", path: me + "/password", token: session, body: map[string]any{"password": "a brand new secret phrase 42"}},
		http.StatusNoContent, nil)
	if _, err := b.env.Core.Auth.Login(context.Background(), "boss", "a brand new secret phrase 42"); err != nil {
		t.Fatalf("the password a session set: %v", err)
	}
}

// TestBoundedTokenGivesNoRules replays an administrator's token bounded
// by scopes or an hour widening a log-in past its bound: it may set a
// plain account's password (that opens no more than the account may do),
// but then gave the account what a role gives — rules of "* *" on a role
// it made, a place in a role that allows, out of one that denies, a merge,
// a role switched back on — and the account's session, which has no
// bound, kept it after the token ended and minted tokens that never
// expire. The same credential changes none of that now; a session does.
func TestBoundedTokenGivesNoRules(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, bossTok := b.mustPrincipal(t, "boss", true)
	session := b.mustLogin(t, "boss", matrixPassword)
	soon := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	granting := b.mustRole(t, "granting", nil, allow("audit", "read"))
	denying := b.mustRole(t, "denying", []*usher.User{b.user}, deny("user", "read"))
	// Archived with its rules; switched on again it would give them to
	// whoever the token puts in it. (A member of it would be one whose
	// log-in the token may not set: TestBoundedTokenSetsNoLogInOfRuleHolders.)
	sleeping := b.mustRole(t, "sleeping", nil, allow("audit", "read"))
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/archive", sleeping.ID), token: session}, http.StatusOK, nil)
	for i, c := range []struct {
		name, token, code string
	}{
		{"scoped", b.mustMint(t, bossTok, map[string]any{"name": "ci", "scopes": []string{"api"}}).Token, usher.CodeScopeExceeded},
		{"expiring", b.mustMint(t, bossTok, map[string]any{"name": "hour", "expires_at": soon}).Token, usher.CodeLifetimeExceeded},
		{"a token's JWT", b.mustJWT(t, bossTok), usher.CodeLifetimeExceeded},
		// Shorter than its session: a credential of its own.
		{"a session's JWT", b.mustJWT(t, session), usher.CodeLifetimeExceeded},
	} {
		// The account's log-in it still sets.
		password := fmt.Sprintf("a plain new secret phrase %d", i)
		b.call(t, req{method: "PUT", path: "/v1/users/plain/password", token: c.token, body: map[string]any{"password": password}},
			http.StatusNoContent, nil)
		var wide struct {
			ID int64 `json:"id"`
		}
		b.call(t, req{method: "POST", path: "/v1/groups", token: c.token,
			body: map[string]any{"kind": "role", "handle": fmt.Sprintf("wide-%d", i), "members": []int64{b.user.ID}}}, http.StatusCreated, &wide)
		for _, r := range []req{
			{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/rules", wide.ID),
				body: map[string]any{"rules": []map[string]string{{"resource": "*", "operation": "*", "access": "allow"}}}},
			{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/plain", granting.ID), body: map[string]any{}},
			{method: "PUT", path: "/v1/users/plain/groups", body: map[string]any{"kind": "role", "add_to_groups": []string{"granting"}}},
			{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d/members/plain", denying.ID)},
			{method: "POST", path: fmt.Sprintf("/v1/groups/%d/merge", granting.ID), body: map[string]any{"into": wide.ID}},
			{method: "POST", path: fmt.Sprintf("/v1/groups/%d/unarchive", sleeping.ID)},
		} {
			r.token = c.token
			wantProblem(t, c.name+" "+r.method+" "+r.path, b.api.do(t, r), http.StatusForbidden, c.code)
		}
		// The account's session gained nothing.
		plain := b.mustLogin(t, "plain", password)
		b.call(t, req{method: "GET", path: "/v1/audit", token: plain}, http.StatusForbidden, nil)
		b.call(t, req{method: "GET", path: "/v1/users/boss", token: plain}, http.StatusForbidden, nil)
	}
	// A session may.
	b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/plain", granting.ID), token: session, body: map[string]any{}},
		http.StatusOK, nil)
	b.call(t, req{method: "GET", path: "/v1/audit", token: b.mustLogin(t, "plain", "a plain new secret phrase 3")}, http.StatusOK, nil)
}

// mustBoss makes an administrator, boss, and returns a session of theirs
// and a token of theirs that expires in an hour.
func (b *bundle) mustBoss(t *testing.T) (session, hour string) {
	t.Helper()
	_, bossTok := b.mustPrincipal(t, "boss", true)
	session = b.mustLogin(t, "boss", matrixPassword)
	hour = b.mustMint(t, bossTok, map[string]any{"name": "hour", "expires_at": time.Now().UTC().Add(time.Hour).Truncate(time.Second)}).Token
	return session, hour
}

// TestBoundedTokenSetsNoLogInOfRuleHolders: past the test above, an
// administrator's expiring token set the password of an account that a
// role already gave rights — a live one, or one deleted or blocked, which
// keeps its roles and which the token restored first — and the account's
// session, with no bound, kept them. Such an account's log-in is as wide
// as an administrator's to the extent of its rules: the token sets none of
// it. An account that roles only deny stays one it may set.
func TestBoundedTokenSetsNoLogInOfRuleHolders(t *testing.T) {
	t.Parallel()
	b := setup(t)
	session, hour := b.mustBoss(t)
	held, _ := b.mustPrincipal(t, "held", false)
	deleted, _ := b.mustPrincipal(t, "deleted", false)
	blocked, _ := b.mustPrincipal(t, "blocked", false)
	denied, _ := b.mustPrincipal(t, "denied", false)
	// Members of a role switched off, which unarchiving or restoring it
	// switches on again (round 14: the first fix read live roles only).
	shelved, _ := b.mustPrincipal(t, "shelved", false)
	dropped, _ := b.mustPrincipal(t, "dropped", false)
	b.mustRole(t, "auditors", []*usher.User{held, deleted, blocked}, allow("audit", "read"))
	b.mustRole(t, "barred", []*usher.User{denied}, deny("user", "read"))
	archived := b.mustRole(t, "archived", []*usher.User{shelved}, allow("audit", "read"))
	gone := b.mustRole(t, "gone", []*usher.User{dropped}, allow("audit", "read"))
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/archive", archived.ID), token: session}, http.StatusOK, nil)
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d", gone.ID), token: session}, http.StatusOK, nil)
	b.call(t, req{method: "DELETE", path: "/v1/users/deleted", token: session}, http.StatusOK, nil)
	b.call(t, req{method: "POST", path: "/v1/users/blocked/block", token: session}, http.StatusOK, nil)
	// Restoring them is no log-in.
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%d/undelete", deleted.ID), token: hour}, http.StatusOK, nil)
	b.call(t, req{method: "POST", path: "/v1/users/blocked/unblock", token: hour}, http.StatusOK, nil)
	const password = "a taken-over secret phrase"
	for _, name := range []string{"held", "deleted", "blocked", "shelved", "dropped"} {
		for _, r := range []req{
			{method: "PUT", path: "/v1/users/" + name + "/password", body: map[string]any{"password": password}},
			{method: "PATCH", path: "/v1/users/" + name, body: map[string]any{"email": name + "@evil.example"}},
			{method: "PATCH", path: "/v1/users/" + name, body: map[string]any{"external_id": "evil-" + name}},
		} {
			r.token = hour
			wantProblem(t, r.method+" "+r.path, b.api.do(t, r), http.StatusForbidden, usher.CodeLifetimeExceeded)
		}
		if _, err := b.env.Core.Auth.Login(context.Background(), name, password); err == nil {
			t.Fatalf("the token set %s's password", name)
		}
	}
	b.call(t, req{method: "PUT", path: "/v1/users/denied/password", token: hour, body: map[string]any{"password": password}},
		http.StatusNoContent, nil)
	b.call(t, req{method: "PUT", path: "/v1/users/held/password", token: session, body: map[string]any{"password": password}},
		http.StatusNoContent, nil)
}

// TestBoundedTokenAddsNoLastingKey replays a reviewer's find: an
// administrator's token that expires in an hour, or a JWT, added SSH keys
// that never expire to its own account and to another administrator's,
// which stayed after the token was revoked — a way in as an administrator
// to whatever trusts usher's keys, where the token sets no password of
// theirs. Such a key expires with the credential; a later expiry is
// refused. A plain account's keys, and a scoped token's that does not
// expire, are as before.
func TestBoundedTokenAddsNoLastingKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	boss, bossTok := b.mustPrincipal(t, "boss", true)
	peer, _ := b.mustPrincipal(t, "boss2", true)
	soon := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	expiring := b.mustMint(t, bossTok, map[string]any{"name": "hour", "expires_at": soon})
	scoped := b.mustMint(t, bossTok, map[string]any{"name": "ci", "scopes": []string{"api"}})
	jwt := b.mustJWT(t, bossTok)
	var claims struct {
		ExpiresAt time.Time `json:"expires_at"`
	}
	b.call(t, req{method: "GET", path: "/v1/auth/jwt/check", token: jwt}, http.StatusOK, &claims)
	type keyBody struct {
		ExpiresAt *time.Time `json:"expires_at"`
	}
	add := func(token string, user int64, expires *time.Time) *response {
		body := map[string]any{"title": "laptop", "key": coretest.NewSSHKey(t)}
		if expires != nil {
			body["expires_at"] = expires
		}
		return b.api.do(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%d/keys", user), token: token, body: body})
	}
	for _, c := range []struct {
		name, token string
		bound       time.Time
	}{
		{"expiring", expiring.Token, soon},
		{"a JWT", jwt, claims.ExpiresAt},
	} {
		for _, user := range []int64{boss.ID, peer.ID} {
			var k keyBody
			res := add(c.token, user, nil)
			if res.status != http.StatusCreated {
				t.Fatalf("%s: %d %s", c.name, res.status, res.body)
			}
			res.decode(t, &k)
			if k.ExpiresAt == nil || !k.ExpiresAt.Equal(c.bound) {
				t.Errorf("%s added a key to %d that expires at %v, want %v", c.name, user, k.ExpiresAt, c.bound)
			}
			later := c.bound.Add(time.Hour)
			wantProblem(t, c.name+" a later key", add(c.token, user, &later), http.StatusForbidden, usher.CodeLifetimeExceeded)
			sooner := c.bound.Add(-time.Minute)
			add(c.token, user, &sooner).decode(t, &k)
			if k.ExpiresAt == nil || !k.ExpiresAt.Equal(sooner) {
				t.Errorf("%s: a key asked to expire at %v expires at %v", c.name, sooner, k.ExpiresAt)
			}
		}
		// A plain account's log-in the credential may set: its key is
		// as asked.
		var k keyBody
		add(c.token, b.user.ID, nil).decode(t, &k)
		if k.ExpiresAt != nil {
			t.Errorf("%s: a plain account's key expires at %v", c.name, k.ExpiresAt)
		}
	}
	var k keyBody
	add(scoped.Token, boss.ID, nil).decode(t, &k)
	if k.ExpiresAt != nil {
		t.Errorf("a scoped token that does not expire added a key that expires at %v", k.ExpiresAt)
	}
}

// TestBoundedTokenNamesNoApplicationOwner replays round 15's find: an
// administrator's expiring token handed an application to a plain account
// (PATCH owner_id, or registering it for them) and set the account's
// password, in either order; the owner's rights on it — update, delete,
// whatever the rules — outlasted the token in the account's session, as
// a role's rule would have, which the token may not give. It names no
// owner now, and sets no log-in of an account that owns one.
func TestBoundedTokenNamesNoApplicationOwner(t *testing.T) {
	t.Parallel()
	b := setup(t)
	session, hour := b.mustBoss(t)
	owner, _ := b.mustPrincipal(t, "owner", false)
	var app struct {
		ID int64 `json:"id"`
	}
	b.call(t, req{method: "POST", path: "/v1/applications", token: session, body: map[string]any{"name": "CRM"}}, http.StatusCreated, &app)
	path := fmt.Sprintf("/v1/applications/%d", app.ID)
	const password = "a handed-over secret phrase"
	b.call(t, req{method: "PUT", path: "/v1/users/plain/password", token: hour, body: map[string]any{"password": password}},
		http.StatusNoContent, nil)
	for _, r := range []req{
		{method: "PATCH", path: path, body: map[string]any{"owner_id": b.user.ID}},
		{method: "POST", path: "/v1/applications", body: map[string]any{"name": "ERP", "owner_id": b.user.ID}},
	} {
		r.token = hour
		wantProblem(t, r.method+" "+r.path, b.api.do(t, r), http.StatusForbidden, usher.CodeLifetimeExceeded)
	}
	// The other order: an account a session made an owner.
	b.call(t, req{method: "PATCH", path: path, token: session, body: map[string]any{"owner_id": owner.ID}}, http.StatusOK, nil)
	wantProblem(t, "the owner's password", b.api.do(t, req{method: "PUT", path: "/v1/users/owner/password", token: hour,
		body: map[string]any{"password": password}}), http.StatusForbidden, usher.CodeLifetimeExceeded)
	// Registering its own, and a session's hand-over, go on.
	b.call(t, req{method: "POST", path: "/v1/applications", token: hour, body: map[string]any{"name": "Mine"}}, http.StatusCreated, nil)
	b.call(t, req{method: "PATCH", path: path, token: session, body: map[string]any{"owner_id": b.user.ID}}, http.StatusOK, nil)
}

// TestBoundedTokenRaisesNoAccount replays round 16's find: an
// administrator's expiring token put a plain account on a plan that makes
// teams (or made the default plan one) and set its password, in either
// order; after the token ended, the account's session made a team and a
// service account whose token never expires. What an account may create
// past a new one's outlasts the credential, as a role's rule would: the
// token raises no account past it, writes no plan, and sets no log-in of
// an account already past it. Holding an account back it still may.
func TestBoundedTokenRaisesNoAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	session, hour := b.mustBoss(t)
	for _, plan := range []map[string]any{
		{"name": "free", "default": true},
		{"name": "pro", "can_create_team": true, "project_limit": 50},
		{"name": "tiny"},
	} {
		b.call(t, req{method: "POST", path: "/v1/plans", token: session, body: plan}, http.StatusCreated, nil)
	}
	b.mustPrincipal(t, "carol", false)
	b.mustPrincipal(t, "dave", false)
	b.call(t, req{method: "PATCH", path: "/v1/users/dave", token: session, body: map[string]any{"plan": "pro"}}, http.StatusOK, nil)
	for _, r := range []req{
		{method: "PATCH", path: "/v1/users/carol", body: map[string]any{"plan": "pro"}},
		{method: "POST", path: "/v1/users", body: map[string]any{"username": "erin", "email": "erin@example.com",
			"password": "a raised secret phrase", "plan": "pro", "skip_confirmation": true}},
		{method: "PUT", path: "/v1/plans/free", body: map[string]any{"default": true, "can_create_team": true}},
		{method: "POST", path: "/v1/plans", body: map[string]any{"name": "gold", "can_create_team": true}},
		{method: "DELETE", path: "/v1/plans/tiny"},
		// An account past a new one's: its log-in is as wide.
		{method: "PUT", path: "/v1/users/dave/password", body: map[string]any{"password": "a raised secret phrase"}},
	} {
		r.token = hour
		wantProblem(t, r.method+" "+r.path, b.api.do(t, r), http.StatusForbidden, usher.CodeLifetimeExceeded)
	}
	// Held back, and the log-in of an account no wider than a new one.
	b.call(t, req{method: "PATCH", path: "/v1/users/carol", token: hour, body: map[string]any{"plan": "tiny"}}, http.StatusOK, nil)
	b.call(t, req{method: "PUT", path: "/v1/users/carol/password", token: hour, body: map[string]any{"password": "a raised secret phrase"}},
		http.StatusNoContent, nil)
	wantProblem(t, "carol's team", b.api.do(t, req{method: "POST", path: "/v1/groups", token: b.mustLogin(t, "carol", "a raised secret phrase"),
		body: map[string]any{"kind": "team", "handle": "after"}}), http.StatusForbidden, "plan_forbids_teams")
}

// TestBoundedTokenMakesNoOwnerPastThePlan replays round 17's find: with a
// default plan that makes no teams, an administrator's expiring token made
// a team, an account with a password and that account the team's owner
// (or set the password of an owner a session made); the account's
// session, held to its plan for teams of its own, made service accounts
// in that one and minted them tokens that never expire. Owning a team
// gives an account that may make none what its plan held it from: the
// token makes no such owner and sets no such owner's log-in. An account
// that may make teams it still makes an owner, as GitLab's clients do.
func TestBoundedTokenMakesNoOwnerPastThePlan(t *testing.T) {
	t.Parallel()
	b := setup(t)
	session, hour := b.mustBoss(t)
	b.teamPlans(t, session)
	var crew, ops struct {
		ID int64 `json:"id"`
	}
	b.call(t, req{method: "POST", path: "/v1/groups", token: hour, body: map[string]any{"kind": "team", "handle": "crew"}}, http.StatusCreated, &crew)
	b.call(t, req{method: "POST", path: "/v1/groups", token: session, body: map[string]any{"kind": "team", "handle": "ops"}}, http.StatusCreated, &ops)
	const password = "an owner's secret phrase"
	b.call(t, req{method: "POST", path: "/v1/users", token: hour, body: map[string]any{"username": "mallory", "email": "mallory@example.com",
		"password": password, "skip_confirmation": true}}, http.StatusCreated, nil)
	wantProblem(t, "mallory made an owner", b.api.do(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/mallory", crew.ID),
		token: hour, body: map[string]any{"level": "owner"}}), http.StatusForbidden, usher.CodeLifetimeExceeded)
	b.mustPrincipal(t, "olga", false)
	b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/olga", ops.ID), token: session, body: map[string]any{"level": "owner"}},
		http.StatusOK, nil)
	wantProblem(t, "the owner's password", b.api.do(t, req{method: "PUT", path: "/v1/users/olga/password", token: hour,
		body: map[string]any{"password": password}}), http.StatusForbidden, usher.CodeLifetimeExceeded)
	// An owner held back since, of a team deleted meanwhile, which the
	// token could restore (round 18: only live teams were counted).
	var gone struct {
		ID int64 `json:"id"`
	}
	b.mustPrincipal(t, "erin", false)
	b.call(t, req{method: "PATCH", path: "/v1/users/erin", token: session, body: map[string]any{"plan": "pro"}}, http.StatusOK, nil)
	b.call(t, req{method: "POST", path: "/v1/groups", token: hour, body: map[string]any{"kind": "team", "handle": "gone"}}, http.StatusCreated, &gone)
	b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/erin", gone.ID), token: hour, body: map[string]any{"level": "owner"}},
		http.StatusOK, nil)
	// Held back by a session: the token lowers no richer plan
	// (TestBoundedTokenHoldsNoWideAccountBack).
	b.call(t, req{method: "PATCH", path: "/v1/users/erin", token: session, body: map[string]any{"plan": "free"}}, http.StatusOK, nil)
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d", gone.ID), token: hour}, http.StatusOK, nil)
	wantProblem(t, "the deleted team's owner's password", b.api.do(t, req{method: "PUT", path: "/v1/users/erin/password", token: hour,
		body: map[string]any{"password": password}}), http.StatusForbidden, usher.CodeLifetimeExceeded)
	// Below the owner, and an account whose plan makes teams.
	b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/mallory", crew.ID), token: hour, body: map[string]any{"level": "write"}},
		http.StatusOK, nil)
	b.mustPrincipal(t, "carol", false)
	b.call(t, req{method: "PATCH", path: "/v1/users/carol", token: session, body: map[string]any{"plan": "pro"}}, http.StatusOK, nil)
	b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/carol", crew.ID), token: hour, body: map[string]any{"level": "owner"}},
		http.StatusOK, nil)
}

// TestBoundedTokenGivesNoInternalGroup: a place in an internal group —
// made and staffed by administrators, and what services trust by its name
// (Escape's access list) — is counted as a role's place is. Before, an
// administrator's token that expires in an hour set the password of an
// internal group's member, added a key that never expires to it, and put
// an account whose password it set in the group (alone, and by a group
// made with members, a bulk change, a merge): each a log-in with the place
// and no expiry, after the token had ended. A review of the fix found the
// place given another way: the token renamed or deleted the internal
// group, or took a deleted one's name, for a team of the account's —
// Escape's access list names teams and internal groups alike.
func TestBoundedTokenGivesNoInternalGroup(t *testing.T) {
	t.Parallel()
	b := setup(t)
	session, hour := b.mustBoss(t)
	member, _ := b.mustPrincipal(t, "deployer", false)
	plain, _ := b.mustPrincipal(t, "plainacct", false)
	var internal, spare struct {
		ID int64 `json:"id"`
	}
	b.call(t, req{method: "POST", path: "/v1/groups", token: session, body: map[string]any{"kind": "internal", "handle": "prod-admins"}},
		http.StatusCreated, &internal)
	b.call(t, req{method: "POST", path: "/v1/groups", token: session, body: map[string]any{"kind": "internal", "handle": "spare"}},
		http.StatusCreated, &spare)
	b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/%d", internal.ID, member.ID), token: session, body: map[string]any{}},
		http.StatusOK, nil)
	// A member's key takes the token's expiry, and its password is not the token's to set.
	var k struct {
		ExpiresAt *time.Time `json:"expires_at"`
	}
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%d/keys", member.ID), token: hour,
		body: map[string]any{"title": "laptop", "key": coretest.NewSSHKey(t)}}, http.StatusCreated, &k)
	if k.ExpiresAt == nil || time.Until(*k.ExpiresAt) > time.Hour {
		t.Errorf("the hour's token added a key to an internal group's member expiring at %v, want within the hour", k.ExpiresAt)
	}
	const password = "a taken-over secret phrase"
	// A plain account's password is the token's to set; a place for it is not, by any route.
	b.call(t, req{method: "PUT", path: "/v1/users/plainacct/password", token: hour, body: map[string]any{"password": password}},
		http.StatusNoContent, nil)
	for _, tt := range []struct {
		name string
		rq   req
	}{
		{"the member's password", req{method: "PUT", path: "/v1/users/deployer/password", body: map[string]any{"password": password}}},
		{"a member added", req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/%d", internal.ID, plain.ID), body: map[string]any{}}},
		{"a group made with members", req{method: "POST", path: "/v1/groups", body: map[string]any{"kind": "internal", "handle": "made", "members": []int64{plain.ID}}}},
		{"a bulk change", req{method: "PUT", path: "/v1/users/plainacct/groups", body: map[string]any{"kind": "internal", "add_to_groups": []string{"prod-admins"}}}},
		{"a member taken out", req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d/members/%d", internal.ID, member.ID)}},
		{"a merge", req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/merge", internal.ID), body: map[string]any{"into": spare.ID}}},
		// Its name freed for a team of the token's (round 9 of the reviews):
		// Escape's access list names teams and internal groups alike.
		{"a rename", req{method: "PATCH", path: fmt.Sprintf("/v1/groups/%d", internal.ID), body: map[string]any{"handle": "old-admins"}}},
		{"a deletion", req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d", internal.ID)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.rq.token = hour
			wantProblem(t, tt.name, b.api.do(t, tt.rq), http.StatusForbidden, usher.CodeLifetimeExceeded)
		})
	}
	// An internal group a session deleted keeps its name from the token.
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d", spare.ID), token: session}, http.StatusOK, nil)
	wantProblem(t, "a team of a deleted internal group's name", b.api.do(t, req{method: "POST", path: "/v1/groups", token: hour,
		body: map[string]any{"kind": "team", "handle": "spare", "members": []int64{plain.ID}}}), http.StatusConflict, usher.CodeHandleTaken)
	ms, err := b.env.Core.Groups.NamedGroups(sys(), usher.UserKey{ID: plain.ID})
	if err != nil || len(ms) != 0 {
		t.Errorf("plainacct's teams and internal groups: %d, %v; want none", len(ms), err)
	}
	// The session, which has neither bound, does it.
	b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/%d", internal.ID, plain.ID), token: session, body: map[string]any{}},
		http.StatusOK, nil)
}

// TestJWTEndsWithItsToken makes JWTs from a personal token, a session and an
// administrator's impersonation, then ends what they were made from: each
// JWT stops working at once, and a deleted and undeleted user's old JWTs do
// not come back.
func TestJWTEndsWithItsToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	me := func(jwt string) *response { return b.api.do(t, req{method: "GET", path: "/v1/me", token: jwt}) }

	// Revoking the token ends its JWT.
	tok := b.mustMint(t, b.userTok, map[string]any{"name": "parent"})
	jwt := b.mustJWT(t, tok.Token)
	b.call(t, req{method: "GET", path: "/v1/me", token: jwt}, http.StatusOK, nil)
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/me/tokens/%d", tok.ID), token: b.userTok}, http.StatusNoContent, nil)
	wantProblem(t, "the JWT of a revoked token", me(jwt), 401, "invalid_token")
	wantProblem(t, "the check of a revoked token's JWT", b.api.do(t, req{method: "GET", path: "/v1/auth/jwt/check", token: jwt}), 401, "invalid_token")

	// Rotating the token ends it too.
	tok = b.mustMint(t, b.userTok, map[string]any{"name": "rotated"})
	jwt = b.mustJWT(t, tok.Token)
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/me/tokens/%d/rotate", tok.ID), token: b.userTok}, http.StatusOK, nil)
	wantProblem(t, "the JWT of a rotated token", me(jwt), 401, "invalid_token")

	// Logging out ends the session's JWT.
	b.env.MustCreateUser(t, usher.UserCreate{Username: "walker", Email: "walker@example.com", Password: "correct horse battery staple"})
	session := b.mustLogin(t, "walker", "correct horse battery staple")
	jwt = b.mustJWT(t, session)
	b.call(t, req{method: "GET", path: "/v1/me", token: jwt}, http.StatusOK, nil)
	b.call(t, req{method: "POST", path: "/v1/auth/logout", token: session}, http.StatusNoContent, nil)
	wantProblem(t, "the JWT of an ended session", me(jwt), 401, "invalid_token")

	// A deleted and undeleted user's JWTs stay dead, whether made from its
	// token or by an administrator impersonating it.
	tok = b.mustMint(t, b.userTok, map[string]any{"name": "survivor"})
	jwt = b.mustJWT(t, tok.Token)
	var imp struct {
		JWT string `json:"jwt"`
	}
	b.call(t, req{method: "POST", path: "/v1/auth/impersonate", token: b.adminTok, body: map[string]any{"user": "plain"}}, http.StatusOK, &imp)
	b.call(t, req{method: "GET", path: "/v1/me", token: imp.JWT}, http.StatusOK, nil)
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/users/%d", b.user.ID), token: b.adminTok}, http.StatusOK, nil)
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%d/undelete", b.user.ID), token: b.adminTok}, http.StatusOK, nil)
	wantProblem(t, "an undeleted user's JWT", me(jwt), 401, "invalid_token")
	wantProblem(t, "an undeleted user's impersonation", me(imp.JWT), 401, "invalid_token")

	// An impersonation ends with the administrator's credential it was made
	// with.
	adminTok := b.mustMint(t, b.adminTok, map[string]any{"name": "impersonator"})
	b.call(t, req{method: "POST", path: "/v1/auth/impersonate", token: adminTok.Token, body: map[string]any{"user": "walker"}}, http.StatusOK, &imp)
	b.call(t, req{method: "GET", path: "/v1/me", token: imp.JWT}, http.StatusOK, nil)
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/me/tokens/%d", adminTok.ID), token: b.adminTok}, http.StatusNoContent, nil)
	wantProblem(t, "an impersonation whose administrator's token is revoked", me(imp.JWT), 401, "invalid_token")
}

// TestSessionsCappedPerUser logs one account in past the cap on its
// sessions: the oldest session ends, the newest ones keep working.
func TestSessionsCappedPerUser(t *testing.T) {
	t.Parallel()
	b := setupWith(t, coretest.Options{Policy: core.Policy{MaxSessionsPerUser: 3}})
	b.env.MustCreateUser(t, usher.UserCreate{Username: "walker", Email: "walker@example.com", Password: "correct horse battery staple"})
	var sessions []string
	for range 5 {
		sessions = append(sessions, b.mustLogin(t, "walker", "correct horse battery staple"))
	}
	for i, s := range sessions {
		res := b.api.do(t, req{method: "GET", path: "/v1/me", token: s})
		if i < 2 {
			wantProblem(t, fmt.Sprintf("session %d of 5", i+1), res, 401, "invalid_token")
			continue
		}
		if res.status != http.StatusOK {
			t.Fatalf("session %d of 5: %d %s", i+1, res.status, res.body)
		}
	}
	var list struct {
		Items []tokenBody `json:"items"`
	}
	b.call(t, req{method: "GET", path: "/v1/me/sessions", token: sessions[4]}, http.StatusOK, &list)
	if len(list.Items) != 3 {
		t.Fatalf("%d sessions listed, want 3", len(list.Items))
	}
}

// TestTokensCappedPerUser mints tokens past the cap: the one past it is
// refused with 409 token_limit_reached, and revoking one makes room.
func TestTokensCappedPerUser(t *testing.T) {
	t.Parallel()
	b := setupWith(t, coretest.Options{Policy: core.Policy{MaxTokensPerUser: 3}})
	// setup minted the user's first token.
	first := b.mustMint(t, b.userTok, map[string]any{"name": "two"})
	b.mustMint(t, b.userTok, map[string]any{"name": "three"})
	wantProblem(t, "the fourth token", b.api.do(t, req{method: "POST", path: "/v1/me/tokens", token: b.userTok,
		body: map[string]any{"name": "four"}}), 409, usher.CodeTokenLimit)
	// Rotating keeps the count.
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/me/tokens/%d/rotate", first.ID), token: b.userTok}, http.StatusOK, nil)
	var list struct {
		Items []tokenBody `json:"items"`
	}
	b.call(t, req{method: "GET", path: "/v1/me/tokens", token: b.userTok}, http.StatusOK, &list)
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/me/tokens/%d", list.Items[0].ID), token: b.userTok}, http.StatusNoContent, nil)
	b.mustMint(t, b.userTok, map[string]any{"name": "four"})
	// Another account's tokens are its own count.
	b.mustMint(t, b.adminTok, map[string]any{"name": "admin's"})
}

// adminOutsideTeam is a team's owner, an administrator who owns no part
// of the team, and the team's service account bot-victim-team.
type adminOutsideTeam struct {
	ownerTok, exTok string
	ex              *usher.User
	team            groupBody
	mint            string // mints the service account a token
}

// mustAdminOutsideTeam makes an adminOutsideTeam.
func (b *bundle) mustAdminOutsideTeam(t *testing.T) adminOutsideTeam {
	t.Helper()
	var f adminOutsideTeam
	_, f.ownerTok = b.mustPrincipal(t, "owner", false)
	f.ex, f.exTok = b.mustPrincipal(t, "exadmin", true)
	f.team = b.mustTeamAccount(t, f.ownerTok, "victim-team", "bot-victim-team")
	f.mint = fmt.Sprintf("/v1/groups/%d/service-accounts/bot-victim-team/token", f.team.ID)
	return f
}

// demote takes the administrator's rights away.
func (f adminOutsideTeam) demote(t *testing.T, b *bundle) {
	t.Helper()
	b.call(t, req{method: "PATCH", path: fmt.Sprintf("/v1/users/%d", f.ex.ID), token: b.adminTok, body: map[string]any{"admin": false}}, http.StatusOK, nil)
}

// TestRotationIsTheTokensOwnAccounts replays an administrator rotating
// tokens of other accounts by id (POST /v1/me/tokens/{id}/rotate): a
// service-account token a team's owner minted, which came back to the
// administrator — who owns no part of the team — as a new secret that did
// not end when their rights did, as a token they mint for it does; and
// another administrator's own token, through which the first, once
// blocked, unblocked itself. Only a token's own account rotates it; an
// administrator revokes another's.
func TestRotationIsTheTokensOwnAccounts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.mustAdminOutsideTeam(t)
	_, otherTok := b.mustPrincipal(t, "otheradmin", true)
	var botTok tokenBody
	b.call(t, req{method: "POST", path: f.mint, token: f.ownerTok}, http.StatusCreated, &botTok)
	theirs := b.mustMint(t, otherTok, map[string]any{"name": "ci"})

	for _, tok := range []tokenBody{botTok, theirs} {
		b.refused(t, req{method: "POST", path: fmt.Sprintf("/v1/me/tokens/%d/rotate", tok.ID), token: f.exTok}, http.StatusNotFound, "token_not_found")
		// Untouched, the token works for its account.
		b.call(t, req{method: "GET", path: "/v1/me", token: tok.Token}, http.StatusOK, nil)
	}
	// Each account rotates its own.
	var rotated tokenBody
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/me/tokens/%d/rotate", theirs.ID), token: otherTok}, http.StatusOK, &rotated)
	b.call(t, req{method: "GET", path: "/v1/me", token: rotated.Token}, http.StatusOK, nil)
	// The administrator still revokes another's token.
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/me/tokens/%d", rotated.ID), token: f.exTok}, http.StatusNoContent, nil)
	b.call(t, req{method: "GET", path: "/v1/me", token: rotated.Token}, http.StatusUnauthorized, nil)
}

// TestAdminMintedTokenMintsNoUntrackedToken replays an administrator who
// owns no part of a team minting its service account a token, which ends
// when their rights do, and with it, as the account, minting another
// token (POST /v1/me/tokens) or rotating the owner's (POST
// /v1/me/tokens/{id}/rotate): neither recorded the administrator, and
// after the demotion the new token kept writing to the team. A token
// made with a credential that answers to an administrator answers to
// them too.
func TestAdminMintedTokenMintsNoUntrackedToken(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"mint", "rotate"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			f := b.mustAdminOutsideTeam(t)
			var ownersTok, minted, kept tokenBody
			b.call(t, req{method: "POST", path: f.mint, token: f.ownerTok}, http.StatusCreated, &ownersTok)
			b.call(t, req{method: "POST", path: f.mint, token: f.exTok}, http.StatusCreated, &minted)
			switch how {
			case "mint":
				b.call(t, req{method: "POST", path: "/v1/me/tokens", token: minted.Token, body: map[string]any{"name": "kept"}}, http.StatusCreated, &kept)
			case "rotate":
				b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/me/tokens/%d/rotate", ownersTok.ID), token: minted.Token}, http.StatusOK, &kept)
			}
			f.demote(t, b)
			write := req{method: "PATCH", path: fmt.Sprintf("/v1/groups/%d", f.team.ID), body: map[string]any{"description": "written after the rights were lost"}}
			for _, tok := range []string{minted.Token, kept.Token} {
				write.token = tok
				b.call(t, write, http.StatusUnauthorized, nil)
			}
			// What the owner minted and rotated themselves stays theirs.
			var again tokenBody
			b.call(t, req{method: "POST", path: f.mint, token: f.ownerTok}, http.StatusCreated, &again)
			b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/me/tokens/%d/rotate", again.ID), token: again.Token}, http.StatusOK, &again)
			write.token = again.Token
			b.call(t, write, http.StatusOK, nil)
		})
	}
}

// TestAdminMintedTokenAddsNoUntrackedKey: as the test above, for SSH keys.
// The administrator added their own key to the account with the token
// they minted for it, then revoked that token (with itself, or after
// minting another with it): the keys added while such a token lived are
// deleted by the time it was minted, and with no such token left live the
// key outlived the administrator's rights. A key added with a credential
// that answers to an administrator records them, as one they add directly
// does.
func TestAdminMintedTokenAddsNoUntrackedKey(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"revoke", "mint"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			f := b.mustAdminOutsideTeam(t)
			var minted tokenBody
			b.call(t, req{method: "POST", path: f.mint, token: f.exTok}, http.StatusCreated, &minted)
			b.call(t, req{method: "POST", path: "/v1/users/bot-victim-team/keys", token: minted.Token, body: map[string]any{"title": "mine", "key": coretest.NewSSHKey(t)}}, http.StatusCreated, nil)
			b.call(t, req{method: "POST", path: "/v1/users/bot-victim-team/keys", token: b.adminTok, body: map[string]any{"title": "deploy", "key": coretest.NewSSHKey(t)}}, http.StatusCreated, nil)
			if how == "mint" {
				b.mustMint(t, minted.Token, map[string]any{"name": "kept"})
			}
			b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/me/tokens/%d", minted.ID), token: minted.Token}, http.StatusNoContent, nil)
			f.demote(t, b)
			var keys struct {
				Items []struct{ Title string }
			}
			b.call(t, req{method: "GET", path: "/v1/users/bot-victim-team/keys", token: b.adminTok}, http.StatusOK, &keys)
			if len(keys.Items) != 1 || keys.Items[0].Title != "deploy" {
				t.Fatalf("the account's keys after the demotion: %+v, want the owner's deploy key alone", keys.Items)
			}
		})
	}
}

// TestBoundedTokenMergesNoOwnerPastThePlan: past
// TestBoundedTokenMakesNoOwnerPastThePlan, a credential bounded by scopes
// that may not make an account that may make no team an owner of a team
// (403) made it one by a merge: of a team the account already owned (made
// so with a session) into the other. The merge asks what handing the
// target over asks of each owner it brings.
func TestBoundedTokenMergesNoOwnerPastThePlan(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.teamPlans(t, b.adminTok)
	boss, bossTok := b.mustPrincipal(t, "boss", false)
	held, _ := b.mustPrincipal(t, "xavier", false) // the default plan: no teams
	b.call(t, req{method: "PATCH", path: fmt.Sprintf("/v1/users/%d", boss.ID), token: b.adminTok, body: map[string]any{"plan": "pro"}}, http.StatusOK, nil)
	var scratch, payroll groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: bossTok, body: map[string]any{"kind": "team", "handle": "scratch"}}, http.StatusCreated, &scratch)
	b.call(t, req{method: "POST", path: "/v1/groups", token: bossTok, body: map[string]any{"kind": "team", "handle": "payroll"}}, http.StatusCreated, &payroll)
	b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/%d", scratch.ID, held.ID), token: bossTok, body: map[string]any{"level": "owner"}}, http.StatusOK, nil)

	scoped := b.mustMint(t, bossTok, map[string]any{"name": "ci", "scopes": []string{"api"}})
	wantProblem(t, "the scoped token makes the held-back account an owner of payroll", b.api.do(t, req{method: "PUT",
		path: fmt.Sprintf("/v1/groups/%d/members/%d", payroll.ID, held.ID), token: scoped.Token, body: map[string]any{"level": "owner"}}),
		http.StatusForbidden, usher.CodeScopeExceeded)
	wantProblem(t, "the scoped token merges the team the held-back account owns into payroll", b.api.do(t, req{method: "POST",
		path: fmt.Sprintf("/v1/groups/%d/merge", scratch.ID), token: scoped.Token, body: map[string]any{"into": payroll.ID}}),
		http.StatusForbidden, usher.CodeScopeExceeded)
	var members struct {
		Items []struct {
			Level  string `json:"level"`
			UserID int64  `json:"user_id"`
		} `json:"items"`
	}
	b.call(t, req{method: "GET", path: fmt.Sprintf("/v1/groups/%d/members", payroll.ID), token: b.adminTok}, http.StatusOK, &members)
	for _, m := range members.Items {
		if m.UserID == held.ID {
			t.Errorf("the held-back account is a member of payroll at %s", m.Level)
		}
	}
	// A session merges them, as it makes the owner.
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/merge", scratch.ID), token: bossTok, body: map[string]any{"into": payroll.ID}}, http.StatusOK, nil)
}

// TestBoundedTokenDeletesNoWideAccount: an administrator's token that
// expires (or has scopes) may not set an administrator's password or
// external id, but it deleted one, which frees the username, address and
// external id an import finds an account by; it then made an account
// holding them with a password of its choosing, and the directory's next
// import made that account the administrator the record names: a log-in
// with neither bound (found by two reviewers, through the native face and
// Pterodactyl's). Such a credential deletes no account whose log-in it
// may not set; a plain one it still deletes, and a session any.
func TestBoundedTokenDeletesNoWideAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, bossTok := b.mustPrincipal(t, "boss", true)
	dora := b.env.MustCreateUser(t, usher.UserCreate{Username: "dora", Email: "dora@example.com", Password: matrixPassword,
		Admin: true, EmailConfirmed: true, ExternalID: "ldap-dora"})
	plain := b.env.MustCreateUser(t, usher.UserCreate{Username: "pat", Email: "pat@example.com", EmailConfirmed: true})
	hour := b.mustMint(t, bossTok, map[string]any{"name": "hour", "expires_at": time.Now().UTC().Add(time.Hour).Truncate(time.Second)})
	scoped := b.mustMint(t, bossTok, map[string]any{"name": "ci", "scopes": []string{"api"}})

	doraPath := fmt.Sprintf("/v1/users/%d", dora.ID)
	wantProblem(t, "the expiring token deletes the administrator", b.api.do(t, req{method: "DELETE", path: doraPath, token: hour.Token}),
		http.StatusForbidden, usher.CodeLifetimeExceeded)
	wantProblem(t, "the scoped token deletes the administrator", b.api.do(t, req{method: "DELETE", path: doraPath, token: scoped.Token}),
		http.StatusForbidden, usher.CodeScopeExceeded)
	// The rest of the attack finds the administrator's external id held.
	res := b.api.do(t, req{method: "POST", path: "/v1/users", token: hour.Token, body: map[string]any{"username": "mallory",
		"email": "mallory@example.com", "password": "a mallory secret phrase 42", "skip_confirmation": true, "external_id": "ldap-dora"}})
	if res.status != http.StatusConflict {
		t.Errorf("an account made with the administrator's external id: %d %s, want 409", res.status, res.body)
	}
	out, err := b.env.Core.Users.Import(sys(), []usher.ImportUser{{UserCreate: usher.UserCreate{Username: "dora",
		Email: "dora@example.com", EmailConfirmed: true, ExternalID: "ldap-dora", Admin: true}}})
	if err != nil || len(out) != 1 || out[0].Err != nil || out[0].ID != dora.ID {
		t.Errorf("the directory's import: %v %+v, want dora (%d) found", err, out, dora.ID)
	}

	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/users/%d", plain.ID), token: hour.Token}, http.StatusOK, nil)
	b.call(t, req{method: "DELETE", path: doraPath, token: bossTok}, http.StatusOK, nil)
}

// TestBoundedTokenRenamesNoWideAccount: past
// TestBoundedTokenDeletesNoWideAccount (round 32): an administrator's
// expiring token, refused deleting another administrator, renamed her —
// which frees her username as a deletion does — and made an account with
// it and a password of its choosing, which logged in under her former
// name. Such a credential renames no account it may not delete, by
// username or handle; a plain one it still renames, and a session renames
// anyone.
func TestBoundedTokenRenamesNoWideAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, bossTok := b.mustPrincipal(t, "boss", true)
	dora := b.env.MustCreateUser(t, usher.UserCreate{Username: "dora", Email: "dora@example.com", Admin: true, EmailConfirmed: true})
	plain := b.env.MustCreateUser(t, usher.UserCreate{Username: "pat", Email: "pat@example.com", EmailConfirmed: true})
	hour := b.mustMint(t, bossTok, map[string]any{"name": "hour", "expires_at": time.Now().UTC().Add(time.Hour).Truncate(time.Second)})
	scoped := b.mustMint(t, bossTok, map[string]any{"name": "ci", "scopes": []string{"api"}})
	doraPath := fmt.Sprintf("/v1/users/%d", dora.ID)
	for _, tc := range []struct {
		name  string
		token tokenBody
		body  map[string]any
		code  string
	}{
		{"the expiring token renames the administrator", hour, map[string]any{"username": "dora-old"}, usher.CodeLifetimeExceeded},
		{"the expiring token gives her another handle", hour, map[string]any{"handle": "dora-old"}, usher.CodeLifetimeExceeded},
		{"the scoped token renames the administrator", scoped, map[string]any{"username": "dora-old"}, usher.CodeScopeExceeded},
	} {
		wantProblem(t, tc.name, b.api.do(t, req{method: "PATCH", path: doraPath, token: tc.token.Token, body: tc.body}),
			http.StatusForbidden, tc.code)
	}
	wantProblem(t, "the expiring token makes an account with her username",
		b.api.do(t, req{method: "POST", path: "/v1/users", token: hour.Token, body: map[string]any{"username": "dora",
			"email": "mallory@example.com", "password": "a mallory secret phrase 42", "skip_confirmation": true}}),
		http.StatusConflict, usher.CodeUsernameTaken)
	b.call(t, req{method: "PATCH", path: fmt.Sprintf("/v1/users/%d", plain.ID), token: hour.Token,
		body: map[string]any{"username": "patricia"}}, http.StatusOK, nil)
	b.call(t, req{method: "PATCH", path: doraPath, token: bossTok, body: map[string]any{"username": "dora-old"}}, http.StatusOK, nil)
}

// TestBoundedTokenDeletesNoWideAccountsAddress: as
// TestBoundedTokenRenamesNoWideAccount, an administrator's expiring token
// may neither rename nor delete another administrator, nor change her
// primary address (checkLogInBound): each frees a name of hers for an
// account of its holder's. It still deleted her confirmed secondary
// address — which frees it as a deletion of her account would — and then
// made an account holding it, with a password of its choosing (round 33).
// Such a credential deletes no confirmed address of such an account.
func TestBoundedTokenDeletesNoWideAccountsAddress(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, bossTok := b.mustPrincipal(t, "boss", true)
	dora := b.env.MustCreateUser(t, usher.UserCreate{Username: "dora", Email: "dora@example.com", Admin: true, EmailConfirmed: true})
	var e struct {
		ID int64 `json:"id"`
	}
	// Her own second address, confirmed (a session vouches for it).
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%d/emails", dora.ID), token: bossTok,
		body: map[string]any{"email": "dora.work@example.com", "skip_confirmation": true}}, http.StatusCreated, &e)
	hour := b.mustMint(t, bossTok, map[string]any{"name": "hour", "expires_at": time.Now().UTC().Add(time.Hour).Truncate(time.Second)})
	wantProblem(t, "the expiring token renames the administrator",
		b.api.do(t, req{method: "PATCH", path: fmt.Sprintf("/v1/users/%d", dora.ID), token: hour.Token, body: map[string]any{"username": "dora-old"}}),
		http.StatusForbidden, usher.CodeLifetimeExceeded)
	wantProblem(t, "the expiring token deletes the administrator's confirmed address",
		b.api.do(t, req{method: "DELETE", path: fmt.Sprintf("/v1/users/%d/emails/%d", dora.ID, e.ID), token: hour.Token}),
		http.StatusForbidden, usher.CodeLifetimeExceeded)
	res := b.api.do(t, req{method: "POST", path: "/v1/users", token: hour.Token, body: map[string]any{"username": "mallory",
		"email": "dora.work@example.com", "password": "a mallory secret phrase 42", "skip_confirmation": true}})
	if res.status/100 == 2 {
		t.Errorf("the expiring token made an account holding the administrator's former address: %d %s", res.status, res.body)
	}
	// An unconfirmed one claims nothing: the token deletes it.
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%d/emails", dora.ID), token: bossTok,
		body: map[string]any{"email": "dora.home@example.com"}}, http.StatusCreated, &e)
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/users/%d/emails/%d", dora.ID, e.ID), token: hour.Token}, http.StatusNoContent, nil)
}

// TestBoundedTokenRenamesNoTeam: a team's handle is
// the name services trust it by (sharedHandle). An administrator's expiring
// token that deletes another's team may not make a team of its handle — a
// deleted team holds it for any bounded credential — but renaming the team
// freed the handle at once, and the same token made a team of it, owned
// by its holder (round 33). Such a credential renames no team; a session
// does.
func TestBoundedTokenRenamesNoTeam(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, bossTok := b.mustPrincipal(t, "boss", true)
	_, aliceTok := b.mustPrincipal(t, "alice", false)
	var team struct {
		ID int64 `json:"id"`
	}
	b.call(t, req{method: "POST", path: "/v1/groups", token: aliceTok, body: map[string]any{"kind": "team", "handle": "ops"}}, http.StatusCreated, &team)
	hour := b.mustMint(t, bossTok, map[string]any{"name": "hour", "expires_at": time.Now().UTC().Add(time.Hour).Truncate(time.Second)})
	wantProblem(t, "the expiring token renames alice's team",
		b.api.do(t, req{method: "PATCH", path: fmt.Sprintf("/v1/groups/%d", team.ID), token: hour.Token, body: map[string]any{"handle": "ops-old"}}),
		http.StatusForbidden, usher.CodeLifetimeExceeded)
	wantProblem(t, "the expiring token makes a team of its handle",
		b.api.do(t, req{method: "POST", path: "/v1/groups", token: hour.Token, body: map[string]any{"kind": "team", "handle": "ops"}}),
		http.StatusConflict, usher.CodeHandleTaken)
	// Its name is no handle, and a session renames it.
	b.call(t, req{method: "PATCH", path: fmt.Sprintf("/v1/groups/%d", team.ID), token: hour.Token, body: map[string]any{"name": "Operations"}}, http.StatusOK, nil)
	b.call(t, req{method: "PATCH", path: fmt.Sprintf("/v1/groups/%d", team.ID), token: aliceTok, body: map[string]any{"handle": "ops-old"}}, http.StatusOK, nil)
}

// TestBoundedTokenDeletesNoWideServiceAccount: past
// TestBoundedTokenDeletesNoWideAccount (round 31): an administrator's
// expiring token, refused deleting a team's service account an
// administrator had raised past a new account's allowances through
// /v1/users (403), deleted it through the team's route (204) or by
// deleting its team (200), and made an account with the freed username
// and a password of its choosing. Both now ask what a user's deletion
// asks; a plain service account the token still deletes.
func TestBoundedTokenDeletesNoWideServiceAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	hour := b.mustMint(t, b.adminTok, map[string]any{"name": "hour", "expires_at": time.Now().UTC().Add(time.Hour).Truncate(time.Second)})
	big := 200000
	raise := func(u *usher.User) {
		t.Helper()
		if _, err := b.env.Core.Users.Update(sys(), usher.UserKey{ID: u.ID},
			usher.UserUpdate{GitLab: usher.GitLabProfileUpdate{ProjectsLimit: &big}}); err != nil {
			t.Fatal(err)
		}
	}
	team, wide, _ := b.env.MustOwnedServiceAccount(t, b.user, "ops", "deployer")
	raise(wide)
	ci, plain, _ := b.env.MustOwnedServiceAccount(t, b.user, "ci", "builder")
	wantProblem(t, "the expiring token deletes the raised service account through /v1/users",
		b.api.do(t, req{method: "DELETE", path: fmt.Sprintf("/v1/users/%d", wide.ID), token: hour.Token}),
		http.StatusForbidden, usher.CodeLifetimeExceeded)
	wantProblem(t, "the expiring token deletes it through its team's route",
		b.api.do(t, req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d/service-accounts/%d", team.ID, wide.ID), token: hour.Token}),
		http.StatusForbidden, usher.CodeLifetimeExceeded)
	wantProblem(t, "the expiring token deletes it by deleting its team",
		b.api.do(t, req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d", team.ID), token: hour.Token}),
		http.StatusForbidden, usher.CodeLifetimeExceeded)
	if got, err := b.env.Core.Users.Get(sys(), usher.UserKey{ID: wide.ID}); err != nil || got.Deleted() {
		t.Fatalf("the raised service account after the refusals: %+v, %v", got, err)
	}
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d/service-accounts/%d", ci.ID, plain.ID), token: hour.Token}, http.StatusNoContent, nil)
}

// TestBoundedTokenHoldsNoWideAccountBack: past
// TestBoundedTokenDeletesNoWideAccount (a review of its fix): the same
// credential purged the administrator, which frees her names as a
// deletion does; or took her flag away (holding her back), after which
// her account was plain — its password the credential's to set, or
// deleted — and the directory's next import made it an administrator
// again; or lowered a richer plan and did the same. Such a credential
// purges no account whose log-in it may not set, and changes no such
// account's rights, taking them away either; a plain account it still
// holds back.
func TestBoundedTokenHoldsNoWideAccountBack(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.teamPlans(t, b.adminTok)
	_, bossTok := b.mustPrincipal(t, "boss", true)
	dora := b.env.MustCreateUser(t, usher.UserCreate{Username: "dora", Email: "dora@example.com", Password: matrixPassword,
		Admin: true, EmailConfirmed: true, ExternalID: "ldap-dora"})
	carol := b.env.MustCreateUser(t, usher.UserCreate{Username: "carol", Email: "carol@example.com", EmailConfirmed: true, Plan: "pro"})
	plain := b.env.MustCreateUser(t, usher.UserCreate{Username: "pat", Email: "pat@example.com", EmailConfirmed: true})
	hour := b.mustMint(t, bossTok, map[string]any{"name": "hour", "expires_at": time.Now().UTC().Add(time.Hour).Truncate(time.Second)})
	scoped := b.mustMint(t, bossTok, map[string]any{"name": "ci", "scopes": []string{"api"}})
	doraPath, carolPath, plainPath := fmt.Sprintf("/v1/users/%d", dora.ID), fmt.Sprintf("/v1/users/%d", carol.ID), fmt.Sprintf("/v1/users/%d", plain.ID)
	for _, tt := range []struct {
		name string
		req  req
		code string
	}{
		{"the expiring token purges the administrator", req{method: "POST", path: doraPath + "/purge", token: hour.Token}, usher.CodeLifetimeExceeded},
		{"the scoped token demotes the administrator", req{method: "PATCH", path: doraPath, token: scoped.Token, body: map[string]any{"admin": false}}, usher.CodeScopeExceeded},
		{"the expiring token demotes the administrator", req{method: "PATCH", path: doraPath, token: hour.Token, body: map[string]any{"admin": false}}, usher.CodeLifetimeExceeded},
		{"the expiring token lowers the richer plan", req{method: "PATCH", path: carolPath, token: hour.Token, body: map[string]any{"plan": "free"}}, usher.CodeLifetimeExceeded},
	} {
		wantProblem(t, tt.name, b.api.do(t, tt.req), http.StatusForbidden, tt.code)
	}
	if u, err := b.env.Core.Users.Get(sys(), usher.UserKey{ID: dora.ID}); err != nil || !u.Admin || u.DeletedAt != nil {
		t.Errorf("the administrator after the refusals: %+v, %v", u, err)
	}
	b.call(t, req{method: "PATCH", path: plainPath, token: hour.Token, body: map[string]any{"external": true}}, http.StatusOK, nil)
	// The plan sent back as it is, in another case (a review found it
	// taken for a change): the same plan.
	b.call(t, req{method: "PATCH", path: carolPath, token: hour.Token, body: map[string]any{"plan": "PRO", "bio": "unchanged plan"}}, http.StatusOK, nil)
	b.call(t, req{method: "PATCH", path: doraPath, token: bossTok, body: map[string]any{"admin": false}}, http.StatusOK, nil)
}

// teamPlans makes two plans with token: free, the default, which makes no
// team, and pro, which does.
func (b *bundle) teamPlans(t *testing.T, token string) {
	t.Helper()
	b.call(t, req{method: "POST", path: "/v1/plans", token: token, body: map[string]any{"name": "free", "default": true}}, http.StatusCreated, nil)
	b.call(t, req{method: "POST", path: "/v1/plans", token: token, body: map[string]any{"name": "pro", "can_create_team": true}}, http.StatusCreated, nil)
}

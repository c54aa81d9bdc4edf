package native_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"usher"
	"usher/connector/oidctest"
	"usher/core"
	"usher/core/coretest"
)

// TestRefusedClientWritesNoThrottleRows replays a flood from one client
// address past its own limit: each password reset, log-in or resent
// confirmation naming a new address or login was answered 429, but
// still inserted that key's throttle row before the client's lock was
// found, since the client's key was counted second; the refusal only
// forgave the count, and the row stayed until housekeeping pruned it a
// failure window later. The client's key now comes first, so a client
// refused writes no row for what it names.
func TestRefusedClientWritesNoThrottleRows(t *testing.T) {
	t.Parallel()
	b := setupWith(t, coretest.Options{Policy: core.Policy{ResetAnswerFloor: time.Millisecond, MaxFailuresPerIP: 5}})
	rows := func() int { return b.env.Rows(t, "throttles") }
	tests := []struct {
		name  string
		warm  int // requests that use up the client's allowance
		flood func(i int) req
	}{
		{"password reset", 20, func(i int) req {
			return req{method: "POST", path: "/v1/auth/password-reset", body: map[string]any{"email": fmt.Sprintf("reset%d@example.org", i)}}
		}},
		{"log-in", 5, func(i int) req {
			return req{method: "POST", path: "/v1/auth/login", body: map[string]any{"login": fmt.Sprintf("login%d", i), "password": "wrong password here"}}
		}},
		{"resent confirmation", 10, func(i int) req {
			return req{method: "POST", path: "/v1/auth/confirm/resend", body: map[string]any{"email": fmt.Sprintf("resend%d@example.org", i)}}
		}},
	}
	for _, tt := range tests {
		// One after another: they share the table being counted.
		for i := range tt.warm {
			b.api.do(t, tt.flood(-1-i))
		}
		before := rows()
		const n = 50
		for i := range n {
			if res := b.api.do(t, tt.flood(i)); res.status != http.StatusTooManyRequests {
				t.Fatalf("%s %d past the client's limit: %d %s", tt.name, i, res.status, res.body)
			}
		}
		if added := rows() - before; added != 0 {
			t.Errorf("%s: %d requests refused for their client left %d new throttle rows", tt.name, n, added)
		}
	}
}

// TestOAuthStartsBounded replays a flood of a browser's external log-in
// starts and of the provider's error callback: one client, never answered
// 429, wrote a state code a start and an audit event a callback, without
// end. Starts not finished are now bounded for each client address (30
// in the failure window), a log-in the provider confirms gives its start
// back, and an error callback whose state names no log-in in flight is
// recorded as nothing; one that names one is still recorded, once.
func TestOAuthStartsBounded(t *testing.T) {
	t.Parallel()
	b, idp := setupMailAndOIDC(t)
	start := func(t *testing.T) *response {
		t.Helper()
		return b.api.do(t, req{method: "GET", path: "/v1/auth/oauth/corp/start"})
	}
	_, events := b.env.Counts(t)
	for range 50 {
		b.api.do(t, req{method: "GET", path: "/v1/auth/oauth/corp/callback?error=access_denied&state=made-up"})
	}
	if _, e := b.env.Counts(t); e != events {
		t.Fatalf("50 error callbacks with no log-in in flight wrote %d audit events", e-events)
	}
	loc, err := url.Parse(start(t).header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		b.api.do(t, req{method: "GET", path: "/v1/auth/oauth/corp/callback?error=access_denied&state=" + url.QueryEscape(loc.Query().Get("state"))})
	}
	if _, e := b.env.Counts(t); e != events+1 {
		t.Fatalf("an error callback for a log-in in flight, twice, wrote %d audit events; want 1", e-events)
	}
	// 1 start so far; 28 more, then a log-in finished (its start given
	// back), then one more: 30 not finished.
	for i := range 28 {
		if res := start(t); res.status != http.StatusFound {
			t.Fatalf("start %d: %d %s", i+2, res.status, res.body)
		}
	}
	idp.SetUser(oidctest.User{Subject: "finisher-1", Email: "finisher@corp.example", EmailVerified: true, Username: "finisher"})
	if res := b.oidcLogIn(t, idp); res.status != http.StatusOK {
		t.Fatalf("a log-in finished: %d %s", res.status, res.body)
	}
	if res := start(t); res.status != http.StatusFound {
		t.Fatalf("the 30th start not finished: %d %s", res.status, res.body)
	}
	res := start(t)
	if p := res.problem(t); res.status != http.StatusTooManyRequests || p.Code != usher.CodeTooManyAttempts || res.header.Get("Retry-After") == "" {
		t.Fatalf("the 31st: %d %v %s", res.status, res.header, res.body)
	}
}

// TestOwnLogInKeepsTheAddressCount replays password spraying from one
// client address past its limit: failed log-ins at other people's logins,
// four at a time, each run followed by a log-in to an account of one's
// own. A success started the address's count afresh, where it should
// only have forgiven its own attempt, so the address's limit never came;
// and it left the login it proved with its failures, so that after four
// wrong guesses by someone else the owner's own success was followed by
// a lock at their first typo.
func TestOwnLogInKeepsTheAddressCount(t *testing.T) {
	t.Parallel()
	login := func(b *bundle, name, password string) *response {
		return b.api.do(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"login": name, "password": password}})
	}
	setup := func(t *testing.T, p core.Policy) *bundle {
		b := setupWith(t, coretest.Options{Policy: p})
		if err := b.env.Core.Auth.SetPassword(coretest.System(), usher.UserKey{ID: b.user.ID}, "the plain user's passphrase"); err != nil {
			t.Fatal(err)
		}
		return b
	}
	t.Run("spraying", func(t *testing.T) {
		t.Parallel()
		b := setup(t, core.Policy{MaxFailuresPerKey: 1000, MaxFailuresPerIP: 5})
		failed := 0
		for round := range 5 {
			for i := range 4 {
				switch res := login(b, fmt.Sprintf("victim%d.%d", round, i), "a guess at a password"); res.status {
				case http.StatusUnauthorized:
					failed++
				case http.StatusTooManyRequests:
					// The fifth failure locks the address, and is answered so.
					if failed != 4 {
						t.Fatalf("locked after %d failed log-ins, want at the fifth", failed)
					}
					return
				default:
					t.Fatalf("a guess: %d %s", res.status, res.body)
				}
			}
			if res := login(b, "plain", "the plain user's passphrase"); res.status != http.StatusOK {
				t.Fatalf("one's own log-in: %d %s", res.status, res.body)
			}
		}
		t.Fatalf("%d failed log-ins from one address whose limit is 5, none refused", failed)
	})
	t.Run("owner", func(t *testing.T) {
		t.Parallel()
		b := setup(t, core.Policy{MaxFailuresPerKey: 5, MaxFailuresPerIP: 1000})
		for range 4 {
			login(b, "plain", "someone else's guess")
		}
		for i, c := range []struct {
			password string
			status   int
		}{
			{"the plain user's passphrase", http.StatusOK},
			{"the owner's typo", http.StatusUnauthorized},
			{"the plain user's passphrase", http.StatusOK},
		} {
			if res := login(b, "plain", c.password); res.status != c.status {
				t.Fatalf("log-in %d after four wrong guesses: %d %s, want %d", i+1, res.status, res.body, c.status)
			}
		}
	})
}

// TestNewPasswordEndsTheChangeLock replays an owner taking their account
// back from a thief who holds a session of it: the thief guessed at the
// current password through the password change until it locked. A new
// password (here an administrator's, as after a reset) ended the locks of
// the account's username and address, not the change's: the owner, logged
// in afresh, was refused 429 when they went to change the password.
func TestNewPasswordEndsTheChangeLock(t *testing.T) {
	t.Parallel()
	b := setupWith(t, coretest.Options{Policy: core.Policy{MaxFailuresPerKey: 3}})
	login := func(password string) string {
		var s struct{ Token string }
		b.call(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"login": "plain", "password": password}}, 200, &s)
		return s.Token
	}
	if err := b.env.Core.Auth.SetPassword(coretest.System(), usher.UserKey{ID: b.user.ID}, "the plain user's passphrase"); err != nil {
		t.Fatal(err)
	}
	stolen := login("the plain user's passphrase")
	for i := range 3 {
		b.api.do(t, req{method: "POST", path: "/v1/auth/password", token: stolen,
			body: map[string]any{"current_password": fmt.Sprintf("a guess %d", i), "new_password": "the thief's own passphrase"}})
	}
	if err := b.env.Core.Auth.SetPassword(coretest.System(), usher.UserKey{ID: b.user.ID}, "the owner's new passphrase"); err != nil {
		t.Fatal(err)
	}
	owner := login("the owner's new passphrase")
	res := b.api.do(t, req{method: "POST", path: "/v1/auth/password", token: owner,
		body: map[string]any{"current_password": "the owner's new passphrase", "new_password": "the owner's newest passphrase"}})
	if res.status != http.StatusNoContent {
		t.Fatalf("the owner's change after a new password: %d %s", res.status, res.body)
	}
}

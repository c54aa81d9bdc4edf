package native_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
)

// TestCachedCredentialEndsAtOnce replays the attack a cache of token checks
// invites: keep using a credential after the change that ended it. Each
// credential is checked first — so that its check is cached — and then,
// with log-ins between (their bookkeeping is not counted as a change, so
// they leave cached checks be), the change is made and the credential is
// used at once: it must be refused by the very next request.
func TestCachedCredentialEndsAtOnce(t *testing.T) {
	t.Parallel()
	const pw = "correct horse battery"
	cases := []struct {
		name   string
		change func(b *bundle, u userBody, token string) *response
		want   int
		code   string
	}{
		{"block", func(b *bundle, u userBody, _ string) *response {
			return b.api.do(t, req{method: "POST", path: "/v1/users/" + strconv.FormatInt(u.ID, 10) + "/block", token: b.adminTok})
		}, http.StatusUnauthorized, "invalid_token"},
		{"suspend", func(b *bundle, u userBody, _ string) *response {
			return b.api.do(t, req{method: "POST", path: "/v1/users/" + strconv.FormatInt(u.ID, 10) + "/suspend", token: b.adminTok})
		}, http.StatusUnauthorized, "invalid_token"},
		{"delete", func(b *bundle, u userBody, _ string) *response {
			return b.api.do(t, req{method: "DELETE", path: "/v1/users/" + strconv.FormatInt(u.ID, 10), token: b.adminTok})
		}, http.StatusUnauthorized, ""},
		{"log out", func(b *bundle, _ userBody, token string) *response {
			return b.api.do(t, req{method: "POST", path: "/v1/auth/logout", token: token})
		}, http.StatusUnauthorized, ""},
		{"password set by an administrator", func(b *bundle, u userBody, _ string) *response {
			return b.api.do(t, req{method: "PUT", path: "/v1/users/" + strconv.FormatInt(u.ID, 10) + "/password", token: b.adminTok,
				body: map[string]any{"password": "another horse battery"}})
		}, http.StatusUnauthorized, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			u := b.mustCreate(t, map[string]any{"username": "victim", "email": "victim@example.com", "name": "Victim", "password": pw})
			other := b.mustCreate(t, map[string]any{"username": "bystander", "email": "bystander@example.com", "name": "B", "password": pw})
			login := func(name string) sessionBody {
				res := b.api.do(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"login": name, "password": pw}})
				var s sessionBody
				res.decode(t, &s)
				if res.status != http.StatusOK || s.Token == "" {
					t.Fatalf("log-in as %s: %d %s", name, res.status, res.body)
				}
				return s
			}
			s := login(u.Username)
			for i := range 3 {
				res := b.api.do(t, req{method: "GET", path: "/v1/me", token: s.Token})
				var me userBody
				res.decode(t, &me)
				if res.status != http.StatusOK || me.ID != u.ID {
					t.Fatalf("GET /v1/me before the change (%d): %d %s", i, res.status, res.body)
				}
				login(other.Username) // uncounted writes between the cached checks
			}
			if res := tc.change(b, u, s.Token); res.status >= 300 {
				t.Fatalf("the change: %d %s", res.status, res.body)
			}
			res := b.api.do(t, req{method: "GET", path: "/v1/me", token: s.Token, unchecked: true})
			if res.status != tc.want {
				t.Fatalf("GET /v1/me right after the change: %d %s, want %d", res.status, res.body, tc.want)
			}
			if tc.code != "" && res.problem(t).Code != tc.code {
				t.Fatalf("GET /v1/me right after the change: code %q, want %q", res.problem(t).Code, tc.code)
			}
			// The bystander's session, checked through the same cache, works.
			bs := login(other.Username)
			if res := b.api.do(t, req{method: "GET", path: "/v1/me", token: bs.Token}); res.status != http.StatusOK {
				t.Fatalf("the bystander's session: %d %s", res.status, res.body)
			}
		})
	}
}

// TestLoginShowsInCachedMe: a log-in's sign-in times are written without
// counting as a change, yet the account's own cached checks are dropped,
// so that GET /v1/me with an older, cached credential shows the new
// sign-in at once.
func TestLoginShowsInCachedMe(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const pw = "correct horse battery"
	u := b.mustCreate(t, map[string]any{"username": "walker", "email": "walker@example.com", "name": "W", "password": pw})
	type signIn struct {
		Current *string `json:"current_sign_in_at"`
		Last    *string `json:"last_sign_in_at"`
	}
	me := func(token string) signIn {
		res := b.api.do(t, req{method: "GET", path: "/v1/me", token: token})
		var s signIn
		res.decode(t, &s)
		if res.status != http.StatusOK {
			t.Fatalf("GET /v1/me: %d %s", res.status, res.body)
		}
		return s
	}
	var first sessionBody
	for i := range 3 {
		res := b.api.do(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"login": u.Username, "password": pw}})
		var s sessionBody
		res.decode(t, &s)
		if res.status != http.StatusOK {
			t.Fatalf("log-in %d: %d %s", i, res.status, res.body)
		}
		var got struct {
			User signIn `json:"user"`
		}
		res.decode(t, &got)
		if i == 0 {
			first = s
			me(first.Token) // cached from here on
			continue
		}
		seen := me(first.Token)
		if seen.Current == nil || got.User.Current == nil || *seen.Current != *got.User.Current {
			t.Fatalf("log-in %d: GET /v1/me with the first session shows current_sign_in_at %v, the log-in %v",
				i, deref(seen.Current), deref(got.User.Current))
		}
		if seen.Last == nil {
			t.Fatalf("log-in %d: no last_sign_in_at after a second log-in", i)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%q", *s)
}

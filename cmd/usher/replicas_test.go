package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"usher/store/postgres/pgtest"
)

// TestReplicasAgree runs two usher processes, A and B, on one PostgreSQL
// database, as two replicas behind a load balancer: a token revoked, a
// user blocked, a rule removed or a script that refuses log-ins added on A
// is refused on B, and an instance setting changed on A is served by B,
// before B's caches would have let the change through by their time limits
// alone (2 s for a credential and its account, settings and scripts, 5 s
// for rules): B heard of the write
// (LISTEN/NOTIFY). Each case asks B first, so that B holds what it asks
// in its caches, and counts from that first request. Without PostgreSQL
// it skips, and under CI=true it fails.
func TestReplicasAgree(t *testing.T) {
	t.Parallel()
	db := pgtest.URL(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "usher.key")
	mustRun(t, "user", "create", "--database", db, "--secret-key-file", key, "--username", "root", "--admin")
	// One that never expires: an expiring one changes no role's rules.
	admin := strings.TrimSpace(mustRun(t, "token", "create", "--database", db, "--secret-key-file", key, "--user", "root", "--no-expiry"))
	// B's own periodic upkeep (the outbox's round) writes, and a write of
	// its own drops its caches too: none comes during the test, so that
	// only hearing of A's change can. A log-in's hash is made cheap: under
	// the race detector one at the defaults takes longer than the caches
	// keep what they read.
	quiet := []string{"--outbox-interval", "1h", "--argon2-memory", "64", "--argon2-time", "1"}
	a, b := start(t, dir, db, quiet...), start(t, dir, db, quiet...)

	// call makes a request on srv and decodes a JSON answer into out.
	call := func(t *testing.T, srv *child, method, path, token, body string, status int, out any) {
		t.Helper()
		res, data, err := srv.do(method, path, token, body)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		if res.StatusCode != status {
			t.Fatalf("%s %s: %d %s, want %d", method, path, res.StatusCode, data, status)
		}
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				t.Fatalf("%s %s: %v in %s", method, path, err, data)
			}
		}
	}
	// newUser makes a user on A and a token of theirs.
	newUser := func(t *testing.T, name string) string {
		t.Helper()
		call(t, a, "POST", "/v1/users", admin, `{"username":"`+name+`"}`, http.StatusCreated, nil)
		return strings.TrimSpace(mustRun(t, "token", "create", "--database", db, "--secret-key-file", key, "--user", name))
	}

	// Set by the cases' setup, for their change.
	var (
		revokeOnA func(t *testing.T)
		rules     string
	)
	for _, tt := range []struct {
		name string
		// setup makes the case's user and returns their token, and the
		// request of theirs that B answers 200 until change has run on A:
		// a GET of path, or a POST of post to it.
		setup  func(t *testing.T) (token, path string)
		post   string
		change func(t *testing.T)
		// B refuses with status and code after the change; or, when
		// shows is set, answers 200 with shows in its body.
		status    int
		code      string
		shows     string
		cachedFor time.Duration
	}{
		{
			name: "revoked token",
			setup: func(t *testing.T) (string, string) {
				own := newUser(t, "rita")
				var list struct{ Items []struct{ ID int64 } }
				call(t, a, "GET", "/v1/me/tokens", own, "", http.StatusOK, &list)
				if len(list.Items) != 1 {
					t.Fatalf("rita's tokens: %+v", list.Items)
				}
				revokeOnA = func(t *testing.T) {
					call(t, a, "DELETE", fmt.Sprintf("/v1/me/tokens/%d", list.Items[0].ID), own, "", http.StatusNoContent, nil)
				}
				return own, "/v1/me"
			},
			change:    func(t *testing.T) { revokeOnA(t) },
			status:    http.StatusUnauthorized,
			code:      "invalid_token",
			cachedFor: 2 * time.Second,
		},
		{
			name:      "blocked user",
			setup:     func(t *testing.T) (string, string) { return newUser(t, "bea"), "/v1/me/tokens" },
			change:    func(t *testing.T) { call(t, a, "POST", "/v1/users/bea/block", admin, "", http.StatusOK, nil) },
			status:    http.StatusUnauthorized,
			code:      "account_inactive",
			cachedFor: 2 * time.Second,
		},
		{
			name: "removed rule",
			setup: func(t *testing.T) (string, string) {
				tok := newUser(t, "ray")
				var role struct{ ID int64 }
				call(t, a, "POST", "/v1/groups", admin, `{"kind":"role","handle":"auditors"}`, http.StatusCreated, &role)
				rules = fmt.Sprintf("/v1/groups/%d/rules", role.ID)
				call(t, a, "PUT", rules, admin, `{"rules":[{"resource":"audit","operation":"read","access":"allow"}]}`, http.StatusOK, nil)
				call(t, a, "PUT", fmt.Sprintf("/v1/groups/%d/members/ray", role.ID), admin, `{}`, http.StatusOK, nil)
				return tok, "/v1/audit"
			},
			change:    func(t *testing.T) { call(t, a, "DELETE", rules, admin, "", http.StatusNoContent, nil) },
			status:    http.StatusForbidden,
			code:      "forbidden",
			cachedFor: 5 * time.Second,
		},
		{
			// A gate an administrator puts up in a hurry: no log-in
			// on any replica.
			name: "added script",
			setup: func(t *testing.T) (string, string) {
				call(t, a, "POST", "/v1/users", admin, `{"username":"sam","password":"a long passphrase 7"}`, http.StatusCreated, nil)
				// A first log-in on B starts what a log-in's first use
				// starts (the key process, connections), so that the
				// case's own log-ins take the time they take; a write on
				// B then drops what B keeps, so that the case's first
				// log-in reads the scripts afresh.
				call(t, b, "POST", "/v1/auth/login", "", `{"login":"sam","password":"a long passphrase 7"}`, http.StatusOK, nil)
				call(t, b, "PATCH", "/v1/users/sam", admin, `{"bio":"warmed up"}`, http.StatusOK, nil)
				return "", "/v1/auth/login"
			},
			post: `{"login":"sam","password":"a long passphrase 7"}`,
			change: func(t *testing.T) {
				call(t, a, "POST", "/v1/scripts", admin, `{"name":"gate","source":"usher.refuse('no log-ins')","triggers":["auth.before_login"]}`,
					http.StatusCreated, nil)
			},
			status:    http.StatusUnprocessableEntity,
			code:      "script_refused",
			cachedFor: 2 * time.Second,
		},
		{
			name:  "changed setting",
			setup: func(t *testing.T) (string, string) { return "", "/v1/settings/current" },
			change: func(t *testing.T) {
				call(t, a, "PUT", "/v1/settings/ui.brand", admin, `{"value":"Set on A"}`, http.StatusOK, nil)
			},
			shows:     `"Set on A"`,
			cachedFor: 2 * time.Second,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			token, path := tt.setup(t)
			method := "GET"
			if tt.post != "" {
				method = "POST"
			}
			first := time.Now()
			var before json.RawMessage
			call(t, b, method, path, token, tt.post, http.StatusOK, &before)
			if tt.shows != "" && strings.Contains(string(before), tt.shows) {
				t.Fatalf("GET %s on B shows %s before the change: %s", path, tt.shows, before)
			}
			changed := time.Now()
			tt.change(t)
			told := time.Now()
			for {
				res, data, err := b.do(method, path, token, tt.post)
				if err != nil {
					t.Fatalf("%s %s on B: %v", method, path, err)
				}
				if res.StatusCode == http.StatusOK {
					if tt.shows != "" && strings.Contains(string(data), tt.shows) {
						break
					}
					time.Sleep(5 * time.Millisecond)
					continue
				}
				var body struct{ Code string }
				if tt.shows != "" || res.StatusCode != tt.status || json.Unmarshal(data, &body) != nil || body.Code != tt.code {
					t.Fatalf("%s %s on B: %d %s, want %d with code %q", method, path, res.StatusCode, data, tt.status, tt.code)
				}
				break
			}
			// B's caches would have let the change through by now.
			if d := time.Since(first); d >= tt.cachedFor {
				t.Fatalf("B applied the change %s after its first use, %s after A's change: it did not hear of it",
					d.Round(time.Millisecond), time.Since(changed).Round(time.Millisecond))
			}
			t.Logf("applied on B %s after A answered the change (%s after the change was asked, %s after B's first use)",
				time.Since(told).Round(time.Millisecond), time.Since(changed).Round(time.Millisecond), time.Since(first).Round(time.Millisecond))
		})
	}
}

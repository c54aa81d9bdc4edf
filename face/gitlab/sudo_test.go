package gitlab_test

import (
	"fmt"
	"net/http"
	"testing"

	"usher"
	"usher/core/coretest"
)

// TestMalformedSudoIsRefused: an administrator sends sudo as an array
// (sudo[]=plain, or "sudo":["plain"] in JSON). GET /users refuses it with
// 400 {"error":"sudo is invalid"}, but every route that did not check the
// parameters' errors (GET /user, GET /users/:id, block/unblock, key and
// address reads and deletes) dropped the sudo and ran the request with the
// administrator's own rights (round 41): a request meant to run as plain
// (who may block no one) blocked a user. A sudo given and unreadable is
// refused wherever it comes.
func TestMalformedSudoIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	list := b.do(t, call{method: "GET", path: "/api/v4/users?sudo[]=plain", token: b.adminTok})
	list.want(t, "GET /users?sudo[]=plain (control)", http.StatusBadRequest, `{"error":"sudo is invalid"}`)

	me := b.do(t, call{method: "GET", path: "/api/v4/user?sudo[]=plain", token: b.adminTok})
	if me.status != http.StatusBadRequest {
		t.Errorf("GET /user?sudo[]=plain: %d %s; want 400 {\"error\":\"sudo is invalid\"} as GET /users answers, not the administrator's own account", me.status, me.body)
	}
	block := b.do(t, call{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d/block", b.user.ID), token: b.adminTok,
		body: map[string]any{"sudo": []any{"plain"}}})
	if block.status != http.StatusBadRequest || b.stored(t, b.user.ID).State == usher.StateBlocked {
		t.Errorf("PUT /users/:id/block with sudo [\"plain\"]: %d %s, user state %s; want 400 \"sudo is invalid\" and the user not blocked: the malformed sudo was dropped and the block ran with the administrator's rights",
			block.status, block.body, b.stored(t, b.user.ID).State)
	}
}

// TestSudoParameterWinsOverHeader: GitLab reads the sudo parameter first
// (lib/api/helpers.rb: params[SUDO_PARAM] || env[SUDO_HEADER]); the face
// read the Sudo header first.
func TestSudoParameterWinsOverHeader(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := b.env.MustCreateUser(t, usher.UserCreate{Username: "other", Email: "other@example.com", Name: "Other"})
	res := b.do(t, call{method: "GET", path: "/api/v4/user?sudo=other", token: b.adminTok,
		header: map[string]string{"Sudo": "plain"}})
	var u struct{ Username string }
	res.decode(t, &u)
	if res.status != http.StatusOK || u.Username != other.Username {
		t.Errorf("GET /user?sudo=other with Sudo: plain: %d, acted as %q; want %q (GitLab: params[SUDO_PARAM] || env[SUDO_HEADER])", res.status, u.Username, other.Username)
	}
}

// TestKeyExpiresAtWithoutZone: GitLab declares expires_at of a key as
// Grape's DateTime, which parses an ISO 8601 date-time without a zone
// ("2030-01-01T00:00:00") or with a space, as UTC; the face answered 400
// "expires_at is invalid".
func TestKeyExpiresAtWithoutZone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.do(t, call{method: "POST", path: "/api/v4/user/keys", token: b.userTok,
		body: map[string]any{"title": "t", "key": coretest.Ed25519Key, "expires_at": "2030-01-01T00:00:00"}})
	if res.status != http.StatusCreated {
		t.Errorf("POST /user/keys expires_at 2030-01-01T00:00:00: %d %s; want 201 (Grape DateTime coerces it)", res.status, res.body)
	}
}

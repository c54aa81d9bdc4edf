package gitlab_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
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

// TestMultipartFileSudoIsRefused: a sudo sent as a multipart file part is
// given but not text (to Rack/Grape it is a hash: filename, tempfile…);
// GitLab's sudo! then fails to find that user and runs nothing. The face
// read only r.MultipartForm.Value, so the sudo was dropped and the block
// ran with the administrator's own rights (round 42).
func TestMultipartFileSudoIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("sudo", "sudo.txt")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write([]byte("plain"))
	mw.Close()
	res := b.do(t, call{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d/block", b.user.ID), token: b.adminTok,
		body: body.String(), contentType: mw.FormDataContentType()})
	if st := b.stored(t, b.user.ID).State; res.status < 400 || st == usher.StateBlocked {
		t.Errorf("PUT /users/:id/block with a multipart file part sudo=plain: %d %s, user state %s; want a refusal and the user not blocked: the unreadable sudo was dropped and the block ran as the administrator",
			res.status, res.body, st)
	}
}

// TestSudoFalseLeavesTheHeader: GitLab's sudo_identifier is
// params[SUDO_PARAM] || env[SUDO_HEADER]; a JSON "sudo": false is falsy
// in Ruby, so the Sudo header is used. Reading the parameter first, the
// face took it as the text "false" and answered 404 (round 42).
func TestSudoFalseLeavesTheHeader(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.do(t, call{method: "GET", path: "/api/v4/user", token: b.adminTok,
		body: map[string]any{"sudo": false}, header: map[string]string{"Sudo": "plain"}})
	var u struct{ Username string }
	if res.status == http.StatusOK {
		res.decode(t, &u)
	}
	if res.status != http.StatusOK || u.Username != "plain" {
		t.Errorf(`GET /user with {"sudo": false} and Sudo: plain: %d %s; want 200 as plain (GitLab: false || header)`, res.status, res.body)
	}
}

// TestKeyExpiresAtWithoutSeconds: past TestKeyExpiresAtWithoutZone,
// DateTime.parse("2030-01-01T10:30") is 2030-01-01T10:30:00 UTC too, and
// GitLab creates the key; the face answered 400 "expires_at is invalid"
// (round 42).
func TestKeyExpiresAtWithoutSeconds(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i, v := range []string{"2030-01-01T10:30", "2030-01-01 10:30"} {
		res := b.do(t, call{method: "POST", path: "/api/v4/user/keys", token: b.userTok,
			body: map[string]any{"title": fmt.Sprint("t", i), "key": coretest.NewSSHKey(t), "expires_at": v}})
		if res.status != http.StatusCreated {
			t.Errorf("POST /user/keys expires_at %q: %d %s; want 201 (Grape's DateTime coerces it, as UTC)", v, res.status, res.body)
		}
	}
}

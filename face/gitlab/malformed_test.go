package gitlab_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"testing"
)

// actingUser is the username of a user answer, "" for none.
func actingUser(body []byte) string {
	var u struct{ Username string }
	_ = json.Unmarshal(body, &u)
	return u.Username
}

// wantRefused fails the test unless res is 400 {"error": message}: the
// request refused before it ran, as no one.
func wantRefused(t *testing.T, res *response, message, what string) {
	t.Helper()
	var got struct{ Error string }
	if err := json.Unmarshal(res.body, &got); res.status != http.StatusBadRequest || err != nil || got.Error != message {
		t.Errorf("%s: %d %s (as %q); GitLab answers 400 {\"error\":%q}, acting as no one", what, res.status, res.body, actingUser(res.body), message)
	}
}

// TestDeepNULServedAsGitLab: GitLab looks for a NUL no deeper than a
// parameter's third level (param_has_null_byte?'s depth > 2); usher's
// first check looked at any depth and refused (400) what GitLab serves
// (round 61).
func TestDeepNULServedAsGitLab(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.do(t, call{method: "GET", path: "/api/v4/user?a[b][c][d]=%00", token: b.userTok})
	t.Logf("GET /api/v4/user?a[b][c][d]=%%00: %d %s", res.status, res.body)
	if res.status != http.StatusOK {
		t.Errorf("status %d; GitLab (depth > 2 is not looked at) serves 200", res.status)
	}
	res = b.do(t, call{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d", b.user.ID), token: b.adminTok,
		body: `{"bio":"ok","x":{"a":{"b":{"c":"\u0000"}}}}`, contentType: "application/json"})
	t.Logf("PUT JSON x.a.b.c=\\u0000: %d %s", res.status, res.body)
	if res.status != http.StatusOK {
		t.Errorf("status %d; GitLab serves 200", res.status)
	}
}

// TestGetJSONBodyMalformedActsAsNoOne: Rails parses a GET's JSON body, and
// GitLab's middleware refuses a NUL in it (400, as no one); usher read
// only its tokens and acted as the Sudo header's user (round 61).
func TestGetJSONBodyMalformedActsAsNoOne(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, body := range []string{`{"x":"\u0000"}`, "{\"x\":\"\xff\"}"} {
		res := b.do(t, call{method: "GET", path: "/api/v4/user", token: b.adminTok,
			body: body, contentType: "application/json", header: map[string]string{"Sudo": "plain"}})
		wantRefused(t, res, "Bad Request", fmt.Sprintf("GET /user, JSON %q, Sudo: plain", body))
	}
}

// TestJSONInvalidTextActsAsNoOne: Go's decoder makes a JSON string's
// invalid UTF-8 U+FFFD, where Ruby's keeps it and Rails refuses it
// (400): usher stored the replacement (round 61).
func TestJSONInvalidTextActsAsNoOne(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, body := range []string{"{\"bio\":\"caf\xe9\"}"} {
		res := b.do(t, call{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d", b.user.ID), token: b.adminTok,
			body: body, contentType: "application/json"})
		wantRefused(t, res, "Bad Request", fmt.Sprintf("PUT JSON %q", body))
	}
}

// TestQueryRackCannotReadActsAsNoOne: a query or a form with an escape
// that is none (%zz, a trailing %) or a key of invalid text makes Rack
// raise, and GitLab answers 400 as no one; usher dropped the pair and
// acted as the sudo (round 61).
func TestQueryRackCannotReadActsAsNoOne(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, q := range []string{"sudo=plain&x=%zz", "sudo=plain&x=100%", "sudo=plain&%FF=1"} {
		res := b.do(t, call{method: "GET", path: "/api/v4/user?" + q, token: b.adminTok})
		wantRefused(t, res, "Bad Request", "GET /user?"+q)
	}
	res := b.do(t, call{method: "GET", path: "/api/v4/user", token: b.adminTok,
		body: "sudo=plain&%FF=1", contentType: "application/x-www-form-urlencoded"})
	wantRefused(t, res, "Bad Request", "form sudo=plain&%FF=1")
}

// TestMalformedAuthorizationActsAsNoOne: GitLab's middleware refuses an
// Authorization header whose Basic credentials or raw value hold a NUL or
// invalid text, whatever token the request uses (400); usher, reading the
// PRIVATE-TOKEN header, acted as the sudo (round 61).
func TestMalformedAuthorizationActsAsNoOne(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, a := range []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("root:\x00")), "Negotiate \xff"} {
		res := b.do(t, call{method: "GET", path: "/api/v4/user", token: b.adminTok,
			header: map[string]string{"Authorization": a, "Sudo": "plain"}})
		wantRefused(t, res, "Bad Request", fmt.Sprintf("GET /user, PRIVATE-TOKEN admin's, Sudo: plain, Authorization %q", a))
	}
}

// TestFilePartBinaryServed: a file part's bytes are no parameter to
// GitLab's middleware: NUL and invalid bytes in an upload are served.
func TestFilePartBinaryServed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("bio", "hello")
	fw, _ := mw.CreateFormFile("avatar", "a.png")
	_, _ = fw.Write([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"))
	_ = mw.Close()
	res := b.do(t, call{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d", b.user.ID), token: b.adminTok,
		body: buf.String(), contentType: mw.FormDataContentType()})
	t.Logf("PUT multipart with PNG file part: %d %.80s", res.status, res.body)
	if res.status == http.StatusBadRequest {
		t.Errorf("file part refused: %d %s", res.status, res.body)
	}
}

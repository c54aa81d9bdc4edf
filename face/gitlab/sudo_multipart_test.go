package gitlab_test

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"

	"usher"
)

// The tests below were proved by round 53's review against the reading of
// a part's header that counted the plain sudo part with a Content-Type
// beside it as plain, and read no folded Content-Type: each failed then.

// blockWithPart sends PUT /users/:id/block as the administrator with one
// multipart part: head, then "plain" as its body.
func blockWithPart(t *testing.T, head string) (*bundle, *response) {
	t.Helper()
	b := setup(t)
	res := b.do(t, call{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d/block", b.user.ID), token: b.adminTok,
		body:        "--zz\r\n" + head + "\r\n\r\nplain\r\n--zz--\r\n",
		contentType: "multipart/form-data; boundary=zz"})
	return b, res
}

// TestSudoPartWithFilenameInItsType: Rack 2's get_filename matches
// RFC2183 on the disposition line, then scans the whole head for DISPPARM,
// so a "; filename=" in the Content-Type line makes the part a file (a
// hash to Grape), or, empty, drops it (get_data returns on ""). Go reads
// the Content-Disposition's filename only, so reads sudo=plain and acts.
func TestSudoPartWithFilenameInItsType(t *testing.T) {
	t.Parallel()
	for _, head := range []string{
		"Content-Disposition: form-data; name=\"sudo\"\r\nContent-Type: text/plain; filename=x.txt",
		"Content-Disposition: form-data; name=\"sudo\"\r\nContent-Type: text/plain; filename*=utf-8''x.txt",
		"Content-Disposition: form-data; name=\"sudo\"\r\nContent-Type: text/plain; filename=\"\"",
	} {
		b, res := blockWithPart(t, head)
		if res.status != http.StatusBadRequest || !jsonEqual(t, res.body, []byte(`{"error":"sudo is invalid"}`)) {
			t.Errorf("%q: %d %s, user %s; want 400 {\"error\":\"sudo is invalid\"} (Rack reads this sudo as a file or none, Go as plain)",
				head, res.status, res.body, b.stored(t, b.user.ID).State)
		}
	}
}

// TestSudoPartTypeHidingADisposition: Rack 2's
// MULTIPART_CONTENT_DISPOSITION finds the leftmost "Content-Disposition:"
// in the head, here inside the Content-Type line before the real one, and
// names the part "other": to Rack no sudo is given and the block runs as
// the administrator; Go reads the real header, sudo=plain.
func TestSudoPartTypeHidingADisposition(t *testing.T) {
	t.Parallel()
	head := "Content-Type: text/plain Content-Disposition: form-data; name=other\r\nContent-Disposition: form-data; name=\"sudo\""
	b, res := blockWithPart(t, head)
	if res.status != http.StatusBadRequest || !jsonEqual(t, res.body, []byte(`{"error":"sudo is invalid"}`)) {
		t.Errorf("%q: %d %s, user %s; want 400 {\"error\":\"sudo is invalid\"} (Rack names the part \"other\", Go \"sudo\")",
			head, res.status, res.body, b.stored(t, b.user.ID).State)
	}
	if st := b.stored(t, b.user.ID).State; st == usher.StateBlocked {
		t.Errorf("user blocked: %s", st)
	}
}

// TestSudoPartWithACharsetRackRefuses: Rack 2's
// tag_multipart_encoding reads a text/plain part's parameters: an unknown
// charset raises (Encoding.find), a parameter with no "=" raises
// (v.strip! on nil), so Rack reads no sudo=plain and the request fails;
// Go reads sudo=plain and acts as plain.
func TestSudoPartWithACharsetRackRefuses(t *testing.T) {
	t.Parallel()
	for _, head := range []string{
		"Content-Disposition: form-data; name=\"sudo\"\r\nContent-Type: text/plain; charset=nope",
		"Content-Disposition: form-data; name=\"sudo\"\r\nContent-Type: text/plain; format",
	} {
		b, res := blockWithPart(t, head)
		if res.status != http.StatusBadRequest || !jsonEqual(t, res.body, []byte(`{"error":"sudo is invalid"}`)) {
			t.Errorf("%q: %d %s, user %s; want 400 {\"error\":\"sudo is invalid\"} (Rack raises on this part, Go acts as plain)",
				head, res.status, res.body, b.stored(t, b.user.ID).State)
		}
	}
}

// TestFoldedTypeHidesTheSudoFromGo: the plain sudo part with its
// Content-Type folded (" Content-Type: …") was counted plain (the
// lenient reading trimmed the line), but Go's reader folds the line into the disposition,
// which then fails to parse, and skips the part. Rack (2.2 unfolds it,
// older versions' patterns read one line) names it "sudo": sudo=plain. A
// second part, name*=utf-8”sudo, is Go's sudo (mime decodes RFC 2231)
// and Rack's "text/plain[]" (its name pattern needs "name="), so the
// counts agree: Go acts as "other", Rack as plain.
func TestFoldedTypeHidesTheSudoFromGo(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env.MustCreateUser(t, usher.UserCreate{Username: "other", Email: "other@example.com", Name: "Other"})
	body := "--zz\r\nContent-Disposition: form-data; name*=utf-8''sudo\r\n\r\nother\r\n" +
		"--zz\r\nContent-Disposition: form-data; name=\"sudo\"\r\n Content-Type: text/plain\r\n\r\nplain\r\n--zz--\r\n"
	res := b.do(t, call{method: "GET", path: "/api/v4/user", token: b.adminTok,
		body: body, contentType: "multipart/form-data; boundary=zz"})
	if res.status != http.StatusBadRequest || !jsonEqual(t, res.body, []byte(`{"error":"sudo is invalid"}`)) {
		t.Errorf("GET /user, Rack's sudo=plain in a folded part Go skips, Go's sudo=other in name*=: %d %s; want 400 {\"error\":\"sudo is invalid\"}",
			res.status, bytes.TrimSpace(res.body))
	}
}

// TestFoldedTypeNamesANamelessPart: Rack 2.2.24 unfolds a part's
// head (OBS_UNFOLD, /\r\n([ \t])/ to the blank) before its patterns, so
// "Content-Type:\r\n sudo" is MULTIPART_CONTENT_TYPE's "sudo", and the
// part, with no name, is "sudo[]": a sudo (an array) Rack reads. Go's
// reader skips a part with no name, and rackContentType wants "Content-Type: "
// on one line, so the sudo is dropped and the block runs as root.
func TestFoldedTypeNamesANamelessPart(t *testing.T) {
	t.Parallel()
	for _, head := range []string{
		"Content-Type:\r\n sudo",
		"Content-Disposition: form-data\r\nContent-Type:\r\n sudo",
		"Content-Disposition: form-data; name=\"\"\r\nContent-Type:\r\n sudo",
	} {
		b, res := blockWithPart(t, head)
		st := b.stored(t, b.user.ID).State
		if res.status != http.StatusBadRequest || !jsonEqual(t, res.body, []byte(`{"error":"sudo is invalid"}`)) || st == usher.StateBlocked {
			t.Errorf("%q: %d %s, user %s; want 400 {\"error\":\"sudo is invalid\"} and plain not blocked",
				head, res.status, bytes.TrimSpace(res.body), st)
		}
	}
}

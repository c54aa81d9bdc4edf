package gitlab_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"

	"usher"
)

// The tests below were proved by round 54's review against the reading of
// multipart bodies by Rack's leniency (each failed then) and against the
// query read past a raw "#", and by round 55's against the first reading
// by shape.

// rawGet sends one request line as it stands (a Go client would escape a
// raw "#") and returns the status and the body.
func rawGet(t *testing.T, b *bundle, target string, headers ...string) (int, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", b.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := "GET " + target + " HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n"
	for _, h := range headers {
		req += h + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, body
}

// TestFragmentEndsTheQuery: Puma ends QUERY_STRING at a raw "#" in the
// request line (its grammar's Request_URI ("#" Fragment)?), so GitLab
// reads no pair after it; Go's server kept "#&sudo=…" in the query, and
// usher acted as that user where GitLab acts as the administrator, or as
// the last sudo where GitLab acts as the first. The query now ends there.
func TestFragmentEndsTheQuery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env.MustCreateUser(t, usher.UserCreate{Username: "other", Email: "other@example.com", Name: "Other"})
	for target, want := range map[string]string{
		"/api/v4/user?x=1#&sudo=plain":        "root",
		"/api/v4/user?#&sudo=plain":           "root",
		"/api/v4/user?sudo=plain#&sudo=other": "plain",
	} {
		status, body := rawGet(t, b, target, "PRIVATE-TOKEN: "+b.adminTok)
		var u struct{ Username string }
		_ = json.Unmarshal(body, &u)
		if status != http.StatusOK || u.Username != want {
			t.Errorf("GET %s as root: %d %s; want 200 as %s (GitLab's query ends at the \"#\")", target, status, body, want)
		}
	}
}

// TestSudoPastABareLFHeaderRefused: Rack 2.2's part header ends at the
// first "\r\n\r\n" only (@head_regex), so after a header line ended by a
// bare "\n" it runs on over what Go reads as the part's body, and its
// disposition pattern, greedy over line breaks, takes the last "; name="
// there: sudo=plain to GitLab, which runs the block as plain (403). Go
// read a part "a" and no sudo, and the lenient reading of the parts ended
// the header at the "\r\n" line as Go does: usher blocked the user with
// the administrator's rights. A body of another shape than clients write
// (plainParts) that might name sudo is refused.
func TestSudoPastABareLFHeaderRefused(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		"--zz\r\nContent-Disposition: form-data; name=\"a\"\n\r\nx; name=sudo\r\n\r\nplain\r\n--zz--\r\n",
		"--zz\r\nContent-Disposition: form-data; name=\"a\"\n\r\nx; name=\"sudo\"\r\n\r\nplain\r\n--zz--\r\n",
		"--zz\r\nContent-Disposition: form-data; name=\"a\"\r\n\n\r\nx; name=sudo\r\n\r\nplain\r\n--zz--\r\n",
	} {
		b := setup(t)
		res := b.do(t, call{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d/block", b.user.ID), token: b.adminTok,
			body: body, contentType: "multipart/form-data; boundary=zz"})
		if st := b.stored(t, b.user.ID).State; res.status != http.StatusBadRequest ||
			strings.TrimSpace(string(res.body)) != `{"error":"sudo is invalid"}` || st == usher.StateBlocked {
			t.Errorf("PUT /users/:id/block as root, body %q: %d %s, user %s; want 400 {\"error\":\"sudo is invalid\"} (Rack reads sudo=plain, who may block no one)",
				body, res.status, strings.TrimSpace(string(res.body)), st)
		}
	}
}

// TestSudoAfterAPaddedBoundaryRefused: Go's reader takes a boundary line
// padded with white space ("--zz \r\n") and reads the sudo part after it;
// Rack 2.2 ends a part only at "--zz" followed by "\r\n" or "--"
// (@body_regex), so its part "a" runs on to the closing boundary, holding
// the sudo part as text: GitLab answers GET /user as root, usher answered
// as plain.
func TestSudoAfterAPaddedBoundaryRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, pad := range []string{" ", "\t"} {
		body := "--zz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--zz" + pad + "\r\n" +
			"Content-Disposition: form-data; name=\"sudo\"\r\n\r\nplain\r\n--zz--\r\n"
		res := b.do(t, call{method: "GET", path: "/api/v4/user", token: b.adminTok,
			body: body, contentType: "multipart/form-data; boundary=zz"})
		if res.status != http.StatusBadRequest || strings.TrimSpace(string(res.body)) != `{"error":"sudo is invalid"}` {
			t.Errorf("GET /user as root, body %q: %d %s; want 400 {\"error\":\"sudo is invalid\"} (Rack reads no sudo, Go sudo=plain)",
				body, res.status, strings.TrimSpace(string(res.body)))
		}
	}
}

// TestTokenSpelledForRackRefused: a private_token or access_token that
// Rack reads and Go does not — a part whose "FILENAME" makes it a file to
// Go (whose mime reads parameter names in any case) and a value to Rack
// (params['filename'] is nil), a query's pair after a ";", a bracketed or
// a form's spaced spelling — made GitLab act as that token's user and
// usher as the Authorization header's, root, or as no one (round 55).
// Each is refused, as an odd sudo is.
func TestTokenSpelledForRackRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bearer := map[string]string{"Authorization": "Bearer " + b.adminTok}
	for _, tc := range []struct {
		name string
		c    call
		want string
	}{
		{"a part whose FILENAME is upper case", call{method: "GET", path: "/api/v4/user", header: bearer,
			body:        "--zz\r\nContent-Disposition: form-data; name=\"private_token\"; FILENAME=\"t\"\r\n\r\n" + b.userTok + "\r\n--zz--\r\n",
			contentType: "multipart/form-data; boundary=zz"}, "private_token"},
		{"a query's pair after a ;", call{method: "GET", path: "/api/v4/user?x=1;private_token=" + b.userTok, header: bearer}, "private_token"},
		{"a bracketed query key", call{method: "GET", path: "/api/v4/user?private_token[]=" + b.userTok, header: bearer}, "private_token"},
		{"a form's spaced pair", call{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d/block", b.user.ID),
			body: "x=1& access_token=" + b.userTok, contentType: "application/x-www-form-urlencoded"}, "access_token"},
	} {
		res := b.do(t, tc.c)
		if want := `{"error":"` + tc.want + ` is invalid"}`; res.status != http.StatusBadRequest || strings.TrimSpace(string(res.body)) != want {
			t.Errorf("%s: %d %s; want 400 %s", tc.name, res.status, bytes.TrimSpace(res.body), want)
		}
	}
	if st := b.stored(t, b.user.ID).State; st == usher.StateBlocked {
		t.Errorf("the user was blocked: %s", st)
	}
}

// TestUploadWithColonInFileNameServed: Go's multipart writer with a field
// holding "Sudoku" and an avatar whose file name holds a ":" (a time of
// day) was refused 400 "sudo is invalid": the ":" made the body other than
// plain, and "Sudoku" holds the letters (round 55). Rack reads the name
// before the file name's ":", as Go does: the body is plain, and served.
func TestUploadWithColonInFileNameServed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField("name", "Sudoku Fan"); err != nil {
		t.Fatal(err)
	}
	fw, err := mw.CreateFormFile("avatar", "shot 10:30.png")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(pngImage(t))
	mw.Close()
	res := b.do(t, call{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d", b.user.ID), token: b.adminTok,
		body: buf.String(), contentType: mw.FormDataContentType()})
	var u struct{ Name string }
	_ = json.Unmarshal(res.body, &u)
	if res.status != http.StatusOK || u.Name != "Sudoku Fan" {
		t.Errorf("PUT /users/:id, name \"Sudoku Fan\" and an avatar \"shot 10:30.png\": %d %s; want 200 with the name", res.status, bytes.TrimSpace(res.body))
	}
}

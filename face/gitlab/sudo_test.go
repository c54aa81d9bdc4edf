package gitlab_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
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
	for i, v := range []string{"2030-01-01T10:30", "2030-01-01 10:30",
		// With a zone, with or without its colon (round 43).
		"2030-01-01T10:30Z", "2030-01-01T10:30+01:00", "2030-01-01T10:30:00+0100"} {
		res := b.do(t, call{method: "POST", path: "/api/v4/user/keys", token: b.userTok,
			body: map[string]any{"title": fmt.Sprint("t", i), "key": coretest.NewSSHKey(t), "expires_at": v}})
		if res.status != http.StatusCreated {
			t.Errorf("POST /user/keys expires_at %q: %d %s; want 201 (Grape's DateTime coerces it, as UTC)", v, res.status, res.body)
		}
	}
}

// TestSudoSpellingsRackReadsAreRefused: past TestMultipartFileSudoIsRefused,
// an administrator's sudo spelled so that Rack reads it as the sudo
// parameter, and Go's parsing otherwise or not at all, was dropped, and
// the block ran with the administrator's own rights (round 43): a file
// part named sudo[] or sudo[x] (a hash to Rack); "sudo=nobody;" (GitLab
// splits a query at "&" alone, and url.Query drops a pair with a ";");
// "sudo[x=plain" (a hash to Rack; no "]" for Go); a form's "x=1& sudo=plain"
// (Rack splits a form at "& *"); "sudo]=plain" and "[sudo]=plain" (Rack
// 2.2 names both sudo). Each is refused now, 400 "sudo is invalid".
func TestSudoSpellingsRackReadsAreRefused(t *testing.T) {
	t.Parallel()
	multipartFile := func(name string) (string, string) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, err := mw.CreateFormFile(name, "sudo.txt")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte("plain"))
		mw.Close()
		return body.String(), mw.FormDataContentType()
	}
	form := "application/x-www-form-urlencoded"
	type spelling struct{ name, query, body, contentType string }
	tests := []spelling{
		{"query sudo=nobody;", "?sudo=nobody;", "", ""},
		{"query sudo=plain%", "?sudo=plain%", "", ""},
		{"query sudo[x=plain", "?sudo[x=plain", "", ""},
		{"query sudo]=plain", "?sudo]=plain", "", ""},
		{"query [sudo]=plain", "?[sudo]=plain", "", ""},
		{"query %20sudo=plain", "?%20sudo=plain", "", ""},
		{"form x=1& sudo=plain", "", "x=1& sudo=plain", form},
		{"form sudo=plain;", "", "sudo=plain;", form},
		// Rack 2.2 splits a query at ";" as at "&"; Go drops the pair
		// holding one whole, the sudo after it too (round 48).
		{"query x=1;sudo=plain", "?x=1;sudo=plain", "", ""},
		{"query ;sudo=plain", "?;sudo=plain", "", ""},
	}
	// A boundary Go's reader finds and Rack's pattern does not: Rack
	// reads the body as a form, whose sudo Go's parts hid (round 48).
	for _, ct := range []string{"multipart/form-data; boundary =zz", "multipart/form-data; boundary*=utf-8''zz"} {
		tests = append(tests, spelling{"multipart, content type " + ct, "",
			"--zz\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1&sudo=plain&\r\n--zz--\r\n", ct})
	}
	for _, name := range []string{"sudo[]", "sudo[x]"} {
		body, ct := multipartFile(name)
		tests = append(tests, spelling{"multipart file part " + name, "", body, ct})
	}
	// Parts Go's reader skips and Rack reads (round 44): a name in any
	// disposition, the last of two names, a Content-ID, an empty file
	// name; and a content type naming two boundaries, Rack taking the
	// last, so that the sudo part is Go's preamble.
	for _, head := range []string{
		`Content-Disposition: attachment; name="sudo"`,
		`Content-Disposition: form-data; name="x"; name="sudo"`,
		"Content-Disposition: form-data\r\nContent-ID: sudo",
		`Content-Disposition: form-data; name="sudo"; filename=""`,
		// In another header's value, where Rack's patterns, anchored
		// nowhere, find it (round 46).
		"X-Note: Content-Disposition: form-data; name=\"sudo\"\r\nContent-Disposition: form-data; name=\"x\"",
		"X-Note: Content-ID: sudo\r\nContent-Disposition: form-data",
		// Past a bare "\n\n", which ends Go's header and not Rack's,
		// whose \s runs across it (round 51).
		"Content-Disposition: form-data; name=\"x\";\n\nname=\"sudo\"",
		"Content-ID:\n\nsudo",
		// No name, or an empty one: Rack names the part by its file name,
		// or else "<its type>[]"; Go's reader skips it (round 52).
		"Content-Disposition: form-data\r\nContent-Type: sudo",
		"Content-Disposition: form-data; name=\"\"\r\nContent-Type: sudo",
		"Content-Type: sudo",
		"Content-Disposition: form-data; name=\"\"; filename=\"sudo\"",
		// Folded over two lines, which Rack's \s runs across (round 47).
		"Content-Disposition: form-data\r\nContent-ID:\r\n sudo",
		"Content-Disposition: form-data\r\nContent-ID: \r\n\tsudo",
		"Content-Disposition: form-data\r\n name=\"sudo\"",
	} {
		tests = append(tests, spelling{"multipart part " + head, "",
			"--zz\r\n" + head + "\r\n\r\nplain\r\n--zz--\r\n", "multipart/form-data; boundary=zz"})
	}
	// Bodies Rack reads otherwise than Go (round 49): a boundary line
	// indented (Rack strips it), a boundary mid-line (Rack ends a part
	// there, then looks for a line that strips to it), a name with a
	// backslash (Rack's dequote drops it), a part named by its escaped
	// file name alone.
	for name, body := range map[string]string{
		"an indented first boundary": " --zz\r\nContent-Disposition: form-data; name=\"sudo\"\r\n\r\nplain\r\n--zz--\r\n",
		"a boundary mid-line, then an indented one": "--zz\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1--zz\r\n --zz\r\n" +
			"Content-Disposition: form-data; name=\"sudo\"\r\n\r\nplain\r\n--zz--\r\n",
		`a part named "s\udo"`:               "--zz\r\nContent-Disposition: form-data; name=\"s\\udo\"\r\n\r\nplain\r\n--zz--\r\n",
		`a part with only filename="%73udo"`: "--zz\r\nContent-Disposition: form-data; filename=\"%73udo\"\r\n\r\nplain\r\n--zz--\r\n",
		// Round 50: a header ended by a bare "\n\n" runs on to Rack's
		// "\r\n\r\n"; Ruby's strip takes "\f", "\v" and "\r" off a
		// boundary line too.
		"a header ended by a bare LF": "--zz\r\nContent-Disposition: form-data\n\nContent-Disposition: form-data; name=\"sudo\"\r\n\r\nplain\r\n--zz--\r\n",
		"a boundary line after \\f":   "\f--zz\r\nContent-Disposition: form-data; name=\"sudo\"\r\n\r\nplain\r\n--zz--\r\n",
		"a boundary line after \\v":   "\v--zz\r\nContent-Disposition: form-data; name=\"sudo\"\r\n\r\nplain\r\n--zz--\r\n",
		"a boundary line after \\r":   "\r--zz\r\nContent-Disposition: form-data; name=\"sudo\"\r\n\r\nplain\r\n--zz--\r\n",
	} {
		tests = append(tests, spelling{"multipart, " + name, "", body, "multipart/form-data; boundary=zz"})
	}
	tests = append(tests, spelling{"multipart, two boundaries", "",
		"--rackB\r\nContent-Disposition: form-data; name=\"sudo\"\r\n\r\nplain\r\n--rackB--\r\n" +
			"--goB\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--goB--\r\n",
		`multipart/form-data; boundary=goB; x="boundary=rackB"`})
	b := setup(t)
	for _, tt := range tests {
		c := call{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d/block%s", b.user.ID, tt.query), token: b.adminTok}
		if tt.body != "" {
			c.body, c.contentType = tt.body, tt.contentType
		}
		res := b.do(t, c)
		if st := b.stored(t, b.user.ID).State; res.status != http.StatusBadRequest || strings.TrimSpace(string(res.body)) != `{"error":"sudo is invalid"}` || st == usher.StateBlocked {
			t.Fatalf("PUT /users/:id/block, %s: %d %s, user state %s; want 400 sudo is invalid and the user not blocked",
				tt.name, res.status, res.body, st)
		}
	}
	// Two Sudo headers: Go reads the first, Rack the two joined.
	req, err := http.NewRequest("PUT", fmt.Sprintf("%s/api/v4/users/%d/block", b.srv.URL, b.user.ID), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("PRIVATE-TOKEN", b.adminTok)
	req.Header["Sudo"] = []string{"", "plain"}
	res, err := b.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if st := b.stored(t, b.user.ID).State; res.StatusCode != http.StatusBadRequest || st == usher.StateBlocked {
		t.Errorf("PUT /users/:id/block with two Sudo headers: %d, user state %s; want 400 and the user not blocked", res.StatusCode, st)
	}
	// A plain sudo in a query, a form or a multipart part still runs as
	// its user.
	for _, c := range []call{
		{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d/block?sudo=plain", b.user.ID), token: b.adminTok},
		{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d/block", b.user.ID), token: b.adminTok, body: "sudo=plain", contentType: form},
		{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d/block", b.user.ID), token: b.adminTok,
			body: "--zz\r\nContent-Disposition: form-data; name=\"sudo\"\r\n\r\nplain\r\n--zz--\r\n", contentType: "multipart/form-data; boundary=zz"},
	} {
		if res := b.do(t, c); res.status != http.StatusForbidden {
			t.Errorf("PUT /users/:id/block as plain (%s %q): %d %s, want 403", c.path, c.body, res.status, res.body)
		}
	}
}

// TestSudoThatNamesNoUser: GitLab's sudo is params[:sudo] || the header,
// and only nil and false are falsy in Ruby; its UserFinder takes /^\d+$/
// for an id. A sudo of "" (in the query or a JSON body) was taken as none
// and the request ran as the administrator, or as the header's user; one
// of "+2" acted as user 2 (round 43). Both name no user now: 404.
func TestSudoThatNamesNoUser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, c := range []call{
		// An empty header too, as Ruby's "" is a value (round 44).
		{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d/block", b.user.ID), token: b.adminTok, header: map[string]string{"Sudo": " "}},
		{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d/block?sudo=", b.user.ID), token: b.adminTok},
		{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d/block", b.user.ID), token: b.adminTok, body: map[string]any{"sudo": ""}},
		{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d/block?sudo=", b.user.ID), token: b.adminTok, header: map[string]string{"Sudo": "plain"}},
		{method: "GET", path: fmt.Sprintf("/api/v4/user?sudo=%%2B%d", b.user.ID), token: b.adminTok},
	} {
		res := b.do(t, c)
		if st := b.stored(t, b.user.ID).State; res.status != http.StatusNotFound || st == usher.StateBlocked {
			t.Errorf("%s %s %v: %d %s, user state %s; want 404 and the user not blocked", c.method, c.path, c.body, res.status, res.body, st)
		}
	}
}

// TestJSONBodyOfAGetIsNoParameter: Grape reads a JSON body of a POST,
// PUT, PATCH or DELETE only, so a GET's "sudo" in one is none and GitLab
// takes the Sudo header; the face read it and acted as the body's user
// (round 43).
func TestJSONBodyOfAGetIsNoParameter(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.env.MustCreateUser(t, usher.UserCreate{Username: "other", Email: "other@example.com", Name: "Other"})
	res := b.do(t, call{method: "GET", path: "/api/v4/user", token: b.adminTok,
		body: map[string]any{"sudo": "other"}, header: map[string]string{"Sudo": "plain"}})
	var u struct{ Username string }
	if res.status == http.StatusOK {
		res.decode(t, &u)
	}
	if res.status != http.StatusOK || u.Username != "plain" {
		t.Errorf(`GET /user, a JSON body {"sudo":"other"}, Sudo: plain: %d %s; want 200 as plain`, res.status, res.body)
	}
}

// TestMultipartNamedLikeSudoIsServed: an upload whose file or field name
// merely holds the letters "sudo" (a file "sudoku.png", a field
// "sudoku") names no sudo to Rack or to Go, and was refused as one
// (round 51), as multipart bodies of curl's or Go's shape are read.
func TestMultipartNamedLikeSudoIsServed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ field, file string }{{"avatar", "sudoku.png"}, {"avatar", "sudo.png"}, {"sudoku", ""}, {"pseudo", ""}} {
		b := setup(t)
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		if tc.file != "" {
			fw, err := mw.CreateFormFile(tc.field, tc.file)
			if err != nil {
				t.Fatal(err)
			}
			fw.Write([]byte("\x89PNG\r\n--not a boundary\nsudo=plain\n"))
		} else if err := mw.WriteField(tc.field, "bob"); err != nil {
			t.Fatal(err)
		}
		mw.Close()
		res := b.do(t, call{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d/block", b.user.ID), token: b.adminTok,
			body: buf.String(), contentType: mw.FormDataContentType()})
		if st := b.stored(t, b.user.ID).State; res.status != http.StatusOK || strings.TrimSpace(string(res.body)) != "true" || st != usher.StateBlocked {
			t.Errorf("PUT /users/:id/block with a multipart %s %q: %d %s, user state %s; want 200 true and the user blocked",
				tc.field, tc.file, res.status, res.body, st)
		}
	}
}

// TestSudoPartWithItsTypeActs: curl -F 'sudo=plain;type=text/plain' sends
// the plain sudo part with a Content-Type, which Rack and Go both read as
// sudo=plain; it was refused as an odd sudo (round 52). It acts as plain,
// who may block no one (403).
func TestSudoPartWithItsTypeActs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.do(t, call{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d/block", b.user.ID), token: b.adminTok,
		body:        "--zz\r\nContent-Disposition: form-data; name=\"sudo\"\r\nContent-Type: text/plain\r\n\r\nplain\r\n--zz--\r\n",
		contentType: "multipart/form-data; boundary=zz"})
	if res.status != http.StatusForbidden || strings.TrimSpace(string(res.body)) != `{"message":"403 Forbidden"}` {
		t.Errorf("PUT /users/:id/block, the sudo part with Content-Type: text/plain: %d %s; want 403 as plain", res.status, res.body)
	}
	if st := b.stored(t, b.user.ID).State; st == usher.StateBlocked {
		t.Errorf("the user after a block as plain: %s", st)
	}
}

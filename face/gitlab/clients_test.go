package gitlab_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	gl "gitlab.com/gitlab-org/api/client-go"
)

// The tests below replay what round 58's review of the strict readings
// found real clients sending and GitLab serving: each failed then (but
// TestPlainClientsServed), refused 400 where GitLab serves them — a form
// value with a ";" (url.ParseQuery refuses one, Rack splits at "&" alone),
// a part's text/plain;charset=UTF-8 (Jersey, Apache's clients) and a
// file name's escaped quote (Go's writer, curl before 7.81) taken for
// other than the plain shape, and the letters "sudo" in a value then
// refused as a sudo.

// TestFormValueWithSemicolonServed: `curl --request PUT --header "PRIVATE-TOKEN: …"
// --data "bio=Go;Ruby" …/users/:id` sends the form body raw. Rack splits a
// form body at "&" only: GitLab sets bio to "Go;Ruby" and answers 200.
func TestFormValueWithSemicolonServed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.do(t, call{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d", b.user.ID), token: b.adminTok,
		body: "bio=Go;Ruby", contentType: "application/x-www-form-urlencoded"})
	if res.status != http.StatusOK {
		t.Fatalf("curl -d 'bio=Go;Ruby': %d %s; want 200 with bio \"Go;Ruby\" (Rack splits a form at & only)", res.status, res.body)
	}
	if got := b.stored(t, b.user.ID).Bio; got != "Go;Ruby" {
		t.Fatalf("bio %q, want Go;Ruby", got)
	}
}

// jerseyBody is a Jersey 2 (gitlab4j-api) multipart body: each part's
// Content-Type first, with a charset, then its disposition.
const jerseyBoundary = "Boundary_1_1286351281_1733613000000"

func jerseyPart(name, value string) string {
	return "--" + jerseyBoundary + "\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n"
}

// TestJerseyValueMentioningSudoServed: a Jersey multipart update whose values
// merely hold the letters "sudo" (a surname, Sudoł; a bio) names no sudo
// parameter at all; GitLab updates the user (200). No sudo, no token
// parameter is in the body.
func TestJerseyValueMentioningSudoServed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tc := range []struct{ name, value string }{
		{"name", "Anna Sudoł"},
		{"bio", "I never run sudo on prod"},
		{"bio", "rotate your access_token weekly"},
	} {
		body := jerseyPart(tc.name, tc.value) + "--" + jerseyBoundary + "--\r\n"
		res := b.do(t, call{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d", b.user.ID), token: b.adminTok,
			body: body, contentType: "multipart/form-data;boundary=" + jerseyBoundary})
		if res.status != http.StatusOK {
			t.Errorf("%s=%q (Jersey multipart): %d %s; want 200 (no sudo or token parameter is sent)\nbody %q", tc.name, tc.value, res.status, res.body, body)
		}
	}
}

// TestClientGoAvatarWithQuotedFileName: GitLab's Go client, ModifyUser with
// a Name and an Avatar whose file name holds a quote. Go's multipart
// writer escapes it as \" and writes the options as plain fields beside
// the file. No sudo or token parameter is sent; GitLab answers 200.
func TestClientGoAvatarWithQuotedFileName(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.client(t, b.adminTok)
	for _, fn := range []string{"me.png", `me "2024".png`} {
		_, _, err := c.Users.ModifyUser(b.user.ID, &gl.ModifyUserOptions{
			Name:   gl.Ptr("Anna Sudoł"),
			Avatar: &gl.UserAvatar{Filename: fn, Image: strings.NewReader("\x89PNG\r\n\x1a\n")},
		})
		if err != nil {
			t.Errorf("client-go ModifyUser(Name: Anna Sudoł, Avatar: %q): %v; want success", fn, err)
		}
	}
}

// TestPlainClientsServed: shapes that should be and are served (sanity).
func TestPlainClientsServed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bd := "8f2b7b5e0d4c4a1f9e3c2b1a0f9e8d7c"
	for _, body := range []string{
		// python requests/urllib3 2: data= fields, files= with %22 for a quote, UTF-8 name
		"--" + bd + "\r\nContent-Disposition: form-data; name=\"sudo\"\r\n\r\nplain\r\n--" + bd + "\r\nContent-Disposition: form-data; name=\"bio\"\r\n\r\nhi\r\n--" + bd + "\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"ñ a%22b.png\"\r\nContent-Type: image/png\r\n\r\nPNG\r\n--" + bd + "--\r\n",
		// HTTParty
		"--" + bd + "\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"a b.png\"\r\nContent-Type: image/png\r\n\r\nPNG\r\n--" + bd + "\r\nContent-Disposition: form-data; name=\"sudo\"\r\n\r\nplain\r\n--" + bd + "--\r\n",
	} {
		res := b.do(t, call{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d", b.user.ID), token: b.adminTok,
			body: body, contentType: "multipart/form-data; boundary=" + bd})
		if res.status != http.StatusOK {
			t.Errorf("%d %s\nbody %q", res.status, res.body, body)
		}
	}
	res := b.do(t, call{method: "GET", path: "/api/v4/user", header: map[string]string{"Authorization": "Bearer " + b.userTok}})
	if res.status != http.StatusOK {
		t.Errorf("bearer: %d %s", res.status, res.body)
	}
}

// TestHalfQuotedCharsetSudoRefused: the plain shape took a charset with a
// quote on one side only; Rack 2.2's tag_multipart_encoding strips a pair
// of quotes alone, and Encoding.find('"utf-8') raises, so GitLab reads no
// parameter and acts as no one, where usher acted as the sudo (round 59).
// Such a part is of no plain shape: a sudo in it is refused.
func TestHalfQuotedCharsetSudoRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bd := "Boundary_1_1286351281_1733613000000"
	for _, ct := range []string{`text/plain; charset="utf-8`, `text/plain;charset=UTF-8"`, `text/plain; charset="iso-8859-1`} {
		body := "--" + bd + "\r\nContent-Type: " + ct + "\r\nContent-Disposition: form-data; name=\"sudo\"\r\n\r\nplain\r\n--" + bd + "--\r\n"
		res := b.do(t, call{method: "GET", path: "/api/v4/user", token: b.adminTok,
			body: body, contentType: "multipart/form-data;boundary=" + bd})
		var u struct{ Username string }
		_ = json.Unmarshal(res.body, &u)
		if res.status != http.StatusBadRequest || strings.TrimSpace(string(res.body)) != `{"error":"sudo is invalid"}` {
			t.Errorf("GET /user, sudo part with Content-Type %q: %d as %q; Rack 2.2 raises in Encoding.find (content type %q), GitLab acts as no one\nbody %q",
				ct, res.status, u.Username, ct, body)
		}
	}
}

// TestFormTrailingNULAsRack: Rack 2.2's Request#POST drops one NUL ending
// a form body before it splits the pairs, so "sudo=plain&sudo\x00" ends
// with a bare "sudo", nil to Rack, over "plain": GitLab acts as the
// administrator, usher acted as plain (round 59); a token likewise. The
// NUL is dropped as Rack drops it (a bare sudo then names no user, 404, a
// refusal where GitLab acts as root).
func TestFormTrailingNULAsRack(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := "sudo=plain&sudo\x00"
	res := b.do(t, call{method: "GET", path: "/api/v4/user", token: b.adminTok,
		body: body, contentType: "application/x-www-form-urlencoded"})
	var u struct{ Username string }
	_ = json.Unmarshal(res.body, &u)
	if res.status == http.StatusOK && u.Username != "root" {
		t.Errorf("GET /user as root, form %q: %d as %q; GitLab (Rack drops the trailing NUL, sudo=nil) acts as root", body, res.status, u.Username)
	}
	// A token likewise: Rack reads private_token = nil, GitLab takes the
	// PRIVATE-TOKEN header's (root); usher took the body's (plain's).
	body = "private_token=" + b.userTok + "&private_token\x00"
	res = b.do(t, call{method: "GET", path: "/api/v4/user", token: b.adminTok,
		body: body, contentType: "application/x-www-form-urlencoded"})
	u.Username = ""
	_ = json.Unmarshal(res.body, &u)
	if res.status == http.StatusOK && u.Username != "root" {
		t.Errorf("GET /user with PRIVATE-TOKEN root's, form %q: %d as %q; GitLab (private_token=nil, the header's token) acts as root", body, res.status, u.Username)
	}
}

// TestClientsMultipartSudoActs: real clients' multipart shapes with a
// sudo part, which Rack reads as params[:sudo] = "plain" and usher once
// refused as other than the plain shape (400) — Jersey's (gitlab4j's)
// text/plain;charset=UTF-8 parts and curl's escaped quote in a file name
// beside them (round 58), OkHttp's part Content-Length and .NET's name
// unquoted (round 59). Both readers read them alike: GitLab acts as
// plain, and so does usher (GET /user names who acts).
func TestClientsMultipartSudoActs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	curl := "------------------------d74496d66958873e"
	bd := "2b6c2d7e-4f0a-4f57-9a53-8c1f0d1f7e21"
	for _, tt := range []struct{ client, boundary, body string }{
		{"Jersey", jerseyBoundary, jerseyPart("sudo", "plain") + jerseyPart("bio", "hello") + "--" + jerseyBoundary + "--\r\n"},
		{"curl before 7.81, -F sudo=plain -F 'avatar=@my \"best\".png'", curl,
			"--" + curl + "\r\nContent-Disposition: form-data; name=\"sudo\"\r\n\r\nplain\r\n" +
				"--" + curl + "\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"my \\\"best\\\".png\"\r\nContent-Type: image/png\r\n\r\nPNG\r\n" +
				"--" + curl + "--\r\n"},
		{"OkHttp", bd, "--" + bd + "\r\nContent-Disposition: form-data; name=\"sudo\"\r\nContent-Length: 5\r\n\r\nplain\r\n--" + bd + "--\r\n"},
		{".NET", bd, "--" + bd + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: form-data; name=sudo\r\n\r\nplain\r\n--" + bd + "--\r\n"},
	} {
		res := b.do(t, call{method: "GET", path: "/api/v4/user", token: b.adminTok,
			body: tt.body, contentType: "multipart/form-data; boundary=" + tt.boundary})
		var u struct{ Username string }
		_ = json.Unmarshal(res.body, &u)
		if res.status != http.StatusOK || u.Username != "plain" {
			t.Errorf("%s multipart sudo=plain: %d %s; GitLab acts as plain (200)\nbody %q", tt.client, res.status, res.body, tt.body)
		}
	}
}

// TestMalformedValueActsAsNoOne: GitLab's HandleMalformedStrings answers
// 400 before the API runs, acting as no one, when a parameter's value
// holds a NUL or is no valid text; a form value keeping a NUL after the
// one Rack drops (bio=x\0\0, a\0b) left usher acting as the sudo
// (round 60). Such a request is 400.
func TestMalformedValueActsAsNoOne(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, body := range []string{"sudo=plain&bio=x\x00\x00", "sudo=plain&bio=a\x00b", "bio=\x00\x00&sudo=plain"} {
		res := b.do(t, call{method: "GET", path: "/api/v4/user", token: b.adminTok,
			body: body, contentType: "application/x-www-form-urlencoded"})
		// Rack keeps a NUL in bio; GitLab's HandleMalformedStrings refuses it.
		wantRefused(t, res, "Bad Request", fmt.Sprintf("form %q", body))
	}
}

// TestUSASCIIPartActsAsNoOne: a part of charset US-ASCII holding a byte
// past 127 is invalid text to Rails once Rack tags it so, and GitLab
// answers 400 acting as no one; usher read it as UTF-8 and acted as the
// sudo (round 60). US-ASCII is no plain charset, so a sudo beside it is
// refused.
func TestUSASCIIPartActsAsNoOne(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bd := "Boundary_1_1286351281_1733613000000"
	for _, ct := range []string{`text/plain; charset="us-ascii"`, `text/plain; charset=us-ascii`} {
		body := "--" + bd + "\r\nContent-Type: " + ct + "\r\nContent-Disposition: form-data; name=bio\r\n\r\ncaf\xc3\xa9\r\n" +
			"--" + bd + "\r\nContent-Disposition: form-data; name=sudo\r\nContent-Length: 5\r\n\r\nplain\r\n--" + bd + "--\r\n"
		res := b.do(t, call{method: "GET", path: "/api/v4/user", token: b.adminTok,
			body: body, contentType: "multipart/form-data; boundary=" + bd})
		// Rack tags bio US-ASCII, which its byte past 127 makes invalid:
		// GitLab answers 400 as no one; usher refuses the sudo beside a
		// part of no plain shape.
		wantRefused(t, res, "sudo is invalid", fmt.Sprintf("bio part %q holding \\xc3\\xa9, sudo=plain", ct))
	}
}

package gitlab_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"usher"
	"usher/core"
	"usher/core/coretest"
	"usher/face/gitlab"
	"usher/web"
)

// TestErrorBodies checks GitLab's error bodies and the refusals of bad
// input, one request each.
func TestErrorBodies(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := b.env.MustCreateUser(t, usher.UserCreate{Username: "other", Email: "other@example.com"})
	full := map[string]any{"email": "new@example.com", "password": password, "username": "new_user", "name": "New User"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for key, val := range full {
			m[key] = val
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	uid := fmt.Sprint(other.ID)
	for _, tt := range []struct {
		name   string
		c      call
		status int
		body   string
	}{
		{"no credential", call{method: "GET", path: "/api/v4/users"}, 401, `{"message":"401 Unauthorized"}`},
		{"unknown token", call{method: "GET", path: "/api/v4/user", token: "usher_pat_nope"}, 401, `{"message":"401 Unauthorized"}`},
		{"unknown token in the query", call{method: "GET", path: "/api/v4/user?private_token=nope"}, 401, `{"message":"401 Unauthorized"}`},
		{"unknown user", call{method: "GET", path: "/api/v4/users/999999", token: b.adminTok}, 404, `{"message":"404 User Not Found"}`},
		{"unknown key", call{method: "GET", path: "/api/v4/user/keys/999999", token: b.userTok}, 404, `{"message":"404 Key Not Found"}`},
		{"unknown address", call{method: "GET", path: "/api/v4/user/emails/999999", token: b.userTok}, 404, `{"message":"404 Email Not Found"}`},
		{"keys of nobody", call{method: "GET", path: "/api/v4/users/999999/keys", token: b.adminTok}, 404, `{"message":"404 User Not Found"}`},
		{"keys of nobody by name", call{method: "GET", path: "/api/v4/users/nobody/keys", token: b.adminTok}, 404, `{"message":"404 User Not Found"}`},
		{"id not a number", call{method: "GET", path: "/api/v4/users/abc", token: b.adminTok}, 400, `{"error":"id is invalid"}`},
		{"key id not a number", call{method: "GET", path: "/api/v4/user/keys/abc", token: b.userTok}, 400, `{"error":"key_id is invalid"}`},
		// Digits past int64: GitLab's route takes them and finds nothing
		// (round 47); usher answered 400.
		{"id past int64", call{method: "GET", path: "/api/v4/users/99999999999999999999", token: b.adminTok}, 404, `{"message":"404 User Not Found"}`},
		{"key id past int64", call{method: "GET", path: "/api/v4/user/keys/99999999999999999999", token: b.userTok}, 404, `{"message":"404 Key Not Found"}`},
		{"email id past int64", call{method: "GET", path: "/api/v4/user/emails/99999999999999999999", token: b.userTok}, 404, `{"message":"404 Email Not Found"}`},

		{"create as a user", call{method: "POST", path: "/api/v4/users", token: b.userTok, body: full}, 403, `{"message":"403 Forbidden"}`},
		{"create with nothing", call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: map[string]any{}}, 400,
			`{"error":"email is missing, password is missing, username is missing, name is missing"}`},
		{"create without email", call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: with("email", nil)}, 400, `{"error":"email is missing"}`},
		{"create without name", call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: with("name", nil)}, 400, `{"error":"name is missing"}`},
		{"invalid email", call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: with("email", "not-an-address")}, 400,
			`{"message":{"email":["is invalid"]}}`},
		{"blank email", call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: with("username", "")}, 400,
			`{"message":{"username":["can't be blank"]}}`},
		{"negative projects_limit", call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: with("projects_limit", -1)}, 400,
			`{"message":{"projects_limit":["must be greater than or equal to 0"]}}`},
		{"projects_limit not a number", call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: with("projects_limit", "many")}, 400,
			`{"error":"projects_limit is invalid"}`},
		{"admin not a boolean", call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: with("admin", "maybe")}, 400,
			`{"error":"admin is invalid"}`},
		{"short password", call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: with("password", "short")}, 400,
			`{"message":{"password":["is shorter than 8 characters"]}}`},
		{"taken email", call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: with("email", "PLAIN@example.com")}, 409,
			`{"message":"Email has already been taken"}`},
		{"taken username", call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: with("username", "Plain")}, 409,
			`{"message":"Username has already been taken"}`},
		{"update to a taken username", call{method: "PUT", path: "/api/v4/users/" + uid, token: b.adminTok, body: map[string]any{"username": "plain"}}, 409,
			`{"message":"Username has already been taken"}`},
		{"update with a negative projects_limit", call{method: "PUT", path: "/api/v4/users/" + uid, token: b.adminTok, body: map[string]any{"projects_limit": -5}}, 400,
			`{"message":{"projects_limit":["must be greater than or equal to 0"]}}`},
		{"update with an invalid email", call{method: "PUT", path: "/api/v4/users/" + uid, token: b.adminTok, body: map[string]any{"email": "a@"}}, 400,
			`{"message":{"email":["is invalid"]}}`},
		{"malformed JSON", call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: `{"email":`, contentType: "application/json"}, 400,
			`{"error":"message body does not match declared format"}`},
		{"JSON that is not an object", call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: `[1]`, contentType: "application/json"}, 400,
			`{"error":"message body does not match declared format"}`},
		// Rack finds no boundary there, and would read the body as a form.
		{"multipart boundary Rack does not find", call{method: "PUT", path: "/api/v4/users/" + uid, token: b.adminTok,
			body: "--zz\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx\r\n--zz--\r\n", contentType: "multipart/form-data; boundary =zz"}, 400,
			`{"error":"message body does not match declared format"}`},

		{"per_page=0", call{method: "GET", path: "/api/v4/users?per_page=0", token: b.userTok}, 400, `{"error":"per_page does not have a valid value"}`},
		{"per_page=-1", call{method: "GET", path: "/api/v4/users?per_page=-1", token: b.userTok}, 400, `{"error":"per_page does not have a valid value"}`},
		{"per_page=abc", call{method: "GET", path: "/api/v4/users?per_page=abc", token: b.userTok}, 400, `{"error":"per_page is invalid"}`},
		{"page=0", call{method: "GET", path: "/api/v4/users?page=0", token: b.userTok}, 400, `{"error":"page does not have a valid value"}`},
		{"page=abc", call{method: "GET", path: "/api/v4/user/keys?page=abc", token: b.userTok}, 400, `{"error":"page is invalid"}`},
		{"page too far", call{method: "GET", path: "/api/v4/user/emails?page=99999999999", token: b.userTok}, 400, `{"error":"page does not have a valid value"}`},
		{"search with a control character", call{method: "GET", path: "/api/v4/users?search=%01", token: b.userTok}, 400, `{"error":"search contains a control character"}`},

		{"malformed key", call{method: "POST", path: "/api/v4/user/keys", token: b.userTok, body: map[string]any{"title": "t", "key": "ssh-rsa AAAA!!"}}, 400,
			`{"message":{"key":["is invalid"]}}`},
		{"key without anything", call{method: "POST", path: "/api/v4/user/keys", token: b.userTok, body: map[string]any{}}, 400,
			`{"error":"title is missing, key is missing"}`},
		{"key with a blank title", call{method: "POST", path: "/api/v4/user/keys", token: b.userTok, body: map[string]any{"title": "", "key": coretest.Ed25519Key}}, 400,
			`{"message":{"title":["can't be blank"]}}`},
		// White space alone is blank to Rails' presence rule; it was
		// stored (round 47).
		{"key with a title of spaces", call{method: "POST", path: "/api/v4/user/keys", token: b.userTok, body: map[string]any{"title": "   ", "key": coretest.Ed25519Key}}, 400,
			`{"message":{"title":["can't be blank"]}}`},
		{"key expiring in the past", call{method: "POST", path: "/api/v4/user/keys", token: b.userTok, body: map[string]any{"title": "t", "key": coretest.Ed25519Key, "expires_at": "2001-01-01"}}, 400,
			`{"message":{"expires_at":["must be in the future"]}}`},
		{"key expiry not a date", call{method: "POST", path: "/api/v4/user/keys", token: b.userTok, body: map[string]any{"title": "t", "key": coretest.Ed25519Key, "expires_at": "soon"}}, 400,
			`{"error":"expires_at is invalid"}`},
		{"invalid address", call{method: "POST", path: "/api/v4/user/emails", token: b.userTok, body: map[string]any{"email": "nope"}}, 400,
			`{"message":{"email":["is invalid"]}}`},
		{"address missing", call{method: "POST", path: "/api/v4/user/emails", token: b.userTok, body: map[string]any{}}, 400, `{"error":"email is missing"}`},

		{"another's keys as a user", call{method: "GET", path: "/api/v4/users/" + uid + "/keys", token: b.userTok}, 403, `{"message":"403 Forbidden"}`},
		{"add another's key as a user", call{method: "POST", path: "/api/v4/users/" + uid + "/keys", token: b.userTok, body: map[string]any{"title": "t", "key": coretest.Ed25519Key}}, 403, `{"message":"403 Forbidden"}`},
		{"delete another's key as a user", call{method: "DELETE", path: "/api/v4/users/" + uid + "/keys/1", token: b.userTok}, 403, `{"message":"403 Forbidden"}`},
		{"another's addresses as a user", call{method: "GET", path: "/api/v4/users/" + uid + "/emails", token: b.userTok}, 403, `{"message":"403 Forbidden"}`},
		{"add another's address as a user", call{method: "POST", path: "/api/v4/users/" + uid + "/emails", token: b.userTok, body: map[string]any{"email": "x@example.com"}}, 403, `{"message":"403 Forbidden"}`},
		{"delete another's address as a user", call{method: "DELETE", path: "/api/v4/users/" + uid + "/emails/1", token: b.userTok}, 403, `{"message":"403 Forbidden"}`},
		{"update as a user", call{method: "PUT", path: "/api/v4/users/" + uid, token: b.userTok, body: map[string]any{"name": "x"}}, 403, `{"message":"403 Forbidden"}`},
		{"update oneself as a user", call{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d", b.user.ID), token: b.userTok, body: map[string]any{"admin": true}}, 403, `{"message":"403 Forbidden"}`},
		{"delete as a user", call{method: "DELETE", path: "/api/v4/users/" + uid, token: b.userTok}, 403, `{"message":"403 Forbidden"}`},
		{"block as a user", call{method: "PUT", path: "/api/v4/users/" + uid + "/block", token: b.userTok}, 403, `{"message":"403 Forbidden"}`},
		{"unblock as a user", call{method: "POST", path: "/api/v4/users/" + uid + "/unblock", token: b.userTok}, 403, `{"message":"403 Forbidden"}`},
		{"sudo as a user", call{method: "GET", path: "/api/v4/user", token: b.userTok, header: map[string]string{"Sudo": uid}}, 403, `{"message":"403 Forbidden"}`},
		{"sudo as nobody", call{method: "GET", path: "/api/v4/user", token: b.adminTok, header: map[string]string{"Sudo": "nobody"}}, 404, `{"message":"404 User Not Found"}`},
	} {
		res := b.do(t, tt.c)
		res.want(t, tt.name, tt.status, tt.body)
		if ct := res.header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s: Content-Type %q", tt.name, ct)
		}
	}
	// Nothing refused was written.
	page, err := b.env.Core.Users.List(system(), usher.UserFilter{Username: "new_user"})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("a refused create wrote a user: %v, %v", page, err)
	}
}

// TestEveryRouteNeedsACredential asks every route without one. The bodies
// are complete, so that the request reaches the core, which refuses the
// anonymous caller.
func TestEveryRouteNeedsACredential(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bodies := map[string]map[string]any{
		"/users":        {"email": "a@example.com", "password": password, "username": "a", "name": "A"},
		"/user/keys":    {"title": "t", "key": coretest.Ed25519Key},
		"/users/1/keys": {"title": "t", "key": coretest.Ed25519Key},
		"/user/emails":  {"email": "a@example.com"}, "/users/1/emails": {"email": "a@example.com"},
	}
	for _, path := range []string{"/api/v4", "/api/v3"} {
		for _, rt := range []struct{ method, path string }{
			{"GET", "/users"}, {"POST", "/users"}, {"GET", "/users/1"}, {"PUT", "/users/1"}, {"DELETE", "/users/1"},
			{"PUT", "/users/1/block"}, {"POST", "/users/1/block"}, {"PUT", "/users/1/unblock"}, {"POST", "/users/1/unblock"},
			{"GET", "/user"}, {"GET", "/user/keys"}, {"POST", "/user/keys"}, {"GET", "/user/keys/1"}, {"DELETE", "/user/keys/1"},
			{"GET", "/users/1/keys"}, {"POST", "/users/1/keys"}, {"DELETE", "/users/1/keys/1"},
			{"GET", "/user/emails"}, {"POST", "/user/emails"}, {"GET", "/user/emails/1"}, {"DELETE", "/user/emails/1"},
			{"GET", "/users/1/emails"}, {"POST", "/users/1/emails"}, {"DELETE", "/users/1/emails/1"},
		} {
			c := call{method: rt.method, path: path + rt.path}
			if body, ok := bodies[rt.path]; ok && rt.method == "POST" {
				c.body = body
			}
			res := b.do(t, c)
			res.want(t, rt.method+" "+path+rt.path, http.StatusUnauthorized, `{"message":"401 Unauthorized"}`)
		}
	}
}

// TestCredentials finds the caller every way GitLab takes a credential,
// and checks that what a call adds goes to that caller.
func TestCredentials(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p, err := b.env.Core.Auth.Authenticate(system(), b.userTok)
	if err != nil {
		t.Fatal(err)
	}
	jwt, _, err := b.env.Core.Auth.IssueJWT(usher.WithPrincipal(system(), p))
	if err != nil {
		t.Fatal(err)
	}
	key := coretest.NewSSHKey(t)
	for name, c := range map[string]call{
		"PRIVATE-TOKEN":           {method: "GET", path: "/api/v4/user", token: b.userTok},
		"private_token parameter": {method: "GET", path: "/api/v4/user?private_token=" + url.QueryEscape(b.userTok)},
		"private_token in a form": {method: "POST", path: "/api/v4/user/emails", body: url.Values{"private_token": {b.userTok}, "email": {"form@example.com"}}},
		"private_token in JSON":   {method: "POST", path: "/api/v4/user/keys", body: map[string]any{"private_token": b.userTok, "title": "json", "key": key}},
		"Authorization: Bearer":   {method: "GET", path: "/api/v4/user", header: map[string]string{"Authorization": "Bearer " + b.userTok}},
		"a JWT as Bearer":         {method: "GET", path: "/api/v4/user", header: map[string]string{"Authorization": "Bearer " + jwt}},
		"access_token parameter":  {method: "GET", path: "/api/v4/user?access_token=" + url.QueryEscape(b.userTok)},
		// GitLab reads the parameter before the header
		// (extract_personal_access_token); usher read the header
		// first (round 56).
		"a param over PRIVATE-TOKEN": {method: "GET", path: "/api/v4/user?private_token=" + url.QueryEscape(b.userTok), token: b.adminTok},
	} {
		res := b.do(t, c)
		if res.status != http.StatusOK && res.status != http.StatusCreated {
			t.Fatalf("%s: %d %s", name, res.status, res.body)
		}
		if c.method == "GET" {
			if got := res.object(t); got["username"] != "plain" {
				t.Fatalf("%s: %s", name, res.body)
			}
		}
	}
	// The address and the key sent with a credential in the body went to
	// its user, and to no one else.
	emails, err := b.env.Core.Emails.List(system(), usher.UserKey{ID: b.user.ID})
	if err != nil || len(emails) != 1 || emails[0].Email != "form@example.com" {
		t.Fatalf("plain's addresses: %+v, %v", emails, err)
	}
	keys, err := b.env.Core.Keys.List(system(), usher.UserKey{ID: b.user.ID})
	if err != nil || len(keys) != 1 || keys[0].Title != "json" || keys[0].Key != key {
		t.Fatalf("plain's keys: %+v, %v", keys, err)
	}
	emails, err = b.env.Core.Emails.List(system(), usher.UserKey{ID: b.admin.ID})
	if err != nil || len(emails) != 0 {
		t.Fatalf("root's addresses: %+v, %v", emails, err)
	}
	keys, err = b.env.Core.Keys.List(system(), usher.UserKey{ID: b.admin.ID})
	if err != nil || len(keys) != 0 {
		t.Fatalf("root's keys: %+v, %v", keys, err)
	}
}

// TestParameterEncodings sends the same create as JSON, as a form, as a
// multipart form and in the query (all but the password, which is taken
// only from the body), with text for numbers and booleans.
func TestParameterEncodings(t *testing.T) {
	t.Parallel()
	b := setup(t)
	fields := func(n int) url.Values {
		return url.Values{"email": {fmt.Sprintf("u%d@example.com", n)}, "password": {password},
			"username": {fmt.Sprintf("u%d", n)}, "name": {"User Name"}, "projects_limit": {"7"},
			"admin": {"false"}, "can_create_group": {"0"}, "external": {"true"}, "confirm": {"false"},
			"bio": {"bio"}, "extern_uid": {fmt.Sprintf("uid-%d", n)}, "provider": {"github"}}
	}
	var multi bytes.Buffer
	mw := multipart.NewWriter(&multi)
	for k, vs := range fields(3) {
		_ = mw.WriteField(k, vs[0])
	}
	_ = mw.Close()
	jsonBody := map[string]any{}
	for k, vs := range fields(4) {
		jsonBody[k] = vs[0]
	}
	jsonBody["projects_limit"], jsonBody["external"], jsonBody["can_create_group"] = 7, true, false
	inQuery := fields(2)
	inQuery.Del("password")
	for name, c := range map[string]call{
		"form":      {method: "POST", path: "/api/v4/users", body: fields(1)},
		"query":     {method: "POST", path: "/api/v4/users?" + inQuery.Encode(), body: url.Values{"password": {password}}},
		"multipart": {method: "POST", path: "/api/v4/users", body: multi.String(), contentType: mw.FormDataContentType()},
		"JSON":      {method: "POST", path: "/api/v4/users", body: jsonBody},
	} {
		c.token = b.adminTok
		res := b.do(t, c)
		if res.status != http.StatusCreated {
			t.Fatalf("%s: %d %s", name, res.status, res.body)
		}
		var u struct {
			ID int64 `json:"id"`
		}
		res.decode(t, &u)
		s := b.stored(t, u.ID)
		if s.GitLab.ProjectsLimit != 7 || s.Admin || s.GitLab.CanCreateGroup || !s.External || s.EmailConfirmedAt == nil ||
			s.Bio != "bio" || s.Name != "User Name" || len(s.Identities) != 1 || s.Identities[0].Provider != "github" {
			t.Fatalf("%s: stored %+v", name, s)
		}
		if _, err := b.env.Core.Auth.Login(system(), s.Username, password); err != nil {
			t.Fatalf("%s: the password was not set: %v", name, err)
		}
	}
}

// TestPasswordNotInQuery checks that a password in the query string is
// never used: the request is refused before anything happens, whether the
// body has a password too or not.
func TestPasswordNotInQuery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const refusal = `{"error":"password must be sent in the request body, not the query string"}`
	create := url.Values{"email": {"q@example.com"}, "username": {"q"}, "name": {"Q"}, "password": {password}}
	for name, c := range map[string]call{
		"create":                   {method: "POST", path: "/api/v4/users?" + create.Encode(), token: b.adminTok},
		"create, body has one too": {method: "POST", path: "/api/v4/users?password=" + url.QueryEscape(password), token: b.adminTok, body: create},
		"update another":           {method: "PUT", path: fmt.Sprintf("/api/v4/users/%d?password=%s", b.user.ID, url.QueryEscape("new "+password)), token: b.adminTok},
		"update oneself":           {method: "PUT", path: fmt.Sprintf("/api/v4/users/%d?password=%s", b.user.ID, url.QueryEscape("new "+password)), token: b.userTok},
		"without a credential":     {method: "PUT", path: "/api/v3/users/1?password=x"},
	} {
		b.do(t, c).want(t, name, http.StatusBadRequest, refusal)
	}
	page, err := b.env.Core.Users.List(system(), usher.UserFilter{Username: "q"})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("a refused create wrote a user: %+v, %v", page, err)
	}
	if _, err := b.env.Core.Auth.Login(system(), "plain", "new "+password); err == nil {
		t.Fatal("a password in the query was set")
	}
	// Without a password in the body, a create misses it.
	create.Del("password")
	b.do(t, call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: create}).
		want(t, "create without a password", http.StatusBadRequest, `{"error":"password is missing"}`)
}

// TestBodyLimit checks that the face bounds a body itself, mounted without
// web.Middleware: a form or a multipart form over web.MaxBody is 413.
func TestBodyLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	mux := http.NewServeMux()
	(&gitlab.Handler{Users: b.env.Core.Users, Auth: b.env.Core.Auth, Keys: b.env.Core.Keys,
		Emails: b.env.Core.Emails, Log: slog.New(slog.DiscardHandler)}).Mount(mux)
	bare := httptest.NewServer(mux)
	t.Cleanup(bare.Close)

	big := strings.Repeat("a", web.MaxBody+1)
	var multi bytes.Buffer
	mw := multipart.NewWriter(&multi)
	_ = mw.WriteField("email", "big@example.com")
	fw, err := mw.CreateFormFile("avatar", "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(fw, big)
	_ = mw.Close()
	for name, c := range map[string]struct{ body, contentType string }{
		"multipart": {multi.String(), mw.FormDataContentType()},
		"form":      {url.Values{"email": {"big@example.com"}, "bio": {big}}.Encode(), "application/x-www-form-urlencoded"},
		"JSON":      {`{"email":"big@example.com","bio":"` + big + `"}`, "application/json"},
	} {
		r, err := http.NewRequest("POST", bare.URL+"/api/v4/user/emails", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", c.contentType)
		r.Header.Set("PRIVATE-TOKEN", b.userTok)
		res, err := bare.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		(&response{status: res.StatusCode, header: res.Header, body: body}).
			want(t, name, http.StatusRequestEntityTooLarge, `{"message":"413 Request Entity Too Large"}`)
	}
	emails, err := b.env.Core.Emails.List(system(), usher.UserKey{ID: b.user.ID})
	if err != nil || len(emails) != 0 {
		t.Fatalf("a refused body added %+v, %v", emails, err)
	}
}

// TestPaginationHeaders checks GitLab's headers on the lists.
func TestPaginationHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 4 {
		b.env.MustCreateUser(t, usher.UserCreate{Username: fmt.Sprintf("user%d", i)})
	}
	headers := func(res *response) string {
		var parts []string
		for _, h := range []string{"X-Total", "X-Total-Pages", "X-Per-Page", "X-Page", "X-Next-Page", "X-Prev-Page"} {
			vs, ok := res.header[h]
			if !ok {
				t.Fatalf("no %s header", h)
			}
			parts = append(parts, h+"="+strings.Join(vs, ","))
		}
		return strings.Join(parts, " ")
	}
	count := func(res *response) int {
		var list []map[string]any
		res.decode(t, &list)
		return len(list)
	}
	link := func(q string) string { return "<" + baseURL + "/api/v4/users?" + q + ">" }

	res := b.do(t, call{method: "GET", path: "/api/v4/users", token: b.adminTok})
	if got := headers(res); got != "X-Total=6 X-Total-Pages=1 X-Per-Page=20 X-Page=1 X-Next-Page= X-Prev-Page=" || count(res) != 6 {
		t.Fatalf("defaults: %s", got)
	}
	if got := res.header.Get("Link"); got != link("page=1&per_page=20")+`; rel="first", `+link("page=1&per_page=20")+`; rel="last"` {
		t.Fatalf("Link: %s", got)
	}
	res = b.do(t, call{method: "GET", path: "/api/v4/users?per_page=4&page=2", token: b.adminTok})
	if got := headers(res); got != "X-Total=6 X-Total-Pages=2 X-Per-Page=4 X-Page=2 X-Next-Page= X-Prev-Page=1" || count(res) != 2 {
		t.Fatalf("last page: %s", got)
	}
	// "user" is in four usernames and in Plain User's name.
	res = b.do(t, call{method: "GET", path: "/api/v4/users?per_page=2&page=2&search=user", token: b.adminTok})
	if got := headers(res); got != "X-Total=5 X-Total-Pages=3 X-Per-Page=2 X-Page=2 X-Next-Page=3 X-Prev-Page=1" || count(res) != 2 {
		t.Fatalf("search: %s", got)
	}
	res = b.do(t, call{method: "GET", path: "/api/v4/users?per_page=2&private_token=" + url.QueryEscape(b.adminTok)})
	want := link("page=2&per_page=2") + `; rel="next", ` + link("page=1&per_page=2") + `; rel="first", ` + link("page=3&per_page=2") + `; rel="last"`
	if got := res.header.Get("Link"); got != want {
		t.Fatalf("Link, first page, token in the query:\n got  %s\n want %s", got, want)
	}
	res = b.do(t, call{method: "GET", path: "/api/v4/users?per_page=2&page=2", token: b.adminTok})
	if got := headers(res); got != "X-Total=6 X-Total-Pages=3 X-Per-Page=2 X-Page=2 X-Next-Page=3 X-Prev-Page=1" {
		t.Fatalf("middle page: %s", got)
	}
	want = link("page=1&per_page=2") + `; rel="prev", ` + link("page=3&per_page=2") + `; rel="next", ` +
		link("page=1&per_page=2") + `; rel="first", ` + link("page=3&per_page=2") + `; rel="last"`
	if got := res.header.Get("Link"); got != want {
		t.Fatalf("Link, middle page:\n got  %s\n want %s", got, want)
	}
	// Past the end: an empty page, no neighbours.
	res = b.do(t, call{method: "GET", path: "/api/v4/users?per_page=4&page=9", token: b.adminTok})
	if got := headers(res); got != "X-Total=6 X-Total-Pages=2 X-Per-Page=4 X-Page=9 X-Next-Page= X-Prev-Page=" || count(res) != 0 {
		t.Fatalf("past the end: %s", got)
	}
	// per_page is capped at 100, as GitLab caps it.
	res = b.do(t, call{method: "GET", path: "/api/v4/users?per_page=1000", token: b.userTok})
	if got := headers(res); res.status != http.StatusOK || got != "X-Total=6 X-Total-Pages=1 X-Per-Page=100 X-Page=1 X-Next-Page= X-Prev-Page=" {
		t.Fatalf("per_page=1000: %d %s", res.status, got)
	}

	// The key and address lists are paged alike.
	for range 3 {
		if _, err := b.env.Core.Keys.Add(system(), usher.UserKey{ID: b.user.ID}, "k", coretest.NewSSHKey(t), nil); err != nil {
			t.Fatal(err)
		}
	}
	res = b.do(t, call{method: "GET", path: "/api/v4/user/keys?per_page=2", token: b.userTok})
	if got := headers(res); got != "X-Total=3 X-Total-Pages=2 X-Per-Page=2 X-Page=1 X-Next-Page=2 X-Prev-Page=" || count(res) != 2 {
		t.Fatalf("keys: %s", got)
	}
	res = b.do(t, call{method: "GET", path: fmt.Sprintf("/api/v4/users/%d/keys?page=2&per_page=2", b.user.ID), token: b.adminTok})
	if got := headers(res); got != "X-Total=3 X-Total-Pages=2 X-Per-Page=2 X-Page=2 X-Next-Page= X-Prev-Page=1" || count(res) != 1 {
		t.Fatalf("keys of a user: %s", got)
	}
	res = b.do(t, call{method: "GET", path: "/api/v4/user/emails", token: b.userTok})
	if got := headers(res); got != "X-Total=0 X-Total-Pages=1 X-Per-Page=20 X-Page=1 X-Next-Page= X-Prev-Page=" || count(res) != 0 {
		t.Fatalf("no addresses: %s", got)
	}
}

// TestVersion3 checks that /api/v3 answers like /api/v4.
func TestVersion3(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, err := b.env.Core.Keys.Add(system(), usher.UserKey{ID: b.user.ID}, "k", coretest.Ed25519Key, nil); err != nil {
		t.Fatal(err)
	}
	uid := fmt.Sprint(b.user.ID)
	for _, c := range []call{
		{method: "GET", path: "/users", token: b.adminTok},
		{method: "GET", path: "/users?search=plain&per_page=1", token: b.userTok},
		{method: "GET", path: "/users/" + uid, token: b.adminTok},
		{method: "GET", path: "/users/" + uid, token: b.userTok},
		{method: "GET", path: "/users/999999", token: b.adminTok},
		{method: "GET", path: "/user", token: b.userTok},
		{method: "GET", path: "/user/keys", token: b.userTok},
		{method: "GET", path: "/users/" + uid + "/keys", token: b.adminTok},
		{method: "GET", path: "/user/emails", token: b.userTok},
		{method: "GET", path: "/users?per_page=abc", token: b.userTok},
		{method: "POST", path: "/users", token: b.adminTok, body: map[string]any{"email": "plain@example.com", "password": password, "username": "x", "name": "x"}},
		{method: "POST", path: "/users", token: b.userTok, body: map[string]any{}},
		{method: "PUT", path: "/users/" + uid + "/unblock", token: b.adminTok},
		{method: "POST", path: "/users/" + uid + "/unblock", token: b.adminTok},
		{method: "DELETE", path: "/user/keys/999999", token: b.userTok},
	} {
		v4, v3 := c, c
		v4.path, v3.path = "/api/v4"+c.path, "/api/v3"+c.path
		r4, r3 := b.do(t, v4), b.do(t, v3)
		link4 := strings.ReplaceAll(r4.header.Get("Link"), "/api/v4/", "/api/v3/")
		if r4.status != r3.status || !bytes.Equal(r4.body, r3.body) || link4 != r3.header.Get("Link") ||
			r4.header.Get("X-Total") != r3.header.Get("X-Total") {
			t.Fatalf("%s %s: v4 %d %s %s, v3 %d %s %s", c.method, c.path, r4.status, r4.body, r4.header.Get("Link"),
				r3.status, r3.body, r3.header.Get("Link"))
		}
	}
}

// TestBlockStatuses checks the documentation's PUT (200) and today's POST (201).
func TestBlockStatuses(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ext := b.env.MustCreateUser(t, usher.UserCreate{Username: "ldap_user", State: usher.StateBlockedExternal})
	uid := fmt.Sprint(b.user.ID)
	state := func() usher.UserState { return b.stored(t, b.user.ID).State }
	for _, v := range []string{"/api/v4", "/api/v3"} {
		b.do(t, call{method: "PUT", path: v + "/users/" + uid + "/block", token: b.adminTok}).want(t, "PUT block", 200, `true`)
		if state() != usher.StateBlocked {
			t.Fatal("PUT block did not block")
		}
		b.do(t, call{method: "PUT", path: v + "/users/" + uid + "/block", token: b.adminTok}).want(t, "PUT block again", 200, `true`)
		b.do(t, call{method: "PUT", path: v + "/users/" + uid + "/unblock", token: b.adminTok}).want(t, "PUT unblock", 200, `true`)
		if state() != usher.StateActive {
			t.Fatal("PUT unblock did not unblock")
		}
		b.do(t, call{method: "POST", path: v + "/users/" + uid + "/block", token: b.adminTok}).want(t, "POST block", 201, `true`)
		if state() != usher.StateBlocked {
			t.Fatal("POST block did not block")
		}
		b.do(t, call{method: "POST", path: v + "/users/" + uid + "/unblock", token: b.adminTok}).want(t, "POST unblock", 201, `true`)
		if state() != usher.StateActive {
			t.Fatal("POST unblock did not unblock")
		}
		for _, m := range []string{"PUT", "POST"} {
			for _, act := range []string{"block", "unblock"} {
				b.do(t, call{method: m, path: fmt.Sprintf("%s/users/%d/%s", v, ext.ID, act), token: b.adminTok}).want(t, m+" "+act+" of an LDAP-blocked user", 403,
					`{"message":"403 Forbidden - the user was blocked by an external directory and can only be unblocked there"}`)
				b.do(t, call{method: m, path: v + "/users/999999/" + act, token: b.adminTok}).want(t, m+" "+act+" of nobody", 404, `{"message":"404 User Not Found"}`)
			}
		}
	}
	if b.stored(t, ext.ID).State != usher.StateBlockedExternal {
		t.Fatal("the externally blocked user changed")
	}
}

// TestDeleteUser checks the documentation's idempotent delete, which is for callers
// who may delete: the core refuses anyone else before it looks for the
// user, so they learn nothing of who exists.
func TestDeleteUser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, v := range []string{"/api/v4", "/api/v3"} {
		b.do(t, call{method: "DELETE", path: v + "/users/999999", token: b.userTok}).want(t, "a user deletes nobody", 403, `{"message":"403 Forbidden"}`)
		for _, m := range []string{"PUT", "POST"} {
			for _, act := range []string{"block", "unblock"} {
				b.do(t, call{method: m, path: v + "/users/999999/" + act, token: b.userTok}).want(t, "a user "+act+"s nobody", 403, `{"message":"403 Forbidden"}`)
			}
		}
	}
	path := fmt.Sprintf("/api/v4/users/%d", b.user.ID)
	res := b.do(t, call{method: "DELETE", path: path, token: b.adminTok})
	if got := res.object(t); res.status != http.StatusOK || got["username"] != "plain" || got["email"] != "plain@example.com" {
		t.Fatalf("first delete: %d %s", res.status, res.body)
	}
	for _, p := range []string{path, "/api/v4/users/999999"} {
		res = b.do(t, call{method: "DELETE", path: p, token: b.adminTok})
		if res.status != http.StatusOK || len(res.body) != 0 {
			t.Fatalf("DELETE %s: %d %q", p, res.status, res.body)
		}
	}
	if _, err := b.env.Core.Users.Get(system(), usher.UserKey{ID: b.user.ID}); usher.ErrorKind(err) != usher.KindNotFound {
		t.Fatalf("the user is still there: %v", err)
	}
	// The user's token died with it.
	b.do(t, call{method: "GET", path: "/api/v4/user", token: b.userTok}).want(t, "a deleted user's token", 401, `{"message":"401 Unauthorized"}`)
}

// TestUpdateOneself checks usher's policy, decided in the core: users
// change their own profile through PUT /users/:id (GitLab allows only
// administrators), but not their privileges, and not other users.
func TestUpdateOneself(t *testing.T) {
	t.Parallel()
	b := setup(t)
	self := fmt.Sprintf("/api/v4/users/%d", b.user.ID)
	res := b.do(t, call{method: "PUT", path: self, token: b.userTok, body: map[string]any{"bio": "Plain and simple", "location": "Here"}})
	if got := res.object(t); res.status != http.StatusOK || got["bio"] != "Plain and simple" || got["location"] != "Here" ||
		got["email"] != "plain@example.com" || got["is_admin"] != false {
		t.Fatalf("a user changes its bio: %d %s", res.status, res.body)
	}
	if s := b.stored(t, b.user.ID); s.Bio != "Plain and simple" || s.Location != "Here" {
		t.Fatalf("stored %+v", s)
	}
	for name, c := range map[string]call{
		"admin":              {method: "PUT", path: self, token: b.userTok, body: map[string]any{"admin": true}},
		"projects_limit":     {method: "PUT", path: self, token: b.userTok, body: map[string]any{"projects_limit": 1000}},
		"external":           {method: "PUT", path: self, token: b.userTok, body: map[string]any{"external": true}},
		"an identity":        {method: "PUT", path: self, token: b.userTok, body: map[string]any{"provider": "github", "extern_uid": "me"}},
		"password":           {method: "PUT", path: self, token: b.userTok, body: map[string]any{"password": "another " + password}},
		"bio with admin":     {method: "PUT", path: self, token: b.userTok, body: map[string]any{"bio": "sneaky", "admin": true}},
		"another user's bio": {method: "PUT", path: fmt.Sprintf("/api/v4/users/%d", b.admin.ID), token: b.userTok, body: map[string]any{"bio": "pwned"}},
	} {
		res := b.do(t, c)
		if res.status != http.StatusForbidden || !strings.HasPrefix(res.object(t)["message"].(string), "403 Forbidden") {
			t.Fatalf("%s: %d %s", name, res.status, res.body)
		}
	}
	// Users may change a user, themselves, so the core looks the user up:
	// one that does not exist is 404, as for everyone.
	b.do(t, call{method: "PUT", path: "/api/v4/users/999999", token: b.userTok, body: map[string]any{"bio": "x"}}).
		want(t, "a user changes nobody", http.StatusNotFound, `{"message":"404 User Not Found"}`)
	s, root := b.stored(t, b.user.ID), b.stored(t, b.admin.ID)
	if s.Admin || s.GitLab.ProjectsLimit == 1000 || s.External || len(s.Identities) != 0 || s.Bio != "Plain and simple" || root.Bio != "" {
		t.Fatalf("a refused update changed something: %+v, root %+v", s, root)
	}
}

// TestPageSizeCap: the core caps a page (here at 3) below what the request
// asks; the list reports the size that applied and counts pages in it, so
// that paging through reaches every user exactly once.
func TestPageSizeCap(t *testing.T) {
	t.Parallel()
	b := setupWith(t, options{core: coretest.Options{Policy: core.Policy{MaxPageSize: 3}}})
	all := []int64{b.admin.ID, b.user.ID}
	for i := range 6 {
		all = append(all, b.env.MustCreateUser(t, usher.UserCreate{Username: fmt.Sprintf("user%d", i)}).ID)
	}
	for _, query := range []string{"per_page=5&", "", "per_page=3&", "per_page=100&"} {
		var seen []int64
		for page := 1; page <= 4; page++ {
			res := b.do(t, call{method: "GET", path: fmt.Sprintf("/api/v4/users?%spage=%d", query, page), token: b.adminTok})
			if res.status != http.StatusOK {
				t.Fatalf("%q page %d: %d %s", query, page, res.status, res.body)
			}
			next := ""
			if page < 3 {
				next = fmt.Sprint(page + 1)
			}
			h := res.header
			if h.Get("X-Per-Page") != "3" || h.Get("X-Total") != "8" || h.Get("X-Total-Pages") != "3" ||
				h.Get("X-Page") != fmt.Sprint(page) || h.Get("X-Next-Page") != next {
				t.Fatalf("%q page %d: headers %v", query, page, h)
			}
			link := h.Get("Link")
			if !strings.Contains(link, "per_page=3>") || strings.Contains(link, "per_page=5") ||
				!strings.Contains(link, `page=3&per_page=3>; rel="last"`) {
				t.Fatalf("%q page %d: Link %s", query, page, link)
			}
			var list []struct {
				ID int64 `json:"id"`
			}
			res.decode(t, &list)
			for _, u := range list {
				seen = append(seen, u.ID)
			}
		}
		if !slices.Equal(seen, all) {
			t.Fatalf("%q: the pages held %v, want %v", query, seen, all)
		}
	}
}

// TestKeyExpiry checks that a key's expires_at is taken, as a date or a
// time, and shown: null for a key that does not expire.
func TestKeyExpiry(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tt := range []struct{ name, given, shown string }{
		{"a date", "2099-01-02", `"2099-01-02T00:00:00.000Z"`},
		{"a time", "2099-01-02T03:04:05.678+02:00", `"2099-01-02T01:04:05.678Z"`},
		{"none", "", "null"},
	} {
		body := map[string]any{"title": tt.name, "key": coretest.NewSSHKey(t)}
		if tt.given != "" {
			body["expires_at"] = tt.given
		}
		res := b.do(t, call{method: "POST", path: "/api/v4/user/keys", token: b.userTok, body: body})
		var k map[string]json.RawMessage
		res.decode(t, &k)
		if res.status != http.StatusCreated || string(k["expires_at"]) != tt.shown {
			t.Fatalf("%s: %d %s", tt.name, res.status, res.body)
		}
		var id int64
		if err := json.Unmarshal(k["id"], &id); err != nil {
			t.Fatal(err)
		}
		res = b.do(t, call{method: "GET", path: fmt.Sprintf("/api/v4/users/plain/keys/%d", id), token: b.adminTok})
		res.decode(t, &k)
		if res.status != http.StatusOK || string(k["expires_at"]) != tt.shown {
			t.Fatalf("%s, read back: %d %s", tt.name, res.status, res.body)
		}
	}
}

// TestSudo checks acting as another user: the Sudo header and the sudo
// parameter, by id or username, audited by the core.
func TestSudo(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, c := range map[string]call{
		"header by id":          {method: "GET", path: "/api/v4/user", token: b.adminTok, header: map[string]string{"Sudo": fmt.Sprint(b.user.ID)}},
		"header by username":    {method: "GET", path: "/api/v4/user", token: b.adminTok, header: map[string]string{"SUDO": "plain"}},
		"parameter by username": {method: "GET", path: "/api/v4/user?sudo=plain", token: b.adminTok},
	} {
		res := b.do(t, c)
		if got := res.object(t); res.status != http.StatusOK || got["username"] != "plain" || got["is_admin"] != false {
			t.Fatalf("%s: %d %s", name, res.status, res.body)
		}
	}
	// Acting as a plain user, the admin has a plain user's rights and views.
	res := b.do(t, call{method: "GET", path: fmt.Sprintf("/api/v4/users/%d", b.admin.ID), token: b.adminTok, header: map[string]string{"Sudo": "plain"}})
	if got := res.object(t); res.status != http.StatusOK || got["email"] != nil {
		t.Fatalf("the user view as sudo: %d %s", res.status, res.body)
	}
	b.do(t, call{method: "POST", path: "/api/v4/users", token: b.adminTok, header: map[string]string{"Sudo": "plain"},
		body: map[string]any{"email": "s@example.com", "password": password, "username": "s", "name": "S"}}).want(t, "create as sudo", 403, `{"message":"403 Forbidden"}`)
	page, err := b.env.Core.Audit.List(system(), usher.AuditFilter{Action: "auth.sudo"})
	if err != nil || len(page.Items) != 5 || page.Items[0].ActorID != b.admin.ID || page.Items[0].ResourceID != fmt.Sprint(b.user.ID) {
		t.Fatalf("sudo audit: %+v, %v", page, err)
	}
}

// TestDuplicates checks GitLab's 400 field hash for a taken key or address.
func TestDuplicates(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.do(t, call{method: "POST", path: "/api/v4/user/keys", token: b.userTok, body: map[string]any{"title": "t", "key": coretest.RSAKey}}).want(t, "a key", 201, "")
	for _, c := range []call{
		{method: "POST", path: "/api/v4/user/keys", token: b.userTok, body: map[string]any{"title": "again", "key": coretest.RSAKey + " other@comment"}},
		{method: "POST", path: fmt.Sprintf("/api/v4/users/%d/keys", b.admin.ID), token: b.adminTok, body: map[string]any{"title": "t", "key": coretest.RSAKey}},
	} {
		b.do(t, c).want(t, "taken key", 400, `{"message":{"fingerprint":["has already been taken"],"key":["has already been taken"]}}`)
	}
	for _, c := range []call{
		{method: "POST", path: "/api/v4/user/emails", token: b.userTok, body: map[string]any{"email": "root@EXAMPLE.com"}},
		{method: "POST", path: fmt.Sprintf("/api/v4/users/%d/emails", b.admin.ID), token: b.adminTok, body: map[string]any{"email": "plain@example.com"}},
	} {
		b.do(t, c).want(t, "taken address", 400, `{"message":{"email":["has already been taken"]}}`)
	}
}

// TestUnrouted checks Grape's answers, in its {"error": …} body, for a path
// or a method the face does not serve and for a body of a type it does not
// parse; a form is parsed, as GitLab parses it.
func TestUnrouted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name   string
		c      call
		status int
		body   string
		allow  string
	}{
		{"unknown path", call{method: "GET", path: "/api/v4/projects", token: b.userTok}, 404, `{"error":"404 Not Found"}`, ""},
		{"unknown path in v3", call{method: "GET", path: "/api/v3/users/1/nothing"}, 404, `{"error":"404 Not Found"}`, ""},
		{"other method on a user", call{method: "PATCH", path: "/api/v4/users/1", token: b.adminTok}, 405, `{"error":"405 Not Allowed"}`, "GET, HEAD, PUT, DELETE"},
		{"other method on a list in v3", call{method: "DELETE", path: "/api/v3/users", token: b.adminTok}, 405, `{"error":"405 Not Allowed"}`, "GET, HEAD, POST"},
		{"text", call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: `{"username":"bob"}`, contentType: "text/plain"},
			415, `{"error":"The provided content-type 'text/plain' is not supported."}`, ""},
		{"XML", call{method: "PUT", path: "/api/v4/users/1", token: b.adminTok, body: `<user/>`, contentType: "application/xml; charset=utf-8"},
			415, `{"error":"The provided content-type 'application/xml' is not supported."}`, ""},
		{"a form", call{method: "POST", path: "/api/v4/user/emails", token: b.userTok, body: url.Values{"email": {"form@example.com"}}}, 201, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := b.do(t, tt.c)
			res.want(t, tt.name, tt.status, tt.body)
			if got := res.header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
		})
	}
}

// TestPaginationHeadersUncounted: past the core's exact count, as GitLab
// does past 10,000 rows, a list gives no X-Total, X-Total-Pages or last
// link, and its next page from whether one follows. (The list of every
// user is counted exactly at any size: a search is what goes past.)
func TestPaginationHeadersUncounted(t *testing.T) {
	t.Parallel()
	b := setupWith(t, options{core: coretest.Options{Policy: core.Policy{ExactTotal: 3}}})
	for i := range 6 {
		b.env.MustCreateUser(t, usher.UserCreate{Username: fmt.Sprintf("paged%d", i)})
	}
	link := func(q string) string { return "<" + baseURL + "/api/v4/users?" + q + "&search=paged>" }
	for _, tt := range []struct {
		query, next, prev, links string
	}{
		{"per_page=2&page=2&search=paged", "3", "1", link("page=1&per_page=2") + `; rel="prev", ` + link("page=3&per_page=2") + `; rel="next", ` + link("page=1&per_page=2") + `; rel="first"`},
		{"per_page=2&page=3&search=paged", "", "2", link("page=2&per_page=2") + `; rel="prev", ` + link("page=1&per_page=2") + `; rel="first"`},
	} {
		res := b.do(t, call{method: "GET", path: "/api/v4/users?" + tt.query, token: b.adminTok})
		_, total := res.header["X-Total"]
		_, pages := res.header["X-Total-Pages"]
		if res.status != http.StatusOK || total || pages || res.header.Get("X-Next-Page") != tt.next ||
			res.header.Get("X-Prev-Page") != tt.prev || res.header.Get("Link") != tt.links {
			t.Errorf("%s: %d %v", tt.query, res.status, res.header)
		}
	}
}

// TestSearchTooShort: a search of fewer than three characters is refused
// with GitLab's 400 body naming the parameter, as every face refuses it;
// three characters are served.
func TestSearchTooShort(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, q := range []string{"a", "ab", "%C3%A9%C3%A9"} {
		b.do(t, call{method: "GET", path: "/api/v4/users?search=" + q, token: b.adminTok}).
			want(t, "search="+q, http.StatusBadRequest, `{"error":"search must be at least 3 characters"}`)
	}
	if res := b.do(t, call{method: "GET", path: "/api/v4/users?search=abc", token: b.adminTok}); res.status != http.StatusOK {
		t.Errorf("search=abc: %d %s", res.status, res.body)
	}
}

// TestNameErrorsNameTheName: GitLab's users API takes a name, no parts of
// one; a name whose part the core made was too long or held a control
// character was refused naming first_name or last_name, which no GitLab
// client sent (round 47). Each names name now.
func TestNameErrorsNameTheName(t *testing.T) {
	t.Parallel()
	b := setup(t)
	long := strings.Repeat("a", 300)
	for _, c := range []call{
		{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d", b.user.ID), token: b.adminTok, body: map[string]any{"name": long}},
		{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d", b.user.ID), token: b.adminTok, body: map[string]any{"name": "x y " + long}},
		{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d", b.user.ID), token: b.adminTok, body: map[string]any{"name": "Ann\x07"}},
		{method: "POST", path: "/api/v4/users", token: b.adminTok, body: map[string]any{"email": "n@example.com", "password": password, "username": "nuser", "name": "x y " + long}},
	} {
		res := b.do(t, c)
		var m struct{ Message map[string][]string }
		if res.status == http.StatusBadRequest {
			res.decode(t, &m)
		}
		if _, named := m.Message["name"]; res.status != http.StatusBadRequest || !named || len(m.Message) != 1 {
			t.Errorf("%s %s %.40v: %d %s; want 400 naming name alone", c.method, c.path, c.body, res.status, res.body)
		}
	}
}

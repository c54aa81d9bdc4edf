package gitlab_test

import (
	"fmt"
	"net/url"
	"testing"

	"usher"
)

// TestCreateBlank checks that POST /users with a password that is
// empty or null is refused as GitLab refuses it, 400 "can't be blank",
// rather than making a user with no password and no invitation: to the
// core an empty password is none at all. So are an empty, blank or null
// email, username and name: GitLab's users always have them.
func TestCreateBlank(t *testing.T) {
	t.Parallel()
	b := setup(t)
	user := func(pw any) map[string]any {
		return map[string]any{"email": "blank@example.com", "username": "blank", "name": "Blank", "password": pw}
	}
	with := func(k string, v any) map[string]any {
		m := user(password)
		m[k] = v
		return m
	}
	for _, tt := range []struct {
		name   string
		c      call
		status int
		body   string
	}{
		{"empty", call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: user("")}, 400,
			`{"message":{"password":["can't be blank"]}}`},
		{"null", call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: user(nil)}, 400,
			`{"message":{"password":["can't be blank"]}}`},
		{"empty in a form", call{method: "POST", path: "/api/v3/users", token: b.adminTok,
			body: url.Values{"email": {"blank@example.com"}, "username": {"blank"}, "name": {"Blank"}, "password": {""}}}, 400,
			`{"message":{"password":["can't be blank"]}}`},
		{"a malformed parameter comes first", call{method: "POST", path: "/api/v4/users", token: b.adminTok,
			body: map[string]any{"email": "blank@example.com", "username": "blank", "name": "Blank", "password": "", "admin": "maybe"}}, 400,
			`{"error":"admin is invalid"}`},
		{"empty email", call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: with("email", "")}, 400,
			`{"message":{"email":["can't be blank"]}}`},
		{"null email without confirmation", call{method: "POST", path: "/api/v4/users", token: b.adminTok,
			body: map[string]any{"email": nil, "username": "blank", "name": "Blank", "password": password, "confirm": false}}, 400,
			`{"message":{"email":["can't be blank"]}}`},
		{"empty name", call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: with("name", "")}, 400,
			`{"message":{"name":["can't be blank"]}}`},
		{"blank name", call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: with("name", "   ")}, 400,
			`{"message":{"name":["can't be blank"]}}`},
		{"all blank", call{method: "POST", path: "/api/v4/users", token: b.adminTok,
			body: map[string]any{"email": "", "username": nil, "name": " ", "password": ""}}, 400,
			`{"message":{"email":["can't be blank"],"password":["can't be blank"],"username":["can't be blank"],"name":["can't be blank"]}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b.do(t, tt.c).want(t, tt.name, tt.status, tt.body)
		})
	}
	page, err := b.env.Core.Users.List(system(), usher.UserFilter{Username: "blank"})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("a refused create wrote a user: %v, %v", page, err)
	}
	// With reset_password=true an empty password is no password, and the
	// invitation is sent.
	b.do(t, call{method: "POST", path: "/api/v4/users", token: b.adminTok,
		body: map[string]any{"email": "blank@example.com", "username": "blank", "name": "Blank", "password": "", "reset_password": true}}).
		want(t, "reset_password with an empty password", 201, "")
}

// TestUpdateBlank checks that PUT /users/:id giving an e-mail address, a
// username or a name empty, blank or null is refused as GitLab refuses
// it, 400 "can't be blank" for each, and changes nothing: to the core an
// empty address or name is none, and GitLab's users always have them.
func TestUpdateBlank(t *testing.T) {
	t.Parallel()
	b := setup(t)
	path := fmt.Sprintf("/api/v4/users/%d", b.user.ID)
	for _, tt := range []struct {
		name string
		body any
		want string
	}{
		{"empty name and email", map[string]any{"name": "", "email": ""},
			`{"message":{"email":["can't be blank"],"name":["can't be blank"]}}`},
		{"null email", map[string]any{"email": nil}, `{"message":{"email":["can't be blank"]}}`},
		{"blank username", map[string]any{"username": "  "}, `{"message":{"username":["can't be blank"]}}`},
		{"blank name with a good bio", map[string]any{"name": " ", "bio": "kept out"}, `{"message":{"name":["can't be blank"]}}`},
		{"empty name in a form", url.Values{"name": {""}}, `{"message":{"name":["can't be blank"]}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b.do(t, call{method: "PUT", path: path, token: b.adminTok, body: tt.body}).want(t, tt.name, 400, tt.want)
		})
	}
	u, err := b.env.Core.Users.Get(system(), usher.UserKey{ID: b.user.ID})
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "plain@example.com" || u.Name != "Plain User" || u.Username != "plain" || u.Bio != "" {
		t.Fatalf("a refused update changed the user: %q %q %q %q", u.Email, u.Name, u.Username, u.Bio)
	}
	b.do(t, call{method: "PUT", path: path, token: b.adminTok, body: map[string]any{"name": "Plain Again"}}).
		want(t, "a name", 200, "")
}

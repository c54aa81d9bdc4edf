package pterodactyl_test

import (
	"testing"

	"strconv"

	"usher"
)

// TestReadOnlyKeyRefusedBeforeValidation replays a key that may only read
// sending writes, as Pterodactyl's form requests decide them: the panel
// binds the user in the path (404), then authorizes the key (403), then
// validates the body (422). A body that is no JSON PHP reads is refused
// before any of them, by the API's middleware (400). Before, usher
// validated the body first and answered a read-only key's incomplete body
// 422, telling it which fields a write would need.
func TestReadOnlyKeyRefusedBeforeValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	readOnly := b.env.MustToken(t, b.admin.ID, usher.TokenApplication, usher.ScopeReadAPI)
	u := b.mustCreateUser(t, usher.UserCreate{Username: "plain", Email: "plain@example.com", FirstName: "P", LastName: "L"})
	path := "/api/application/users/" + strconv.FormatInt(u.ID, 10)
	tests := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"create, a whole body", "POST", "/api/application/users", newUser("fresh"), 403, "AccessDeniedHttpException"},
		{"create, an empty object", "POST", "/api/application/users", map[string]any{}, 403, "AccessDeniedHttpException"},
		{"create, a bad address", "POST", "/api/application/users", map[string]any{"email": "not-an-address"}, 403, "AccessDeniedHttpException"},
		{"create, an unknown include", "POST", "/api/application/users?include=nope", newUser("fresh"), 403, "AccessDeniedHttpException"},
		{"create, malformed JSON", "POST", "/api/application/users", `{"email":`, 400, "BadRequestHttpException"},
		{"update, an empty object", "PATCH", path, map[string]any{}, 403, "AccessDeniedHttpException"},
		{"update, a bad address", "PATCH", path, map[string]any{"email": "not-an-address"}, 403, "AccessDeniedHttpException"},
		{"update, a user not there", "PATCH", "/api/application/users/999999", map[string]any{}, 404, "NotFoundHttpException"},
		{"update, malformed JSON", "PATCH", path, `{"email":`, 400, "BadRequestHttpException"},
		// A deletion binds the user first too (round 44).
		{"delete", "DELETE", path, nil, 403, "AccessDeniedHttpException"},
		{"delete, a user not there", "DELETE", "/api/application/users/999999", nil, 404, "NotFoundHttpException"},
	}
	for _, tt := range tests {
		users, events := b.env.Counts(t)
		res := b.do(t, req{method: tt.method, path: tt.path, key: readOnly, body: tt.body})
		if res.status != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.name, res.status, res.body, tt.status)
			continue
		}
		if e := res.errs(t); len(e.Errors) != 1 || e.Errors[0].Code != tt.code {
			t.Errorf("%s: %s, want one %s", tt.name, res.body, tt.code)
		}
		if n, ev := b.env.Counts(t); n != users || ev != events {
			t.Errorf("%s: a refused write wrote something", tt.name)
		}
	}
	// The key's owner, with a key that may write, is still answered 422.
	if res := b.do(t, req{method: "POST", path: "/api/application/users", body: map[string]any{}}); res.status != 422 {
		t.Errorf("a key that may write, an empty object: %d %s, want 422", res.status, res.body)
	}
}

package corteza_test

import (
	"testing"
)

// TestMalformedTextPostgres sends text PostgreSQL refuses — a NUL, bytes
// that are not UTF-8 — as filters, a setting's key, a script's name and a
// login, on PostgreSQL, where each answered "internal error": a filter is
// refused naming it, an unknown key is not found, a login refused, as
// each is on SQLite.
func TestMalformedTextPostgres(t *testing.T) {
	t.Parallel()
	b := setupOn(t, true)
	for _, tc := range []struct {
		name, method, path string
		body               any
		anon               bool
		message            string // of the error envelope, which Corteza answers with 200
	}{
		{"action log by action", "GET", "/actionlog/?action=a%00b", nil, false, "action: contains a control character"},
		{"action log by resource", "GET", "/actionlog/?resource=a%FFb", nil, false, "resource: is not valid UTF-8"},
		{"applications by name", "GET", "/application/?name=a%00b", nil, false, "name: contains a control character"},
		{"applications by query", "GET", "/application/?query=a%00b", nil, false, "query: contains a control character"},
		{"roles by handle", "GET", "/roles/?handle=a%00b", nil, false, "handle: contains a control character"},
		{"users by handle", "GET", "/users/?handle=a%00b", nil, false, "handle: contains a control character"},
		{"settings by prefix", "GET", "/settings/?prefix=a%FFb", nil, false, "prefix: is not valid UTF-8"},
		{"setting, which is null", "GET", "/settings/a%00b", nil, false, ""},
		{"script triggered", "POST", "/automation/trigger", `{"script":"a\u0000b"}`, false, "script not found"},
		{"log-in", "POST", "/auth/internal/login", `{"email":"g\u0000@x.com","password":"a"}`, true, "invalid username and password combination"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jwt := b.adminJWT
			if tc.anon {
				jwt = ""
			}
			res := b.do(t, tc.method, tc.path, jwt, tc.body)
			if res.status != 200 || res.errMessage(t) != tc.message {
				t.Fatalf("%s %s: %d %s, want 200 %q", tc.method, tc.path, res.status, res.body, tc.message)
			}
		})
	}
}

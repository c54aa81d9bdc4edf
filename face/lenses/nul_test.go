package lenses_test

import (
	"net/http"
	"testing"

	"usher/core/coretest"
)

// TestMalformedTextPostgres sends a NUL, which PostgreSQL refuses in text,
// as a group's name and as a login, on PostgreSQL, where each answered
// 500: an unknown group is not found, an unknown login refused.
func TestMalformedTextPostgres(t *testing.T) {
	t.Parallel()
	b := setupWith(t, coretest.Options{Postgres: true})
	for _, tc := range []struct {
		name  string
		c     call
		token bool
		want  want
	}{
		{"add to groups", call{method: "PUT", path: "/api/v1/users/plain/groups", body: `{"add_to_groups":["a\u0000b"]}`}, true, want{404, "group_not_found", ""}},
		{"set groups", call{method: "PUT", path: "/api/v1/users/plain/groups", body: `{"set_groups":["dev","a\u0000b"]}`}, true, want{404, "group_not_found", ""}},
		{"remove from groups", call{method: "PUT", path: "/api/v1/users/plain/groups", body: `{"remove_from_groups":["a\u0000b"]}`}, true, want{404, "group_not_found", ""}},
		{"log-in", call{method: "POST", path: "/api/v1/login", body: `{"username":"g\u0000@x.com","password":"a"}`}, false, want{http.StatusUnauthorized, "invalid_credentials", ""}},
		{"log-in by name", call{method: "POST", path: "/api/v1/login", body: `{"username":"root\u0000","password":"a"}`}, false, want{http.StatusUnauthorized, "invalid_credentials", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			if tc.token {
				c.token = b.adminTok
			}
			b.do(t, c).check(t, tc.want)
		})
	}
}

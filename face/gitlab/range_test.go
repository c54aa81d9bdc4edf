package gitlab_test

import (
	"fmt"
	"testing"

	"usher/core/coretest"
)

// TestIntegerBounds checks that a number GitLab keeps in a 32-bit column
// is refused past 2147483647 as GitLab refuses it, 400 with its field's
// message, rather than stored on SQLite and a 500 on PostgreSQL, whose
// column is as narrow as GitLab's. Both engines answer alike.
func TestIntegerBounds(t *testing.T) {
	t.Parallel()
	for _, engine := range []struct {
		name string
		opts coretest.Options
	}{{"sqlite", coretest.Options{}}, {"postgres", coretest.Options{Postgres: true}}} {
		t.Run(engine.name, func(t *testing.T) {
			t.Parallel()
			b := setupWith(t, options{core: engine.opts})
			path := fmt.Sprintf("/api/v4/users/%d", b.user.ID)
			for _, tt := range []struct {
				name string
				body map[string]any
				want string
			}{
				{"projects_limit", map[string]any{"projects_limit": 2147483648},
					`{"message":{"projects_limit":["must be less than or equal to 2147483647"]}}`},
				{"theme_id", map[string]any{"theme_id": 9999999999},
					`{"message":{"theme_id":["must be less than or equal to 2147483647"]}}`},
				{"color_scheme_id", map[string]any{"color_scheme_id": 4294967296},
					`{"message":{"color_scheme_id":["must be less than or equal to 2147483647"]}}`},
			} {
				b.do(t, call{method: "PUT", path: path, token: b.adminTok, body: tt.body}).want(t, tt.name, 400, tt.want)
			}
			b.do(t, call{method: "PUT", path: path, token: b.adminTok, body: map[string]any{"projects_limit": 2147483647}}).
				want(t, "the largest projects_limit", 200, "")
			b.do(t, call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: map[string]any{
				"email": "big@example.com", "username": "big", "name": "Big", "password": password, "projects_limit": 2147483648}}).
				want(t, "create", 400, `{"message":{"projects_limit":["must be less than or equal to 2147483647"]}}`)
		})
	}
}

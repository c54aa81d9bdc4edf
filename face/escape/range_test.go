package escape_test

import (
	"testing"

	"usher"
)

// TestPlanLimitBounds checks that a plan's project_limit past 2147483647
// is refused, 400 naming the field, on both engines alike, where
// PostgreSQL's 32-bit column answered 500 and SQLite stored it.
func TestPlanLimitBounds(t *testing.T) {
	t.Parallel()
	for _, engine := range []struct {
		name  string
		setup func(*testing.T) *bundle
	}{{"sqlite", setup}, {"postgres", setupPostgres}} {
		t.Run(engine.name, func(t *testing.T) {
			t.Parallel()
			b := engine.setup(t)
			for _, tt := range []struct {
				name   string
				c      call
				status int
				code   string
			}{
				{"create", call{method: "POST", path: p + "/plans/", token: b.adminTok,
					body: map[string]any{"name": "huge", "project_limit": 2147483648}}, 400, usher.CodeValidationFailed},
				{"create at the bound", call{method: "POST", path: p + "/plans/", token: b.adminTok,
					body: map[string]any{"name": "big", "project_limit": 2147483647}}, 200, ""},
				{"update", call{method: "PUT", path: p + "/plans/big/", token: b.adminTok,
					body: map[string]any{"project_limit": 9999999999}}, 400, usher.CodeValidationFailed},
				// Past int64, or not whole: the decoder's error named the
				// face's own type, planJSON.project_limit (round 45).
				{"create past int64", call{method: "POST", path: p + "/plans/", token: b.adminTok,
					body: `{"name":"huger","project_limit":100000000000000000000}`}, 400, usher.CodeWrongType},
				{"update, not whole", call{method: "PUT", path: p + "/plans/big/", token: b.adminTok,
					body: `{"project_limit":1.5}`}, 400, usher.CodeWrongType},
			} {
				res := b.do(t, tt.c)
				e, field := res.problem(t)
				if res.status != tt.status || e.Code != tt.code || (tt.code != "" && field != "project_limit") {
					t.Errorf("%s: %d %s; want %d %s naming project_limit", tt.name, res.status, res.body, tt.status, tt.code)
				}
			}
		})
	}
}

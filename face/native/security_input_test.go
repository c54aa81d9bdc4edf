package native_test

import (
	"encoding/base64"
	"net/http"
	"testing"
)

// cursorOf encodes raw as a cursor is encoded: JSON in unpadded URL-safe
// base64. The tests write the JSON by hand, as a hostile client would.
func cursorOf(raw string) string { return base64.RawURLEncoding.EncodeToString([]byte(raw)) }

// TestMalformedCursorIs400 proves that a cursor no list gave out is
// refused with 400 invalid_cursor on every list that pages, instead of
// being read as "from the start" or as a position before the first row.
func TestMalformedCursorIs400(t *testing.T) {
	t.Parallel()
	b := setup(t)
	lists := []string{"/v1/users", "/v1/groups", "/v1/organisations", "/v1/audit", "/v1/groups/1/members"}
	cursors := []struct{ name, cursor string }{
		{"not base64", "!!"},
		{"padded base64", cursorOf("42") + "="},
		{"null", cursorOf("null")},
		{"zero id", cursorOf("0")},
		{"negative id", cursorOf("-5")},
		{"overflowing id", cursorOf("99999999999999999999")},
		{"fractional id", cursorOf("1.5")},
		{"unknown field", cursorOf(`{"s":"","i":1,"zz":3}`)},
		{"object for an id", cursorOf(`{}`)},
	}
	b.api.do(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, unchecked: true,
		body: map[string]any{"kind": "group", "handle": "g1", "name": "G1"}})
	for _, list := range lists {
		for _, c := range cursors {
			t.Run(list+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				res := b.api.do(t, req{method: "GET", path: list + "?cursor=" + c.cursor, token: b.adminTok})
				p := res.problem(t)
				if res.status != http.StatusBadRequest || p.Code != "invalid_cursor" || len(p.Errors) != 1 || p.Errors[0].Field != "cursor" {
					t.Fatalf("GET %s?cursor=%s: %d %s, want 400 invalid_cursor naming cursor", list, c.cursor, res.status, res.body)
				}
			})
		}
	}
}

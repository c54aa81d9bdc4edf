package pterodactyl_test

import (
	"strings"
	"testing"
)

// TestExternalIDNoUserHolds checks that GET /users/external/{external_id}
// with an external id no user can hold (longer than any, or with a control
// character) is a 404, as Pterodactyl answers a look-up that finds no user,
// and not a 400.
func TestExternalIDNoUserHolds(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct{ name, id string }{
		{"longer than 255 bytes", strings.Repeat("a", 300)},
		{"longer than 191 characters", strings.Repeat("b", 200)},
		{"a control character", "a%01b"},
		{"a tab", "a%09b"},
		{"not UTF-8", "a%FFb"},
	}
	for _, tt := range tests {
		for _, q := range []string{"", "?include=servers"} {
			res := b.do(t, req{method: "GET", path: "/api/application/users/external/" + tt.id + q})
			if res.status != 404 {
				t.Errorf("%s%s: %d %s", tt.name, q, res.status, res.body)
				continue
			}
			if e := res.errs(t); e.Errors[0].Code != "NotFoundHttpException" ||
				e.Errors[0].Detail != "The requested resource could not be found on the server." {
				t.Errorf("%s%s: %s", tt.name, q, res.body)
			}
		}
	}
}

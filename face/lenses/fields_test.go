package lenses_test

import (
	"net/http"
	"testing"
)

// TestProfileErrorNamesOnlyItsFields: a full_name with a control
// character or a direction override was refused with invalid_fields
// naming full_name and first_name — the first name the core derives from
// the full name, which Lenses' profile has not (round 56). The problem is
// told once, under the field sent.
func TestProfileErrorNamesOnlyItsFields(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, v := range []string{"ab\u0007cd", "ab\u202ecd"} {
		r := b.do(t, call{method: "PATCH", path: "/api/v1/users/plain/profile", token: b.userTok, body: map[string]any{"full_name": v}})
		var e errorBody
		r.decode(t, &e)
		if r.status != http.StatusBadRequest || len(e.InvalidFields) != 1 || e.InvalidFields[0].Name != "full_name" {
			t.Errorf("full_name %q: %d %s; want 400 naming full_name alone", v, r.status, r.body)
		}
	}
}

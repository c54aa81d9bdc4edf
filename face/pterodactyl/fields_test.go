package pterodactyl_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"usher"
)

// TestValidationNamesOnlyRequestFields: a first_name with a direction
// override was refused 422 with an entry for first_name and another for
// name — the full name the core derives from the first and last names,
// which Pterodactyl's request has not (round 56). The problem is told
// once, under the field sent.
func TestValidationNamesOnlyRequestFields(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.env.MustCreateUser(t, usher.UserCreate{Username: "gina", Email: "gina@example.com", FirstName: "G", LastName: "H"})
	for _, tc := range []struct {
		rq    req
		field string
	}{
		{req{method: "PATCH", path: fmt.Sprintf("/api/application/users/%d", u.ID),
			body: map[string]any{"email": "gina@example.com", "username": "gina", "first_name": "ab\u202ecd", "last_name": "H"}}, "first_name"},
		{req{method: "POST", path: "/api/application/users",
			body: map[string]any{"email": "x@example.com", "username": "xavier", "first_name": "X", "last_name": "ab\u0007cd"}}, "last_name"},
	} {
		r := b.do(t, tc.rq)
		var body struct {
			Errors []struct {
				Meta struct {
					SourceField string `json:"source_field"`
				} `json:"meta"`
			} `json:"errors"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		var fields []string
		for _, e := range body.Errors {
			fields = append(fields, e.Meta.SourceField)
		}
		if r.status != http.StatusUnprocessableEntity || len(fields) != 1 || fields[0] != tc.field {
			t.Errorf("%s: %d, fields %v; want 422 naming %s alone\n%s", tc.rq.method, r.status, fields, tc.field, r.body)
		}
	}
}

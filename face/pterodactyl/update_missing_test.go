package pterodactyl_test

import (
	"fmt"
	"testing"

	"usher"
)

// TestUpdateUnknownUser checks that an update of a user who does not exist
// is a 404 whatever its body, as in Pterodactyl, whose route binding finds
// the user before the request is validated; a user who exists still gets
// the 422.
func TestUpdateUnknownUser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ann := b.mustCreate(t, newUser("ann"))
	gone := b.mustCreate(t, newUser("gone"))
	if res := b.do(t, req{method: "DELETE", path: fmt.Sprintf("/api/application/users/%d", gone.Attributes.ID)}); res.status != 200 {
		t.Fatalf("delete: %d %s", res.status, res.body)
	}
	svc := b.mustCreateUser(t, usher.UserCreate{Username: "svc", Email: "svc@example.com", Kind: usher.KindServiceAccount})
	users := map[string]string{
		"unknown": "/api/application/users/99999",
		"deleted": fmt.Sprintf("/api/application/users/%d", gone.Attributes.ID),
		"service": fmt.Sprintf("/api/application/users/%d", svc.ID),
		"ann":     fmt.Sprintf("/api/application/users/%d", ann.Attributes.ID),
	}
	short := newUser("ann")
	short["password"] = "abc"
	tests := []struct {
		name, user string
		body       any
		status     int
		rules      []string
	}{
		{"unknown user, partial body", "unknown", map[string]any{"first_name": "X"}, 404, nil},
		{"unknown user, empty body", "unknown", "", 404, nil},
		{"unknown user, wrong type", "unknown", map[string]any{"email": 5}, 404, nil},
		{"unknown user, short password", "unknown", short, 404, nil},
		{"deleted user, partial body", "deleted", map[string]any{"first_name": "X"}, 404, nil},
		{"deleted user, short password", "deleted", short, 404, nil},
		{"service account, partial body", "service", map[string]any{"first_name": "X"}, 404, nil},
		{"unknown user, malformed JSON", "unknown", "{", 400, nil},
		{"existing user, partial body", "ann", map[string]any{"first_name": "X"}, 422,
			[]string{"email:required", "username:required", "last_name:required"}},
		{"existing user, short password", "ann", short, 422, []string{"password:min"}},
	}
	for _, tt := range tests {
		res := b.do(t, req{method: "PATCH", path: users[tt.user], body: tt.body})
		if res.status != tt.status {
			t.Errorf("%s: %d %s", tt.name, res.status, res.body)
			continue
		}
		e := res.errs(t)
		if got := e.rules(); fmt.Sprint(got) != fmt.Sprint(tt.rules) {
			t.Errorf("%s: rules %v, want %v", tt.name, got, tt.rules)
		}
		if tt.status == 404 && (e.Errors[0].Code != "NotFoundHttpException" ||
			e.Errors[0].Detail != "The requested resource could not be found on the server.") {
			t.Errorf("%s: %s", tt.name, res.body)
		}
	}
}

package pterodactyl_test

import (
	"context"
	"fmt"
	"net/http"
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

// TestWholeUserSentBackKeepsStoredSeparator: Pterodactyl's PATCH needs
// email, username, first_name and last_name, so a panel sends the user
// back whole to change its language. A first name an earlier release
// stored with a line separator (which usher now refuses in a new name)
// and a space at its end arrives trimmed, and the full name is made of it
// again: both are the names kept, not new ones, and the change is taken.
func TestWholeUserSentBackKeepsStoredSeparator(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.mustCreateUser(t, usher.UserCreate{Username: "ann", Email: "ann@example.com", FirstName: "Ann", LastName: "Lee"})
	if _, err := b.env.Store.UserUpdate(context.Background(), u.ID, func(u *usher.User) error {
		u.FirstName, u.Name = "Ann\u2028Marie ", "Ann\u2028Marie  Lee"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/api/application/users/%d", u.ID)
	whole := map[string]any{"email": "ann@example.com", "username": "ann", "first_name": "Ann\u2028Marie ", "last_name": "Lee", "language": "de"}
	if res := b.do(t, req{method: "PATCH", path: path, body: whole}); res.status != http.StatusOK {
		t.Errorf("the user sent back whole to change its language: %d %s, want 200", res.status, res.body)
	}
	whole["first_name"] = "Ann\u2029Maria"
	if res := b.do(t, req{method: "PATCH", path: path, body: whole}); res.status != http.StatusUnprocessableEntity {
		t.Errorf("a new first name with a paragraph separator: %d %s, want 422", res.status, res.body)
	}
}

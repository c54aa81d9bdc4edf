package pterodactyl_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestValidationWording checks the details of 422 entries: Pterodactyl's
// StoreUserRequest names external_id "Third Party Identifier" and
// root_admin "Root Administrator Status" in Laravel's messages, on create
// and on update alike.
func TestValidationWording(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.mustCreate(t, map[string]any{"email": "taken@example.com", "username": "taken", "first_name": "T", "last_name": "T", "external_id": "ext-taken"})
	ann := b.mustCreate(t, newUser("ann"))
	with := func(base map[string]any, changes map[string]any) map[string]any {
		for k, v := range changes {
			base[k] = v
		}
		return base
	}
	annPath := fmt.Sprintf("/api/application/users/%d", ann.Attributes.ID)
	tests := []struct {
		name, method, path string
		body               map[string]any
		field, detail      string
	}{
		{"taken external id", "POST", "/api/application/users", with(newUser("fresh"), map[string]any{"external_id": "ext-taken"}),
			"external_id", "The Third Party Identifier has already been taken."},
		{"external id not a string", "POST", "/api/application/users", with(newUser("fresh"), map[string]any{"external_id": 5}),
			"external_id", "The Third Party Identifier must be a string."},
		{"root_admin not a boolean", "POST", "/api/application/users", with(newUser("fresh"), map[string]any{"root_admin": "yes"}),
			"root_admin", "The Root Administrator Status field must be true or false."},
		{"null root_admin", "POST", "/api/application/users", with(newUser("fresh"), map[string]any{"root_admin": nil}),
			"root_admin", "The Root Administrator Status field must be true or false."},
		{"taken external id on update", "PATCH", annPath, with(newUser("ann"), map[string]any{"external_id": "ext-taken"}),
			"external_id", "The Third Party Identifier has already been taken."},
		{"root_admin not a boolean on update", "PATCH", annPath, with(newUser("ann"), map[string]any{"root_admin": 2}),
			"root_admin", "The Root Administrator Status field must be true or false."},
		// Fields without a name of their own keep Laravel's from the key.
		{"first name missing", "POST", "/api/application/users", with(newUser("fresh"), map[string]any{"first_name": ""}),
			"first_name", "The first name field is required."},
	}
	for _, tt := range tests {
		res := b.do(t, req{method: tt.method, path: tt.path, body: tt.body})
		if res.status != 422 {
			t.Errorf("%s: %d %s", tt.name, res.status, res.body)
			continue
		}
		e := res.errs(t)
		if len(e.Errors) != 1 || e.Errors[0].Meta == nil || e.Errors[0].Meta.SourceField != tt.field || e.Errors[0].Detail != tt.detail {
			t.Errorf("%s: %s, want one entry for %s: %q", tt.name, strings.TrimSpace(string(res.body)), tt.field, tt.detail)
		}
	}
}

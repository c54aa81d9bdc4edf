package gitlab_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// TestEmptyValueIsAbsent checks that an empty value of an integer or a
// boolean parameter (page=, admin=) is taken as not given, as Grape coerces
// an empty string to nil for every type but String: the default applies
// and nothing is changed, where a 400 "page is invalid" refused it before.
func TestEmptyValueIsAbsent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	self := fmt.Sprintf("/api/v4/users/%d", b.user.ID)
	tests := []struct {
		name   string
		c      call
		status int
		// want are the body's keys that must have these values.
		want map[string]any
		// headers are response headers that must have these values.
		headers map[string]string
	}{
		{"empty page and per_page", call{method: "GET", path: "/api/v4/users?page=&per_page=", token: b.adminTok}, 200, nil,
			map[string]string{"X-Page": "1", "X-Per-Page": "20", "X-Total": "2"}},
		{"empty page of keys", call{method: "GET", path: "/api/v4/user/keys?page=&per_page=", token: b.userTok}, 200, nil,
			map[string]string{"X-Page": "1", "X-Per-Page": "20"}},
		{"empty page of addresses in JSON", call{method: "GET", path: "/api/v4/user/emails", token: b.userTok, body: map[string]any{"page": ""}}, 200, nil,
			map[string]string{"X-Page": "1"}},
		{"empty admin and projects_limit", call{method: "PUT", path: self, token: b.adminTok,
			body: url.Values{"admin": {""}, "projects_limit": {""}, "can_create_group": {""}, "external": {""}, "bio": {"Plain"}}}, 200,
			map[string]any{"is_admin": false, "projects_limit": float64(100000), "can_create_group": true, "external": false, "bio": "Plain"}, nil},
		{"empty confirm is the default", call{method: "POST", path: "/api/v4/users", token: b.adminTok,
			body: url.Values{"email": {"e@example.com"}, "password": {password}, "username": {"e_user"}, "name": {"E"}, "confirm": {""}, "admin": {""}}}, 201,
			map[string]any{"confirmed_at": nil, "is_admin": false}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := b.do(t, tt.c)
			if res.status != tt.status {
				t.Fatalf("status %d, want %d; body %s", res.status, tt.status, res.body)
			}
			if tt.want != nil {
				got := res.object(t)
				for k, v := range tt.want {
					if got[k] != v {
						t.Errorf("%s = %v, want %v; body %s", k, got[k], v, res.body)
					}
				}
			}
			for h, v := range tt.headers {
				if got := res.header.Get(h); got != v {
					t.Errorf("%s: %q, want %q", h, got, v)
				}
			}
		})
	}
	if res := b.do(t, call{method: "GET", path: "/api/v4/users?page=&per_page=1", token: b.adminTok}); res.status != http.StatusOK ||
		res.header.Get("X-Next-Page") != "2" {
		t.Fatalf("per_page=1 with an empty page: %d %s", res.status, res.body)
	}
}

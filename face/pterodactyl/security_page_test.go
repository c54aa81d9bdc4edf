package pterodactyl_test

import (
	"net/http"
	"slices"
	"testing"
)

// TestMalformedPageIsRefused proves that a page number the face cannot
// read is refused with Laravel's validation error naming the parameter —
// 422, the status Pterodactyl gives a parameter that breaks a rule —
// instead of being ignored and the first page served. A bracketed page is
// an array to PHP, which Laravel's integer rule refuses.
func TestMalformedPageIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct{ name, query, rule, detail string }{
		{"non-numeric page", "page=abc", "page:integer", "The page must be an integer."},
		{"negative page", "page=-1", "page:min", "The page must be at least 1."},
		{"overflowing page", "page=99999999999999999999", "page:max", "The page may not be greater than 2147483647."},
		{"page as an array", "page[]=2", "page:integer", "The page must be an integer."},
		{"page as a map", "page[number]=2", "page:integer", "The page must be an integer."},
		{"per_page as an array", "per_page[]=5", "per_page:integer", "The per page must be an integer."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := b.do(t, req{method: "GET", path: "/api/application/users?" + tt.query})
			if res.status != http.StatusUnprocessableEntity {
				t.Fatalf("%s: %d %s, want 422", tt.query, res.status, res.body)
			}
			e := res.errs(t)
			if !slices.Equal(e.rules(), []string{tt.rule}) || e.Errors[0].Detail != tt.detail || e.Errors[0].Code != "ValidationException" {
				t.Fatalf("%s: %s, want %s %q", tt.query, res.body, tt.rule, tt.detail)
			}
		})
	}
}

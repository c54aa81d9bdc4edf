package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"usher/web"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	c, err := web.NewCORS("https://app.example.com, http://localhost:3000")
	if err != nil {
		t.Fatal(err)
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := c.Wrap(next)
	tests := []struct {
		name, method, origin, preflight string
		status                          int
		allow                           string
	}{
		{"allowed preflight", "OPTIONS", "https://app.example.com", "PATCH", 204, "https://app.example.com"},
		{"allowed port", "OPTIONS", "http://localhost:3000", "GET", 204, "http://localhost:3000"},
		{"allowed request", "GET", "https://app.example.com", "", 418, "https://app.example.com"},
		{"other preflight", "OPTIONS", "https://evil.example", "DELETE", 418, ""},
		{"other request", "POST", "https://evil.example", "", 418, ""},
		{"other port", "GET", "https://app.example.com:8443", "", 418, ""},
		{"no origin", "GET", "", "", 418, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/v1/me", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.preflight != "" {
				r.Header.Set("Access-Control-Request-Method", tt.preflight)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			if got := w.Header().Get("Access-Control-Allow-Origin"); got != tt.allow {
				t.Errorf("Allow-Origin %q, want %q", got, tt.allow)
			}
			if creds := w.Header().Get("Access-Control-Allow-Credentials"); (creds == "true") != (tt.allow != "") {
				t.Errorf("Allow-Credentials %q", creds)
			}
		})
	}
	for _, bad := range []string{"*", "https://app.example.com/path", "app.example.com"} {
		if _, err := web.NewCORS(bad); err == nil {
			t.Errorf("NewCORS(%q) took it", bad)
		}
	}
}

package web

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"usher"
)

// TestFallback: a path no route has is route_not_found; a path routes have
// with other methods is method_not_allowed, with Allow naming those
// methods from the route table, HEAD with GET; both go to the face's error
// writer, with the status its table and Status give them.
func TestFallback(t *testing.T) {
	t.Parallel()
	routes := []string{
		"GET /api/things", "POST /api/things",
		"GET /api/things/{id}", "PATCH /api/things/{id}", "DELETE /api/things/{id}",
		"PUT /api/things/{id}/tags",
	}
	tests := []struct {
		name, method, path string
		status             int
		code, allow        string
	}{
		{"unknown path", "GET", "/api/nothing", 404, usher.CodeRouteNotFound, ""},
		{"unknown path under a known one", "GET", "/api/things/1/nothing", 404, usher.CodeRouteNotFound, ""},
		{"other method on a list", "DELETE", "/api/things", 405, usher.CodeMethodNotAllowed, "GET, HEAD, POST"},
		{"other method on an item", "PUT", "/api/things/1", 405, usher.CodeMethodNotAllowed, "GET, HEAD, PATCH, DELETE"},
		{"no GET, no HEAD", "GET", "/api/things/1/tags", 405, usher.CodeMethodNotAllowed, "PUT"},
		{"a method no route has", "OPTIONS", "/api/things", 405, usher.CodeMethodNotAllowed, "GET, HEAD, POST"},
	}
	// The face's error writer: its status table, Status, its own body.
	writeErr := func(w http.ResponseWriter, r *http.Request, err error) {
		e := usher.AsError(err)
		status := map[usher.Kind]int{usher.KindNotFound: 404, usher.KindInvalid: 400}[e.Kind]
		if s := Status(e); s != 0 {
			status = s
		}
		_ = WriteJSON(w, status, map[string]string{"code": e.Code})
	}
	fallback := Fallback(routes, writeErr)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := httptest.NewRecorder()
			fallback.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
			if w.Code != tt.status || w.Body.String() != `{"code":"`+tt.code+`"}`+"\n" {
				t.Errorf("%d %s, want %d %s", w.Code, w.Body, tt.status, tt.code)
			}
			if got := w.Header().Get("Allow"); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"method not allowed", &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeMethodNotAllowed}, 405},
		{"unsupported media type", &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeUnsupportedMediaType}, 415},
		{"route not found: its kind's", &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeRouteNotFound}, 0},
		{"a code of the core's", &usher.Error{Kind: usher.KindInvalid, Code: "malformed_json"}, 0},
		{"the code under another kind", &usher.Error{Kind: usher.KindUnprocessable, Code: usher.CodeUnsupportedMediaType}, 0},
		{"no usher error", http.ErrBodyNotAllowed, 0},
	}
	for _, tt := range tests {
		if got := Status(tt.err); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
}

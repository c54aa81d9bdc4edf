package gitlab

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"usher"
)

// TestWriteError checks answers the real core gives rarely or never: a
// wait rounded up to whole seconds, and a kind the status table does not
// know, which must be a 500 and not a panic.
func TestWriteError(t *testing.T) {
	t.Parallel()
	var logged bytes.Buffer
	h := &Handler{Log: slog.New(slog.NewTextHandler(&logged, nil))}
	for _, tt := range []struct {
		name       string
		err        error
		status     int
		body       string
		retryAfter string
	}{
		{"rate limited", &usher.Error{Kind: usher.KindRateLimited, Code: "busy", RetryAfter: 1500 * time.Millisecond},
			http.StatusTooManyRequests, `{"message":"429 Too Many Requests"}`, "2"},
		{"rate limited, no wait", &usher.Error{Kind: usher.KindRateLimited, Code: "busy"},
			http.StatusTooManyRequests, `{"message":"429 Too Many Requests"}`, "1"},
		{"unknown kind", &usher.Error{Kind: usher.Kind(200), Code: "novel", Message: "a secret cause"},
			http.StatusInternalServerError, `{"message":"500 Internal Server Error"}`, ""},
		{"plain error", errors.New("disk on fire"),
			http.StatusInternalServerError, `{"message":"500 Internal Server Error"}`, ""},
		{"parameter", paramError{"email is missing"}, http.StatusBadRequest, `{"error":"email is missing"}`, ""},
	} {
		rec := httptest.NewRecorder()
		h.writeError(rec, httptest.NewRequest("GET", "/api/v4/users", nil), tt.err, takenSentence)
		got := bytes.TrimSpace(rec.Body.Bytes())
		if rec.Code != tt.status || string(got) != tt.body || rec.Header().Get("Retry-After") != tt.retryAfter {
			t.Errorf("%s: %d %s (Retry-After %q), want %d %s (%q)", tt.name, rec.Code, got,
				rec.Header().Get("Retry-After"), tt.status, tt.body, tt.retryAfter)
		}
	}
	if !bytes.Contains(logged.Bytes(), []byte("error kind missing from the GitLab status table")) {
		t.Errorf("the unknown kind was not logged:\n%s", logged.Bytes())
	}
}

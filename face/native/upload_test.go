package native_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"usher"
	"usher/web"
	"usher/web/webtest"
)

// TestUploadAuthorizedFirst replays an upload of a large file by a caller
// who may not make it: the core refuses before any of the body is read —
// no form parsed, no temporary file written.
func TestUploadAuthorizedFirst(t *testing.T) {
	t.Parallel()
	b := setup(t)
	mux := http.NewServeMux()
	b.handler.Mount(mux)
	log := slog.New(slog.DiscardHandler)
	srv := web.Middleware(mux, log, web.NewMetrics(prometheus.NewRegistry()), nil)
	big := bytes.Repeat([]byte("A"), 2<<20)
	for _, c := range []struct {
		name, method, path, field, token string
		status                           int
		code                             string
		read                             bool
	}{
		{"anonymous attachment", "POST", "/v1/attachments", "file", "", http.StatusUnauthorized, usher.CodeUnauthenticated, false},
		{"anonymous setting", "PUT", "/v1/settings/ui.logo", "upload", "", http.StatusUnauthorized, usher.CodeUnauthenticated, false},
		{"user's setting", "PUT", "/v1/settings/ui.logo", "upload", b.userTok, http.StatusForbidden, usher.CodeForbidden, false},
		{"bad token", "POST", "/v1/attachments", "file", "nonsense", http.StatusUnauthorized, "", false},
		// One who may upload has the body read, and the file judged.
		{"user's attachment", "POST", "/v1/attachments", "file", b.userTok, http.StatusCreated, "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			body, ctype := multipartFile(t, c.field, "x.bin", big, nil)
			read := webtest.NewCountedBody(bytes.NewReader(body))
			r := httptest.NewRequest(c.method, c.path, nil)
			r.Body, r.ContentLength = read, int64(len(body))
			r.Header.Set("Content-Type", ctype)
			if c.token != "" {
				r.Header.Set("Authorization", "Bearer "+c.token)
			}
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, r)
			var problem struct{ Code string }
			_ = json.Unmarshal(w.Body.Bytes(), &problem)
			if w.Code != c.status || (c.code != "" && problem.Code != c.code) {
				t.Fatalf("%s %s = %d %s, want %d %s", c.method, c.path, w.Code, w.Body, c.status, c.code)
			}
			if n := read.Count(); c.read != (n > 0) {
				t.Fatalf("%d of %d bytes of the body read", n, len(body))
			}
		})
	}
}

package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"usher"
	"usher/core/coretest"
	"usher/face/pages"
)

// BenchmarkUserRead serves one user read through the whole handler —
// middleware, the request's JSON log line (to io.Discard), the face, the
// core and a real SQLite store — as the bench's user_get, user_by_name and
// gitlab_user_get ask it, without net/http's connection work: its
// allocations per request (-benchmem) are usher's own.
func BenchmarkUserRead(b *testing.B) {
	env := coretest.New(b, coretest.Options{})
	admin := env.MustCreateUser(b, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true})
	u := env.MustCreateUser(b, usher.UserCreate{Username: "alice", Email: "alice@example.com", Name: "Alice Example"})
	token := env.MustToken(b, admin.ID, usher.TokenPersonal, usher.ScopeAPI)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	h := newHandler(env.Core, env.Store, log, "http://usher.test", nil, "", nil, pages.MailConfig{})
	id := strconv.FormatInt(u.ID, 10)
	for _, c := range []struct{ name, path, header string }{
		{"user_get", "/v1/users/" + id, "Authorization"},
		{"user_by_name", "/v1/users/alice", "Authorization"},
		{"gitlab_user_get", "/api/v4/users/" + id, "PRIVATE-TOKEN"},
	} {
		b.Run(c.name, func(b *testing.B) {
			value := token
			if c.header == "Authorization" {
				value = "Bearer " + token
			}
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodGet, c.path, nil)
				r.Header.Set(c.header, value)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", c.path, w.Code, w.Body)
				}
			}
		})
	}
}

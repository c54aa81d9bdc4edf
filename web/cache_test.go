package web

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestCacheControl: an answer is private and asked again each time unless
// its handler says otherwise, errors too; a handler's own Cache-Control
// (a public profile's) is the one sent, alone.
func TestCacheControl(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/public":
			w.Header().Set("Cache-Control", "public, max-age=300")
		case "/fail":
			http.Error(w, "no", http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusOK)
	}), slog.New(slog.DiscardHandler), nil, nil))
	t.Cleanup(srv.Close)
	for _, tt := range []struct{ path, want string }{
		{"/", privateAnswer},
		{"/fail", privateAnswer},
		{"/public", "public, max-age=300"},
	} {
		res, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Values("Cache-Control"); len(got) != 1 || got[0] != tt.want {
			t.Errorf("GET %s: Cache-Control %q, want %q", tt.path, got, tt.want)
		}
	}
}

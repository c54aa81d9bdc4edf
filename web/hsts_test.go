package web

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestStrictTransportSecurity: every answer to a request that came over
// HTTPS — to usher itself, or through a trusted proxy that says so —
// tells the browser to use HTTPS only from now on, so that a later visit
// typed as http:// (or a link to it) cannot be downgraded and read on the
// way (SSL stripping). A plain-HTTP answer carries no such header: a
// browser ignores it there, and it would bind a development server's
// name. A client's own X-Forwarded-Proto is not believed.
func TestStrictTransportSecurity(t *testing.T) {
	const hsts = strictTransport
	t.Parallel()
	handler := func(trusted string) http.Handler {
		proxies, err := ParseProxies(trusted)
		if err != nil {
			t.Fatal(err)
		}
		return Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/fail" {
				http.Error(w, "no", http.StatusNotFound)
				return
			}
			w.WriteHeader(http.StatusOK)
		}), slog.New(slog.DiscardHandler), nil, proxies)
	}
	tlsSrv := httptest.NewTLSServer(handler(""))
	t.Cleanup(tlsSrv.Close)
	plain := httptest.NewServer(handler(""))
	t.Cleanup(plain.Close)
	proxied := httptest.NewServer(handler("127.0.0.1/32"))
	t.Cleanup(proxied.Close)
	tests := []struct {
		name   string
		srv    *httptest.Server
		path   string
		header map[string]string
		want   string
	}{
		{"over HTTPS", tlsSrv, "/", nil, hsts},
		{"an error over HTTPS", tlsSrv, "/fail", nil, hsts},
		{"over plain HTTP", plain, "/", nil, ""},
		{"a client's own X-Forwarded-Proto", plain, "/", map[string]string{"X-Forwarded-Proto": "https"}, ""},
		{"through a trusted proxy over HTTPS", proxied, "/", map[string]string{"X-Forwarded-Proto": "https"}, hsts},
		{"through a trusted proxy over HTTP", proxied, "/", map[string]string{"X-Forwarded-Proto": "http"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", tt.srv.URL+tt.path, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			res, err := tt.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if got := res.Header.Get("Strict-Transport-Security"); got != tt.want {
				t.Fatalf("status %d, Strict-Transport-Security %q, want %q", res.StatusCode, got, tt.want)
			}
		})
	}
}

package connector

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// TestResponseLimit proves every response body a connector reads is bounded,
// whether or not the server declares its length.
func TestResponseLimit(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if r.URL.Query().Has("chunked") {
			w.(http.Flusher).Flush() // no Content-Length
		} else {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		_, _ = io.Copy(w, io.LimitReader(zeros{}, int64(n)))
	}))
	t.Cleanup(srv.Close)

	tests := []struct {
		name    string
		query   string
		wantErr bool
	}{
		{name: "small", query: "n=100"},
		{name: "at the limit", query: "n=" + strconv.Itoa(maxResponseBytes)},
		{name: "at the limit, chunked", query: "chunked&n=" + strconv.Itoa(maxResponseBytes)},
		{name: "over the limit", query: "n=" + strconv.Itoa(maxResponseBytes+1), wantErr: true},
		{name: "over the limit, chunked", query: "chunked&n=" + strconv.Itoa(maxResponseBytes+1), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hc := httpClient(t.Context())
			resp, err := hc.Get(srv.URL + "?" + tt.query)
			if err == nil {
				defer resp.Body.Close()
				_, err = io.ReadAll(resp.Body)
			}
			if tt.wantErr != (err != nil) {
				t.Fatalf("err = %v, want error: %v", err, tt.wantErr)
			}
			if tt.wantErr && !errors.Is(err, errTooLarge) {
				t.Errorf("err = %v, want %v", err, errTooLarge)
			}
		})
	}
}

// TestTokenErrorHidesBody proves a failed token request is reported without
// the response body, which the provider fills.
func TestTokenErrorHidesBody(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<p>upstream said: access_token=leaked</p>")
	}))
	t.Cleanup(srv.Close)
	gh, err := NewGitHub(GitHubConfig{ClientID: "id", ClientSecret: "secret", RedirectURL: "https://usher.example/cb",
		TokenURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = gh.Exchange(t.Context(), "code", strings.Repeat("v", 43), "")
	if err == nil {
		t.Fatal("Exchange succeeded against a failing token endpoint")
	}
	if want := "connector: github: exchange code: token endpoint refused (502 Bad Gateway)"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

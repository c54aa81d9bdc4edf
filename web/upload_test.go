package web

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// countingBody counts the bytes read from it.
type countingBody struct {
	r    io.Reader
	read int
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.read += n
	return n, err
}

func (b *countingBody) Close() error { return nil }

// TestUploadBody: a body of up to the limit reads whole; one over it fails
// with *http.MaxBytesError — at once, reading none of the client's bytes,
// when its Content-Length says so, and past the limit when it does not
// (chunked, length unknown).
func TestUploadBody(t *testing.T) {
	t.Parallel()
	const limit = 1 << 10
	for _, tt := range []struct {
		name     string
		size     int
		declared int64 // Content-Length; -1 unknown
		tooLarge bool
		maxRead  int // most bytes read from the client
	}{
		{"at the limit", limit, limit, false, limit},
		{"declared over the limit", limit + 1, limit + 1, true, 0},
		{"declared far over the limit", 64 << 20, 64 << 20, true, 0},
		{"unknown length, within", limit, -1, false, limit},
		{"unknown length, over", 4 * limit, -1, true, limit + 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := &countingBody{r: bytes.NewReader(bytes.Repeat([]byte("x"), tt.size))}
			r := httptest.NewRequest(http.MethodPost, "/upload", nil)
			r.Body, r.ContentLength = src, tt.declared
			UploadBody(httptest.NewRecorder(), r, limit)
			got, err := io.ReadAll(r.Body)
			var mbe *http.MaxBytesError
			if tt.tooLarge {
				if !errors.As(err, &mbe) || mbe.Limit != limit || !IsTooLarge(err) {
					t.Fatalf("read %d bytes, error %v; want a *http.MaxBytesError with limit %d", len(got), err, limit)
				}
			} else if err != nil || len(got) != tt.size {
				t.Fatalf("read %d bytes, error %v; want %d, none", len(got), err, tt.size)
			}
			if src.read > tt.maxRead {
				t.Errorf("%d bytes read from the client, want at most %d", src.read, tt.maxRead)
			}
		})
	}
}

// TestUploadBodyOverHTTP: a file declared over the limit is answered 413
// while the client is still sending it, and the client gets that answer.
func TestUploadBodyOverHTTP(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		UploadBody(w, r, 1<<20)
		if _, err := io.ReadAll(r.Body); IsTooLarge(err) {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	res, err := srv.Client().Post(srv.URL, "application/octet-stream", strings.NewReader(strings.Repeat("x", 64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", res.StatusCode)
	}
}

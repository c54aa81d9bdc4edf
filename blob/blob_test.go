package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"usher"
)

// backends opens each backend fresh: a temporary directory, and a bucket of
// an S3 server (gofakes3, speaking the S3 protocol over HTTP) started here.
func backends(t *testing.T) map[string]func(t *testing.T) usher.BlobStore {
	return map[string]func(t *testing.T) usher.BlobStore{
		"dir": func(t *testing.T) usher.BlobStore {
			d, err := Open(context.Background(), "file://"+t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
		"s3": func(t *testing.T) usher.BlobStore {
			mem := s3mem.New()
			srv := httptest.NewServer(gofakes3.New(mem).Server())
			t.Cleanup(srv.Close)
			if err := mem.CreateBucket("usher"); err != nil {
				t.Fatal(err)
			}
			s, err := NewS3(context.Background(), S3Config{Bucket: "usher", Endpoint: strings.TrimPrefix(srv.URL, "http://"),
				Region: "us-east-1", Prefix: "test/", Insecure: true, Creds: credentials.NewStaticV4("key", "secret", "")})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
}

// TestConformance runs the same cases on every backend.
func TestConformance(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		fn   func(t *testing.T, s usher.BlobStore)
	}{
		{"RoundTrip", testRoundTrip},
		{"Missing", testMissing},
		{"Replace", testReplace},
		{"BadKeys", testBadKeys},
		{"Concurrent", testConcurrent},
	}
	for name, open := range backends(t) {
		for _, c := range cases {
			t.Run(name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				c.fn(t, open(t))
			})
		}
	}
}

func mustPut(t *testing.T, s usher.BlobStore, key string, data []byte) {
	t.Helper()
	if err := s.Put(context.Background(), key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Put %s: %v", key, err)
	}
}

func mustRead(t *testing.T, s usher.BlobStore, key string) []byte {
	t.Helper()
	rc, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get %s: %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return data
}

func testRoundTrip(t *testing.T, s usher.BlobStore) {
	data := bytes.Repeat([]byte("usher\x00\xff"), 5000)
	mustPut(t, s, "a/0123abcd", data)
	if got := mustRead(t, s, "a/0123abcd"); !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, want %d", len(got), len(data))
	}
	if err := s.Delete(context.Background(), "a/0123abcd"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(context.Background(), "a/0123abcd"); !errors.Is(err, usher.ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
}

func testMissing(t *testing.T, s usher.BlobStore) {
	if _, err := s.Get(context.Background(), "a/none"); !errors.Is(err, usher.ErrNotFound) {
		t.Fatalf("Get: %v, want ErrNotFound", err)
	}
	if err := s.Delete(context.Background(), "a/none"); err != nil {
		t.Fatalf("Delete of a missing blob: %v, want nil", err)
	}
}

func testReplace(t *testing.T, s usher.BlobStore) {
	mustPut(t, s, "k", []byte("one"))
	mustPut(t, s, "k", []byte("two!"))
	if got := mustRead(t, s, "k"); string(got) != "two!" {
		t.Fatalf("read %q, want two!", got)
	}
}

func testBadKeys(t *testing.T, s usher.BlobStore) {
	for _, key := range []string{"", "/etc/passwd", "../x", "a/../../x", "a//b", "A", "a b", "a\\b", "a/", ".hidden"} {
		if err := s.Put(context.Background(), key, strings.NewReader("x"), 1); err == nil {
			t.Errorf("Put %q: nil error, want refused", key)
		}
		if _, err := s.Get(context.Background(), key); err == nil || errors.Is(err, usher.ErrNotFound) {
			t.Errorf("Get %q: %v, want refused", key, err)
		}
		if err := s.Delete(context.Background(), key); err == nil {
			t.Errorf("Delete %q: nil error, want refused", key)
		}
	}
}

// testConcurrent writes one key from many goroutines: every read sees one
// whole version.
func testConcurrent(t *testing.T, s usher.BlobStore) {
	versions := map[string]bool{}
	var wg sync.WaitGroup
	for i := range 8 {
		v := strings.Repeat(string(rune('a'+i)), 64<<10)
		versions[v] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Put(context.Background(), "race", strings.NewReader(v), int64(len(v))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := mustRead(t, s, "race"); !versions[string(got)] {
		t.Fatalf("read a mixed or partial blob of %d bytes", len(got))
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"ftp://x", "s3://", "file://"} {
		if _, err := Open(context.Background(), bad); err == nil {
			t.Errorf("Open %q: nil error", bad)
		}
	}
	d, err := Open(context.Background(), t.TempDir()+"/blobs")
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, d, "x", []byte("y"))
}

// TestOpenS3URL opens a bucket by the URL --blob-url takes, credentials
// from the environment as serve has them.
func TestOpenS3URL(t *testing.T) {
	mem := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(mem).Server())
	defer srv.Close()
	if err := mem.CreateBucket("files"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "key")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	host := strings.TrimPrefix(srv.URL, "http://")
	s, err := Open(context.Background(), "s3://files?endpoint="+host+"&region=us-east-1&prefix=one&insecure=true")
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "a/1", []byte("one"))
	// The prefix keeps instances apart in one bucket.
	other, err := Open(context.Background(), "s3://files?endpoint="+host+"&region=us-east-1&prefix=two&insecure=true")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Get(context.Background(), "a/1"); !errors.Is(err, usher.ErrNotFound) {
		t.Fatalf("another prefix sees the blob: %v", err)
	}
	if _, err := Open(context.Background(), "s3://missing?endpoint="+host+"&insecure=true"); err == nil {
		t.Fatal("a bucket that does not exist was opened")
	}
}

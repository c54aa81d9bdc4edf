package web_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"usher/web"
)

func TestOpenAPIDoc(t *testing.T) {
	t.Parallel()
	loads := 0
	load := func() (*openapi3.T, error) {
		loads++
		return web.LoadOpenAPI("test", []byte("openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n"))
	}
	var doc web.OpenAPIDoc
	for range 2 {
		rec := httptest.NewRecorder()
		if err := doc.Serve(rec, load); err != nil {
			t.Fatal(err)
		}
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" || !strings.Contains(rec.Body.String(), `"openapi":"3.1.0"`) {
			t.Fatalf("%d %v %s", rec.Code, rec.Header(), rec.Body)
		}
	}
	if loads != 1 {
		t.Fatalf("loaded %d times, want once", loads)
	}
	if _, err := web.LoadOpenAPI("broken", []byte("openapi: [")); err == nil || !strings.HasPrefix(err.Error(), "broken: ") {
		t.Fatalf("a broken description: %v", err)
	}
	var failing web.OpenAPIDoc
	boom := errors.New("boom")
	if err := failing.Serve(httptest.NewRecorder(), func() (*openapi3.T, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("a failed load: %v", err)
	}
}

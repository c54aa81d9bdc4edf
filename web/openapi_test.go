package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"usher/web"
)

// TestOpenAPIJSON: the YAML comes out as the same JSON, response codes as
// string keys, false and null kept, dates as strings; a broken description
// is an error naming the face.
func TestOpenAPIJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, want string
	}{
		{"plain", "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n",
			`{"info":{"title":"t","version":"1"},"openapi":"3.1.0","paths":{}}`},
		{"response codes", "responses:\n  200: {description: ok}\n  default: {description: other}\n",
			`{"responses":{"200":{"description":"ok"},"default":{"description":"other"}}}`},
		{"scalars as written", "required: false\nexample: 2026-01-02\nnullable: null\nmax: 64\nlist: [1, a]\n",
			`{"example":"2026-01-02","list":[1,"a"],"max":64,"nullable":null,"required":false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := web.OpenAPIJSON("test", []byte(tt.yaml))
			if err != nil || string(got) != tt.want {
				t.Errorf("got %s, %v; want %s", got, err, tt.want)
			}
		})
	}
	if _, err := web.OpenAPIJSON("broken", []byte("openapi: [")); err == nil || !strings.HasPrefix(err.Error(), "broken: ") {
		t.Errorf("a broken description: %v", err)
	}
}

// TestOpenAPIDoc: the description is served as JSON, converted once; a
// broken one is the handler's error.
func TestOpenAPIDoc(t *testing.T) {
	t.Parallel()
	var doc web.OpenAPIDoc
	for _, src := range []string{"openapi: 3.1.0\n", "openapi: [\n"} { // the second is never converted
		rec := httptest.NewRecorder()
		if err := doc.Serve(rec, "test", []byte(src)); err != nil {
			t.Fatal(err)
		}
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" || rec.Body.String() != `{"openapi":"3.1.0"}` {
			t.Fatalf("%d %v %s", rec.Code, rec.Header(), rec.Body)
		}
	}
	var broken web.OpenAPIDoc
	if err := broken.Serve(httptest.NewRecorder(), "broken", []byte("openapi: [")); err == nil || !strings.HasPrefix(err.Error(), "broken: ") {
		t.Fatalf("a broken description: %v", err)
	}
}

package corteza_test

import (
	"context"
	"strings"
	"testing"

	"usher/face/corteza"
)

// documented is where the description puts a route: Corteza's paths, with
// the trailing slash and the preview and bundle file names it writes.
func documented(path string) string {
	path = strings.TrimSuffix(path, "{$}")
	switch {
	case strings.HasPrefix(path, "/api/system/attachment/") && strings.HasSuffix(path, "/{file}"):
		return strings.TrimSuffix(path, "{file}") + "preview.{ext}"
	case path == "/api/system/automation/{file}":
		return "/api/system/automation/{bundle}-{type}.{ext}"
	}
	return path
}

// TestOpenAPICoversRoutes: the description is valid OpenAPI 3.1, all 79
// operations are in it tagged corteza, it describes no operation the face
// does not serve, and the face serves it.
func TestOpenAPICoversRoutes(t *testing.T) {
	t.Parallel()
	doc, err := corteza.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the description is not valid OpenAPI: %v", err)
	}
	b := setup(t)
	routes := map[string]bool{}
	list := b.handler.Routes()
	if len(list) != 79 {
		t.Errorf("%d routes, want Corteza's 79 operations", len(list))
	}
	for _, r := range list {
		method, path, _ := strings.Cut(r, " ")
		path = documented(path)
		routes[method+" "+path] = true
		item := doc.Paths.Find(path)
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("route %s is not in openapi.yaml", r)
			continue
		}
		if tags := item.GetOperation(method).Tags; len(tags) != 1 || tags[0] != "corteza" {
			t.Errorf("route %s is tagged %v, want [corteza]", r, tags)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !routes[method+" "+path] {
				t.Errorf("openapi.yaml describes %s %s, which is no route", method, path)
			}
		}
	}
	res := b.do(t, "GET", "/openapi.json", "", nil)
	var served map[string]any
	res.decode(t, &served)
	if res.status != 200 || served["openapi"] != "3.1.0" {
		t.Fatalf("/openapi.json: %d", res.status)
	}
}

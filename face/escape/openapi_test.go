package escape_test

import (
	"context"
	"strings"
	"testing"

	"usher/face/escape"
)

// TestOpenAPICoversRoutes: the description is valid OpenAPI 3.1, every
// route is in it tagged escape, it describes no operation the face does
// not serve, and the face serves it.
func TestOpenAPICoversRoutes(t *testing.T) {
	t.Parallel()
	doc, err := escape.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the description is not valid OpenAPI: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %s, want 3.1.0", doc.OpenAPI)
	}
	routes := map[string]bool{}
	for _, r := range (&escape.Handler{}).Routes() {
		routes[r] = true
		method, path, _ := strings.Cut(r, " ")
		item := doc.Paths.Find(path)
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("route %s is not in openapi.yaml", r)
			continue
		}
		if tags := item.GetOperation(method).Tags; len(tags) != 1 || tags[0] != "escape" {
			t.Errorf("route %s is tagged %v, want [escape]", r, tags)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !routes[method+" "+path] {
				t.Errorf("openapi.yaml describes %s %s, which is no route", method, path)
			}
		}
	}
	b := setup(t)
	res := b.do(t, call{method: "GET", path: escape.Prefix + "/openapi.json"})
	var served map[string]any
	res.decode(t, &served)
	if res.status != 200 || served["openapi"] != "3.1.0" {
		t.Fatalf("/openapi.json: %d", res.status)
	}
}

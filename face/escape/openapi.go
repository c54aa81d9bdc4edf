package escape

import (
	_ "embed"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"

	"usher/web"
)

//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPI returns the OpenAPI 3.1 description of the face, its operations
// tagged escape.
func OpenAPI() (*openapi3.T, error) { return web.LoadOpenAPI("escape", openapiYAML) }

func (h *Handler) serveOpenAPI(w http.ResponseWriter, r *http.Request) error {
	return h.doc.Serve(w, OpenAPI)
}

package corteza

import (
	_ "embed"
	"net/http"
)

// openapiYAML is the face's OpenAPI 3.1 description, served as JSON.
//
//go:embed openapi.yaml
var openapiYAML []byte

func (h *Handler) serveOpenAPI(w http.ResponseWriter, r *http.Request) error {
	return h.doc.Serve(w, "corteza", openapiYAML)
}

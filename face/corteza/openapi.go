package corteza

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPI returns the OpenAPI 3.1 description of the face, its operations
// tagged corteza.
func OpenAPI() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(openapiYAML)
	if err != nil {
		return nil, fmt.Errorf("corteza: load openapi.yaml: %w", err)
	}
	return doc, nil
}

// serveOpenAPI answers the description as JSON at /api/system/openapi.json.
func (h *Handler) serveOpenAPI(w http.ResponseWriter, r *http.Request) error {
	h.docOnce.Do(func() {
		doc, err := OpenAPI()
		if err != nil {
			h.docErr = err
			return
		}
		h.doc, h.docErr = json.Marshal(doc)
	})
	if h.docErr != nil {
		return h.docErr
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, err := w.Write(h.doc)
	return err
}

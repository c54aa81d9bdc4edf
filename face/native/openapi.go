package native

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPI returns the OpenAPI 3.1 description of the native API.
func OpenAPI() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(openapiYAML)
	if err != nil {
		return nil, fmt.Errorf("native: load openapi.yaml: %w", err)
	}
	return doc, nil
}

// openAPIJSON renders the description as JSON once, at start-up.
func openAPIJSON() ([]byte, error) {
	doc, err := OpenAPI()
	if err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}

func (h *Handler) serveOpenAPI(w http.ResponseWriter, r *http.Request) error {
	h.docOnce.Do(func() { h.doc, h.docErr = openAPIJSON() })
	if h.docErr != nil {
		return h.docErr
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, err := w.Write(h.doc)
	return err
}

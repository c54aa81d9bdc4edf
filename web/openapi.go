package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// LoadOpenAPI parses a face's OpenAPI description, embedded as YAML; name
// says whose it is in the error.
func LoadOpenAPI(name string, yaml []byte) (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(yaml)
	if err != nil {
		return nil, fmt.Errorf("%s: load openapi.yaml: %w", name, err)
	}
	return doc, nil
}

// OpenAPIDoc serves a face's OpenAPI description as JSON, rendered once on
// first request. Its zero value is ready to use.
type OpenAPIDoc struct {
	once sync.Once
	json []byte
	err  error
}

// Serve answers the description load returns.
func (d *OpenAPIDoc) Serve(w http.ResponseWriter, load func() (*openapi3.T, error)) error {
	d.once.Do(func() {
		doc, err := load()
		if err != nil {
			d.err = err
			return
		}
		d.json, d.err = json.Marshal(doc)
	})
	if d.err != nil {
		return d.err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, err := w.Write(d.json)
	return err
}

package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"go.yaml.in/yaml/v3"
)

// OpenAPIJSON turns a face's OpenAPI description, embedded as YAML, into
// JSON as it is written; name says whose it is in the error. It is a plain
// YAML-to-JSON conversion: an OpenAPI library would parse the description
// into types at every start of the process, for a page few ask for.
func OpenAPIJSON(name string, src []byte) ([]byte, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		return nil, fmt.Errorf("%s: load openapi.yaml: %w", name, err)
	}
	doc, err := jsonValue(&root)
	if err != nil {
		return nil, fmt.Errorf("%s: load openapi.yaml: %w", name, err)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: openapi.yaml as JSON: %w", name, err)
	}
	return out, nil
}

// jsonValue is what a YAML node is in JSON: mapping keys as written
// (responses keyed 200, 404 included), strings, dates and binary as their
// text, and numbers, booleans and null as they resolve.
func jsonValue(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return jsonValue(n.Content[0])
	case yaml.AliasNode:
		return jsonValue(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := jsonValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := jsonValue(c)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		return list, nil
	}
	switch n.ShortTag() {
	case "!!str", "!!timestamp", "!!binary":
		return n.Value, nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, fmt.Errorf("line %d: %w", n.Line, err)
	}
	return v, nil
}

// OpenAPIDoc serves a face's OpenAPI description as JSON, converted once
// on first request. Its zero value is ready to use.
type OpenAPIDoc struct {
	once sync.Once
	json []byte
	err  error
}

// Serve answers the description src (YAML) of the face name.
func (d *OpenAPIDoc) Serve(w http.ResponseWriter, name string, src []byte) error {
	d.once.Do(func() { d.json, d.err = OpenAPIJSON(name, src) })
	if d.err != nil {
		return d.err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, err := w.Write(d.json)
	return err
}

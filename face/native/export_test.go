package native

import "github.com/getkin/kin-openapi/openapi3"

// OpenAPI returns the face's OpenAPI 3.1 description parsed, for the
// tests that check it and check answers against it.
func OpenAPI() (*openapi3.T, error) { return openapi3.NewLoader().LoadFromData(openapiYAML) }

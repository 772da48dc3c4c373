// Package miniprogramapi holds the contract between the Xianfeng mini-program and the API
// server: an OpenAPI 3 document of every endpoint, embedded into the binary so the server can
// serve it and tests can hold real requests and responses against it.
package miniprogramapi

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

// Spec is openapi.yaml as written, served unchanged at GET /api/v1/openapi.yaml.
//
//go:embed openapi.yaml
var Spec []byte

// Load parses Spec and validates it as an OpenAPI document. Every call returns a new
// document, so callers may change theirs (for example drop its servers) without affecting
// anyone else.
func Load() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(Spec)
	if err != nil {
		return nil, fmt.Errorf("miniprogramapi.Load: parse openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("miniprogramapi.Load: validate openapi.yaml: %w", err)
	}
	return doc, nil
}

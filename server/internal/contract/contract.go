// Package contract holds tests against miniprogram-api/openapi.yaml, the contract with the
// mini-program: an http.RoundTripper that validates every request a test sends and every
// response it gets back, and a check that the router and the document list the same
// operations. Other packages use it from their tests so the code and the contract cannot
// drift.
package contract

import (
	"fmt"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	miniprogramapi "xianfeng/miniprogram-api"
)

// RequestIDHeader is the header every response must carry; see DESIGN.md, "API conventions".
const RequestIDHeader = "X-Request-ID"

// spec is the loaded document and the router that finds its operations.
type spec struct {
	doc    *openapi3.T
	router routers.Router
}

// loadSpec loads openapi.yaml and builds its router once per test binary; both are only
// read afterwards, so every test and every goroutine shares them.
var loadSpec = sync.OnceValues(func() (*spec, error) {
	doc, err := miniprogramapi.Load()
	if err != nil {
		return nil, err
	}
	// Match by path alone, so requests to any httptest server URL find their operation.
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("contract: build router for openapi.yaml: %w", err)
	}
	return &spec{doc: doc, router: router}, nil
})

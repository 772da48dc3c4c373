package contract

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// maxBodyInMessage bounds how much of a response body a failure message quotes.
const maxBodyInMessage = 512

// NewTransport returns an http.RoundTripper for API tests that sends every request through
// base (http.DefaultTransport when nil) and reports to t, with Errorf, every way the
// exchange departs from openapi.yaml:
//
//   - a request to a path and method the document does not list, unless it was answered
//     404 or 405 (probing unknown routes is legitimate) or with a redirect, as gin does
//     for a trailing slash;
//   - a request that does not match its operation, unless it was answered with a 4xx the
//     operation documents (tests send bad input on purpose);
//   - a response whose status the operation does not document, or whose headers or body
//     do not match the documented response;
//   - a response without an X-Request-ID header.
//
// A request carrying MethodOverrideHeader to an operation that does not declare it, answered
// 405, is a probe as well: the contract refuses the header there.
//
// Request and response bodies are buffered and handed on unchanged, so callers read them
// as usual. The transport is safe for concurrent use; failures are reported, never
// returned as errors, so the test goes on and reports everything it finds.
func NewTransport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	t.Helper()
	s, err := loadSpec()
	if err != nil {
		t.Fatalf("contract: load openapi.yaml: %v", err)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{t: t, base: base, spec: s}
}

// transport is the RoundTripper NewTransport returns; it holds no mutable state.
type transport struct {
	t    testing.TB
	base http.RoundTripper
	spec *spec
}

// RoundTrip validates the request, sends it, and validates the response.
func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	tr.t.Helper()
	body, err := drain(req.Body)
	if err != nil {
		return nil, fmt.Errorf("contract: read request body: %w", err)
	}

	// The validator may read and replace the body of the request it is given, so it gets
	// a copy of its own and the request that goes out is untouched.
	checked := withBody(req, body)
	route, pathParams, routeErr := tr.spec.router.FindRoute(checked)
	var input *openapi3filter.RequestValidationInput
	var requestErr error
	if routeErr == nil {
		input = &openapi3filter.RequestValidationInput{
			Request:    checked,
			PathParams: pathParams,
			Route:      route,
			Options: &openapi3filter.Options{
				AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
				MultiError:          false,
				SkipSettingDefaults: true,
			},
		}
		requestErr = openapi3filter.ValidateRequest(req.Context(), input)
	}

	resp, err := tr.base.RoundTrip(withBody(req, body))
	if err != nil {
		return nil, err
	}
	respBody, err := drain(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("contract: read response body of %s %s: %w", req.Method, req.URL.Path, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	resp.Request = req

	tr.check(req, resp, respBody, route, input, routeErr, requestErr)
	return resp, nil
}

// check reports every way the exchange departs from the document.
func (tr *transport) check(req *http.Request, resp *http.Response, body []byte, route *routers.Route,
	input *openapi3filter.RequestValidationInput, routeErr, requestErr error,
) {
	tr.t.Helper()
	method, path, status := req.Method, req.URL.Path, resp.StatusCode

	if resp.Header.Get(RequestIDHeader) == "" {
		tr.t.Errorf("contract: %s %s: response %d has no %s header", method, path, status, RequestIDHeader)
	}

	if routeErr != nil {
		if !probeAnswer(status) {
			tr.t.Errorf("no operation in openapi.yaml for %s %s (answered %d: %s): %v",
				method, path, status, quote(body), routeErr)
		}
		return
	}

	if status == http.StatusMethodNotAllowed && req.Header.Get(MethodOverrideHeader) != "" && overrides(route.Operation) == "" {
		return // a method override the operation does not take, refused as the contract says
	}

	if requestErr != nil {
		documented4xx := status >= 400 && status < 500 && route.Operation.Responses.Status(status) != nil
		if !documented4xx {
			tr.t.Errorf("contract: %s %s: request does not match openapi.yaml, yet was answered %d rather than a documented 4xx: %v",
				method, path, status, requestErr)
		}
	}

	err := openapi3filter.ValidateResponse(req.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input,
		Status:                 status,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            false,
		},
	})
	if err != nil {
		tr.t.Errorf("contract: %s %s: response %d does not match openapi.yaml: %v; body: %s",
			method, path, status, err, quote(body))
	}
}

// probeAnswer reports whether status is a fitting answer to a request for a path or method
// the document does not list.
func probeAnswer(status int) bool {
	switch status {
	case http.StatusNotFound, http.StatusMethodNotAllowed,
		http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// drain reads and closes body, which may be nil.
func drain(body io.ReadCloser) ([]byte, error) {
	if body == nil || body == http.NoBody {
		return nil, nil
	}
	defer body.Close()
	return io.ReadAll(body)
}

// withBody returns a copy of req that reads body, keeping req's declared length so the
// server sees the same framing the test chose.
func withBody(req *http.Request, body []byte) *http.Request {
	out := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		out.Body = req.Body
		out.GetBody = nil
		return out
	}
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return out
}

// quote shortens a body for a failure message.
func quote(body []byte) string {
	if len(body) > maxBodyInMessage {
		return fmt.Sprintf("%q…", body[:maxBodyInMessage])
	}
	return fmt.Sprintf("%q", body)
}

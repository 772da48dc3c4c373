package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"xianfeng/config"
	"xianfeng/server/internal/testenv"
)

// isErrorShape reports whether body is {"error":{"code":"…","message":"…"}}.
func isErrorShape(body []byte) bool {
	var e struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	return dec.Decode(&e) == nil && e.Error != nil && e.Error.Code != "" && e.Error.Message != ""
}

func TestEveryAPIErrorIsTheJSONErrorShape(t *testing.T) {
	env := testenv.New(t, testenv.Options{Configure: func(c *config.Config) { c.HTTP.MaxBodyBytes = 1 << 10 }})
	me := env.LoginAs("shape", "13800000001")
	longQuery := "?q=" + strings.Repeat("a", 70<<10)
	big := `{"code":"` + strings.Repeat("x", 2<<10) + `"}`
	tests := []struct {
		name    string
		method  string
		path    string
		body    string
		chunked bool
		status  int
	}{
		{"a path with a trailing slash is 404, not a redirect", "GET", "/api/v1/me/", "", false, http.StatusNotFound},
		{"a trailing slash with a 70 KB query is 414 without echoing it", "GET", "/api/v1/me/" + longQuery, "", false, http.StatusRequestURITooLong},
		{"a trailing slash with a short query is 404", "GET", "/api/v1/me/?q=x", "", false, http.StatusNotFound},
		{"a POST to a path with a trailing slash is 404", "POST", "/api/v1/auth/logout/", "", false, http.StatusNotFound},
		{"a path in the wrong case is 404, not a redirect", "GET", "/api/v1/ME", "", false, http.StatusNotFound},
		{"a path with a double slash is 404, not a redirect", "GET", "/api/v1//me", "", false, http.StatusNotFound},
		{"a path with a dot segment is 404, not a redirect", "GET", "/api/v1/orgs/../me", "", false, http.StatusNotFound},
		{"an unknown path is 404", "GET", "/api/v1/nothing", "", false, http.StatusNotFound},
		{"an unknown path under an id is 404", "GET", "/api/v1/tasks/1/nothing", "", false, http.StatusNotFound},
		{"a wrong method is 405", "PUT", "/api/v1/me", "", false, http.StatusMethodNotAllowed},
		{"OPTIONS is 405", "OPTIONS", "/api/v1/me", "", false, http.StatusMethodNotAllowed},
		{"a made-up method is 405", "BREW", "/api/v1/me", "", false, http.StatusMethodNotAllowed},
		{"a body over the limit is 413", "POST", "/api/v1/me/phone", big, false, http.StatusRequestEntityTooLarge},
		{"a chunked body over the limit is 413", "POST", "/api/v1/me/phone", big, true, http.StatusRequestEntityTooLarge},
		{"a body over the limit on an endpoint that reads none is 413", "POST", "/api/v1/auth/logout", big, false, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := env.In(t)
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, err := http.NewRequest(tc.method, env.Server.URL+tc.path, body)
			if err != nil {
				t.Fatal(err)
			}
			req.URL.Opaque = tc.path // keep //, .. and case exactly as written
			if i := strings.IndexByte(tc.path, '?'); i >= 0 {
				req.URL.Opaque, req.URL.RawQuery = tc.path[:i], tc.path[i+1:]
			}
			req.Header.Set("Authorization", "Bearer "+me.Token)
			if tc.chunked {
				req.ContentLength = -1
			}
			// A plain client: redirects must be seen, not followed.
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("%s %.60s answered %d (Location %.60q), want %d", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Location"), tc.status)
			}
			if loc := resp.Header.Get("Location"); loc != "" {
				t.Errorf("the answer redirects to %.60q", loc)
			}
			if !isErrorShape(raw) {
				t.Errorf("the answer %d %.200q is not the JSON error shape", resp.StatusCode, raw)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, want JSON", ct)
			}
		})
	}
}

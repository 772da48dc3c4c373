package contract_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	miniprogramapi "xianfeng/miniprogram-api"
	"xianfeng/server/internal/contract"
)

// skipRequestID is a test-only request header that makes the fake API leave out
// X-Request-ID, to show the transport notices.
const skipRequestID = "X-Test-Skip-Request-ID"

// newAPI starts a gin server with the X-Request-ID middleware the real API has and the
// given handlers, keyed "METHOD /path".
func newAPI(t *testing.T, handlers map[string]gin.HandlerFunc) *httptest.Server {
	t.Helper()
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.Use(func(c *gin.Context) {
		if c.GetHeader(skipRequestID) == "" {
			id := c.GetHeader(contract.RequestIDHeader)
			if id == "" {
				id = "test-request-1"
			}
			c.Header(contract.RequestIDHeader, id)
		}
		c.Next()
	})
	for key, h := range handlers {
		method, path, _ := strings.Cut(key, " ")
		r.Handle(method, path, h)
	}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

// invalidArgument writes the 400 problem body of the API conventions.
func invalidArgument(c *gin.Context) {
	c.JSON(http.StatusBadRequest, gin.H{"error": gin.H{
		"code": "invalid_argument", "message": "请求参数有误", "fields": gin.H{"code": "不能为空"},
	}})
}

// loginOK answers a login request whatever its code, as a lenient handler would.
func loginOK(c *gin.Context) {
	var req struct {
		Code string `json:"code"`
	}
	if err := c.ShouldBindJSON(&req); err != nil {
		invalidArgument(c)
		return
	}
	signedIn(c, req.Code)
}

// signedIn writes a conforming LoginResponse for code.
func signedIn(c *gin.Context, code string) {
	c.JSON(http.StatusOK, gin.H{
		"token":      "opaque-" + code,
		"expires_at": "2020-02-25T08:00:00+08:00",
		"user": gin.H{
			"id": 1, "name": "", "phone_bound": false, "phone_masked": "", "created_at": "2020-01-26T08:00:00+08:00",
		},
		"memberships": []gin.H{{
			"id": 3, "org_id": 7, "org_name": "第一党支部", "org_kind": "branch", "role": "member",
			"badge": "frontline", "badge_label": "战斗员", "status": "approved", "name": "张三", "reason": "",
			"seconded_from": nil, "created_at": "2020-01-26T08:00:00+08:00", "approved_at": "2020-01-26T09:00:00+08:00",
		}},
		"new_user": true,
	})
}

func TestTransport(t *testing.T) {
	handlers := map[string]gin.HandlerFunc{
		"GET /healthz": func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) },
		"GET /api/v1/me": func(c *gin.Context) {
			// The user lacks its required fields and the memberships are missing.
			c.JSON(http.StatusOK, gin.H{"user": gin.H{"id": 1}})
		},
		"POST /api/v1/auth/login": func(c *gin.Context) {
			if c.Query("lenient") != "" {
				loginOK(c)
				return
			}
			var req struct {
				Code string `json:"code"`
			}
			if err := c.ShouldBindJSON(&req); err != nil || req.Code == "" {
				invalidArgument(c)
				return
			}
			signedIn(c, req.Code)
		},
		"POST /api/v1/auth/logout": func(c *gin.Context) { c.JSON(http.StatusTeapot, gin.H{"status": "teapot"}) },
		"GET /api/v1/secret":       func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"secret": "x"}) },
		"POST /api/v1/auth/logout-all": func(c *gin.Context) {
			c.Header("Retry-After", "3")
			c.JSON(http.StatusServiceUnavailable, gin.H{"error": gin.H{"code": "unavailable", "message": "服务暂时不可用，请稍后再试"}})
		},
		"GET /readyz": func(c *gin.Context) {
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "checks": gin.H{"database": "ok", "redis": "unavailable"}})
		},
		"GET /metrics":             gin.WrapH(promhttp.Handler()),
		"GET /api/v1/openapi.yaml": func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml", miniprogramapi.Spec) },
	}
	srv := newAPI(t, handlers)

	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		header     map[string]string
		wantStatus int
		want       [][]string // one entry per expected failure: substrings it must contain
	}{
		{
			name: "a conforming answer passes", method: "GET", path: "/healthz",
			wantStatus: http.StatusOK,
		},
		{
			name: "a conforming request with a body reaches the handler intact", method: "POST", path: "/api/v1/auth/login",
			body: `{"code":"mock:alice"}`, wantStatus: http.StatusOK,
		},
		{
			name: "an answer that breaks its schema is reported", method: "GET", path: "/api/v1/me",
			header:     map[string]string{"Authorization": "Bearer t"},
			wantStatus: http.StatusOK,
			want:       [][]string{{"GET /api/v1/me", "response 200 does not match", "doesn't match schema"}},
		},
		{
			name: "an invalid request answered with a documented 400 passes", method: "POST", path: "/api/v1/auth/login",
			body: `{"code":""}`, wantStatus: http.StatusBadRequest,
		},
		{
			name: "an invalid request that is accepted is reported", method: "POST", path: "/api/v1/auth/login?lenient=1",
			body: `{"code":""}`, wantStatus: http.StatusOK,
			want: [][]string{{"POST /api/v1/auth/login", "request does not match", "answered 200"}},
		},
		{
			name: "an undocumented status is reported", method: "POST", path: "/api/v1/auth/logout",
			header:     map[string]string{"Authorization": "Bearer t"},
			wantStatus: http.StatusTeapot,
			want:       [][]string{{"POST /api/v1/auth/logout", "response 418", "status is not supported"}},
		},
		{
			name: "a route missing from the document is reported", method: "GET", path: "/api/v1/secret",
			wantStatus: http.StatusOK,
			want:       [][]string{{"no operation in openapi.yaml for GET /api/v1/secret"}},
		},
		{
			name: "probing an unknown route answered 404 passes", method: "GET", path: "/api/v1/no-such-thing",
			wantStatus: http.StatusNotFound,
		},
		{
			name: "a documented path with an undocumented method answered 404 passes", method: "DELETE", path: "/healthz",
			wantStatus: http.StatusNotFound,
		},
		{
			name: "an answer without X-Request-ID is reported", method: "GET", path: "/healthz",
			header:     map[string]string{skipRequestID: "1"},
			wantStatus: http.StatusOK,
			want: [][]string{
				{"GET /healthz", "no X-Request-ID header"},
				{"GET /healthz", `"X-Request-ID" missing`},
			},
		},
		{
			name: "a failing readiness check answers 503 in the readiness shape", method: "GET", path: "/readyz",
			wantStatus: http.StatusServiceUnavailable,
		},
		{
			name: "a shared error answer with Retry-After passes", method: "POST", path: "/api/v1/auth/logout-all",
			header:     map[string]string{"Authorization": "Bearer t"},
			wantStatus: http.StatusServiceUnavailable,
		},
		{
			name: "Prometheus metrics pass as text", method: "GET", path: "/metrics",
			wantStatus: http.StatusOK,
		},
		{
			name: "the served document passes as YAML", method: "GET", path: "/api/v1/openapi.yaml",
			wantStatus: http.StatusOK,
		},
		{
			name: "an X-Request-ID the client sends may come back", method: "GET", path: "/healthz",
			header:     map[string]string{contract.RequestIDHeader: "mp-42"},
			wantStatus: http.StatusOK,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t)
			client := &http.Client{Transport: contract.NewTransport(rec, nil)}
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			got, err := io.ReadAll(resp.Body)
			if err != nil || (len(got) == 0 && resp.StatusCode != http.StatusNoContent) {
				t.Errorf("the caller could not read the response body after validation: %q, %v", got, err)
			}
			rec.expect(t, tt.want...)
		})
	}
}

func TestTransportHandsTheRequestBodyOnUnchanged(t *testing.T) {
	var seen string
	srv := newAPI(t, map[string]gin.HandlerFunc{
		"POST /api/v1/auth/login": func(c *gin.Context) {
			b, _ := io.ReadAll(c.Request.Body)
			seen = string(b)
			c.Request.Body = io.NopCloser(strings.NewReader(seen))
			loginOK(c)
		},
	})
	rec := newRecorder(t)
	client := &http.Client{Transport: contract.NewTransport(rec, srv.Client().Transport)}
	const sent = `{"code": "mock:bob"}`
	resp, err := client.Post(srv.URL+"/api/v1/auth/login", "application/json", strings.NewReader(sent))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatalf("decode response: %v", err)
	}
	if seen != sent {
		t.Errorf("server got body %q, want %q", seen, sent)
	}
	if got.Token != "opaque-mock:bob" {
		t.Errorf("token = %q, want opaque-mock:bob", got.Token)
	}
	rec.expect(t)
}

func TestTransportIsSafeForConcurrentRequests(t *testing.T) {
	srv := newAPI(t, map[string]gin.HandlerFunc{
		"GET /healthz":            func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) },
		"GET /api/v1/me":          func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"user": gin.H{"id": 1}}) },
		"POST /api/v1/auth/login": loginOK,
	})
	rec := newRecorder(t)
	client := &http.Client{Transport: contract.NewTransport(rec, nil)}
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var resp *http.Response
			var err error
			switch i % 3 {
			case 0:
				resp, err = client.Get(srv.URL + "/healthz")
			case 1:
				resp, err = client.Get(srv.URL + "/api/v1/me")
			default:
				resp, err = client.Post(srv.URL+"/api/v1/auth/login", "application/json", strings.NewReader(`{"code":"mock:c"}`))
			}
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		})
	}
	wg.Wait()
	// Only the /api/v1/me answers break the contract: one failure each.
	failures := rec.failures()
	want := 0
	for i := range n {
		if i%3 == 1 {
			want++
		}
	}
	if len(failures) != want {
		t.Fatalf("got %d failures, want %d:\n%s", len(failures), want, strings.Join(failures, "\n"))
	}
	for _, f := range failures {
		if !strings.Contains(f, "GET /api/v1/me") {
			t.Errorf("unexpected failure %q", f)
		}
	}
}

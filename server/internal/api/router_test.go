package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"xianfeng/config"
	"xianfeng/server/internal/contract"
	"xianfeng/server/internal/testenv"
)

func TestEveryRouteIsInTheContractAndBack(t *testing.T) {
	// The mock adds the development-only endpoint, so this router has every route.
	env := testenv.New(t, testenv.Options{Mock: true})
	// The web console's pages under /console/ are HTML for a browser, not
	// the mini-program's contract (package console tests them); its
	// scan-to-login operations under /api/v1/console/ are in the contract.
	var routes gin.RoutesInfo
	for _, r := range env.App.Router.Routes() {
		if r.Path != "/console" && !strings.HasPrefix(r.Path, "/console/") {
			routes = append(routes, r)
		}
	}
	if len(routes) == len(env.App.Router.Routes()) {
		t.Fatal("the router serves no web console under /console/")
	}
	contract.CheckRoutes(t, contract.GinRoutes(routes))
}

func TestTheContractIsServed(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	r := env.Do("GET", "/api/v1/openapi.yaml", "", nil)
	if r.Status != http.StatusOK || !bytes.Contains(r.Body, []byte("openapi: 3")) {
		t.Fatalf("GET /api/v1/openapi.yaml = %d, body starts %.40q", r.Status, r.Body)
	}
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	if r := env.Do("GET", "/healthz", "", nil); r.Status != http.StatusOK {
		t.Errorf("/healthz = %d", r.Status)
	}
	r := env.Do("GET", "/readyz", "", nil)
	var ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	r.JSON(t, &ready)
	if r.Status != http.StatusOK || ready.Checks["database"] != "ok" || ready.Checks["redis"] != "ok" {
		t.Errorf("/readyz = %d %+v", r.Status, ready)
	}
	env.Do("GET", "/api/v1/me", "", nil)
	m := env.Do("GET", "/metrics", "", nil)
	for _, want := range []string{
		`xianfeng_http_requests_total{method="GET",route="/api/v1/me",status="401"} 1`,
		`xianfeng_http_request_duration_seconds_bucket{method="GET",route="/readyz"`,
		`xianfeng_queue_jobs{queue="` + env.App.Config.Queue.Namespace + `:default",state="pending"} 0`,
	} {
		if !bytes.Contains(m.Body, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestRequestIDs(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	tests := []struct {
		name, sent string
		echoed     bool
	}{
		{"a sane id from the caller is echoed back", "abc-123_X.y", true},
		{"an id with spaces is replaced", "abc 123", false},
		{"an over-long id is replaced", strings.Repeat("a", 65), false},
		{"a missing id is made up", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := env.In(t)
			r := env.DoWith("GET", "/healthz", "", nil, map[string]string{"X-Request-ID": tc.sent})
			got := r.Header.Get("X-Request-ID")
			if tc.echoed && got != tc.sent {
				t.Errorf("X-Request-ID = %q, want %q", got, tc.sent)
			}
			if !tc.echoed && (got == "" || got == tc.sent) {
				t.Errorf("X-Request-ID = %q, want a fresh id", got)
			}
		})
	}
}

func TestBadInputGetsItsDocumentedAnswer(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	tests := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		code   string
		field  string
	}{
		{"an empty body is 400", "POST", "/api/v1/auth/login", "", 400, "invalid_argument", ""},
		{"a body that is not JSON is 400", "POST", "/api/v1/auth/login", "code=mock:a", 400, "invalid_argument", ""},
		{"truncated JSON is 400", "POST", "/api/v1/auth/login", `{"code":`, 400, "invalid_argument", ""},
		{"a number where a string belongs is 400 naming the field", "POST", "/api/v1/auth/login", `{"code":12}`, 400, "invalid_argument", "code"},
		{"an array instead of an object is 400", "POST", "/api/v1/auth/login", `["ok:a"]`, 400, "invalid_argument", ""},
		{"a missing code is 400 naming the field", "POST", "/api/v1/auth/login", `{}`, 400, "invalid_argument", "code"},
		{"a code with control characters is 400", "POST", "/api/v1/auth/login", `{"code":"ok:a\u0000"}`, 400, "invalid_argument", "code"},
		{"an oversized body is 413", "POST", "/api/v1/auth/login", `{"code":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "payload_too_large", ""},
		{"an unknown route is 404", "GET", "/api/v1/nothing-here", nil, 404, "not_found", ""},
		{"a wrong method is 405", "DELETE", "/api/v1/auth/login", nil, 405, "method_not_allowed", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := env.In(t)
			r := env.Do(tc.method, tc.path, "", tc.body)
			if r.Status != tc.status || r.ErrorCode() != tc.code {
				t.Fatalf("got %d %s, want %d %s: %.200s", r.Status, r.ErrorCode(), tc.status, tc.code, r.Body)
			}
			if tc.field != "" {
				var e struct {
					Error struct {
						Fields map[string]string `json:"fields"`
					} `json:"error"`
				}
				r.JSON(t, &e)
				if e.Error.Fields[tc.field] == "" {
					t.Errorf("error names no field %q: %s", tc.field, r.Body)
				}
			}
		})
	}
}

func TestAPanicIsA500WithNoDetail(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	env.App.Router.GET("/test/panic", func(*gin.Context) { panic("secret detail at db.go:42") })
	resp, err := http.Get(env.Server.URL + "/test/panic")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || !bytes.Contains(body, []byte(`"code":"internal"`)) || bytes.Contains(body, []byte("secret")) {
		t.Fatalf("panic answered %d %s", resp.StatusCode, body)
	}
}

func TestShutdownDrainsRequestsInFlight(t *testing.T) {
	env := testenv.New(t, testenv.Options{Configure: func(c *config.Config) { c.HTTP.Addr = "127.0.0.1:0" }})
	started := make(chan struct{})
	env.App.Router.GET("/test/slow", func(c *gin.Context) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		c.String(200, "done")
	})
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	served := make(chan error, 1)
	go func() { served <- env.App.ServeHTTP(ctx, ready) }()
	addr := <-ready
	var wg sync.WaitGroup
	var status int
	var body []byte
	wg.Go(func() {
		resp, err := http.Get("http://" + addr + "/test/slow")
		if err != nil {
			t.Errorf("request in flight failed: %v", err)
			return
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		status = resp.StatusCode
	})
	<-started
	cancel() // what SIGTERM does
	wg.Wait()
	if status != 200 || string(body) != "done" {
		t.Errorf("request in flight got %d %q, want 200 done", status, body)
	}
	if err := <-served; err != nil {
		t.Errorf("ServeHTTP returned %v", err)
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Error("server still accepts connections after shutdown")
	}
}

package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"xianfeng/config"
	"xianfeng/server/internal/app"
	"xianfeng/server/internal/contract"
	"xianfeng/server/internal/database"
	"xianfeng/server/internal/logging"
	"xianfeng/server/internal/testenv"
)

// send makes a request outside the contract-checking client: these tests
// probe with methods and paths the contract does not know.
func send(env *testenv.Env, method, path, token string, header map[string]string) testenv.Response {
	return env.Unchecked().DoWith(method, path, token, nil, header)
}

func TestMadeUpMethodsDoNotAddMetricSeries(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	for i := range 20 {
		method := fmt.Sprintf("MADEUP%d%s", i, strings.Repeat("X", 100))
		send(env, method, "/api/v1/me", "", nil)
		send(env, method, fmt.Sprintf("/no/such/path/%d", i), "", nil)
	}
	send(env, "GET", "/api/v1/me", "", nil)
	m := env.Do("GET", "/metrics", "", nil)
	tests := []struct {
		name string
		text string
		want bool
	}{
		{"no series names a made-up method", "MADEUP", false},
		{"no series names a path that has no route", "/no/such/path", false},
		{"made-up methods are counted as other", `method="other"`, true},
		{"a path without a route is counted as unmatched", `route="unmatched"`, true},
		{"known methods keep their name", `xianfeng_http_requests_total{method="GET",route="/api/v1/me",status="401"} 1`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bytes.Contains(m.Body, []byte(tt.text)); got != tt.want {
				t.Errorf("/metrics contains %q = %v, want %v", tt.text, got, tt.want)
			}
		})
	}
}

func TestEveryAnswerCarriesTheSecurityHeaders(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	token := env.Login("headers")
	tests := []struct {
		name    string
		method  string
		path    string
		token   string
		noStore bool
	}{
		{"an authenticated API answer", "GET", "/api/v1/me", token, true},
		{"an API answer refusing a missing session", "GET", "/api/v1/me", "", true},
		{"the public badge verification", "GET", "/api/v1/badges/verify?token=x", "", true},
		{"an API path with no route", "GET", "/api/v1/nothing-here", token, true},
		{"an API path with the wrong method", "DELETE", "/api/v1/auth/login", "", true},
		{"the liveness probe", "GET", "/healthz", "", false},
		{"the readiness probe", "GET", "/readyz", "", false},
		{"a path outside the API with no route", "GET", "/nothing-here", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := env.In(t)
			resp := send(env, tt.method, tt.path, tt.token, map[string]string{"Origin": "https://evil.example"})
			want := map[string]string{
				"X-Content-Type-Options":      "nosniff",
				"Referrer-Policy":             "no-referrer",
				"X-Frame-Options":             "DENY",
				"Access-Control-Allow-Origin": "",
			}
			if tt.noStore {
				want["Cache-Control"] = "no-store"
			}
			for k, v := range want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s %s (%d): %s = %q, want %q", tt.method, tt.path, resp.Status, k, got, v)
				}
			}
		})
	}
	t.Run("a CORS preflight is not answered with CORS headers", func(t *testing.T) {
		env := env.In(t)
		resp := send(env, "OPTIONS", "/api/v1/me", "", map[string]string{
			"Origin": "https://evil.example", "Access-Control-Request-Method": "GET",
		})
		for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers"} {
			if got := resp.Header.Get(k); got != "" {
				t.Errorf("preflight answered %s: %q", k, got)
			}
		}
	})
}

func TestReadinessWaitsForTheSchema(t *testing.T) {
	cfg := testenv.Config(t)
	off := false
	cfg.Database.AutoMigrate = &off // as in production: `server migrate` does it
	var log testenv.LogBuffer
	a, err := app.New(context.Background(), cfg, logging.New(&log, "info", "json"), app.Options{})
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	srv := httptest.NewServer(a.Router)
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: contract.NewTransport(t, nil)}
	ready := func() (int, map[string]string) {
		t.Helper()
		resp, err := client.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Checks map[string]string `json:"checks"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body.Checks
	}

	t.Run("an unmigrated database is not ready and the log says to run server migrate once", func(t *testing.T) {
		for range 3 {
			if status, checks := ready(); status != 503 || checks["database"] != "unavailable" || checks["redis"] != "ok" {
				t.Fatalf("/readyz = %d %v, want 503 with the database unavailable", status, checks)
			}
		}
		if n := strings.Count(log.String(), "server migrate"); n != 1 {
			t.Errorf("the log says `server migrate` %d times, want once:\n%s", n, log.String())
		}
	})
	t.Run("once migrated the same process is ready", func(t *testing.T) {
		if err := database.Migrate(context.Background(), a.DB, database.Migrations, logging.Discard()); err != nil {
			t.Fatal(err)
		}
		if status, checks := ready(); status != 200 || checks["database"] != "ok" {
			t.Fatalf("/readyz = %d %v, want 200", status, checks)
		}
	})
}

func TestMetricsAndProfilesAreServedOnTheAdminHandler(t *testing.T) {
	tests := []struct {
		name          string
		env           string
		apiHasMetrics bool
	}{
		{"in production the API port has no /metrics", config.EnvProduction, false},
		{"in development the API port keeps /metrics", config.EnvDevelopment, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := testenv.New(t, testenv.Options{Configure: func(c *config.Config) { c.Env = tt.env }})
			send(env, "GET", "/api/v1/me", "", nil)
			for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/heap"} {
				resp := send(env, "GET", path, "", nil)
				if got := resp.Status == 200; got != (tt.apiHasMetrics && path == "/metrics") {
					t.Errorf("API port %s = %d", path, resp.Status)
				}
			}

			admin := httptest.NewServer(env.App.Admin)
			t.Cleanup(admin.Close)
			get := func(path string) (int, string) {
				t.Helper()
				resp, err := http.Get(admin.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var b bytes.Buffer
				_, _ = b.ReadFrom(resp.Body)
				return resp.StatusCode, b.String()
			}
			for _, c := range []struct{ path, want string }{
				{"/metrics", `xianfeng_http_requests_total{method="GET",route="/api/v1/me",status="401"} 1`},
				{"/metrics", "xianfeng_queue_jobs"},
				{"/debug/pprof/", "mutex"},
				{"/debug/pprof/heap?debug=1", "heap profile"},
				{"/debug/pprof/mutex?debug=1", "--- mutex"},
				{"/debug/pprof/block?debug=1", "--- contention"},
				{"/debug/pprof/goroutine?debug=1", "goroutine profile"},
				{"/healthz", `"status":"ok"`},
				{"/readyz", `"database":"ok"`},
			} {
				if status, body := get(c.path); status != 200 || !strings.Contains(body, c.want) {
					t.Errorf("admin %s = %d %.200q, want 200 with %q", c.path, status, body, c.want)
				}
			}
			// A CPU profile runs for at least a second unless its request
			// ends: one that has already ended is served at once, with the
			// profile of no time at all.
			if tt.env == config.EnvProduction {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				rec := httptest.NewRecorder()
				env.App.Admin.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, "GET", "/debug/pprof/profile?seconds=1", nil))
				if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/octet-stream" || rec.Body.Len() == 0 {
					t.Errorf("admin CPU profile = %d %q with %d bytes, want 200 with a profile", rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
				}
			}
		})
	}
}

// Package api assembles the HTTP router: the shared middleware, the health
// and metrics endpoints, the API contract and every domain's handlers; and
// the admin handler for the operators' listener.
package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"xianfeng/server/internal/announce"
	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/auth"
	"xianfeng/server/internal/badge"
	"xianfeng/server/internal/checkin"
	"xianfeng/server/internal/console"
	"xianfeng/server/internal/contentsec"
	"xianfeng/server/internal/deed"
	"xianfeng/server/internal/form"
	"xianfeng/server/internal/media"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/report"
	"xianfeng/server/internal/stats"
	"xianfeng/server/internal/task"
	"xianfeng/server/internal/web"
	"xianfeng/server/internal/wechat"
)

// Pinger is a dependency that /readyz checks.
type Pinger func(ctx context.Context) error

// Deps are what the router needs.
type Deps struct {
	Log      *slog.Logger
	Registry *prometheus.Registry
	// MetricsOnAPI serves /metrics on the API port too (development); the
	// admin handler always serves it.
	MetricsOnAPI   bool
	MaxBodyBytes   int64
	TrustedProxies []string
	Spec           []byte
	Auth           *auth.Handler
	Org            *org.Service
	Badge          *badge.Handler
	Task           *task.Service
	Checkin        *checkin.Handler
	Notify         *notify.Handler
	Announce       *announce.Service
	Report         *report.Service
	Deed           *deed.Service
	Stats          *stats.Handler
	// Console is the web console: its pages under /console/ and the
	// mini-program's side of its scan-to-login under /api/v1/console/.
	Console *console.Console
	// SignupLimit, ReportLimit, VerifyLimit and UploadLimit rate-limit
	// signing up with an invite code, filing reports, verifying a badge and
	// uploading photos.
	SignupLimit, ReportLimit, VerifyLimit, UploadLimit gin.HandlerFunc
	Form                                               *form.Handler
	Media                                              *media.Handler
	// WeChat receives WeChat's message push (image check verdicts).
	WeChat *contentsec.Handler
	// Ready names the dependencies /readyz checks ("database", "redis").
	Ready map[string]Pinger
	// DevMessages, when set, serves the WeChat mock's recorded subscribe
	// messages at a development-only endpoint.
	DevMessages *wechat.Mock
}

var ginMode sync.Once

// NewRouter returns the server's HTTP handler.
func NewRouter(d Deps) (*gin.Engine, error) {
	ginMode.Do(func() { gin.SetMode(gin.ReleaseMode) })
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// No redirects: a client of a JSON API gets a JSON 404 for a path that
	// is not quite right, never an HTML 301 whose Location echoes its query.
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.ContextWithFallback = true
	if err := r.SetTrustedProxies(d.TrustedProxies); err != nil {
		return nil, err
	}
	metrics := web.NewMetrics(d.Registry)
	// wx.request cannot send PATCH: the two PATCH operations also take POST
	// with X-HTTP-Method-Override (openapi.yaml documents both).
	r.Use(web.MethodOverride(r, "/api/v1/orgs/:id/members/:user_id", "/api/v1/tasks/:id"))
	r.Use(web.RequestID(), web.SecurityHeaders(), web.Observe(d.Log, metrics), web.Recover(d.Log), web.RefuseMethodOverride(), web.LimitURI(),
		web.LimitBodyOf(d.Log, d.MaxBodyBytes, map[string]int64{"/api/v1/media": d.Media.BodyLimit()}))
	r.NoRoute(d.Badge.CheckFile(web.NotFound))
	r.NoMethod(web.MethodNotAllowed)

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", gin.WrapF(readyz(d.Ready)))
	if d.MetricsOnAPI {
		r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{})))
	}

	d.Console.Mount(r)

	v1 := r.Group("/api/v1", web.CheckQuery(d.Log))
	v1.GET("/openapi.yaml", func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml", d.Spec) })
	authed := v1.Group("", d.Auth.Require())
	routes(d, v1, authed)
	if d.DevMessages != nil {
		authed.GET("/dev/wechat/messages", devMessages(d.DevMessages, d.Log))
	}
	return r, nil
}

// NewAdmin returns the handler of the operators' listener: /metrics,
// net/http/pprof under /debug/pprof/ (CPU, heap, goroutine, mutex, block,
// trace), and /healthz and /readyz, so that a process running only workers
// can be health-checked too. It must never be reachable from the public.
func NewAdmin(reg *prometheus.Registry, ready map[string]Pinger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", readyz(ready))
	return mux
}

// readyz answers whether every check passes, naming each check ok or
// unavailable and nothing more: no error text reaches the caller.
func readyz(checks map[string]Pinger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		status, results := http.StatusOK, map[string]string{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for name, ping := range checks {
			wg.Go(func() {
				res := "ok"
				if err := ping(ctx); err != nil {
					res = "unavailable"
				}
				mu.Lock()
				results[name] = res
				if res != "ok" {
					status = http.StatusServiceUnavailable
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		overall := "ok"
		if status != http.StatusOK {
			overall = "unavailable"
		}
		writeJSON(w, status, map[string]any{"status": overall, "checks": results})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func devMessages(mock *wechat.Mock, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		limit := 50
		if s := c.Query("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 200 {
				web.Fail(c, log, apperr.Invalid("参数错误", map[string]string{"limit": "应为 1 到 200 的整数"}))
				return
			}
			limit = n
		}
		msgs, err := mock.Messages(c.Request.Context(), limit)
		if err != nil {
			web.Fail(c, log, err)
			return
		}
		if msgs == nil {
			msgs = []wechat.RecordedMessage{}
		}
		c.JSON(http.StatusOK, gin.H{"items": msgs, "next_cursor": ""})
	}
}

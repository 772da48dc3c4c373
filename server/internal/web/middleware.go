package web

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"xianfeng/server/internal/logging"
)

// RequestIDHeader carries the request id in both directions.
const RequestIDHeader = "X-Request-ID"

// RequestID takes the caller's X-Request-ID when it is a sane token (up to 64
// letters, digits, '-', '_' or '.'), or makes a new one; echoes it on the
// response and puts it in the request context for the logs.
func RequestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		c.Header(RequestIDHeader, id)
		c.Request = c.Request.WithContext(logging.WithRequestID(c.Request.Context(), id))
		c.Next()
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_' || b == '.') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Metrics holds the HTTP request metrics exported on /metrics.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the HTTP metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xianfeng_http_requests_total",
			Help: "HTTP requests served, by method, route and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "xianfeng_http_request_duration_seconds",
			Help:    "HTTP request latency, by method and route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// MethodLabel is the method as metrics and logs name it: one of the methods
// of RFC 9110 and PATCH, or "other", so that a client inventing method names
// cannot add series (or log volume) without bound.
func MethodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	}
	return "other"
}

// SecurityHeaders sets, on every answer, the headers that keep a browser
// from sniffing content types, leaking the URL as a referrer or framing a
// page; answers under /api/v1 (all of them personal or short-lived) are
// also never stored by a cache. No CORS header is sent: the mini-program
// is not a browser page and needs none.
func SecurityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if strings.HasPrefix(c.Request.URL.Path, "/api/") {
			h.Set("Cache-Control", "no-store")
		}
		c.Next()
	}
}

// Observe logs one access line per request and records its metrics. Slow
// (>1s) and failed (5xx) requests log at warn level.
func Observe(log *slog.Logger, m *Metrics) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		elapsed := time.Since(start)
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := c.Writer.Status()
		method := MethodLabel(c.Request.Method)
		m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
		m.duration.WithLabelValues(method, route).Observe(elapsed.Seconds())
		level := slog.LevelInfo
		if status >= 500 || elapsed > time.Second {
			level = slog.LevelWarn
		}
		log.LogAttrs(c.Request.Context(), level, "http request",
			slog.String("method", method),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Int64("duration_us", elapsed.Microseconds()),
			slog.String("ip", c.ClientIP()),
		)
	}
}

// Recover turns a panic in a handler into a 500 "internal" answer with no
// detail, logging the panic value and stack for the operators.
func Recover(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(c.Request.Context(), "panic in handler", "panic", v, "stack", string(debug.Stack()))
				if !c.Writer.Written() {
					c.AbortWithStatusJSON(http.StatusInternalServerError, ErrorBody{Error: ErrorDetail{Code: errInternal.Code, Message: errInternal.Message}})
				} else {
					c.Abort()
				}
			}
		}()
		c.Next()
	}
}

// LimitBody caps the request body at max bytes; reading past it fails with
// *http.MaxBytesError, which BindJSON answers with 413.
func LimitBody(log *slog.Logger, max int64) gin.HandlerFunc {
	return LimitBodyOf(log, max, nil)
}

// LimitBodyOf is LimitBody with a limit of its own for some routes, keyed
// by route pattern (gin's FullPath, such as "/api/v1/media"): an upload
// takes megabytes where every JSON body takes max.
func LimitBodyOf(log *slog.Logger, max int64, routes map[string]int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		limit := max
		if n, ok := routes[c.FullPath()]; ok {
			limit = n
		}
		if c.Request.ContentLength > limit {
			Fail(c, log, errTooLarge)
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		c.Next()
	}
}

// MaxURIBytes bounds the request target (path and query). No operation of
// the API needs more than a few hundred bytes; the listener reads headers up
// to a megabyte (http.DefaultMaxHeaderBytes) so that a longer target reaches
// this check and gets the JSON error rather than Go's plain-text 431.
const MaxURIBytes = 8 << 10

// LimitURI answers 414 uri_too_long for a request target over MaxURIBytes.
func LimitURI() gin.HandlerFunc {
	return func(c *gin.Context) {
		if len(c.Request.URL.Path)+len(c.Request.URL.RawQuery) > MaxURIBytes {
			c.AbortWithStatusJSON(http.StatusRequestURITooLong, ErrorBody{Error: ErrorDetail{Code: "uri_too_long", Message: "请求地址过长"}})
			return
		}
		c.Next()
	}
}

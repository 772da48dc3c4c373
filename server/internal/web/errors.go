// Package web is the HTTP plumbing shared by every handler: the endpoint
// adapter that turns a service call into a handler (OK, Created,
// NoContent), the error body, request ids, access logs, metrics, panics,
// body limits and JSON binding.
package web

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/database"
	"xianfeng/server/internal/redisdb"
)

// statusOf is the one table from error kinds to HTTP statuses.
var statusOf = map[apperr.Kind]int{
	apperr.KindInternal:        http.StatusInternalServerError,
	apperr.KindInvalid:         http.StatusBadRequest,
	apperr.KindUnauthenticated: http.StatusUnauthorized,
	apperr.KindForbidden:       http.StatusForbidden,
	apperr.KindNotFound:        http.StatusNotFound,
	apperr.KindConflict:        http.StatusConflict,
	apperr.KindTooLarge:        http.StatusRequestEntityTooLarge,
	apperr.KindRule:            http.StatusUnprocessableEntity,
	apperr.KindRateLimited:     http.StatusTooManyRequests,
	apperr.KindBadGateway:      http.StatusBadGateway,
	apperr.KindUnavailable:     http.StatusServiceUnavailable,
	apperr.KindUnsupported:     http.StatusUnsupportedMediaType,
	apperr.KindGone:            http.StatusGone,
}

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the content of an error response.
type ErrorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

var errInternal = apperr.New(apperr.KindInternal, "internal", "服务器内部错误，请稍后重试")

// Fail writes err as the error response and stops the handler chain. Errors
// that are not *apperr.Error are logged with their detail and answered with a
// plain 500 "internal".
func Fail(c *gin.Context, log *slog.Logger, err error) {
	status, e := Resolve(c, log, err)
	c.AbortWithStatusJSON(status, ErrorBody{Error: ErrorDetail{Code: e.Code, Message: e.Message, Fields: e.Fields}})
}

// Resolve is what Fail does before it writes the body: it finds the status
// and the error to show for err, logs it as Fail does and sets Retry-After.
// A handler that answers in another shape than JSON (the web console's
// pages) writes its own body with them.
func Resolve(c *gin.Context, log *slog.Logger, err error) (int, *apperr.Error) {
	e, ok := apperr.As(err)
	if !ok {
		e = errInternal
		if unreachable(err) {
			e = apperr.Unavailable(err)
		}
	}
	status := statusOf[e.Kind]
	switch {
	case status >= 500:
		log.ErrorContext(c.Request.Context(), "request failed", "code", e.Code, "err", err)
	case e.Err != nil:
		log.InfoContext(c.Request.Context(), "request refused", "code", e.Code, "err", e.Err)
	}
	if e.RetryAfter > 0 {
		secs := int(e.RetryAfter.Seconds())
		if secs < 1 {
			secs = 1
		}
		c.Header("Retry-After", strconv.Itoa(secs))
	}
	return status, e
}

// unreachable reports whether err means a dependency (database, Redis) did
// not answer, is starting up or dropped the connection, which is a 503 with
// Retry-After rather than a bug.
func unreachable(err error) bool {
	return database.Unavailable(err) || redisdb.IsUnavailable(err)
}

// NotFound answers routes that do not exist.
func NotFound(c *gin.Context) {
	c.AbortWithStatusJSON(http.StatusNotFound, ErrorBody{Error: ErrorDetail{Code: "not_found", Message: "接口不存在"}})
}

// MethodNotAllowed answers a known path with the wrong method.
func MethodNotAllowed(c *gin.Context) {
	c.AbortWithStatusJSON(http.StatusMethodNotAllowed, ErrorBody{Error: ErrorDetail{Code: "method_not_allowed", Message: "不支持的请求方法"}})
}

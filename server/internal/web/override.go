package web

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// MethodOverrideHeader names the method a POST request stands for, for
// clients that cannot send it: wx.request has no PATCH.
const MethodOverrideHeader = "X-HTTP-Method-Override"

// MethodOverride lets a client send POST with "X-HTTP-Method-Override:
// PATCH" to the given PATCH routes (gin syntax, such as /api/v1/tasks/:id):
// it routes such a request again as PATCH through engine, so it must come
// first in the engine's middleware, and everything after it (request id,
// logs, metrics, limits) runs once, for the PATCH. Any other request that
// carries the header goes on unchanged, for RefuseMethodOverride.
func MethodOverride(engine *gin.Engine, patchRoutes ...string) gin.HandlerFunc {
	patterns := make([][]string, len(patchRoutes))
	for i, r := range patchRoutes {
		patterns[i] = strings.Split(r, "/")
	}
	return func(c *gin.Context) {
		values := c.Request.Header.Values(MethodOverrideHeader)
		if len(values) != 1 || c.Request.Method != http.MethodPost ||
			!strings.EqualFold(strings.TrimSpace(values[0]), http.MethodPatch) || !matchesAny(patterns, c.Request.URL.Path) {
			c.Next()
			return
		}
		c.Request.Method = http.MethodPatch
		c.Request.Header.Del(MethodOverrideHeader)
		engine.HandleContext(c)
		c.Abort()
	}
}

// RefuseMethodOverride answers 405 method_override_not_allowed to every
// request still carrying X-HTTP-Method-Override, that is one MethodOverride
// did not take, so the header never changes what another route does. It
// belongs after the request id, log and metrics middleware, so the refusal
// is answered and recorded like any other.
func RefuseMethodOverride() gin.HandlerFunc {
	return func(c *gin.Context) {
		if len(c.Request.Header.Values(MethodOverrideHeader)) > 0 {
			c.AbortWithStatusJSON(http.StatusMethodNotAllowed, ErrorBody{Error: ErrorDetail{
				Code: "method_override_not_allowed", Message: "该接口不支持 X-HTTP-Method-Override",
			}})
			return
		}
		c.Next()
	}
}

// matchesAny reports whether path fits one of the split gin patterns, where
// a :name segment stands for any one non-empty segment.
func matchesAny(patterns [][]string, path string) bool {
	segs := strings.Split(path, "/")
	for _, p := range patterns {
		if len(p) != len(segs) {
			continue
		}
		ok := true
		for i, s := range p {
			if strings.HasPrefix(s, ":") {
				ok = segs[i] != ""
			} else {
				ok = segs[i] == s
			}
			if !ok {
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

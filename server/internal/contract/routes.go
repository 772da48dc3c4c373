package contract

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// Route is one route of the HTTP router: a method and a path in gin's syntax
// (/orgs/:id/members/:user_id, /static/*path).
type Route struct {
	Method string
	Path   string
}

// GinRoutes converts what gin.Engine.Routes returns into routes for CheckRoutes.
func GinRoutes(infos gin.RoutesInfo) []Route {
	routes := make([]Route, 0, len(infos))
	for _, info := range infos {
		routes = append(routes, Route{Method: info.Method, Path: info.Path})
	}
	return routes
}

// ginParam matches a gin path parameter (:name) or catch-all (*name).
var ginParam = regexp.MustCompile(`[:*]([^/]+)`)

// OpenAPIPath turns a gin path into the path template openapi.yaml uses:
// /orgs/:id/members/:user_id becomes /orgs/{id}/members/{user_id} and /static/*path
// becomes /static/{path}.
func OpenAPIPath(ginPath string) string {
	return ginParam.ReplaceAllString(ginPath, "{$1}")
}

// CheckRoutes reports to t, with Errorf and in sorted order, every route of the router
// that openapi.yaml does not document and every operation of openapi.yaml that the router
// lacks. HEAD routes are ignored unless the document lists them. A POST operation that
// stands for another method through MethodOverrideHeader is served by that method's route. Give it the routes of a
// router built in development mode: the document also lists the development-only
// endpoints (x-development-only), which a production router leaves out.
func CheckRoutes(t testing.TB, routes []Route) {
	t.Helper()
	s, err := loadSpec()
	if err != nil {
		t.Fatalf("contract: load openapi.yaml: %v", err)
	}

	documented := make(map[string]string) // "METHOD /path" → operationId
	servedBy := make(map[string]string)   // a method override "POST /path" → "PATCH /path"
	for path, item := range s.doc.Paths.Map() {
		for method, op := range item.Operations() {
			documented[strings.ToUpper(method)+" "+path] = op.OperationID
			if m := overrides(op); m != "" {
				servedBy[strings.ToUpper(method)+" "+path] = m + " " + path
			}
		}
	}
	served := make(map[string]bool, len(routes))
	for _, r := range routes {
		served[strings.ToUpper(r.Method)+" "+OpenAPIPath(r.Path)] = true
	}

	var undocumented, unserved []string
	for key := range served {
		if _, ok := documented[key]; !ok && !strings.HasPrefix(key, "HEAD ") {
			undocumented = append(undocumented, key)
		}
	}
	for key := range documented {
		route := key
		if target, ok := servedBy[key]; ok {
			route = target
		}
		if !served[route] {
			unserved = append(unserved, key)
		}
	}
	slices.Sort(undocumented)
	slices.Sort(unserved)
	for _, key := range undocumented {
		t.Errorf("contract: route %s is not documented in openapi.yaml", key)
	}
	for _, key := range unserved {
		t.Errorf("contract: openapi.yaml operation %s (%s) has no route in the router", key, documented[key])
	}
}

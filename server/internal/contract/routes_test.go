package contract_test

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/contract"
)

func TestOpenAPIPath(t *testing.T) {
	tests := []struct{ gin, want string }{
		{"/healthz", "/healthz"},
		{"/api/v1/orgs/:id", "/api/v1/orgs/{id}"},
		{"/api/v1/orgs/:id/members/:user_id", "/api/v1/orgs/{id}/members/{user_id}"},
		{"/static/*path", "/static/{path}"},
	}
	for _, tt := range tests {
		if got := contract.OpenAPIPath(tt.gin); got != tt.want {
			t.Errorf("OpenAPIPath(%q) = %q, want %q", tt.gin, got, tt.want)
		}
	}
}

// documentedRoutes is every operation of openapi.yaml, as a gin router would list it.
var documentedRoutes = []contract.Route{
	{Method: "GET", Path: "/healthz"},
	{Method: "GET", Path: "/readyz"},
	{Method: "GET", Path: "/metrics"},
	{Method: "GET", Path: "/api/v1/openapi.yaml"},
	{Method: "POST", Path: "/api/v1/auth/login"},
	{Method: "POST", Path: "/api/v1/auth/logout"},
	{Method: "POST", Path: "/api/v1/auth/logout-all"},
	{Method: "GET", Path: "/api/v1/me"},
	{Method: "POST", Path: "/api/v1/me/phone"},
	{Method: "GET", Path: "/api/v1/console/tickets/:ticket"},
	{Method: "POST", Path: "/api/v1/console/tickets/:ticket/confirm"},
	{Method: "POST", Path: "/api/v1/orgs/claim"},
	{Method: "GET", Path: "/api/v1/orgs/:id"},
	{Method: "POST", Path: "/api/v1/orgs/:id/children"},
	{Method: "GET", Path: "/api/v1/orgs/:id/invite"},
	{Method: "POST", Path: "/api/v1/orgs/:id/invite/rotate"},
	{Method: "POST", Path: "/api/v1/orgs/:id/dissolve"},
	{Method: "GET", Path: "/api/v1/orgs/:id/audit"},
	{Method: "GET", Path: "/api/v1/orgs/:id/members"},
	{Method: "POST", Path: "/api/v1/orgs/:id/members"},
	{Method: "POST", Path: "/api/v1/orgs/:id/members/:user_id/approve"},
	{Method: "POST", Path: "/api/v1/orgs/:id/members/:user_id/reject"},
	{Method: "PATCH", Path: "/api/v1/orgs/:id/members/:user_id"},
	{Method: "DELETE", Path: "/api/v1/orgs/:id/members/:user_id"},
	{Method: "POST", Path: "/api/v1/members/signup"},
	{Method: "GET", Path: "/api/v1/me/badge"},
	{Method: "GET", Path: "/api/v1/me/badge/qr.png"},
	{Method: "GET", Path: "/api/v1/badges/verify"},
	{Method: "POST", Path: "/api/v1/orgs/:id/tasks"},
	{Method: "GET", Path: "/api/v1/orgs/:id/tasks"},
	{Method: "GET", Path: "/api/v1/tasks/:id"},
	{Method: "PATCH", Path: "/api/v1/tasks/:id"},
	{Method: "POST", Path: "/api/v1/tasks/:id/cancel"},
	{Method: "POST", Path: "/api/v1/tasks/:id/accept"},
	{Method: "POST", Path: "/api/v1/tasks/:id/decline"},
	{Method: "POST", Path: "/api/v1/tasks/:id/checkin"},
	{Method: "POST", Path: "/api/v1/tasks/:id/complete"},
	{Method: "GET", Path: "/api/v1/me/tasks"},
	{Method: "POST", Path: "/api/v1/checkins"},
	{Method: "GET", Path: "/api/v1/me/checkins"},
	{Method: "GET", Path: "/api/v1/orgs/:id/checkins"},
	{Method: "GET", Path: "/api/v1/me/notifications"},
	{Method: "POST", Path: "/api/v1/me/notifications/:id/read"},
	{Method: "POST", Path: "/api/v1/me/notifications/read-all"},
	{Method: "GET", Path: "/api/v1/me/subscriptions"},
	{Method: "POST", Path: "/api/v1/me/subscriptions"},
	{Method: "POST", Path: "/api/v1/orgs/:id/announcements"},
	{Method: "GET", Path: "/api/v1/orgs/:id/announcements"},
	{Method: "GET", Path: "/api/v1/announcements/:id"},
	{Method: "GET", Path: "/api/v1/announcements/:id/receipts"},
	{Method: "POST", Path: "/api/v1/reports"},
	{Method: "GET", Path: "/api/v1/reports/:id"},
	{Method: "POST", Path: "/api/v1/reports/:id/ack"},
	{Method: "POST", Path: "/api/v1/reports/:id/resolve"},
	{Method: "POST", Path: "/api/v1/reports/:id/escalate"},
	{Method: "GET", Path: "/api/v1/orgs/:id/reports"},
	{Method: "GET", Path: "/api/v1/me/reports"},
	{Method: "POST", Path: "/api/v1/deeds"},
	{Method: "GET", Path: "/api/v1/deeds/:id"},
	{Method: "POST", Path: "/api/v1/deeds/:id/approve"},
	{Method: "POST", Path: "/api/v1/deeds/:id/reject"},
	{Method: "POST", Path: "/api/v1/deeds/:id/recommend"},
	{Method: "POST", Path: "/api/v1/deeds/:id/commend"},
	{Method: "GET", Path: "/api/v1/orgs/:id/deeds"},
	{Method: "GET", Path: "/api/v1/orgs/:id/stats"},
	{Method: "GET", Path: "/api/v1/orgs/:id/export.xlsx"},
	{Method: "POST", Path: "/api/v1/orgs/:id/forms"},
	{Method: "GET", Path: "/api/v1/orgs/:id/forms"},
	{Method: "GET", Path: "/api/v1/forms/:id"},
	{Method: "POST", Path: "/api/v1/forms/:id/close"},
	{Method: "POST", Path: "/api/v1/forms/:id/entries"},
	{Method: "GET", Path: "/api/v1/forms/:id/entries"},
	{Method: "PUT", Path: "/api/v1/forms/:id/entries/:entry_id"},
	{Method: "GET", Path: "/api/v1/forms/:id/summary"},
	{Method: "GET", Path: "/api/v1/forms/:id/export.xlsx"},
	{Method: "GET", Path: "/api/v1/me/forms"},
	{Method: "POST", Path: "/api/v1/media"},
	{Method: "GET", Path: "/api/v1/media/:id"},
	{Method: "GET", Path: "/api/v1/media/:id/thumb"},
	{Method: "GET", Path: "/api/v1/wechat/callback"},
	{Method: "POST", Path: "/api/v1/wechat/callback"},
	{Method: "GET", Path: "/api/v1/dev/wechat/messages"},
}

func TestCheckRoutes(t *testing.T) {
	without := func(drop ...string) []contract.Route {
		var out []contract.Route
		for _, r := range documentedRoutes {
			keep := true
			for _, d := range drop {
				if r.Method+" "+r.Path == d {
					keep = false
				}
			}
			if keep {
				out = append(out, r)
			}
		}
		return out
	}
	tests := []struct {
		name   string
		routes []contract.Route
		want   [][]string
	}{
		{
			name:   "a router that serves exactly the document passes",
			routes: documentedRoutes,
		},
		{
			name:   "HEAD routes the document lacks are ignored",
			routes: append(without(), contract.Route{Method: "HEAD", Path: "/healthz"}),
		},
		{
			name:   "a method override is served by the route of the method it stands for",
			routes: without("PATCH /api/v1/tasks/:id"),
			want: [][]string{
				{"operation PATCH /api/v1/tasks/{id} (rescheduleTask) has no route"},
				{"operation POST /api/v1/tasks/{id} (rescheduleTaskByPost) has no route"},
			},
		},
		{
			name: "routes missing from the document and operations missing from the router are all reported, sorted",
			routes: append(without("GET /api/v1/me", "POST /api/v1/auth/logout-all"),
				contract.Route{Method: "GET", Path: "/api/v1/orgs/:id/members/:user_id"},
				contract.Route{Method: "DELETE", Path: "/api/v1/me"},
			),
			want: [][]string{
				{"route DELETE /api/v1/me is not documented"},
				{"route GET /api/v1/orgs/{id}/members/{user_id} is not documented"},
				{"operation GET /api/v1/me (getMe) has no route"},
				{"operation POST /api/v1/auth/logout-all (logoutAll) has no route"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t)
			contract.CheckRoutes(rec, tt.routes)
			rec.expect(t, tt.want...)
		})
	}
}

func TestGinRoutesFeedCheckRoutes(t *testing.T) {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	ok := func(c *gin.Context) { c.Status(http.StatusOK) }
	for _, route := range documentedRoutes {
		r.Handle(route.Method, route.Path, ok)
	}
	r.GET("/api/v1/orgs/:id/members/:user_id", ok)

	rec := newRecorder(t)
	contract.CheckRoutes(rec, contract.GinRoutes(r.Routes()))
	rec.expect(t, []string{"route GET /api/v1/orgs/{id}/members/{user_id} is not documented"})
}

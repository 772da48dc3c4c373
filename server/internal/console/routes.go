package console

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/web"
)

// Mount puts the console's pages on the router under /console/: the login
// (public, its ticket creation rate-limited), then everything else behind
// a console session and, for what changes anything, its CSRF token.
func (c *Console) Mount(r *gin.Engine) {
	r.GET("/console", func(g *gin.Context) { g.Redirect(http.StatusSeeOther, "/console/") })
	con := r.Group("/console")
	con.StaticFS("/static", staticFiles())
	con.GET("/login", c.loginPage)
	con.POST("/login/tickets", c.o.TicketLimit, c.createTicket)
	con.GET("/login/tickets/:ticket", c.pollTicket)
	if c.o.DevLogin {
		con.POST("/login/dev", c.devLogin)
	}

	s := con.Group("", c.requireSession())
	s.GET("/", c.home)
	s.POST("/logout", c.logout)
	s.POST("/logout-all", c.logoutAll)
	s.GET("/orgs/:id", c.byID(c.dashboard))
	s.GET("/orgs/:id/absent", c.byID(c.absentPage))
	s.GET("/orgs/:id/members", c.byID(c.members))
	s.POST("/orgs/:id/members/review", c.byID(c.review))
	s.POST("/orgs/:id/members/second", c.byID(c.second))
	s.POST("/orgs/:id/members/:user_id/change", c.byMember(c.changeMember))
	s.POST("/orgs/:id/members/:user_id/remove", c.byMember(c.removeMember))
	s.GET("/orgs/:id/tasks", c.byID(c.tasks))
	s.POST("/orgs/:id/tasks", c.byID(c.createTask))
	s.GET("/tasks/:id", c.byID(c.taskDetail))
	s.POST("/tasks/:id/cancel", c.byID(c.cancelTask))
	s.GET("/orgs/:id/reports", c.byID(c.reports))
	s.GET("/reports/:id", c.byID(c.reportDetail))
	s.POST("/reports/:id/:action", c.byID(c.actReport))
	s.GET("/orgs/:id/deeds", c.byID(c.deeds))
	s.GET("/deeds/:id", c.byID(c.deedDetail))
	s.POST("/deeds/:id/:action", c.byID(c.actDeed))
	s.GET("/orgs/:id/announcements", c.byID(c.announcements))
	s.POST("/orgs/:id/announcements", c.byID(c.sendAnnouncement))
	s.GET("/announcements/:id", c.byID(c.receipts))
	s.GET("/orgs/:id/stats", c.byID(c.statsPage))
	s.GET("/orgs/:id/audit", c.byID(c.auditPage))
	s.GET("/orgs/:id/forms", c.byID(c.forms))
	s.POST("/orgs/:id/forms", c.byID(c.createForm))
	s.GET("/forms/:id", c.byID(c.formDetail))
	s.POST("/forms/:id/close", c.byID(c.closeForm))
	// The same download as GET /api/v1/forms/{id}/export.xlsx (audited as
	// form.export there), to the console's session.
	s.GET("/forms/:id/export.xlsx", web.Attach(web.NewAdapter(c.o.Log, userID), "form export", c.o.FormAPI.Export))
	// The same download as GET /api/v1/orgs/{id}/export.xlsx, to the
	// console's session.
	s.GET("/orgs/:id/export.xlsx", web.Attach(web.NewAdapter(c.o.Log, userID), "stats export", c.o.StatsAPI.Export))
}

package api

import (
	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/announce"
	"xianfeng/server/internal/auth"
	"xianfeng/server/internal/deed"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/report"
	"xianfeng/server/internal/task"
	"xianfeng/server/internal/web"
)

// routes is the whole API in one table, in the order of openapi.yaml's
// tags: which group (public or behind a bearer token), which guard, which
// handler. Every handler is a call of its domain's service through one
// adapter, so a route's rules live in the service, not here; the contract
// tests check this table against openapi.yaml both ways.
func routes(d Deps, public, authed *gin.RouterGroup) {
	api := web.NewAdapter(d.Log, auth.UserID)
	sess := web.NewAdapter(d.Log, auth.SessionOf)

	public.POST("/auth/login", web.OK(sess.Public(), d.Auth.Login))
	authed.POST("/auth/logout", web.NoContent(sess, d.Auth.Logout))
	authed.POST("/auth/logout-all", web.NoContent(sess, d.Auth.LogoutAll))
	d.Auth.CacheMeAt(authed.BasePath() + "/me")
	d.Auth.ReadAhead("POST", authed.BasePath()+"/checkins", d.Checkin.Reads)
	authed.GET("/me", web.OK(sess, d.Auth.Me))
	// The web console's scan-to-login, as the mini-program sees it.
	authed.GET("/console/tickets/:ticket", web.OK(api, d.Console.TicketInfo))
	authed.POST("/console/tickets/:ticket/confirm", web.OK(api, d.Console.Confirm))
	authed.POST("/me/phone", web.OK(sess, d.Auth.BindPhone))

	authed.POST("/orgs/claim", web.OK(api, web.On(d.Org, org.Claim)))
	authed.GET("/orgs/:id", web.OK(api, web.On(d.Org, org.Get)))
	authed.POST("/orgs/:id/children", web.Created(api, web.On(d.Org, org.CreateChild)))
	authed.GET("/orgs/:id/invite", web.OK(api, web.On(d.Org, org.Invite)))
	authed.POST("/orgs/:id/invite/rotate", web.OK(api, web.On(d.Org, org.Rotate)))
	authed.POST("/orgs/:id/dissolve", web.OK(api, web.On(d.Org, org.Dissolve)))
	authed.GET("/orgs/:id/audit", web.OK(api, web.On(d.Org, org.Audit)))
	authed.GET("/orgs/:id/members", web.OK(api, web.On(d.Org, org.Members)))
	authed.POST("/orgs/:id/members", web.OK(api, web.On(d.Org, org.Second)))
	authed.POST("/orgs/:id/members/:user_id/approve", web.OK(api, web.On(d.Org, org.Approve)))
	authed.POST("/orgs/:id/members/:user_id/reject", web.OK(api, web.On(d.Org, org.Reject)))
	authed.PATCH("/orgs/:id/members/:user_id", web.OK(api, web.On(d.Org, org.Change)))
	authed.DELETE("/orgs/:id/members/:user_id", web.NoContent(api, web.OnErr(d.Org, org.Remove)))
	authed.POST("/members/signup", d.SignupLimit, web.Created(api, web.On(d.Org, org.Signup)))

	authed.GET("/me/badge", web.OK(api, d.Badge.Mine))
	authed.GET("/me/badge/qr.png", web.OK(api, d.Badge.QR))
	public.GET("/badges/verify", d.VerifyLimit, d.Badge.Verify)

	authed.POST("/orgs/:id/tasks", web.Created(api, web.On(d.Task, task.Create)))
	authed.GET("/orgs/:id/tasks", web.OK(api, web.On(d.Task, task.List)))
	authed.GET("/tasks/:id", web.OK(api, web.On(d.Task, task.Get)))
	authed.PATCH("/tasks/:id", web.OK(api, web.On(d.Task, task.Reschedule)))
	authed.POST("/tasks/:id/cancel", web.OK(api, web.On(d.Task, task.Cancel)))
	authed.POST("/tasks/:id/accept", web.OK(api, web.On(d.Task, task.Accept)))
	authed.POST("/tasks/:id/decline", web.OK(api, web.On(d.Task, task.Decline)))
	authed.POST("/tasks/:id/checkin", web.OK(api, web.On(d.Task, task.Checkin)))
	authed.POST("/tasks/:id/complete", web.OK(api, web.On(d.Task, task.Complete)))
	authed.GET("/me/tasks", web.OK(api, web.On(d.Task, task.Mine)))

	authed.POST("/checkins", web.OK(api, d.Checkin.Checkin))
	authed.GET("/me/checkins", web.OK(api, d.Checkin.Mine))
	authed.GET("/orgs/:id/checkins", web.OK(api, d.Checkin.Board))

	authed.GET("/me/notifications", web.OK(api, d.Notify.List))
	authed.POST("/me/notifications/read-all", web.OK(api, d.Notify.ReadAll))
	authed.POST("/me/notifications/:id/read", web.OK(api, d.Notify.Read))
	authed.GET("/me/subscriptions", web.OK(api, d.Notify.Subscriptions))
	authed.POST("/me/subscriptions", web.OK(api, d.Notify.Subscribe))

	authed.POST("/orgs/:id/announcements", web.Created(api, web.On(d.Announce, announce.Create)))
	authed.GET("/orgs/:id/announcements", web.OK(api, web.On(d.Announce, announce.List)))
	authed.GET("/announcements/:id", web.OK(api, web.On(d.Announce, announce.Get)))
	authed.GET("/announcements/:id/receipts", web.OK(api, web.On(d.Announce, announce.Receipts)))

	authed.POST("/reports", d.ReportLimit, web.Created(api, web.On(d.Report, report.Create)))
	authed.GET("/reports/:id", web.OK(api, web.On(d.Report, report.Get)))
	authed.POST("/reports/:id/ack", web.OK(api, web.On(d.Report, report.Ack)))
	authed.POST("/reports/:id/resolve", web.OK(api, web.On(d.Report, report.Resolve)))
	authed.POST("/reports/:id/escalate", web.OK(api, web.On(d.Report, report.Escalate)))
	authed.GET("/orgs/:id/reports", web.OK(api, web.On(d.Report, report.List)))
	authed.GET("/me/reports", web.OK(api, web.On(d.Report, report.Mine)))

	authed.POST("/deeds", web.Created(api, web.On(d.Deed, deed.Create)))
	authed.GET("/deeds/:id", web.OK(api, web.On(d.Deed, deed.Get)))
	for _, action := range deed.Actions {
		authed.POST("/deeds/:id/"+action, web.OK(api, web.On(d.Deed, deed.Act(action))))
	}
	authed.GET("/orgs/:id/deeds", web.OK(api, web.On(d.Deed, deed.List)))

	authed.GET("/orgs/:id/stats", web.OK(api, d.Stats.Stats))
	authed.GET("/orgs/:id/export.xlsx", web.Attach(api, "stats export", d.Stats.Export))

	authed.POST("/orgs/:id/forms", web.Created(api, d.Form.Create))
	authed.GET("/orgs/:id/forms", web.OK(api, d.Form.List))
	authed.GET("/forms/:id", web.OK(api, d.Form.Get))
	authed.POST("/forms/:id/close", web.OK(api, d.Form.Close))
	authed.POST("/forms/:id/entries", web.OK(api, d.Form.Submit))
	authed.GET("/forms/:id/entries", web.OK(api, d.Form.Entries))
	authed.PUT("/forms/:id/entries/:entry_id", web.OK(api, d.Form.Correct))
	authed.GET("/forms/:id/summary", web.OK(api, d.Form.Summary))
	authed.GET("/forms/:id/export.xlsx", web.Attach(api, "form export", d.Form.Export))
	authed.GET("/me/forms", web.OK(api, d.Form.Mine))

	authed.POST("/media", d.UploadLimit, d.Media.Upload)
	// A signed URL (?t=) works without the Authorization header, as an
	// <image src> needs; without one, the bearer token and scope decide.
	public.GET("/media/:id", d.Media.Signed(false), d.Auth.Require(), web.OK(api, d.Media.Get))
	public.GET("/media/:id/thumb", d.Media.Signed(true), d.Auth.Require(), web.OK(api, d.Media.Thumb))

	// WeChat's message push: signed with the callback token, no session.
	public.GET("/wechat/callback", d.WeChat.Handshake)
	public.POST("/wechat/callback", d.WeChat.Push)
}

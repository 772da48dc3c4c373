package console

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/announce"
	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/audit"
	"xianfeng/server/internal/deed"
	"xianfeng/server/internal/media"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/stats"
)

// statsPage is GET /console/orgs/{id}/stats?from=&to=: the assessment of
// the org, its children and its members over a range of days (the API's
// figures), with charts, and the link to the same range's Excel export.
func (c *Console) statsPage(g *gin.Context, id int64) {
	nav, pq, ok := c.orgList(g, id)
	if !ok {
		return
	}
	p, err := c.o.Stats.Period(g.Query("from"), g.Query("to"))
	if err != nil {
		c.fail(g, err)
		return
	}
	r, err := c.o.Stats.Stats(g.Request.Context(), userID(g), nav.Org.ID, p, pq.Cursor, 50)
	if err != nil {
		c.fail(g, err)
		return
	}
	var onTime, checkins []bar
	for _, ch := range append([]stats.OrgStats{r.Org}, r.Children...) {
		onTime = append(onTime, bar{Label: ch.Name, Done: ch.Tasks.DoneOnTime, Total: ch.Tasks.Assigned})
		checkins = append(checkins, bar{Label: ch.Name, Done: ch.Checkins.Days, Total: ch.ApprovedMembers * int64(p.Days)})
	}
	members := pageRows(r.Members, func(m stats.MemberStats) stats.MemberStats { return m })
	c.render(g, http.StatusOK, "stats", page{Title: "考核统计", Org: nav, Tab: "stats", Data: map[string]any{
		"Period": p, "Report": r, "Members": members,
		"OnTime":   barChart("任务按时完成（按组织）", onTime),
		"Checkins": barChart("打卡人天（按组织）", checkins),
		"Export":   fmt.Sprintf("/console/orgs/%d/export.xlsx?from=%s&to=%s", nav.Org.ID, p.From, p.To),
	}})
}

// announcements is GET /console/orgs/{id}/announcements: the org's
// announcements, paged, and the form that sends one.
func (c *Console) announcements(g *gin.Context, id int64) {
	nav, pq, ok := c.orgList(g, id)
	if !ok {
		return
	}
	p, err := c.o.Announce.List(g.Request.Context(), userID(g), nav.Org.ID, pq.Cursor, 20)
	if err != nil {
		c.fail(g, err)
		return
	}
	c.render(g, http.StatusOK, "announcements", page{Title: "通知公告", Org: nav, Tab: "announcements", Flash: flash(g), Data: map[string]any{
		"List": pageRows(p, func(a announce.Announcement) announce.Announcement { return a }),
	}})
}

// sendAnnouncement is POST /console/orgs/{id}/announcements.
func (c *Console) sendAnnouncement(g *gin.Context, id int64) {
	a, err := c.o.Announce.Create(g.Request.Context(), userID(g), id, strings.TrimSpace(g.PostForm("title")), g.PostForm("body"),
		g.PostForm("include_suborgs") != "")
	c.back(g, err, fmt.Sprintf("/console/announcements/%d", a.ID), "announced")
}

// receipts is GET /console/announcements/{id}: how it was delivered and
// read, and who has not read it (paged).
func (c *Console) receipts(g *gin.Context, id int64) {
	pq, ok := c.pageQuery(g)
	if !ok {
		return
	}
	a, st, unread, err := c.o.Announce.Receipts(g.Request.Context(), userID(g), id, pq.Cursor, 50)
	nav, ok := c.navFor(g, err, a.OrgID)
	if !ok {
		return
	}
	c.render(g, http.StatusOK, "receipts", page{Title: a.Title, Org: nav, Tab: "announcements", Flash: flash(g), Data: map[string]any{
		"A": a, "Stats": st, "Chart": barChart("已读回执", []bar{{Label: "已读", Done: st.Read, Total: st.Total}}),
		"Unread": pageRows(unread, func(u announce.Unread) announce.Unread { return u }),
	}})
}

// deeds is GET /console/orgs/{id}/deeds?status=: the deeds of the org's
// subtree, paged, with review, recommendation and commendation, each
// linked to its own page.
func (c *Console) deeds(g *gin.Context, id int64) {
	nav, pq, ok := c.orgList(g, id)
	if !ok {
		return
	}
	status := g.Query("status")
	ctx, uid := g.Request.Context(), userID(g)
	p, err := c.o.Deed.List(ctx, uid, nav.Org.ID, status, pq.Cursor, 20)
	if err != nil {
		c.fail(g, err)
		return
	}
	rows := pageRows(p, func(d deed.Deed) deedRow { return deedRow{Deed: d} })
	if err := c.deedRows(g, nav.Org.ID, rows.Items, nil); err != nil {
		c.fail(g, err)
		return
	}
	c.render(g, http.StatusOK, "deeds", page{Title: "典型事迹", Org: nav, Tab: "deeds", Flash: flash(g), Data: map[string]any{
		"List": rows, "Status": status,
		"Statuses": []string{deed.StatusPending, deed.StatusApproved, deed.StatusRecommended, deed.StatusCommended, deed.StatusRejected},
	}})
}

// deedRow is a deed with its photos and the people it names.
type deedRow struct {
	deed.Deed
	Media            []media.View
	Member, Nominee  person
	NominatedByOther bool
	// MayAct is whether the viewer may take the deed's next step: a
	// secretary of the org it now sits with (deed.Act's rule), not its
	// member or nominator. AtOrg names that org for the others.
	MayAct bool
	AtOrg  string
}

// eventRow is a step of a deed's path with who took it and where.
type eventRow struct {
	deed.Event
	Actor   person
	OrgName string
}

// deedRows fills rows (deeds of root's subtree, which the viewer manages)
// with their photos and names, and the names of events (a deed's path):
// one look-up of photos and one of names for the whole page.
func (c *Console) deedRows(g *gin.Context, root int64, rows []deedRow, events []eventRow) error {
	ctx, uid := g.Request.Context(), userID(g)
	// Every deed shown lies in a subtree the viewer manages: they handle
	// it, and see its photos before WeChat's verdict, as the API shows them.
	if err := media.FillHandled(ctx, c.o.Media, uid, media.OwnerDeed, rows,
		func(d *deedRow) (int64, *[]media.View) { return d.ID, &d.Media }); err != nil {
		return err
	}
	var users, orgs []int64
	manages := map[int64]bool{}
	for _, d := range rows {
		users, orgs = append(users, d.UserID, d.NominatedBy), append(orgs, d.CurrentOrgID)
		if _, seen := manages[d.CurrentOrgID]; !seen {
			ok, err := c.o.Org.Manages(ctx, uid, d.CurrentOrgID)
			if err != nil {
				return err
			}
			manages[d.CurrentOrgID] = ok
		}
	}
	for _, e := range events {
		users, orgs = append(users, e.ActorID), append(orgs, e.OrgID)
	}
	names, err := c.o.Org.NamesAround(ctx, uid, root, users, orgs)
	if err != nil {
		return err
	}
	for i, d := range rows {
		rows[i].Member, rows[i].Nominee = personOf(names, d.UserID), personOf(names, d.NominatedBy)
		rows[i].NominatedByOther = d.NominatedBy != d.UserID
		rows[i].MayAct = manages[d.CurrentOrgID] && !d.Concerns(uid)
		rows[i].AtOrg = names.Org(d.CurrentOrgID)
	}
	for i, e := range events {
		events[i].Actor, events[i].OrgName = personOf(names, e.ActorID), names.Org(e.OrgID)
	}
	return nil
}

// deedDetail is GET /console/deeds/{id}: a deed with its photos, its path
// (nominated, approved, recommended, commended or rejected, by whom and
// where) and the steps the secretary can take, for the secretaries who
// manage the member's org, as GET /api/v1/deeds/{id} decides; anyone else
// gets the not-found page.
func (c *Console) deedDetail(g *gin.Context, id int64) {
	d, evs, err := c.o.Deed.Get(g.Request.Context(), userID(g), id)
	// The deed service also shows a deed to its member and nominator; the
	// console is for the secretaries above it.
	nav, ok := c.navFor(g, err, d.OrgID)
	if !ok {
		return
	}
	rows := []deedRow{{Deed: d}}
	events := make([]eventRow, len(evs))
	for i, e := range evs {
		events[i] = eventRow{Event: e}
	}
	if err := c.deedRows(g, nav.Org.ID, rows, events); err != nil {
		c.fail(g, err)
		return
	}
	c.render(g, http.StatusOK, "deed", page{Title: d.Title, Org: nav, Tab: "deeds", Flash: flash(g), Data: map[string]any{
		"D": rows[0], "Events": events,
	}})
}

// actDeed is POST /console/deeds/{id}/{approve|reject|recommend|commend},
// then back to the page it came from: the deed's own (back=deed) or the
// org's list (org, a form field).
func (c *Console) actDeed(g *gin.Context, id int64) {
	orgID, ok := c.backOrg(g)
	if !ok {
		return
	}
	action := g.Param("action")
	if !slices.Contains(deed.Actions, action) {
		c.fail(g, apperr.ErrNotFound)
		return
	}
	_, err := c.o.Deed.Act(g.Request.Context(), userID(g), id, action, strings.TrimSpace(g.PostForm("reason")))
	to := fmt.Sprintf("/console/orgs/%d/deeds", orgID)
	if g.PostForm("back") == "deed" {
		to = fmt.Sprintf("/console/deeds/%d", id)
	}
	c.back(g, err, to, "deed-"+action)
}

// auditRow is an entry of the audit trail with its detail decoded and the
// people and org it names.
type auditRow struct {
	audit.Entry
	Label   string
	Details string
	Actor   person
	Target  *person
	OrgName string
}

// person is someone a page names: their name where the viewer may see it
// (org.NamesAround), else the bare user id.
type person struct {
	ID   int64
	Name string
}

func personOf(n org.Names, id int64) person { return person{ID: id, Name: n.User(id)} }

// auditPage is GET /console/orgs/{id}/audit: who did what, when, on whom,
// in the org and below, newest first, paged; the people and orgs by name,
// looked up for the whole page at once.
func (c *Console) auditPage(g *gin.Context, id int64) {
	nav, pq, ok := c.orgList(g, id)
	if !ok {
		return
	}
	ctx, uid := g.Request.Context(), userID(g)
	p, err := c.o.Org.AuditPage(ctx, uid, nav.Org.ID, pq.Cursor, 50)
	if err != nil {
		c.fail(g, err)
		return
	}
	var users, orgs []int64
	for _, e := range p.Items {
		users, orgs = append(users, e.ActorID), append(orgs, e.OrgID)
		if e.TargetUserID != nil {
			users = append(users, *e.TargetUserID)
		}
	}
	names, err := c.o.Org.NamesAround(ctx, uid, nav.Org.ID, users, orgs)
	if err != nil {
		c.fail(g, err)
		return
	}
	c.render(g, http.StatusOK, "audit", page{Title: "操作记录", Org: nav, Tab: "audit", Data: map[string]any{
		"List": pageRows(p, func(e audit.Entry) auditRow {
			row := auditRow{Entry: e, Label: auditAction(e.Action), Details: auditDetails(e.Detail), Actor: personOf(names, e.ActorID), OrgName: names.Org(e.OrgID)}
			if e.TargetUserID != nil {
				t := personOf(names, *e.TargetUserID)
				row.Target = &t
			}
			return row
		}),
	}})
}

package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/media"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/report"
	"xianfeng/server/internal/task"
)

// taskKinds are the kinds a task is created with, in the form's order.
var taskKinds = []task.Kind{task.KindDuty, task.KindScreening, task.KindPublicity, task.KindReport, task.KindOther}

// tasks is GET /console/orgs/{id}/tasks: the org's tasks, paged, and the
// form that creates one.
func (c *Console) tasks(g *gin.Context, id int64) {
	nav, pq, ok := c.orgList(g, id)
	if !ok {
		return
	}
	p, err := c.o.Task.List(g.Request.Context(), userID(g), nav.Org.ID, "", pq.Cursor, 20)
	if err != nil {
		c.fail(g, err)
		return
	}
	c.render(g, http.StatusOK, "tasks", page{Title: "任务", Org: nav, Tab: "tasks", Flash: flash(g), Data: map[string]any{
		"List": pageRows(p, func(t task.Task) task.Task { return t }), "Kinds": taskKinds,
	}})
}

// createTask is POST /console/orgs/{id}/tasks: a task for the members of
// the ticked badges and/or the listed user ids, with an optional place
// (lat, lng, radius) and due time (in the configured zone).
func (c *Console) createTask(g *gin.Context, id int64) {
	in, err := c.taskInput(g)
	if err != nil {
		c.fail(g, err)
		return
	}
	t, _, err := c.o.Task.Create(g.Request.Context(), userID(g), id, in)
	c.back(g, err, fmt.Sprintf("/console/tasks/%d", t.ID), "task")
}

// taskInput reads the task form; the service checks everything it holds.
func (c *Console) taskInput(g *gin.Context) (task.Input, error) {
	in := task.Input{RequestID: g.PostForm("request_id"), Title: strings.TrimSpace(g.PostForm("title")),
		Description: g.PostForm("description"), Kind: task.Kind(g.PostForm("kind"))}
	bad := map[string]string{}
	in.Target, in.DueAt, in.RemindBeforeMinutes = c.audienceAndDue(g, bad)
	lat, lng, radius := strings.TrimSpace(g.PostForm("lat")), strings.TrimSpace(g.PostForm("lng")), strings.TrimSpace(g.PostForm("radius_m"))
	if lat != "" || lng != "" || radius != "" {
		la, err1 := strconv.ParseFloat(lat, 64)
		ln, err2 := strconv.ParseFloat(lng, 64)
		r, err3 := strconv.Atoi(radius)
		if err1 != nil || err2 != nil || err3 != nil {
			bad["location"] = "纬度、经度和半径（米）需一起填写，且为数字"
		} else {
			in.Location = &task.Location{Lat: la, Lng: ln, RadiusM: r, Address: strings.TrimSpace(g.PostForm("address"))}
		}
	}
	if len(bad) > 0 {
		return task.Input{}, apperr.Invalid("参数错误", bad)
	}
	return in, nil
}

// taskDetail is GET /console/tasks/{id}: progress by status and the
// assignees, paged.
func (c *Console) taskDetail(g *gin.Context, id int64) {
	pq, ok := c.pageQuery(g)
	if !ok {
		return
	}
	ctx, uid := g.Request.Context(), userID(g)
	d, err := c.o.Task.Detail(ctx, uid, id, "", pq.Cursor, 50)
	if err == nil && !d.Manager {
		err = task.ErrTaskNotFound
	}
	nav, ok := c.navFor(g, err, d.Task.OrgID)
	if !ok {
		return
	}
	var chart svg
	if p := d.Progress; p != nil {
		chart = barChart("任务进度", []bar{
			{Label: "已接受", Done: p.Accepted + p.CheckedIn + p.Completed, Total: p.Total},
			{Label: "已到岗", Done: p.CheckedIn + p.Completed, Total: p.Total},
			{Label: "已完成", Done: p.Completed, Total: p.Total},
			{Label: "已逾期", Done: p.Overdue, Total: p.Total},
		})
	}
	assignees := pageRows(d.Assignees, func(a task.Assignee) assigneeRow { return assigneeRow{Assignee: a} })
	// The photos of each check-in and completion, signed for the viewer
	// by the task service's own helper, as GET /api/v1/tasks/{id} shows them.
	if err := task.FillPhotos(ctx, c.o.Task, uid, assignees.Items, func(a *assigneeRow) (int64, *[]media.View, *[]media.View) {
		return a.ID, &a.CheckinMedia, &a.CompleteMedia
	}); err != nil {
		c.fail(g, err)
		return
	}
	c.render(g, http.StatusOK, "task", page{Title: d.Task.Title, Org: nav, Tab: "tasks", Flash: flash(g), Data: map[string]any{
		"Task": d.Task, "Progress": d.Progress, "Chart": chart, "Assignees": assignees,
	}})
}

// assigneeRow is an assignee with the photos of their check-in and
// completion.
type assigneeRow struct {
	task.Assignee
	CheckinMedia, CompleteMedia []media.View
}

// cancelTask is POST /console/tasks/{id}/cancel.
func (c *Console) cancelTask(g *gin.Context, id int64) {
	_, err := c.o.Task.Cancel(g.Request.Context(), userID(g), id)
	c.back(g, err, fmt.Sprintf("/console/tasks/%d", id), "cancelled")
}

// reports is GET /console/orgs/{id}/reports: the reports filed in the
// subtree, by status, paged, with what a secretary can do to each.
func (c *Console) reports(g *gin.Context, id int64) {
	nav, pq, ok := c.orgList(g, id)
	if !ok {
		return
	}
	status := g.Query("status")
	if status != "" && status != report.StatusOpen && status != report.StatusAcknowledged && status != report.StatusResolved {
		c.fail(g, apperr.Invalid("参数错误", map[string]string{"status": "应为 open、acknowledged 或 resolved"}))
		return
	}
	p, err := c.o.Report.List(g.Request.Context(), userID(g), nav.Org.ID, status, "", pq.Cursor, 20)
	if err != nil {
		c.fail(g, err)
		return
	}
	rows := pageRows(p, func(r report.Report) report.Report { return r })
	list := c.reportRows(rows.Items)
	if err := c.withPhotos(g, list); err != nil {
		c.fail(g, err)
		return
	}
	c.render(g, http.StatusOK, "reports", page{Title: "上报", Org: nav, Tab: "reports", Flash: flash(g), Data: map[string]any{
		"List": list, "Next": rows.Next, "Status": status, "Statuses": []string{report.StatusOpen, report.StatusAcknowledged, report.StatusResolved},
	}})
}

// actReport is POST /console/reports/{id}/{ack|resolve|escalate}, then
// back to the org page it came from (org, a form field).
func (c *Console) actReport(g *gin.Context, id int64) {
	orgID, ok := c.backOrg(g)
	if !ok {
		return
	}
	ctx, uid, note := g.Request.Context(), userID(g), strings.TrimSpace(g.PostForm("note"))
	action := g.Param("action")
	var err error
	switch action {
	case "ack":
		_, err = c.o.Report.Ack(ctx, uid, id)
	case "resolve":
		_, err = c.o.Report.Resolve(ctx, uid, id, note)
	case "escalate":
		_, err = c.o.Report.EscalateByHand(ctx, uid, id, note)
	default:
		err = apperr.ErrNotFound
	}
	c.back(g, err, fmt.Sprintf("/console/orgs/%d/reports", orgID), action)
}

// reportDetail is GET /console/reports/{id}: a report with its photos and
// its timeline (filed, notified, escalated, acknowledged, resolved), for
// the secretaries of its org and above.
func (c *Console) reportDetail(g *gin.Context, id int64) {
	r, events, err := c.o.Report.Timeline(g.Request.Context(), userID(g), id)
	nav, ok := c.navFor(g, err, r.OrgID)
	if !ok {
		return
	}
	rows := c.reportRows([]report.Report{r})
	if err := c.withPhotos(g, rows); err != nil {
		c.fail(g, err)
		return
	}
	c.render(g, http.StatusOK, "report", page{Title: "上报详情", Org: nav, Tab: "reports", Flash: flash(g), Data: map[string]any{
		"R": rows[0], "Events": events, "Category": report.Categories[r.Category],
	}})
}

// audienceAndDue reads what the task and form editors share: the audience
// (badges, user ids, the whole subtree), the due time in the configured
// zone and the reminder; what does not parse is named in bad.
func (c *Console) audienceAndDue(g *gin.Context, bad map[string]string) (target task.Target, dueAt *time.Time, remind int) {
	for _, b := range g.PostFormArray("badge") {
		target.Badges = append(target.Badges, org.Badge(b))
	}
	ids, err := userIDList(g.PostForm("user_ids"))
	if err != nil {
		bad["user_ids"] = "应为以逗号分隔的用户编号"
	}
	target.UserIDs = ids
	target.IncludeSuborgs = g.PostForm("include_suborgs") != ""
	if s := g.PostForm("due_at"); s != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", s, c.o.Location)
		if err != nil {
			bad["due_at"] = "时间格式不正确"
		} else {
			dueAt = &t
		}
	}
	if s := g.PostForm("remind_before_minutes"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			bad["remind_before_minutes"] = "应为整数（分钟）"
		}
		remind = n
	}
	return target, dueAt, remind
}

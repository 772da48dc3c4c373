package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/checkin"
	"xianfeng/server/internal/contentsec"
	"xianfeng/server/internal/form"
	"xianfeng/server/internal/media"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/report"
	"xianfeng/server/internal/task"
	"xianfeng/server/internal/user"
	"xianfeng/server/internal/web"
)

// home is GET /console/: the dashboard of the secretary's first org.
func (c *Console) home(g *gin.Context) {
	g.Redirect(http.StatusSeeOther, fmt.Sprintf("/console/orgs/%d", viewerOf(g).Roots[0].OrgID))
}

// pathID reads a path id as the API does, or shows why it cannot.
func (c *Console) pathID(g *gin.Context, name string) (int64, bool) {
	id, err := web.PathID(g, name)
	if err != nil {
		c.fail(g, err)
	}
	return id, err == nil
}

// pageQuery reads ?cursor= (and ?limit=) as the API does, or shows why it
// cannot.
func (c *Console) pageQuery(g *gin.Context) (web.PageQuery, bool) {
	q, err := web.Page(g)
	if err != nil {
		c.fail(g, err)
	}
	return q, err == nil
}

// byID is the handler of a page or an action about one thing, the path's
// :id: the id is read as the API does (the error page when it cannot be)
// and h gets it.
func (c *Console) byID(h func(g *gin.Context, id int64)) gin.HandlerFunc {
	return func(g *gin.Context) {
		if id, ok := c.pathID(g, "id"); ok {
			h(g, id)
		}
	}
}

// backOrg reads the org page an action on a listed thing returns to (the
// form field org).
func (c *Console) backOrg(g *gin.Context) (int64, bool) {
	orgID, err := strconv.ParseInt(g.PostForm("org"), 10, 64)
	if err != nil || orgID <= 0 || orgID > web.MaxID {
		c.fail(g, apperr.Invalid("参数错误", map[string]string{"org": "应为正整数"}))
		return 0, false
	}
	return orgID, true
}

// orgList is navOf for a list page about an org: the org and ?cursor=.
func (c *Console) orgList(g *gin.Context, id int64) (*orgNav, web.PageQuery, bool) {
	nav, ok := c.navOf(g, id)
	if !ok {
		return nil, web.PageQuery{}, false
	}
	pq, ok := c.pageQuery(g)
	return nav, pq, ok
}

// navFor is navOf for the org of the thing a page is about, once loading
// the thing went well (err is nil); else the error page for err.
func (c *Console) navFor(g *gin.Context, err error, orgID int64) (*orgNav, bool) {
	if err != nil {
		c.fail(g, err)
		return nil, false
	}
	return c.navOf(g, orgID)
}

// navOf builds the tree picker of the org id, which a page is about; a
// secretary who does not manage it gets 404, as from the API.
func (c *Console) navOf(g *gin.Context, id int64) (*orgNav, bool) {
	ctx, uid := g.Request.Context(), userID(g)
	if _, err := c.o.Org.RequireManager(ctx, uid, id); err != nil {
		c.fail(g, err)
		return nil, false
	}
	d, err := c.o.Org.View(ctx, uid, id)
	if err != nil {
		c.fail(g, err)
		return nil, false
	}
	nav := &orgNav{Detail: d}
	if p := d.Org.ParentID; p != nil {
		if ok, err := c.o.Org.Manages(ctx, uid, *p); err == nil && ok {
			if po, err := c.o.Org.Get(ctx, *p); err == nil {
				nav.Parent = &po
			}
		}
	}
	return nav, true
}

// flashes are the messages an action leaves for the page it returns to
// (?done=…): fixed texts, so a link cannot make the console say anything.
var flashes = map[string]string{
	"approved": "已通过所选申请", "rejected": "已拒绝所选申请", "changed": "已保存成员的身份与角色",
	"removed": "已移出该成员", "task": "任务已创建，正在派发给成员", "cancelled": "任务已取消",
	"ack": "已确认收到该上报", "resolve": "该上报已办结", "escalate": "已上报上级组织", "announced": "公告已发送，正在送达成员",
	"seconded": "借调完成（未能借调的用户不在上级组织范围内或不是已通过的党员）", "form": "排查表已发布，正在通知填报对象", "closed": "排查表已关闭", "deed-approve": "已审核通过该事迹", "deed-reject": "已退回该事迹", "deed-recommend": "已向上级推荐该事迹", "deed-commend": "已表彰该事迹",
}

func flash(g *gin.Context) string { return flashes[g.Query("done")] }

// back ends an action: the error page for err, else back to the page at
// path, saying what was done.
func (c *Console) back(g *gin.Context, err error, path, done string) {
	if err != nil {
		c.fail(g, err)
		return
	}
	g.Redirect(http.StatusSeeOther, path+"?done="+done)
}

// childBoard is one child org's line on the dashboard's board.
type childBoard struct {
	Org  org.Org
	All  int64
	Done int64
}

// dashboard is GET /console/orgs/{id}: today's check-in board by badge
// and by child org, open and overdue tasks, reports waiting with their SLA
// countdown, and the open forms' progress.
func (c *Console) dashboard(g *gin.Context, id int64) {
	nav, ok := c.navOf(g, id)
	if !ok {
		return
	}
	ctx, uid := g.Request.Context(), userID(g)
	day := c.o.Checkin.Today(0)
	board, err := c.o.Checkin.Figures(ctx, c.o.Org, uid, id, day)
	if err != nil {
		c.fail(g, err)
		return
	}
	var badgeRows []bar
	for _, b := range org.Badges {
		l := board.ByBadge[b]
		badgeRows = append(badgeRows, bar{Label: b.Label(), Done: l.CheckedIn, Total: l.Members})
	}
	var childRows []bar
	for i, ch := range nav.Children {
		if i == maxChildBoards {
			break
		}
		v, err := c.o.Checkin.Figures(ctx, c.o.Org, uid, ch.ID, day)
		if err != nil {
			c.fail(g, err)
			return
		}
		childRows = append(childRows, bar{Label: ch.ShownName(uid), Done: v.All.CheckedIn, Total: v.All.Members})
	}
	tasks, err := c.o.Task.List(ctx, uid, id, task.StatusOpen, 0, 10)
	if err != nil {
		c.fail(g, err)
		return
	}
	overdue := 0
	for _, t := range tasks.Items {
		if t.OverdueAt != nil {
			overdue++
		}
	}
	reports, err := c.o.Report.List(ctx, uid, id, report.StatusOpen, "", 0, 10)
	if err != nil {
		c.fail(g, err)
		return
	}
	forms, err := c.formProgress(g, id)
	if err != nil {
		c.fail(g, err)
		return
	}
	c.render(g, http.StatusOK, "dashboard", page{Title: nav.Org.ShownName(uid) + " · 概览", Org: nav, Tab: "dashboard", Data: map[string]any{
		"Day": day, "Board": board, "BadgeChart": barChart("今日打卡（按身份）", badgeRows),
		"ChildChart": barChart("今日打卡（按下级组织）", childRows), "HasChildren": len(childRows) > 0,
		"MoreChildren": len(nav.Children) > maxChildBoards,
		"Tasks":        tasks.Items, "MoreTasks": tasks.Next != 0, "Overdue": overdue,
		"Reports": c.reportRows(reports.Items), "MoreReports": reports.Next != 0,
		"Forms": forms,
	}})
}

// absentPage is GET /console/orgs/{id}/absent: who of the subtree has not
// checked in today, paged (a query over the subtree's memberships, so not
// on the dashboard itself).
func (c *Console) absentPage(g *gin.Context, id int64) {
	nav, pq, ok := c.orgList(g, id)
	if !ok {
		return
	}
	day := c.o.Checkin.Today(0)
	board, absent, err := c.o.Checkin.Board(g.Request.Context(), c.o.Org, userID(g), nav.Org.ID, day, pq.Cursor, 50)
	if err != nil {
		c.fail(g, err)
		return
	}
	c.render(g, http.StatusOK, "absent", page{Title: "尚未打卡", Org: nav, Tab: "dashboard", Data: map[string]any{
		"Day": day, "Board": board, "Absent": pageRows(absent, absentOf),
	}})
}

// maxChildBoards bounds the child orgs drawn on the dashboard's chart; the
// tree picker lists them all.
const maxChildBoards = 30

type absentRow struct {
	Name, OrgName, Badge, Phone string
}

func absentOf(a checkin.Absent) absentRow {
	return absentRow{Name: a.Name, OrgName: a.OrgName, Badge: a.Badge.Label(), Phone: user.MaskPhone(a.Phone)}
}

// listPage is a page of rows for a template, with the cursor of the next.
type listPage[T any] struct {
	Items []T
	Next  string
}

func pageRows[S, T any](p paging.Page[S], f func(S) T) listPage[T] {
	out := listPage[T]{Items: make([]T, len(p.Items))}
	for i, s := range p.Items {
		out.Items[i] = f(s)
	}
	if p.Next != 0 {
		b, _ := p.Next.MarshalText()
		out.Next = string(b)
	}
	return out
}

// reportRow is a report waiting, with its SLA countdown.
type reportRow struct {
	report.Report
	Left    string
	Overdue bool
	// Media are its photos, signed for the viewer (filled by withPhotos).
	Media []media.View
}

// withPhotos signs each report's photos for the viewer, as the API does.
func (c *Console) withPhotos(g *gin.Context, rows []reportRow) error {
	return media.Fill(g.Request.Context(), c.o.Media, userID(g), media.OwnerReport, rows,
		func(r *reportRow) (int64, *[]media.View) { return r.ID, &r.Media })
}

func (c *Console) reportRows(rs []report.Report) []reportRow {
	now := c.o.Now()
	out := make([]reportRow, len(rs))
	for i, r := range rs {
		out[i] = reportRow{Report: r}
		if r.NextEscalateAt != nil && r.Status == report.StatusOpen {
			left := r.NextEscalateAt.Sub(now)
			if left <= 0 {
				out[i].Left, out[i].Overdue = "已超时，正在上报上级", true
			} else {
				out[i].Left = "还剩 " + countdown(left)
			}
		}
	}
	return out
}

// countdown writes a duration as a secretary reads it: 1 小时 5 分, 8 分 30 秒.
func countdown(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%d 小时 %d 分", h, m)
	case m > 0:
		return fmt.Sprintf("%d 分 %d 秒", m, s)
	}
	return fmt.Sprintf("%d 秒", s)
}

// formRow is an open form's progress.
type formRow struct {
	Form  form.Form
	Sum   form.Summary
	Chart svg
}

// formProgress sums up the org's newest open forms, as GET /forms/{id}/summary does.
func (c *Console) formProgress(g *gin.Context, orgID int64) ([]formRow, error) {
	ctx, uid := g.Request.Context(), userID(g)
	fs, err := c.o.Form.List(ctx, uid, orgID, 0, 5)
	if err != nil {
		return nil, err
	}
	var out []formRow
	for _, f := range fs.Items {
		if f.ClosedAt != nil {
			continue
		}
		s, err := c.o.Form.Summarize(ctx, uid, f.ID, "")
		if err != nil {
			return nil, err
		}
		out = append(out, formRow{Form: f, Sum: s, Chart: barChart(f.Title, []bar{{Label: "已填报", Done: int64(s.Submitted), Total: int64(s.Audience)}})})
	}
	return out, nil
}

// memberRow is a member as the members page shows them.
type memberRow struct {
	UserID              int64
	Name, Phone         string
	Badge               org.Badge
	Role, Status        string
	SecondedFrom        *int64
	CreatedAt           time.Time
	BadgeLabel, Seconds string
}

// members is GET /console/orgs/{id}/members: the applications waiting
// (approve or reject in bulk) and the members, by status and badge and
// searched by name, each with badge and role changes and removal.
func (c *Console) members(g *gin.Context, id int64) {
	nav, ok := c.navOf(g, id)
	if !ok {
		return
	}
	ctx, uid := g.Request.Context(), userID(g)
	pq, ok := c.pageQuery(g)
	if !ok {
		return
	}
	status := org.Status(g.DefaultQuery("status", string(org.StatusApproved)))
	b := org.Badge(g.Query("badge"))
	if !status.Valid() || (b != "" && !b.Valid()) {
		c.fail(g, apperr.Invalid("参数错误", map[string]string{"status": "无效的筛选条件"}))
		return
	}
	name := strings.TrimSpace(g.Query("q"))
	row := func(r org.MemberRow) memberRow {
		return memberRow{UserID: r.UserID, Name: contentsec.Mask(r.Name, r.ContentHidden, r.UserID, uid), Phone: user.MaskPhone(r.Phone),
			Badge: r.Badge, BadgeLabel: r.Badge.Label(), Role: string(r.Role), Status: string(r.Status), SecondedFrom: r.SecondedFrom, CreatedAt: r.CreatedAt}
	}
	pending, err := c.o.Org.Members(ctx, uid, nav.Org.ID, org.MemberFilter{Status: org.StatusPending, Limit: 100})
	if err != nil {
		c.fail(g, err)
		return
	}
	list, err := c.o.Org.Members(ctx, uid, nav.Org.ID, org.MemberFilter{Status: status, Badge: b, Name: name, After: pq.Cursor, Limit: 50})
	if err != nil {
		c.fail(g, err)
		return
	}
	c.render(g, http.StatusOK, "members", page{Title: "党员管理", Org: nav, Tab: "members", Flash: flash(g), Data: map[string]any{
		"Pending": pageRows(pending, row), "List": pageRows(list, row),
		"Status": string(status), "Badge": string(b), "Q": name, "Temporary": nav.Org.Kind == org.KindTemporary,
		"Added": g.Query("added"), "Skipped": g.Query("skipped"), "Statuses": []string{"approved", "pending", "rejected", "removed"},
	}})
}

// review is POST /console/orgs/{id}/members/review: approve or reject
// every application ticked (user_id), one service call each.
func (c *Console) review(g *gin.Context, id int64) {
	ctx, uid := g.Request.Context(), userID(g)
	ids, err := formIDs(g, "user_id")
	if err != nil {
		c.fail(g, err)
		return
	}
	action := g.PostForm("action")
	if action != "approve" && action != "reject" {
		c.fail(g, apperr.Invalid("参数错误", map[string]string{"action": "应为 approve 或 reject"}))
		return
	}
	// The first refusal stops the rest and is shown.
	for _, target := range ids {
		if action == "approve" {
			_, err = c.o.Org.Approve(ctx, uid, id, target)
		} else {
			_, err = c.o.Org.Reject(ctx, uid, id, target, strings.TrimSpace(g.PostForm("reason")))
		}
		if err != nil {
			break
		}
	}
	c.back(g, err, fmt.Sprintf("/console/orgs/%d/members", id), action+"d")
}

// second is POST /console/orgs/{id}/members/second: lend approved members
// of the parent's subtree (user ids, comma-separated) to a temporary org.
func (c *Console) second(g *gin.Context, id int64) {
	ids, err := userIDList(g.PostForm("user_ids"))
	if err == nil && len(ids) == 0 {
		err = apperr.Invalid("请填写要借调的用户编号", map[string]string{"user_ids": "请至少填写一个用户编号"})
	}
	if err != nil {
		c.fail(g, err)
		return
	}
	added, skipped, err := c.o.Org.Second(g.Request.Context(), userID(g), id, ids)
	if err != nil {
		c.fail(g, err)
		return
	}
	g.Redirect(http.StatusSeeOther, fmt.Sprintf("/console/orgs/%d/members?done=seconded&added=%d&skipped=%d", id, len(added), len(skipped)))
}

// userIDList reads user ids written with commas, Chinese commas, spaces or
// line breaks.
func userIDList(s string) ([]int64, error) {
	var out []int64
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '，' || r == ' ' || r == '\n' || r == '\r' }) {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil || n <= 0 || n > web.MaxID {
			return nil, apperr.Invalid("参数错误", map[string]string{"user_ids": "应为以逗号分隔的用户编号"})
		}
		out = append(out, n)
	}
	return out, nil
}

// formIDs reads the ids ticked in a form field (at least one, at most 200).
func formIDs(g *gin.Context, field string) ([]int64, error) {
	vals := g.PostFormArray(field)
	if len(vals) == 0 || len(vals) > 200 {
		return nil, apperr.Invalid("请至少选择一项（每次最多 200 项）", map[string]string{field: "请选择 1 到 200 项"})
	}
	out := make([]int64, 0, len(vals))
	for _, v := range vals {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n > web.MaxID {
			return nil, apperr.Invalid("参数错误", map[string]string{field: "应为正整数"})
		}
		out = append(out, n)
	}
	return out, nil
}

// byMember is byID for an action on a member of the org :id, the path's
// :user_id.
func (c *Console) byMember(h func(g *gin.Context, id, target int64)) gin.HandlerFunc {
	return c.byID(func(g *gin.Context, id int64) {
		if target, ok := c.pathID(g, "user_id"); ok {
			h(g, id, target)
		}
	})
}

// changeMember is POST /console/orgs/{id}/members/{user_id}/change: a new
// badge and role.
func (c *Console) changeMember(g *gin.Context, id, target int64) {
	b, r := org.Badge(g.PostForm("badge")), org.Role(g.PostForm("role"))
	_, err := c.o.Org.Change(g.Request.Context(), userID(g), id, target, &b, &r)
	c.back(g, err, fmt.Sprintf("/console/orgs/%d/members", id), "changed")
}

// removeMember is POST /console/orgs/{id}/members/{user_id}/remove.
func (c *Console) removeMember(g *gin.Context, id, target int64) {
	err := c.o.Org.Remove(g.Request.Context(), userID(g), id, target)
	c.back(g, err, fmt.Sprintf("/console/orgs/%d/members", id), "removed")
}

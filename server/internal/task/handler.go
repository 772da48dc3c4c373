package task

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/web"
)

// Handler serves the task endpoints.
type Handler struct {
	svc    *Service
	log    *slog.Logger
	userID func(*gin.Context) int64
}

// NewHandler returns the task HTTP handler.
func NewHandler(svc *Service, log *slog.Logger, userID func(*gin.Context) int64) *Handler {
	return &Handler{svc: svc, log: log, userID: userID}
}

// Register adds the routes to the authenticated /api/v1 group.
func (h *Handler) Register(authed *gin.RouterGroup) {
	authed.POST("/orgs/:id/tasks", h.create)
	authed.GET("/orgs/:id/tasks", h.list)
	authed.GET("/tasks/:id", h.get)
	authed.PATCH("/tasks/:id", h.reschedule)
	authed.POST("/tasks/:id/cancel", h.cancel)
	authed.POST("/tasks/:id/accept", h.accept)
	authed.POST("/tasks/:id/decline", h.decline)
	authed.POST("/tasks/:id/checkin", h.checkin)
	authed.POST("/tasks/:id/complete", h.complete)
	authed.GET("/me/tasks", h.mine)
}

// TaskJSON is a task in responses.
type TaskJSON struct {
	ID                  int64      `json:"id"`
	OrgID               int64      `json:"org_id"`
	Title               string     `json:"title"`
	Description         string     `json:"description"`
	Kind                Kind       `json:"kind"`
	KindLabel           string     `json:"kind_label"`
	Target              Target     `json:"target"`
	Location            *Location  `json:"location"`
	StartsAt            *time.Time `json:"starts_at"`
	DueAt               *time.Time `json:"due_at"`
	RemindBeforeMinutes int        `json:"remind_before_minutes"`
	Status              Status     `json:"status"`
	AssignedCount       int        `json:"assigned_count"`
	Overdue             bool       `json:"overdue"`
	CreatedBy           int64      `json:"created_by"`
	CreatedAt           time.Time  `json:"created_at"`
	CancelledAt         *time.Time `json:"cancelled_at"`
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// NewTaskJSON renders a task.
func NewTaskJSON(t Task) TaskJSON {
	target := Target{Badges: t.Badges(), UserIDs: []int64{}, IncludeSuborgs: t.IncludeSuborgs}
	if target.Badges == nil {
		target.Badges = []org.Badge{}
	}
	for _, s := range strings.Split(t.TargetUserIDs, ",") {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil {
			target.UserIDs = append(target.UserIDs, id)
		}
	}
	return TaskJSON{ID: t.ID, OrgID: t.OrgID, Title: t.Title, Description: t.Description, Kind: t.Kind, KindLabel: t.Kind.Label(),
		Target: target, Location: t.Location(), StartsAt: utc(t.StartsAt), DueAt: utc(t.DueAt), RemindBeforeMinutes: t.RemindBeforeMinutes,
		Status: t.Status, AssignedCount: t.AssignedCount, Overdue: t.OverdueAt != nil && t.Status == StatusOpen,
		CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt.UTC(), CancelledAt: utc(t.CancelledAt)}
}

// CheckinJSON is where and when a member checked in at a task's post.
type CheckinJSON struct {
	Lat       *float64   `json:"lat"`
	Lng       *float64   `json:"lng"`
	AccuracyM *float64   `json:"accuracy_m"`
	DistanceM *float64   `json:"distance_m"`
	At        *time.Time `json:"at"`
}

// AssignmentJSON is an assignment in responses.
type AssignmentJSON struct {
	ID          int64        `json:"id"`
	TaskID      int64        `json:"task_id"`
	UserID      int64        `json:"user_id"`
	OrgID       int64        `json:"org_id"`
	Status      AStatus      `json:"status"`
	StatusLabel string       `json:"status_label"`
	Overdue     bool         `json:"overdue"`
	Reason      string       `json:"reason"`
	Note        string       `json:"note"`
	Checkin     *CheckinJSON `json:"checkin"`
	AcceptedAt  *time.Time   `json:"accepted_at"`
	CompletedAt *time.Time   `json:"completed_at"`
	CreatedAt   time.Time    `json:"created_at"`
}

// NewAssignmentJSON renders an assignment.
func NewAssignmentJSON(a Assignment) AssignmentJSON {
	out := AssignmentJSON{ID: a.ID, TaskID: a.TaskID, UserID: a.UserID, OrgID: a.OrgID, Status: a.Status, StatusLabel: statusLabel(a.Status),
		Overdue: a.Overdue, Reason: a.Reason, Note: a.Note, AcceptedAt: utc(a.AcceptedAt), CompletedAt: utc(a.CompletedAt), CreatedAt: a.CreatedAt.UTC()}
	if a.CheckedInAt != nil {
		out.Checkin = &CheckinJSON{Lat: a.CheckinLat, Lng: a.CheckinLng, AccuracyM: a.CheckinAccuracyM, DistanceM: a.CheckinDistanceM, At: utc(a.CheckedInAt)}
	}
	return out
}

func (h *Handler) create(c *gin.Context) {
	orgID, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	var req struct {
		RequestID           string     `json:"request_id"`
		Title               string     `json:"title"`
		Description         string     `json:"description"`
		Kind                Kind       `json:"kind"`
		Target              *Target    `json:"target"`
		Location            *locInput  `json:"location"`
		StartsAt            *time.Time `json:"starts_at"`
		DueAt               *time.Time `json:"due_at"`
		RemindBeforeMinutes int        `json:"remind_before_minutes"`
	}
	if !web.Bind(c, h.log, &req) {
		return
	}
	in := Input{RequestID: req.RequestID, Title: req.Title, Description: req.Description, Kind: req.Kind,
		StartsAt: req.StartsAt, DueAt: req.DueAt, RemindBeforeMinutes: req.RemindBeforeMinutes}
	if req.Target != nil {
		in.Target = *req.Target
	}
	if req.Location != nil {
		loc, err := req.Location.location()
		if web.Failed(c, h.log, err) {
			return
		}
		in.Location = loc
	}
	t, _, err := h.svc.Create(c.Request.Context(), h.userID(c), orgID, in)
	if web.Failed(c, h.log, err) {
		return
	}
	c.JSON(http.StatusCreated, NewTaskJSON(t))
}

type locInput struct {
	Lat     *float64 `json:"lat"`
	Lng     *float64 `json:"lng"`
	RadiusM *int     `json:"radius_m"`
	Address string   `json:"address"`
}

func (l locInput) location() (*Location, error) {
	if l.Lat == nil || l.Lng == nil || l.RadiusM == nil {
		return nil, apperr.Invalid("参数错误", map[string]string{"location": "需要 lat、lng 和 radius_m"})
	}
	return &Location{Lat: *l.Lat, Lng: *l.Lng, RadiusM: *l.RadiusM, Address: l.Address}, nil
}

func (h *Handler) list(c *gin.Context) {
	orgID, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	limit, after, ok := web.Page(c, h.log)
	if !ok {
		return
	}
	status := Status(c.Query("status"))
	if status != "" && status != StatusDispatching && status != StatusOpen && status != StatusCancelled {
		web.Fail(c, h.log, apperr.Invalid("参数错误", map[string]string{"status": "应为 dispatching、open 或 cancelled"}))
		return
	}
	ts, err := h.svc.List(c.Request.Context(), h.userID(c), orgID, status, after, limit+1)
	if web.Failed(c, h.log, err) {
		return
	}
	next := int64(0)
	if len(ts) > limit {
		ts = ts[:limit]
		next = ts[limit-1].ID
	}
	items := make([]TaskJSON, len(ts))
	for i, t := range ts {
		items[i] = NewTaskJSON(t)
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_cursor": web.Cursor(next)})
}

func (h *Handler) get(c *gin.Context) {
	taskID, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	limit, after, ok := web.Page(c, h.log)
	if !ok {
		return
	}
	status := AStatus(c.Query("status"))
	if status != "" && statusLabel(status) == "" {
		web.Fail(c, h.log, apperr.Invalid("参数错误", map[string]string{"status": "未知的任务状态"}))
		return
	}
	d, err := h.svc.Detail(c.Request.Context(), h.userID(c), taskID, status, after, limit+1)
	if web.Failed(c, h.log, err) {
		return
	}
	out := gin.H{"task": NewTaskJSON(d.Task), "progress": d.Progress, "delivery": d.Delivery, "assignees": nil, "assignees_next_cursor": "", "my_assignment": nil}
	if d.Mine != nil {
		out["my_assignment"] = NewAssignmentJSON(*d.Mine)
	}
	if d.Manager {
		type assignee struct {
			AssignmentJSON
			Name       string    `json:"name"`
			Badge      org.Badge `json:"badge"`
			BadgeLabel string    `json:"badge_label"`
		}
		rows := d.Assignees
		next := int64(0)
		if len(rows) > limit {
			rows = rows[:limit]
			next = rows[limit-1].ID
		}
		list := make([]assignee, len(rows))
		for i, a := range rows {
			list[i] = assignee{AssignmentJSON: NewAssignmentJSON(a.Assignment), Name: a.Name, Badge: a.Badge, BadgeLabel: a.Badge.Label()}
		}
		out["assignees"], out["assignees_next_cursor"] = list, web.Cursor(next)
	}
	c.JSON(http.StatusOK, out)
}

func (h *Handler) reschedule(c *gin.Context) {
	taskID, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	var req struct {
		DueAt               *time.Time `json:"due_at"`
		RemindBeforeMinutes *int       `json:"remind_before_minutes"`
	}
	if !web.Bind(c, h.log, &req) {
		return
	}
	if req.DueAt == nil {
		web.Fail(c, h.log, apperr.Invalid("参数错误", map[string]string{"due_at": "需要新的截止时间"}))
		return
	}
	t, err := h.svc.Reschedule(c.Request.Context(), h.userID(c), taskID, req.DueAt, req.RemindBeforeMinutes)
	if web.Failed(c, h.log, err) {
		return
	}
	c.JSON(http.StatusOK, NewTaskJSON(t))
}

func (h *Handler) cancel(c *gin.Context) {
	taskID, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	t, err := h.svc.Cancel(c.Request.Context(), h.userID(c), taskID)
	if web.Failed(c, h.log, err) {
		return
	}
	c.JSON(http.StatusOK, NewTaskJSON(t))
}

func (h *Handler) answer(c *gin.Context, t Task, a Assignment, err error) {
	if web.Failed(c, h.log, err) {
		return
	}
	c.JSON(http.StatusOK, gin.H{"task": NewTaskJSON(t), "assignment": NewAssignmentJSON(a)})
}

func (h *Handler) accept(c *gin.Context) {
	taskID, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	t, a, err := h.svc.Accept(c.Request.Context(), h.userID(c), taskID)
	h.answer(c, t, a, err)
}

func (h *Handler) decline(c *gin.Context) {
	taskID, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if err := web.BindOptionalJSON(c, &req); web.Failed(c, h.log, err) {
		return
	}
	t, a, err := h.svc.Decline(c.Request.Context(), h.userID(c), taskID, req.Reason)
	h.answer(c, t, a, err)
}

func (h *Handler) checkin(c *gin.Context) {
	taskID, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	var req struct {
		Lat        *float64   `json:"lat"`
		Lng        *float64   `json:"lng"`
		AccuracyM  *float64   `json:"accuracy_m"`
		RequestID  string     `json:"request_id"`
		ClientTime *time.Time `json:"client_time"`
	}
	if !web.Bind(c, h.log, &req) {
		return
	}
	t, a, err := h.svc.Checkin(c.Request.Context(), h.userID(c), taskID, CheckinInput{Lat: req.Lat, Lng: req.Lng, AccuracyM: req.AccuracyM, RequestID: req.RequestID, ClientTime: req.ClientTime})
	h.answer(c, t, a, err)
}

func (h *Handler) complete(c *gin.Context) {
	taskID, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	var req struct {
		Note      string `json:"note"`
		RequestID string `json:"request_id"`
	}
	if !web.Bind(c, h.log, &req) {
		return
	}
	t, a, err := h.svc.Complete(c.Request.Context(), h.userID(c), taskID, req.Note, req.RequestID)
	h.answer(c, t, a, err)
}

func (h *Handler) mine(c *gin.Context) {
	limit, after, ok := web.Page(c, h.log)
	if !ok {
		return
	}
	status := AStatus(c.Query("status"))
	if status != "" && statusLabel(status) == "" {
		web.Fail(c, h.log, apperr.Invalid("参数错误", map[string]string{"status": "未知的任务状态"}))
		return
	}
	rows, err := h.svc.Mine(c.Request.Context(), h.userID(c), status, after, limit+1)
	if web.Failed(c, h.log, err) {
		return
	}
	next := int64(0)
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].Assignment.ID
	}
	type item struct {
		Task       TaskJSON       `json:"task"`
		Assignment AssignmentJSON `json:"assignment"`
	}
	items := make([]item, len(rows))
	for i, r := range rows {
		items[i] = item{Task: NewTaskJSON(r.Task), Assignment: NewAssignmentJSON(r.Assignment)}
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_cursor": web.Cursor(next)})
}

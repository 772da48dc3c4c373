package deed

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/web"
)

// Handler serves the deed endpoints.
type Handler struct {
	svc    *Service
	log    *slog.Logger
	userID func(*gin.Context) int64
}

// NewHandler returns the deed HTTP handler.
func NewHandler(svc *Service, log *slog.Logger, userID func(*gin.Context) int64) *Handler {
	return &Handler{svc: svc, log: log, userID: userID}
}

// Register adds the routes to the authenticated /api/v1 group.
func (h *Handler) Register(authed *gin.RouterGroup) {
	authed.POST("/deeds", h.create)
	authed.GET("/deeds/:id", h.get)
	for _, action := range []string{"approve", "reject", "recommend", "commend"} {
		authed.POST("/deeds/:id/"+action, h.act(action))
	}
	authed.GET("/orgs/:id/deeds", h.list)
}

// JSON is a deed in responses.
type JSON struct {
	ID           int64     `json:"id"`
	OrgID        int64     `json:"org_id"`
	UserID       int64     `json:"user_id"`
	NominatedBy  int64     `json:"nominated_by"`
	Title        string    `json:"title"`
	Content      string    `json:"content"`
	TaskIDs      []int64   `json:"task_ids"`
	ReportIDs    []int64   `json:"report_ids"`
	Status       string    `json:"status"`
	StatusLabel  string    `json:"status_label"`
	CurrentOrgID int64     `json:"current_org_id"`
	Reason       string    `json:"reason"`
	CreatedAt    time.Time `json:"created_at"`
}

func newJSON(d Deed) JSON {
	out := JSON{ID: d.ID, OrgID: d.OrgID, UserID: d.UserID, NominatedBy: d.NominatedBy, Title: d.Title, Content: d.Content,
		TaskIDs: []int64{}, ReportIDs: []int64{}, Status: d.Status, StatusLabel: statusLabels[d.Status],
		CurrentOrgID: d.CurrentOrgID, Reason: d.Reason, CreatedAt: d.CreatedAt.UTC()}
	for _, l := range strings.Split(d.Links, ",") {
		kind, id, ok := strings.Cut(l, ":")
		n, err := strconv.ParseInt(id, 10, 64)
		if !ok || err != nil {
			continue
		}
		if kind == "t" {
			out.TaskIDs = append(out.TaskIDs, n)
		} else {
			out.ReportIDs = append(out.ReportIDs, n)
		}
	}
	return out
}

func (h *Handler) create(c *gin.Context) {
	var req struct {
		Title     string  `json:"title"`
		Content   string  `json:"content"`
		UserID    int64   `json:"user_id"`
		TaskIDs   []int64 `json:"task_ids"`
		ReportIDs []int64 `json:"report_ids"`
	}
	if !web.Bind(c, h.log, &req) {
		return
	}
	d, err := h.svc.Create(c.Request.Context(), h.userID(c), Input{Title: req.Title, Content: req.Content, UserID: req.UserID, TaskIDs: req.TaskIDs, ReportIDs: req.ReportIDs})
	if web.Failed(c, h.log, err) {
		return
	}
	c.JSON(http.StatusCreated, newJSON(d))
}

func (h *Handler) get(c *gin.Context) {
	id, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	d, evs, err := h.svc.Get(c.Request.Context(), h.userID(c), id)
	if web.Failed(c, h.log, err) {
		return
	}
	type event struct {
		Kind      string    `json:"kind"`
		OrgID     int64     `json:"org_id"`
		ActorID   int64     `json:"actor_id"`
		Note      string    `json:"note"`
		CreatedAt time.Time `json:"created_at"`
	}
	timeline := make([]event, len(evs))
	for i, e := range evs {
		timeline[i] = event{Kind: e.Kind, OrgID: e.OrgID, ActorID: e.ActorID, Note: e.Note, CreatedAt: e.CreatedAt.UTC()}
	}
	c.JSON(http.StatusOK, gin.H{"deed": newJSON(d), "timeline": timeline})
}

func (h *Handler) act(action string) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := web.PathID(c, h.log, "id")
		if !ok {
			return
		}
		var req struct {
			Reason string `json:"reason"`
		}
		if web.Failed(c, h.log, web.BindOptionalJSON(c, &req)) {
			return
		}
		d, err := h.svc.Act(c.Request.Context(), h.userID(c), id, action, req.Reason)
		if web.Failed(c, h.log, err) {
			return
		}
		c.JSON(http.StatusOK, newJSON(d))
	}
}

func (h *Handler) list(c *gin.Context) {
	orgID, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	limit, before, ok := web.Page(c, h.log)
	if !ok {
		return
	}
	status := c.Query("status")
	if status != "" && statusLabels[status] == "" {
		web.Fail(c, h.log, apperr.Invalid("参数错误", map[string]string{"status": "应为 pending、approved、recommended、commended 或 rejected"}))
		return
	}
	ds, err := h.svc.List(c.Request.Context(), h.userID(c), orgID, status, before, limit+1)
	if web.Failed(c, h.log, err) {
		return
	}
	next := int64(0)
	if len(ds) > limit {
		ds = ds[:limit]
		next = ds[limit-1].ID
	}
	items := make([]JSON, len(ds))
	for i, d := range ds {
		items[i] = newJSON(d)
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_cursor": web.Cursor(next)})
}

package report

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/web"
)

// Handler serves the report endpoints.
type Handler struct {
	svc         *Service
	log         *slog.Logger
	userID      func(*gin.Context) int64
	createLimit gin.HandlerFunc
}

// NewHandler returns the report HTTP handler. createLimit guards filing
// reports (a per-member rate limit, so that nobody floods their
// secretaries).
func NewHandler(svc *Service, log *slog.Logger, userID func(*gin.Context) int64, createLimit gin.HandlerFunc) *Handler {
	return &Handler{svc: svc, log: log, userID: userID, createLimit: createLimit}
}

// Register adds the routes to the authenticated /api/v1 group.
func (h *Handler) Register(authed *gin.RouterGroup) {
	authed.POST("/reports", h.createLimit, h.create)
	authed.GET("/reports/:id", h.get)
	authed.POST("/reports/:id/ack", h.ack)
	authed.POST("/reports/:id/resolve", h.resolve)
	authed.POST("/reports/:id/escalate", h.escalate)
	authed.GET("/orgs/:id/reports", h.list)
	authed.GET("/me/reports", h.mine)
}

// JSON is a report in responses.
type JSON struct {
	ID              int64      `json:"id"`
	OrgID           int64      `json:"org_id"`
	ReporterID      int64      `json:"reporter_id"`
	Category        string     `json:"category"`
	CategoryLabel   string     `json:"category_label"`
	Urgency         string     `json:"urgency"`
	Content         string     `json:"content"`
	Lat             *float64   `json:"lat"`
	Lng             *float64   `json:"lng"`
	Address         string     `json:"address"`
	Status          string     `json:"status"`
	CurrentOrgID    int64      `json:"current_org_id"`
	EscalationLevel int        `json:"escalation_level"`
	NextEscalateAt  *time.Time `json:"next_escalate_at"`
	AckedBy         *int64     `json:"acked_by"`
	AckedAt         *time.Time `json:"acked_at"`
	ResolvedAt      *time.Time `json:"resolved_at"`
	ResolveNote     string     `json:"resolve_note"`
	CreatedAt       time.Time  `json:"created_at"`
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func newJSON(r Report) JSON {
	return JSON{ID: r.ID, OrgID: r.OrgID, ReporterID: r.ReporterID, Category: r.Category, CategoryLabel: Categories[r.Category],
		Urgency: r.Urgency, Content: r.Content, Lat: r.Lat, Lng: r.Lng, Address: r.Address, Status: r.Status,
		CurrentOrgID: r.CurrentOrgID, EscalationLevel: r.EscalationLevel, NextEscalateAt: utc(r.NextEscalateAt),
		AckedBy: r.AckedBy, AckedAt: utc(r.AckedAt), ResolvedAt: utc(r.ResolvedAt), ResolveNote: r.ResolveNote, CreatedAt: r.CreatedAt.UTC()}
}

func (h *Handler) create(c *gin.Context) {
	var req struct {
		OrgID     int64    `json:"org_id"`
		Category  string   `json:"category"`
		Urgency   string   `json:"urgency"`
		Content   string   `json:"content"`
		Lat       *float64 `json:"lat"`
		Lng       *float64 `json:"lng"`
		Address   string   `json:"address"`
		RequestID string   `json:"request_id"`
	}
	if !web.Bind(c, h.log, &req) {
		return
	}
	r, _, err := h.svc.Create(c.Request.Context(), h.userID(c), Input{OrgID: req.OrgID, Category: req.Category, Urgency: req.Urgency,
		Content: req.Content, Lat: req.Lat, Lng: req.Lng, Address: req.Address, RequestID: req.RequestID})
	if web.Failed(c, h.log, err) {
		return
	}
	c.JSON(http.StatusCreated, newJSON(r))
}

func (h *Handler) get(c *gin.Context) {
	id, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	r, evs, err := h.svc.Timeline(c.Request.Context(), h.userID(c), id)
	if web.Failed(c, h.log, err) {
		return
	}
	type event struct {
		Kind      string    `json:"kind"`
		OrgID     int64     `json:"org_id"`
		ActorID   int64     `json:"actor_id"`
		Level     int       `json:"level"`
		Note      string    `json:"note"`
		CreatedAt time.Time `json:"created_at"`
	}
	timeline := make([]event, len(evs))
	for i, e := range evs {
		timeline[i] = event{Kind: e.Kind, OrgID: e.OrgID, ActorID: e.ActorID, Level: e.Level, Note: e.Note, CreatedAt: e.CreatedAt.UTC()}
	}
	c.JSON(http.StatusOK, gin.H{"report": newJSON(r), "timeline": timeline})
}

func (h *Handler) ack(c *gin.Context) {
	id, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	r, err := h.svc.Ack(c.Request.Context(), h.userID(c), id)
	if web.Failed(c, h.log, err) {
		return
	}
	c.JSON(http.StatusOK, newJSON(r))
}

func (h *Handler) resolve(c *gin.Context) {
	h.withNote(c, h.svc.Resolve)
}

func (h *Handler) escalate(c *gin.Context) {
	h.withNote(c, h.svc.EscalateByHand)
}

func (h *Handler) withNote(c *gin.Context, fn func(ctx context.Context, userID, id int64, note string) (Report, error)) {
	id, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	var req struct {
		Note string `json:"note"`
	}
	if web.Failed(c, h.log, web.BindOptionalJSON(c, &req)) {
		return
	}
	r, err := fn(c.Request.Context(), h.userID(c), id, req.Note)
	if web.Failed(c, h.log, err) {
		return
	}
	c.JSON(http.StatusOK, newJSON(r))
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
	status, urgency := c.Query("status"), c.Query("urgency")
	if status != "" && status != StatusOpen && status != StatusAcknowledged && status != StatusResolved {
		web.Fail(c, h.log, apperr.Invalid("参数错误", map[string]string{"status": "应为 open、acknowledged 或 resolved"}))
		return
	}
	if urgency != "" && urgency != Urgent && urgency != Normal {
		web.Fail(c, h.log, apperr.Invalid("参数错误", map[string]string{"urgency": "应为 urgent 或 normal"}))
		return
	}
	rs, err := h.svc.List(c.Request.Context(), h.userID(c), orgID, status, urgency, before, limit+1)
	if web.Failed(c, h.log, err) {
		return
	}
	h.page(c, rs, limit)
}

func (h *Handler) mine(c *gin.Context) {
	limit, before, ok := web.Page(c, h.log)
	if !ok {
		return
	}
	rs, err := h.svc.Mine(c.Request.Context(), h.userID(c), before, limit+1)
	if web.Failed(c, h.log, err) {
		return
	}
	h.page(c, rs, limit)
}

func (h *Handler) page(c *gin.Context, rs []Report, limit int) {
	next := int64(0)
	if len(rs) > limit {
		rs = rs[:limit]
		next = rs[limit-1].ID
	}
	items := make([]JSON, len(rs))
	for i, r := range rs {
		items[i] = newJSON(r)
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_cursor": web.Cursor(next)})
}

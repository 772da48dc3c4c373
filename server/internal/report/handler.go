package report

import (
	"context"
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/web"
)

// Handler serves the report endpoints.
type Handler struct {
	svc         *Service
	api         web.Adapter[int64]
	createLimit gin.HandlerFunc
}

// NewHandler returns the report HTTP handler. createLimit guards filing
// reports (a per-member rate limit, so that nobody floods their
// secretaries).
func NewHandler(svc *Service, log *slog.Logger, userID func(*gin.Context) int64, createLimit gin.HandlerFunc) *Handler {
	return &Handler{svc: svc, api: web.NewAdapter(log, userID), createLimit: createLimit}
}

// Register adds the routes to the authenticated /api/v1 group.
func (h *Handler) Register(authed *gin.RouterGroup) {
	authed.POST("/reports", h.createLimit, web.Created(h.api, h.create))
	authed.GET("/reports/:id", web.OK(h.api, h.get))
	authed.POST("/reports/:id/ack", web.OK(h.api, h.ack))
	authed.POST("/reports/:id/resolve", web.OK(h.api, h.withNote(h.svc.Resolve)))
	authed.POST("/reports/:id/escalate", web.OK(h.api, h.withNote(h.svc.EscalateByHand)))
	authed.GET("/orgs/:id/reports", web.OK(h.api, h.list))
	authed.GET("/me/reports", web.OK(h.api, h.mine))
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

type createInput struct {
	OrgID     int64    `json:"org_id"`
	Category  string   `json:"category"`
	Urgency   string   `json:"urgency"`
	Content   string   `json:"content"`
	Lat       *float64 `json:"lat"`
	Lng       *float64 `json:"lng"`
	Address   string   `json:"address"`
	RequestID string   `json:"request_id"`
}

func (h *Handler) create(ctx context.Context, userID int64, in createInput) (JSON, error) {
	r, _, err := h.svc.Create(ctx, userID, Input{OrgID: in.OrgID, Category: in.Category, Urgency: in.Urgency,
		Content: in.Content, Lat: in.Lat, Lng: in.Lng, Address: in.Address, RequestID: in.RequestID})
	return newJSON(r), err
}

type eventJSON struct {
	Kind      string    `json:"kind"`
	OrgID     int64     `json:"org_id"`
	ActorID   int64     `json:"actor_id"`
	Level     int       `json:"level"`
	Note      string    `json:"note"`
	CreatedAt time.Time `json:"created_at"`
}

func (h *Handler) get(ctx context.Context, userID int64, in web.ID) (gin.H, error) {
	r, evs, err := h.svc.Timeline(ctx, userID, in.ID)
	if err != nil {
		return nil, err
	}
	timeline := make([]eventJSON, len(evs))
	for i, e := range evs {
		timeline[i] = eventJSON{Kind: e.Kind, OrgID: e.OrgID, ActorID: e.ActorID, Level: e.Level, Note: e.Note, CreatedAt: e.CreatedAt.UTC()}
	}
	return gin.H{"report": newJSON(r), "timeline": timeline}, nil
}

func (h *Handler) ack(ctx context.Context, userID int64, in web.ID) (JSON, error) {
	r, err := h.svc.Ack(ctx, userID, in.ID)
	return newJSON(r), err
}

type noteInput struct {
	web.OptionalBody
	ID   int64  `path:"id"`
	Note string `json:"note"`
}

func (h *Handler) withNote(fn func(ctx context.Context, userID, id int64, note string) (Report, error)) func(context.Context, int64, noteInput) (JSON, error) {
	return func(ctx context.Context, userID int64, in noteInput) (JSON, error) {
		r, err := fn(ctx, userID, in.ID, in.Note)
		return newJSON(r), err
	}
}

type listInput struct {
	OrgID   int64 `path:"id"`
	Page    web.PageQuery
	Status  string `query:"status"`
	Urgency string `query:"urgency"`
}

func (h *Handler) list(ctx context.Context, userID int64, in listInput) (paging.Page[JSON], error) {
	if in.Status != "" && in.Status != StatusOpen && in.Status != StatusAcknowledged && in.Status != StatusResolved {
		return paging.Page[JSON]{}, apperr.Invalid("参数错误", map[string]string{"status": "应为 open、acknowledged 或 resolved"})
	}
	if in.Urgency != "" && in.Urgency != Urgent && in.Urgency != Normal {
		return paging.Page[JSON]{}, apperr.Invalid("参数错误", map[string]string{"urgency": "应为 urgent 或 normal"})
	}
	p, err := h.svc.List(ctx, userID, in.OrgID, in.Status, in.Urgency, in.Page.Cursor, in.Page.Limit)
	return paging.Map(p, newJSON), err
}

type mineInput struct {
	Page web.PageQuery
}

func (h *Handler) mine(ctx context.Context, userID int64, in mineInput) (paging.Page[JSON], error) {
	p, err := h.svc.Mine(ctx, userID, in.Page.Cursor, in.Page.Limit)
	return paging.Map(p, newJSON), err
}

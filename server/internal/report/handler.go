package report

import (
	"context"
	"time"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/media"
	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/web"
)

// Handler serves the report endpoints.
type Handler struct {
	svc   *Service
	media *media.Service
}

// NewHandler returns the report HTTP handler; photos are shown through media.
func NewHandler(svc *Service, media *media.Service) *Handler {
	return &Handler{svc: svc, media: media}
}

// show puts the photos of each report in out, signed for viewer.
func (h *Handler) show(ctx context.Context, viewer int64, out []JSON, err error) ([]JSON, error) {
	if err != nil {
		return out, err
	}
	return out, media.Fill(ctx, h.media, viewer, media.OwnerReport, out, func(j *JSON) (int64, *[]media.View) { return j.ID, &j.Media })
}

// one is show for one report.
func (h *Handler) one(ctx context.Context, viewer int64, r Report, err error) (JSON, error) {
	out, err := h.show(ctx, viewer, []JSON{newJSON(r)}, err)
	return out[0], err
}

// page is show for a page of reports.
func (h *Handler) page(ctx context.Context, viewer int64, p paging.Page[Report], err error) (paging.Page[JSON], error) {
	out := paging.Map(p, newJSON)
	out.Items, err = h.show(ctx, viewer, out.Items, err)
	return out, err
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
	// Media are the report's photos, with signed URLs.
	Media []media.View `json:"media"`
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
		AckedBy: r.AckedBy, AckedAt: utc(r.AckedAt), ResolvedAt: utc(r.ResolvedAt), ResolveNote: r.ResolveNote, CreatedAt: r.CreatedAt.UTC(),
		Media: []media.View{}}
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
	MediaIDs  []int64  `json:"media_ids"`
}

func (h *Handler) Create(ctx context.Context, userID int64, in createInput) (JSON, error) {
	r, _, err := h.svc.Create(ctx, userID, Input{OrgID: in.OrgID, Category: in.Category, Urgency: in.Urgency,
		Content: in.Content, Lat: in.Lat, Lng: in.Lng, Address: in.Address, RequestID: in.RequestID, MediaIDs: in.MediaIDs})
	return h.one(ctx, userID, r, err)
}

type eventJSON struct {
	Kind      string    `json:"kind"`
	OrgID     int64     `json:"org_id"`
	ActorID   int64     `json:"actor_id"`
	Level     int       `json:"level"`
	Note      string    `json:"note"`
	CreatedAt time.Time `json:"created_at"`
}

func (h *Handler) Get(ctx context.Context, userID int64, in web.ID) (gin.H, error) {
	r, evs, err := h.svc.Timeline(ctx, userID, in.ID)
	if err != nil {
		return nil, err
	}
	timeline := make([]eventJSON, len(evs))
	for i, e := range evs {
		timeline[i] = eventJSON{Kind: e.Kind, OrgID: e.OrgID, ActorID: e.ActorID, Level: e.Level, Note: e.Note, CreatedAt: e.CreatedAt.UTC()}
	}
	j, err := h.one(ctx, userID, r, nil)
	return gin.H{"report": j, "timeline": timeline}, err
}

func (h *Handler) Ack(ctx context.Context, userID int64, in web.ID) (JSON, error) {
	r, err := h.svc.Ack(ctx, userID, in.ID)
	return h.one(ctx, userID, r, err)
}

type noteInput struct {
	web.OptionalBody
	ID   int64  `path:"id"`
	Note string `json:"note"`
}

// Resolve closes a report with the caller's note.
func (h *Handler) Resolve(ctx context.Context, userID int64, in noteInput) (JSON, error) {
	r, err := h.svc.Resolve(ctx, userID, in.ID, in.Note)
	return h.one(ctx, userID, r, err)
}

// Escalate sends a report one level up by hand, with the caller's note.
func (h *Handler) Escalate(ctx context.Context, userID int64, in noteInput) (JSON, error) {
	r, err := h.svc.EscalateByHand(ctx, userID, in.ID, in.Note)
	return h.one(ctx, userID, r, err)
}

type listInput struct {
	OrgID   int64 `path:"id"`
	Page    web.PageQuery
	Status  string `query:"status"`
	Urgency string `query:"urgency"`
}

func (h *Handler) List(ctx context.Context, userID int64, in listInput) (paging.Page[JSON], error) {
	if in.Status != "" && in.Status != StatusOpen && in.Status != StatusAcknowledged && in.Status != StatusResolved {
		return paging.Page[JSON]{}, apperr.Invalid("参数错误", map[string]string{"status": "应为 open、acknowledged 或 resolved"})
	}
	if in.Urgency != "" && in.Urgency != Urgent && in.Urgency != Normal {
		return paging.Page[JSON]{}, apperr.Invalid("参数错误", map[string]string{"urgency": "应为 urgent 或 normal"})
	}
	p, err := h.svc.List(ctx, userID, in.OrgID, in.Status, in.Urgency, in.Page.Cursor, in.Page.Limit)
	return h.page(ctx, userID, p, err)
}

type mineInput struct {
	Page web.PageQuery
}

func (h *Handler) Mine(ctx context.Context, userID int64, in mineInput) (paging.Page[JSON], error) {
	p, err := h.svc.Mine(ctx, userID, in.Page.Cursor, in.Page.Limit)
	return h.page(ctx, userID, p, err)
}

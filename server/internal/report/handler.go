package report

import (
	"context"
	"time"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/media"
	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/web"
)

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
	Risky           bool       `json:"risky"`
	CreatedAt       time.Time  `json:"created_at"`
	// Media are the report's photos, with signed URLs.
	Media []media.View `json:"media"`
}

func newJSON(r Report) JSON {
	return JSON{ID: r.ID, OrgID: r.OrgID, ReporterID: r.ReporterID, Category: r.Category, CategoryLabel: Categories[r.Category],
		Urgency: r.Urgency, Content: r.Content, Lat: r.Lat, Lng: r.Lng, Address: r.Address, Status: r.Status, Risky: r.ContentRisky,
		CurrentOrgID: r.CurrentOrgID, EscalationLevel: r.EscalationLevel, NextEscalateAt: web.UTC(r.NextEscalateAt),
		AckedBy: r.AckedBy, AckedAt: web.UTC(r.AckedAt), ResolvedAt: web.UTC(r.ResolvedAt), ResolveNote: r.ResolveNote, CreatedAt: r.CreatedAt.UTC(),
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

// show puts the photos of each report in out, signed for viewer.
func show(ctx context.Context, s *Service, viewer int64, out []JSON, err error) ([]JSON, error) {
	if err != nil {
		return out, err
	}
	return out, media.Fill(ctx, s.opts.Media, viewer, media.OwnerReport, out, func(j *JSON) (int64, *[]media.View) { return j.ID, &j.Media })
}

// one is show for one report.
func one(ctx context.Context, s *Service, viewer int64, r Report, err error) (JSON, error) {
	out, err := show(ctx, s, viewer, []JSON{newJSON(r)}, err)
	return out[0], err
}

// page is show for a page of reports.
func page(ctx context.Context, s *Service, viewer int64, p paging.Page[Report], err error) (paging.Page[JSON], error) {
	out := paging.Map(p, newJSON)
	out.Items, err = show(ctx, s, viewer, out.Items, err)
	return out, err
}

// Create is POST /reports: a member files a report to their org.
func Create(ctx context.Context, s *Service, userID int64, in createInput) (JSON, error) {
	r, _, err := s.Create(ctx, userID, Input{OrgID: in.OrgID, Category: in.Category, Urgency: in.Urgency,
		Content: in.Content, Lat: in.Lat, Lng: in.Lng, Address: in.Address, RequestID: in.RequestID, MediaIDs: in.MediaIDs})
	return one(ctx, s, userID, r, err)
}

// EventJSON is a step of a report's timeline in responses.
type EventJSON struct {
	Kind      string    `json:"kind"`
	OrgID     int64     `json:"org_id"`
	ActorID   int64     `json:"actor_id"`
	Level     int       `json:"level"`
	Note      string    `json:"note"`
	CreatedAt time.Time `json:"created_at"`
}

// DetailJSON is a report with its timeline, the answer of Get.
type DetailJSON struct {
	Report   JSON        `json:"report"`
	Timeline []EventJSON `json:"timeline"`
}

// Get is GET /reports/{id}: a report and its timeline.
func Get(ctx context.Context, s *Service, userID int64, in web.ID) (DetailJSON, error) {
	r, evs, err := s.Timeline(ctx, userID, in.ID)
	if err != nil {
		return DetailJSON{}, err
	}
	timeline := make([]EventJSON, len(evs))
	for i, e := range evs {
		timeline[i] = EventJSON{Kind: e.Kind, OrgID: e.OrgID, ActorID: e.ActorID, Level: e.Level, Note: e.Note, CreatedAt: e.CreatedAt.UTC()}
	}
	j, err := one(ctx, s, userID, r, nil)
	return DetailJSON{Report: j, Timeline: timeline}, err
}

// Ack is POST /reports/{id}/ack: a secretary acknowledges a report.
func Ack(ctx context.Context, s *Service, userID int64, in web.ID) (JSON, error) {
	r, err := s.Ack(ctx, userID, in.ID)
	return one(ctx, s, userID, r, err)
}

type noteInput struct {
	web.OptionalBody
	ID   int64  `path:"id"`
	Note string `json:"note"`
}

// Resolve is POST /reports/{id}/resolve: it closes a report with the caller's note.
func Resolve(ctx context.Context, s *Service, userID int64, in noteInput) (JSON, error) {
	r, err := s.Resolve(ctx, userID, in.ID, in.Note)
	return one(ctx, s, userID, r, err)
}

// Escalate is POST /reports/{id}/escalate: it sends a report one level up by hand, with the caller's note.
func Escalate(ctx context.Context, s *Service, userID int64, in noteInput) (JSON, error) {
	r, err := s.EscalateByHand(ctx, userID, in.ID, in.Note)
	return one(ctx, s, userID, r, err)
}

type listInput struct {
	OrgID   int64 `path:"id"`
	Page    web.PageQuery
	Status  string `query:"status"`
	Urgency string `query:"urgency"`
}

// List is GET /orgs/{id}/reports: the reports a secretary handles.
func List(ctx context.Context, s *Service, userID int64, in listInput) (paging.Page[JSON], error) {
	if in.Status != "" && in.Status != StatusOpen && in.Status != StatusAcknowledged && in.Status != StatusResolved {
		return paging.Page[JSON]{}, apperr.Invalid("参数错误", map[string]string{"status": "应为 open、acknowledged 或 resolved"})
	}
	if in.Urgency != "" && in.Urgency != Urgent && in.Urgency != Normal {
		return paging.Page[JSON]{}, apperr.Invalid("参数错误", map[string]string{"urgency": "应为 urgent 或 normal"})
	}
	p, err := s.List(ctx, userID, in.OrgID, in.Status, in.Urgency, in.Page.Cursor, in.Page.Limit)
	return page(ctx, s, userID, p, err)
}

type mineInput struct {
	Page web.PageQuery
}

// Mine is GET /me/reports: the caller's own reports.
func Mine(ctx context.Context, s *Service, userID int64, in mineInput) (paging.Page[JSON], error) {
	p, err := s.Mine(ctx, userID, in.Page.Cursor, in.Page.Limit)
	return page(ctx, s, userID, p, err)
}

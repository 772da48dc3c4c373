package stats

import (
	"context"

	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/web"
)

// Handler serves the statistics endpoints.
type Handler struct {
	svc *Service
}

// NewHandler returns the statistics HTTP handler.
func NewHandler(svc *Service) *Handler {
	return &Handler{svc: svc}
}

// JSON is the body of GET /orgs/{id}/stats.
type JSON struct {
	From     string                   `json:"from"`
	To       string                   `json:"to"`
	Days     int                      `json:"days"`
	Timezone string                   `json:"timezone"`
	Org      OrgStats                 `json:"org"`
	Children []OrgStats               `json:"children"`
	Members  paging.Page[MemberStats] `json:"members"`
}

type statsInput struct {
	OrgID int64 `path:"id"`
	Page  web.PageQuery
	From  string `query:"from"`
	To    string `query:"to"`
}

func (h *Handler) Stats(ctx context.Context, userID int64, in statsInput) (JSON, error) {
	p, err := h.svc.Period(in.From, in.To)
	if err != nil {
		return JSON{}, err
	}
	r, err := h.svc.Stats(ctx, userID, in.OrgID, p, in.Page.Cursor, in.Page.Limit)
	return JSON{From: p.From, To: p.To, Days: p.Days, Timezone: h.svc.opts.Location.String(),
		Org: r.Org, Children: r.Children, Members: r.Members}, err
}

// Export is GET /orgs/{id}/export.xlsx: the workbook of an org's figures
// over a period (web.Attach streams it).
func (h *Handler) Export(ctx context.Context, userID int64, in web.IDRange) (web.Attachment, error) {
	p, err := h.svc.Period(in.From, in.To)
	if err != nil {
		return nil, err
	}
	return h.svc.Export(ctx, userID, in.ID, p)
}

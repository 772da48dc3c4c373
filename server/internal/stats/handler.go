package stats

import (
	"context"
	"log/slog"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/web"
)

// Handler serves the statistics endpoints.
type Handler struct {
	svc *Service
	log *slog.Logger
	// userID reads the caller of the export, which streams its answer
	// itself.
	userID func(*gin.Context) int64
}

// NewHandler returns the statistics HTTP handler.
func NewHandler(svc *Service, log *slog.Logger, userID func(*gin.Context) int64) *Handler {
	return &Handler{svc: svc, log: log, userID: userID}
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

func (h *Handler) Export(c *gin.Context) {
	orgID, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	p, err := h.svc.Period(c.Query("from"), c.Query("to"))
	if web.Failed(c, h.log, err) {
		return
	}
	web.Download(c, h.log, "stats export", func(ctx context.Context) (web.Attachment, error) {
		return h.svc.Export(ctx, h.userID(c), orgID, p)
	}, "org_id", orgID, "from", p.From, "to", p.To)
}

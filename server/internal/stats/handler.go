package stats

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/web"
)

// ExportTimeout bounds the time an export may take to build and send; it
// replaces the server's write timeout for that response.
const ExportTimeout = 15 * time.Minute

// XLSXContentType is the media type of the export.
const XLSXContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

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
	// A big export takes longer than an ordinary response may.
	rc := http.NewResponseController(c.Writer)
	_ = rc.SetWriteDeadline(time.Now().Add(ExportTimeout))
	ctx := c.Request.Context()
	start := time.Now()
	wb, err := h.svc.Export(ctx, h.userID(c), orgID, p)
	if web.Failed(c, h.log, err) {
		return
	}
	defer func() {
		if err := wb.Close(); err != nil {
			h.log.WarnContext(ctx, "could not remove an export's temporary files", "err", err)
		}
	}()
	c.Header("Content-Type", XLSXContentType)
	c.Header("Content-Disposition", contentDisposition(wb.Filename))
	c.Header("Cache-Control", "no-store")
	c.Status(http.StatusOK)
	n, err := wb.WriteTo(c.Writer)
	if err != nil {
		// The status line is gone: all we can do is cut the response short.
		h.log.WarnContext(ctx, "export interrupted", "org_id", orgID, "bytes", n, "err", err)
		c.Abort()
		return
	}
	h.log.InfoContext(ctx, "export sent", "org_id", orgID, "from", p.From, "to", p.To, "bytes", n,
		"rows", wb.Rows, "duration_ms", time.Since(start).Milliseconds())
}

// contentDisposition names the attachment: an ASCII fallback and the real
// name in RFC 5987 encoding.
func contentDisposition(name string) string {
	return `attachment; filename="export.xlsx"; filename*=UTF-8''` + encodeRFC5987(name)
}

// encodeRFC5987 percent-encodes every byte outside RFC 5987's attr-char.
func encodeRFC5987(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte("!#$&+-.^_`|~", ch) >= 0 {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[ch>>4])
		b.WriteByte(hex[ch&15])
	}
	return b.String()
}

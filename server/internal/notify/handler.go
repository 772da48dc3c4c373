package notify

import (
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/web"
)

// Handler serves the inbox and the consent ledger.
type Handler struct {
	inbox     *Inbox
	consents  *Consents
	templates map[string]Template
	log       *slog.Logger
	userID    func(*gin.Context) int64
}

// NewHandler returns the notification HTTP handler.
func NewHandler(inbox *Inbox, consents *Consents, templates map[string]Template, log *slog.Logger, userID func(*gin.Context) int64) *Handler {
	return &Handler{inbox: inbox, consents: consents, templates: templates, log: log, userID: userID}
}

// Register adds the routes to the authenticated /api/v1 group.
func (h *Handler) Register(authed *gin.RouterGroup) {
	authed.GET("/me/notifications", h.list)
	authed.POST("/me/notifications/read-all", h.readAll)
	authed.POST("/me/notifications/:id/read", h.read)
	authed.GET("/me/subscriptions", h.subscriptions)
	authed.POST("/me/subscriptions", h.subscribe)
}

// JSON is a notification in the inbox.
type JSON struct {
	ID        int64      `json:"id"`
	Kind      string     `json:"kind"`
	Title     string     `json:"title"`
	Body      string     `json:"body"`
	RefType   string     `json:"ref_type"`
	RefID     int64      `json:"ref_id"`
	Delivery  string     `json:"delivery"`
	Read      bool       `json:"read"`
	ReadAt    *time.Time `json:"read_at"`
	CreatedAt time.Time  `json:"created_at"`
}

func newJSON(n Notification) JSON {
	var readAt *time.Time
	if n.ReadAt != nil {
		t := n.ReadAt.UTC()
		readAt = &t
	}
	return JSON{ID: n.ID, Kind: n.Kind, Title: n.Title, Body: n.Body, RefType: n.RefType, RefID: n.RefID,
		Delivery: n.Delivery, Read: n.ReadAt != nil, ReadAt: readAt, CreatedAt: n.CreatedAt.UTC()}
}

func (h *Handler) list(c *gin.Context) {
	limit, before, ok := web.Page(c, h.log)
	if !ok {
		return
	}
	unread := false
	switch c.Query("unread") {
	case "", "false", "0":
	case "true", "1":
		unread = true
	default:
		web.Fail(c, h.log, apperr.Invalid("参数错误", map[string]string{"unread": "应为 true 或 false"}))
		return
	}
	ns, count, err := h.inbox.List(c.Request.Context(), h.userID(c), unread, before, limit+1)
	if web.Failed(c, h.log, err) {
		return
	}
	next := int64(0)
	if len(ns) > limit {
		ns = ns[:limit]
		next = ns[limit-1].ID
	}
	items := make([]JSON, len(ns))
	for i, n := range ns {
		items[i] = newJSON(n)
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_cursor": web.Cursor(next), "unread_count": count})
}

func (h *Handler) read(c *gin.Context) {
	id, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	n, err := h.inbox.Read(c.Request.Context(), h.userID(c), id)
	if web.Failed(c, h.log, err) {
		return
	}
	c.JSON(http.StatusOK, newJSON(n))
}

func (h *Handler) readAll(c *gin.Context) {
	n, err := h.inbox.ReadAll(c.Request.Context(), h.userID(c))
	if web.Failed(c, h.log, err) {
		return
	}
	c.JSON(http.StatusOK, gin.H{"updated": n})
}

type subscriptionJSON struct {
	Kind       string `json:"kind"`
	TemplateID string `json:"template_id"`
	Count      int    `json:"count"`
}

func (h *Handler) answerSubscriptions(c *gin.Context) {
	counts, err := h.consents.Counts(c.Request.Context(), h.userID(c))
	if web.Failed(c, h.log, err) {
		return
	}
	items := []subscriptionJSON{}
	for _, kind := range Kinds() {
		t := h.templates[kind]
		if t.ID == "" {
			continue
		}
		items = append(items, subscriptionJSON{Kind: kind, TemplateID: t.ID, Count: counts[t.ID]})
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}

func (h *Handler) subscriptions(c *gin.Context) { h.answerSubscriptions(c) }

func (h *Handler) subscribe(c *gin.Context) {
	var req struct {
		Accepted []string `json:"accepted"`
	}
	if !web.Bind(c, h.log, &req) {
		return
	}
	known := make([]string, 0, len(h.templates))
	for _, t := range h.templates {
		if t.ID != "" {
			known = append(known, t.ID)
		}
	}
	if len(req.Accepted) == 0 || len(req.Accepted) > 20 {
		web.Fail(c, h.log, apperr.Invalid("参数错误", map[string]string{"accepted": "应为 1 到 20 个模板编号"}))
		return
	}
	for _, id := range req.Accepted {
		if !slices.Contains(known, id) {
			web.Fail(c, h.log, apperr.Invalid("参数错误", map[string]string{"accepted": "未知的模板编号：" + id}))
			return
		}
	}
	if web.Failed(c, h.log, h.consents.Add(c.Request.Context(), h.userID(c), req.Accepted)) {
		return
	}
	h.answerSubscriptions(c)
}

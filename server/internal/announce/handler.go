package announce

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/web"
)

// Handler serves the announcement endpoints.
type Handler struct {
	svc    *Service
	log    *slog.Logger
	userID func(*gin.Context) int64
}

// NewHandler returns the announcement HTTP handler.
func NewHandler(svc *Service, log *slog.Logger, userID func(*gin.Context) int64) *Handler {
	return &Handler{svc: svc, log: log, userID: userID}
}

// Register adds the routes to the authenticated /api/v1 group.
func (h *Handler) Register(authed *gin.RouterGroup) {
	authed.POST("/orgs/:id/announcements", h.create)
	authed.GET("/orgs/:id/announcements", h.list)
	authed.GET("/announcements/:id", h.get)
	authed.GET("/announcements/:id/receipts", h.receipts)
}

// JSON is an announcement in responses.
type JSON struct {
	ID             int64     `json:"id"`
	OrgID          int64     `json:"org_id"`
	Title          string    `json:"title"`
	Body           string    `json:"body"`
	IncludeSuborgs bool      `json:"include_suborgs"`
	Status         string    `json:"status"`
	Recipients     int       `json:"recipients"`
	CreatedBy      int64     `json:"created_by"`
	CreatedAt      time.Time `json:"created_at"`
}

func newJSON(a Announcement) JSON {
	return JSON{ID: a.ID, OrgID: a.OrgID, Title: a.Title, Body: a.Body, IncludeSuborgs: a.IncludeSuborgs,
		Status: a.Status, Recipients: a.Recipients, CreatedBy: a.CreatedBy, CreatedAt: a.CreatedAt.UTC()}
}

func (h *Handler) create(c *gin.Context) {
	orgID, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	var req struct {
		Title          string `json:"title"`
		Body           string `json:"body"`
		IncludeSuborgs bool   `json:"include_suborgs"`
	}
	if !web.Bind(c, h.log, &req) {
		return
	}
	a, err := h.svc.Create(c.Request.Context(), h.userID(c), orgID, req.Title, req.Body, req.IncludeSuborgs)
	if web.Failed(c, h.log, err) {
		return
	}
	c.JSON(http.StatusCreated, newJSON(a))
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
	as, err := h.svc.List(c.Request.Context(), h.userID(c), orgID, before, limit+1)
	if web.Failed(c, h.log, err) {
		return
	}
	next := int64(0)
	if len(as) > limit {
		as = as[:limit]
		next = as[limit-1].ID
	}
	items := make([]JSON, len(as))
	for i, a := range as {
		items[i] = newJSON(a)
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_cursor": web.Cursor(next)})
}

func (h *Handler) get(c *gin.Context) {
	id, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	a, _, err := h.svc.Read(c.Request.Context(), h.userID(c), id)
	if web.Failed(c, h.log, err) {
		return
	}
	c.JSON(http.StatusOK, newJSON(a))
}

func (h *Handler) receipts(c *gin.Context) {
	id, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	limit, after, ok := web.Page(c, h.log)
	if !ok {
		return
	}
	a, st, unread, err := h.svc.Receipts(c.Request.Context(), h.userID(c), id, after, limit+1)
	if web.Failed(c, h.log, err) {
		return
	}
	next := int64(0)
	if len(unread) > limit {
		unread = unread[:limit]
		next = unread[limit-1].NotificationID
	}
	type unreadJSON struct {
		UserID   int64  `json:"user_id"`
		Name     string `json:"name"`
		Delivery string `json:"delivery"`
	}
	items := make([]unreadJSON, len(unread))
	for i, u := range unread {
		items[i] = unreadJSON{UserID: u.UserID, Name: u.Name, Delivery: u.Delivery}
	}
	c.JSON(http.StatusOK, gin.H{
		"announcement": newJSON(a), "total": st.Total, "read": st.Read, "unread": st.Total - st.Read,
		"delivery": st, "unread_members": items, "next_cursor": web.Cursor(next),
	})
}

package announce

import (
	"context"
	"time"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/web"
)

// Handler serves the announcement endpoints.
type Handler struct {
	svc *Service
}

// NewHandler returns the announcement HTTP handler.
func NewHandler(svc *Service) *Handler {
	return &Handler{svc: svc}
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

type createInput struct {
	OrgID          int64  `path:"id"`
	Title          string `json:"title"`
	Body           string `json:"body"`
	IncludeSuborgs bool   `json:"include_suborgs"`
}

func (h *Handler) Create(ctx context.Context, userID int64, in createInput) (JSON, error) {
	a, err := h.svc.Create(ctx, userID, in.OrgID, in.Title, in.Body, in.IncludeSuborgs)
	return newJSON(a), err
}

type pageInput struct {
	ID   int64 `path:"id"`
	Page web.PageQuery
}

func (h *Handler) List(ctx context.Context, userID int64, in pageInput) (paging.Page[JSON], error) {
	p, err := h.svc.List(ctx, userID, in.ID, in.Page.Cursor, in.Page.Limit)
	return paging.Map(p, newJSON), err
}

func (h *Handler) Get(ctx context.Context, userID int64, in web.ID) (JSON, error) {
	a, _, err := h.svc.Read(ctx, userID, in.ID)
	return newJSON(a), err
}

type unreadJSON struct {
	UserID   int64  `json:"user_id"`
	Name     string `json:"name"`
	Delivery string `json:"delivery"`
}

func (h *Handler) Receipts(ctx context.Context, userID int64, in pageInput) (gin.H, error) {
	a, st, unread, err := h.svc.Receipts(ctx, userID, in.ID, in.Page.Cursor, in.Page.Limit)
	if err != nil {
		return nil, err
	}
	p := paging.Map(unread, func(u Unread) unreadJSON { return unreadJSON{UserID: u.UserID, Name: u.Name, Delivery: u.Delivery} })
	return gin.H{
		"announcement": newJSON(a), "total": st.Total, "read": st.Read, "unread": st.Total - st.Read,
		"delivery": st, "unread_members": p.Items, "next_cursor": p.Next,
	}, nil
}

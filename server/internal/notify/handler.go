package notify

import (
	"context"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/web"
)

// Handler serves the inbox and the consent ledger.
type Handler struct {
	inbox     *Inbox
	consents  *Consents
	templates map[string]Template
}

// NewHandler returns the notification HTTP handler.
func NewHandler(inbox *Inbox, consents *Consents, templates map[string]Template) *Handler {
	return &Handler{inbox: inbox, consents: consents, templates: templates}
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
	return JSON{ID: n.ID, Kind: n.Kind, Title: n.Title, Body: n.Body, RefType: n.RefType, RefID: n.RefID,
		Delivery: n.Delivery, Read: n.ReadAt != nil, ReadAt: web.UTC(n.ReadAt), CreatedAt: n.CreatedAt.UTC()}
}

type listInput struct {
	Page   web.PageQuery
	Unread string `query:"unread"`
}

// inboxJSON is a page of the inbox with the count of unread notifications.
type inboxJSON struct {
	paging.Page[JSON]
	UnreadCount int64 `json:"unread_count"`
}

func (h *Handler) List(ctx context.Context, userID int64, in listInput) (inboxJSON, error) {
	unread := false
	switch in.Unread {
	case "", "false", "0":
	case "true", "1":
		unread = true
	default:
		return inboxJSON{}, apperr.Invalid("参数错误", map[string]string{"unread": "应为 true 或 false"})
	}
	p, count, err := h.inbox.List(ctx, userID, unread, in.Page.Cursor, in.Page.Limit)
	return inboxJSON{Page: paging.Map(p, newJSON), UnreadCount: count}, err
}

func (h *Handler) Read(ctx context.Context, userID int64, in web.ID) (JSON, error) {
	n, err := h.inbox.Read(ctx, userID, in.ID)
	return newJSON(n), err
}

func (h *Handler) ReadAll(ctx context.Context, userID int64, _ struct{}) (gin.H, error) {
	n, err := h.inbox.ReadAll(ctx, userID)
	return gin.H{"updated": n}, err
}

type subscriptionJSON struct {
	Kind       string `json:"kind"`
	TemplateID string `json:"template_id"`
	Count      int    `json:"count"`
}

func (h *Handler) Subscriptions(ctx context.Context, userID int64, _ struct{}) (gin.H, error) {
	counts, err := h.consents.Counts(ctx, userID)
	if err != nil {
		return nil, err
	}
	items := []subscriptionJSON{}
	for _, kind := range Kinds() {
		t := h.templates[kind]
		if t.ID == "" {
			continue
		}
		items = append(items, subscriptionJSON{Kind: kind, TemplateID: t.ID, Count: counts[t.ID]})
	}
	return gin.H{"items": items}, nil
}

type subscribeInput struct {
	Accepted []string `json:"accepted"`
}

func (h *Handler) Subscribe(ctx context.Context, userID int64, in subscribeInput) (gin.H, error) {
	known := make([]string, 0, len(h.templates))
	for _, t := range h.templates {
		if t.ID != "" {
			known = append(known, t.ID)
		}
	}
	if len(in.Accepted) == 0 || len(in.Accepted) > 20 {
		return nil, apperr.Invalid("参数错误", map[string]string{"accepted": "应为 1 到 20 个模板编号"})
	}
	for _, id := range in.Accepted {
		if !slices.Contains(known, id) {
			return nil, apperr.Invalid("参数错误", map[string]string{"accepted": "未知的模板编号：" + id})
		}
	}
	if err := h.consents.Add(ctx, userID, in.Accepted); err != nil {
		return nil, err
	}
	return h.Subscriptions(ctx, userID, struct{}{})
}

package announce

import (
	"context"
	"time"

	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/web"
)

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

// Create is POST /orgs/{id}/announcements.
func Create(ctx context.Context, s *Service, userID int64, in createInput) (JSON, error) {
	a, err := s.Create(ctx, userID, in.OrgID, in.Title, in.Body, in.IncludeSuborgs)
	return newJSON(a), err
}

// List is GET /orgs/{id}/announcements.
func List(ctx context.Context, s *Service, userID int64, in web.IDPage) (paging.Page[JSON], error) {
	p, err := s.List(ctx, userID, in.ID, in.Page.Cursor, in.Page.Limit)
	return paging.Map(p, newJSON), err
}

// Get is GET /announcements/{id}.
func Get(ctx context.Context, s *Service, userID int64, in web.ID) (JSON, error) {
	a, _, err := s.Read(ctx, userID, in.ID)
	return newJSON(a), err
}

type unreadJSON struct {
	UserID   int64  `json:"user_id"`
	Name     string `json:"name"`
	Delivery string `json:"delivery"`
}

// receiptsJSON is who read an announcement: the counts, how its pushes
// went, and a page of the members who have not read it.
type receiptsJSON struct {
	Announcement  JSON          `json:"announcement"`
	Total         int64         `json:"total"`
	Read          int64         `json:"read"`
	Unread        int64         `json:"unread"`
	Delivery      notify.Stats  `json:"delivery"`
	UnreadMembers []unreadJSON  `json:"unread_members"`
	NextCursor    paging.Cursor `json:"next_cursor"`
}

// Receipts is GET /announcements/{id}/receipts.
func Receipts(ctx context.Context, s *Service, userID int64, in web.IDPage) (receiptsJSON, error) {
	a, st, unread, err := s.Receipts(ctx, userID, in.ID, in.Page.Cursor, in.Page.Limit)
	if err != nil {
		return receiptsJSON{}, err
	}
	p := paging.Map(unread, func(u Unread) unreadJSON { return unreadJSON{UserID: u.UserID, Name: u.Name, Delivery: u.Delivery} })
	return receiptsJSON{Announcement: newJSON(a), Total: st.Total, Read: st.Read, Unread: st.Total - st.Read,
		Delivery: st, UnreadMembers: p.Items, NextCursor: p.Next}, nil
}

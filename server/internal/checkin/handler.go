package checkin

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/redisdb"
	"xianfeng/server/internal/user"
	"xianfeng/server/internal/web"
)

// Handler serves the check-in endpoints.
type Handler struct {
	svc  *Service
	orgs Orgs
}

// NewHandler returns the check-in HTTP handler.
func NewHandler(svc *Service, orgs Orgs) *Handler {
	return &Handler{svc: svc, orgs: orgs}
}

// JSON is a check-in in responses.
type JSON struct {
	ID         int64      `json:"id"`
	OrgID      int64      `json:"org_id"`
	Day        string     `json:"day"`
	Badge      org.Badge  `json:"badge"`
	Lat        *float64   `json:"lat"`
	Lng        *float64   `json:"lng"`
	AccuracyM  *float64   `json:"accuracy_m"`
	RequestID  string     `json:"request_id"`
	ClientTime *time.Time `json:"client_time"`
	ServerTime time.Time  `json:"server_time"`
}

func newJSON(c Checkin) JSON {
	return JSON{ID: c.ID, OrgID: c.OrgID, Day: c.Day, Badge: c.Badge, Lat: c.Lat, Lng: c.Lng, AccuracyM: c.AccuracyM,
		RequestID: c.RequestID, ClientTime: web.UTC(c.ClientTime), ServerTime: c.CreatedAt.UTC()}
}

// Fix is where and when the phone checked in, as both check-in endpoints
// (POST /checkins, POST /tasks/{id}/checkin) receive it in their body.
type Fix struct {
	Lat       *float64 `json:"lat"`
	Lng       *float64 `json:"lng"`
	AccuracyM *float64 `json:"accuracy_m"`
	RequestID string   `json:"request_id"`
	// ClientTime is when the phone checked in, for a check-in sent late
	// from an offline queue (within the offline window).
	ClientTime *time.Time `json:"client_time"`
}

type checkinInput struct {
	OrgID int64 `json:"org_id"`
	Fix
}

// checkin answers 201 for a new check-in and 200 for a retry of one.
func (h *Handler) Checkin(ctx context.Context, userID int64, in checkinInput) (web.Status[JSON], error) {
	ck, created, err := h.svc.Checkin(ctx, userID, Input{OrgID: in.OrgID, Lat: in.Lat, Lng: in.Lng,
		AccuracyM: in.AccuracyM, RequestID: in.RequestID, ClientTime: in.ClientTime})
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return web.Status[JSON]{Code: status, Body: newJSON(ck)}, err
}

// Reads are the Redis keys a check-in reads first: the session lookup of
// POST /checkins reads them with the session (auth's ReadAhead).
func (h *Handler) Reads() []redisdb.Read { return h.svc.Reads() }

type mineInput struct {
	From string  `query:"from"`
	To   *string `query:"to"`
}

// mine lists the check-ins of the days from (30 days ago when absent or
// empty) to (today when absent; an empty to= is not a day).
func (h *Handler) Mine(ctx context.Context, userID int64, in mineInput) (paging.Page[JSON], error) {
	from, to := h.svc.Today(-30), h.svc.Today(0)
	var ok bool
	if in.From != "" {
		if from, ok = ParseDay(in.From); !ok {
			return paging.Page[JSON]{}, apperr.Invalid("参数错误", map[string]string{"from": "日期格式应为 YYYY-MM-DD"})
		}
	}
	if in.To != nil {
		if to, ok = ParseDay(*in.To); !ok {
			return paging.Page[JSON]{}, apperr.Invalid("参数错误", map[string]string{"to": "日期格式应为 YYYY-MM-DD"})
		}
	}
	rows, err := h.svc.Mine(ctx, userID, from, to, 400)
	return paging.Map(paging.Page[Checkin]{Items: rows}, newJSON), err
}

type boardInput struct {
	OrgID int64 `path:"id"`
	Page  web.PageQuery
	Date  string `query:"date"`
}

type absentJSON struct {
	UserID      int64     `json:"user_id"`
	OrgID       int64     `json:"org_id"`
	OrgName     string    `json:"org_name"`
	Name        string    `json:"name"`
	Badge       org.Badge `json:"badge"`
	BadgeLabel  string    `json:"badge_label"`
	PhoneMasked string    `json:"phone_masked"`
}

func newAbsentJSON(a Absent) absentJSON {
	return absentJSON{UserID: a.UserID, OrgID: a.OrgID, OrgName: a.OrgName, Name: a.Name, Badge: a.Badge,
		BadgeLabel: a.Badge.Label(), PhoneMasked: user.MaskPhone(a.Phone)}
}

func (h *Handler) Board(ctx context.Context, userID int64, in boardInput) (gin.H, error) {
	day := h.svc.Today(0)
	if in.Date != "" {
		var ok bool
		if day, ok = ParseDay(in.Date); !ok {
			return nil, apperr.Invalid("参数错误", map[string]string{"date": "日期格式应为 YYYY-MM-DD"})
		}
	}
	v, absent, err := h.svc.Board(ctx, h.orgs, userID, in.OrgID, day, in.Page.Cursor, in.Page.Limit)
	if err != nil {
		return nil, err
	}
	p := paging.Map(absent, newAbsentJSON)
	return gin.H{
		"org_id": in.OrgID, "date": v.Day, "source": v.Source,
		"members": v.All.Members, "checked_in": v.All.CheckedIn, "not_yet": v.All.NotYet,
		"by_badge": v.ByBadge, "not_checked_in": p.Items, "next_cursor": p.Next,
	}, nil
}

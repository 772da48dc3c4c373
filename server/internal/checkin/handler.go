package checkin

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/user"
	"xianfeng/server/internal/web"
)

// Handler serves the check-in endpoints.
type Handler struct {
	svc    *Service
	orgs   Orgs
	log    *slog.Logger
	userID func(*gin.Context) int64
}

// NewHandler returns the check-in HTTP handler.
func NewHandler(svc *Service, orgs Orgs, log *slog.Logger, userID func(*gin.Context) int64) *Handler {
	return &Handler{svc: svc, orgs: orgs, log: log, userID: userID}
}

// Register adds the routes to the authenticated /api/v1 group.
func (h *Handler) Register(authed *gin.RouterGroup) {
	authed.POST("/checkins", h.checkin)
	authed.GET("/me/checkins", h.mine)
	authed.GET("/orgs/:id/checkins", h.board)
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
	var ct *time.Time
	if c.ClientTime != nil {
		u := c.ClientTime.UTC()
		ct = &u
	}
	return JSON{ID: c.ID, OrgID: c.OrgID, Day: c.Day, Badge: c.Badge, Lat: c.Lat, Lng: c.Lng, AccuracyM: c.AccuracyM,
		RequestID: c.RequestID, ClientTime: ct, ServerTime: c.CreatedAt.UTC()}
}

func (h *Handler) checkin(c *gin.Context) {
	var req struct {
		OrgID      int64      `json:"org_id"`
		Lat        *float64   `json:"lat"`
		Lng        *float64   `json:"lng"`
		AccuracyM  *float64   `json:"accuracy_m"`
		RequestID  string     `json:"request_id"`
		ClientTime *time.Time `json:"client_time"`
	}
	if !web.Bind(c, h.log, &req) {
		return
	}
	ck, created, err := h.svc.Checkin(c.Request.Context(), h.userID(c), Input{OrgID: req.OrgID, Lat: req.Lat, Lng: req.Lng,
		AccuracyM: req.AccuracyM, RequestID: req.RequestID, ClientTime: req.ClientTime})
	if web.Failed(c, h.log, err) {
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.JSON(status, newJSON(ck))
}

func (h *Handler) mine(c *gin.Context) {
	from, to := c.DefaultQuery("from", ""), c.DefaultQuery("to", h.svc.Today(0))
	var ok bool
	if from == "" {
		from = h.svc.Today(-30)
	} else if from, ok = ParseDay(from); !ok {
		web.Fail(c, h.log, apperr.Invalid("参数错误", map[string]string{"from": "日期格式应为 YYYY-MM-DD"}))
		return
	}
	if to, ok = ParseDay(to); !ok {
		web.Fail(c, h.log, apperr.Invalid("参数错误", map[string]string{"to": "日期格式应为 YYYY-MM-DD"}))
		return
	}
	rows, err := h.svc.Mine(c.Request.Context(), h.userID(c), from, to, 400)
	if web.Failed(c, h.log, err) {
		return
	}
	items := make([]JSON, len(rows))
	for i, r := range rows {
		items[i] = newJSON(r)
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_cursor": ""})
}

func (h *Handler) board(c *gin.Context) {
	orgID, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	limit, after, ok := web.Page(c, h.log)
	if !ok {
		return
	}
	day := h.svc.Today(0)
	if s := c.Query("date"); s != "" {
		if day, ok = ParseDay(s); !ok {
			web.Fail(c, h.log, apperr.Invalid("参数错误", map[string]string{"date": "日期格式应为 YYYY-MM-DD"}))
			return
		}
	}
	v, absent, err := h.svc.Board(c.Request.Context(), h.orgs, h.userID(c), orgID, day, after, limit+1)
	if web.Failed(c, h.log, err) {
		return
	}
	next := int64(0)
	if len(absent) > limit {
		absent = absent[:limit]
		next = absent[limit-1].MembershipID
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
	items := make([]absentJSON, len(absent))
	for i, a := range absent {
		items[i] = absentJSON{UserID: a.UserID, OrgID: a.OrgID, OrgName: a.OrgName, Name: a.Name, Badge: a.Badge,
			BadgeLabel: a.Badge.Label(), PhoneMasked: user.MaskPhone(a.Phone)}
	}
	c.JSON(http.StatusOK, gin.H{
		"org_id": orgID, "date": v.Day, "source": v.Source,
		"members": v.All.Members, "checked_in": v.All.CheckedIn, "not_yet": v.All.NotYet,
		"by_badge": v.ByBadge, "not_checked_in": items, "next_cursor": web.Cursor(next),
	})
}

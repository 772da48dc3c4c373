package auth

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/render"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/redisdb"
	"xianfeng/server/internal/user"
	"xianfeng/server/internal/web"
)

// Handler serves the login, logout and "me" endpoints.
type Handler struct {
	svc         *Service
	log         *slog.Logger
	memberships MembershipLister
	mePath      string // the full path of GET /me, whose lookup also reads the cache
	// ahead holds, by full path, the routes whose session lookup also
	// reads keys of the user that the route reads anyway (see ReadAhead).
	ahead map[string]readAhead
}

type readAhead struct {
	method string
	reads  func() []redisdb.Read
}

// MembershipLister returns a user's memberships as the response shows them.
type MembershipLister func(ctx context.Context, userID int64) (any, error)

// NewHandler returns the auth HTTP handler; memberships fills the
// "memberships" of the login and /me answers.
func NewHandler(svc *Service, log *slog.Logger, memberships MembershipLister) *Handler {
	return &Handler{svc: svc, log: log, memberships: memberships}
}

// CacheMeAt says where GET /me is routed (its full path): Require reads the
// cached answer of /me with the session, in the same round trip, for that
// route only.
func (h *Handler) CacheMeAt(fullPath string) { h.mePath = fullPath }

// ReadAhead says that the route method fullPath reads the keys of the
// signed-in user that reads names (asked anew for each request: a key may
// name the day): Require reads them with the session, in the same round
// trip, and the route finds their values with redisdb.Preloaded. Call it
// while the routes are set up, before the server starts.
func (h *Handler) ReadAhead(method, fullPath string, reads func() []redisdb.Read) {
	if h.ahead == nil {
		h.ahead = map[string]readAhead{}
	}
	h.ahead[fullPath] = readAhead{method: method, reads: reads}
}

// UserID returns the signed-in user of a request that passed Require.
func UserID(c *gin.Context) int64 { return SessionOf(c).UserID }

const sessionKey = "xianfeng.session"

// Require rejects requests without a valid bearer token with 401
// "unauthenticated" and makes the session available to later handlers.
func (h *Handler) Require() gin.HandlerFunc {
	return func(c *gin.Context) {
		header := c.GetHeader("Authorization")
		token, ok := strings.CutPrefix(header, "Bearer ")
		if !ok {
			web.Fail(c, h.log, apperr.ErrUnauthenticated)
			return
		}
		token = strings.TrimSpace(token)
		ctx := c.Request.Context()
		var sess Session
		var err error
		switch ra, ok := h.ahead[c.FullPath()]; {
		case ok && c.Request.Method == ra.method:
			var vals map[string]any
			if sess, vals, err = h.svc.AuthenticateWith(ctx, token, ra.reads()); err == nil && vals != nil {
				c.Request = c.Request.WithContext(redisdb.WithPreloaded(ctx, vals))
			}
		case c.Request.Method == http.MethodGet && c.FullPath() == h.mePath:
			sess, err = h.svc.AuthenticateMe(ctx, token)
		default:
			sess, err = h.svc.Authenticate(ctx, token)
		}
		if err != nil {
			web.Fail(c, h.log, err)
			return
		}
		c.Set(sessionKey, sess)
		c.Next()
	}
}

// SessionOf returns the session that Require stored on the request.
func SessionOf(c *gin.Context) Session {
	sess, _ := c.MustGet(sessionKey).(Session)
	return sess
}

// UserJSON is the public view of a user: the phone number only masked.
type UserJSON struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	PhoneBound  bool      `json:"phone_bound"`
	PhoneMasked string    `json:"phone_masked"`
	CreatedAt   time.Time `json:"created_at"`
}

// NewUserJSON renders a user for a response.
func NewUserJSON(u user.User) UserJSON {
	return UserJSON{ID: u.ID, Name: u.Name, PhoneBound: u.Phone != "", PhoneMasked: u.PhoneMasked(), CreatedAt: u.CreatedAt.UTC()}
}

type codeRequest struct {
	Code string `json:"code"`
}

type loginResponse struct {
	Token       string    `json:"token"`
	ExpiresAt   time.Time `json:"expires_at"`
	User        UserJSON  `json:"user"`
	Memberships any       `json:"memberships"`
	NewUser     bool      `json:"new_user"`
}

type meResponse struct {
	User        UserJSON `json:"user"`
	Memberships any      `json:"memberships"`
}

func (h *Handler) Login(ctx context.Context, _ Session, in codeRequest) (loginResponse, error) {
	res, err := h.svc.Login(ctx, in.Code)
	if err != nil {
		return loginResponse{}, err
	}
	ms, err := h.memberships(ctx, res.User.ID)
	if err != nil {
		return loginResponse{}, err
	}
	return loginResponse{
		Token: res.Token, ExpiresAt: res.ExpiresAt, User: NewUserJSON(res.User),
		Memberships: ms, NewUser: res.NewUser,
	}, nil
}

func (h *Handler) Logout(ctx context.Context, sess Session, _ struct{}) error {
	return h.svc.Logout(ctx, sess)
}

func (h *Handler) LogoutAll(ctx context.Context, sess Session, _ struct{}) error {
	return h.svc.LogoutAll(ctx, sess.UserID)
}

// me answers from the cache when the session's lookup found the answer
// there, else renders it and caches it (see MeCache).
func (h *Handler) Me(ctx context.Context, sess Session, _ struct{}) (render.Data, error) {
	if body := h.svc.CachedMe(sess); body != nil {
		return jsonData(body), nil
	}
	u, err := h.svc.Me(ctx, sess)
	if err != nil {
		return render.Data{}, err
	}
	ms, err := h.memberships(ctx, u.ID)
	if err != nil {
		return render.Data{}, err
	}
	body, err := json.Marshal(meResponse{User: NewUserJSON(u), Memberships: ms})
	if err != nil {
		return render.Data{}, err
	}
	h.svc.CacheMe(ctx, sess, body)
	return jsonData(body), nil
}

// jsonData is an answer already encoded, with the header c.JSON would send.
func jsonData(body []byte) render.Data {
	return render.Data{ContentType: "application/json; charset=utf-8", Data: body}
}

func (h *Handler) BindPhone(ctx context.Context, sess Session, in codeRequest) (gin.H, error) {
	u, err := h.svc.BindPhone(ctx, sess, in.Code)
	return gin.H{"user": NewUserJSON(u)}, err
}

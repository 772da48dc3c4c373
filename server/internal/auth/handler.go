package auth

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/user"
	"xianfeng/server/internal/web"
)

// Handler serves the login, logout and "me" endpoints.
type Handler struct {
	svc         *Service
	log         *slog.Logger
	memberships MembershipLister
}

// MembershipLister returns a user's memberships as the response shows them.
type MembershipLister func(ctx context.Context, userID int64) (any, error)

// NewHandler returns the auth HTTP handler; memberships fills the
// "memberships" of the login and /me answers.
func NewHandler(svc *Service, log *slog.Logger, memberships MembershipLister) *Handler {
	return &Handler{svc: svc, log: log, memberships: memberships}
}

// UserID returns the signed-in user of a request that passed Require.
func UserID(c *gin.Context) int64 { return SessionOf(c).UserID }

// Register adds the auth routes to the /api/v1 group; authed is the group
// behind Require.
func (h *Handler) Register(public, authed *gin.RouterGroup) {
	public.POST("/auth/login", h.login)
	authed.POST("/auth/logout", h.logout)
	authed.POST("/auth/logout-all", h.logoutAll)
	authed.GET("/me", h.me)
	authed.POST("/me/phone", h.bindPhone)
}

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
		sess, err := h.svc.Authenticate(c.Request.Context(), strings.TrimSpace(token))
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

func (h *Handler) login(c *gin.Context) {
	var req codeRequest
	if err := web.BindJSON(c, &req); err != nil {
		web.Fail(c, h.log, err)
		return
	}
	res, err := h.svc.Login(c.Request.Context(), req.Code)
	if err != nil {
		web.Fail(c, h.log, err)
		return
	}
	ms, err := h.memberships(c.Request.Context(), res.User.ID)
	if err != nil {
		web.Fail(c, h.log, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, loginResponse{
		Token: res.Token, ExpiresAt: res.ExpiresAt, User: NewUserJSON(res.User),
		Memberships: ms, NewUser: res.NewUser,
	})
}

func (h *Handler) logout(c *gin.Context) {
	if err := h.svc.Logout(c.Request.Context(), SessionOf(c)); err != nil {
		web.Fail(c, h.log, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *Handler) logoutAll(c *gin.Context) {
	if err := h.svc.LogoutAll(c.Request.Context(), SessionOf(c).UserID); err != nil {
		web.Fail(c, h.log, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *Handler) me(c *gin.Context) {
	u, err := h.svc.Me(c.Request.Context(), SessionOf(c))
	if err != nil {
		web.Fail(c, h.log, err)
		return
	}
	ms, err := h.memberships(c.Request.Context(), u.ID)
	if err != nil {
		web.Fail(c, h.log, err)
		return
	}
	c.JSON(http.StatusOK, meResponse{User: NewUserJSON(u), Memberships: ms})
}

func (h *Handler) bindPhone(c *gin.Context) {
	var req codeRequest
	if err := web.BindJSON(c, &req); err != nil {
		web.Fail(c, h.log, err)
		return
	}
	u, err := h.svc.BindPhone(c.Request.Context(), SessionOf(c), req.Code)
	if err != nil {
		web.Fail(c, h.log, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"user": NewUserJSON(u)})
}

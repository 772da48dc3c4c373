package badge

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/web"
)

// Handler serves the badge endpoints.
type Handler struct {
	svc    *Service
	log    *slog.Logger
	userID func(*gin.Context) int64
	limit  gin.HandlerFunc
}

// NewHandler returns the badge handler; verifyLimit rate-limits the public
// verification endpoint.
func NewHandler(svc *Service, log *slog.Logger, userID func(*gin.Context) int64, verifyLimit gin.HandlerFunc) *Handler {
	return &Handler{svc: svc, log: log, userID: userID, limit: verifyLimit}
}

// Register adds the routes: the member's own badge behind authentication,
// verification in the public group.
func (h *Handler) Register(public, authed *gin.RouterGroup) {
	authed.GET("/me/badge", h.mine)
	authed.GET("/me/badge/qr.png", h.qr)
	public.GET("/badges/verify", h.limit, h.verify)
}

func (h *Handler) orgID(c *gin.Context) (int64, bool) {
	return web.QueryID(c, h.log, "org_id")
}

func (h *Handler) mine(c *gin.Context) {
	orgID, ok := h.orgID(c)
	if !ok {
		return
	}
	b, err := h.svc.Mine(c.Request.Context(), h.userID(c), orgID)
	if err != nil {
		web.Fail(c, h.log, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, b)
}

func (h *Handler) qr(c *gin.Context) {
	orgID, ok := h.orgID(c)
	if !ok {
		return
	}
	png, err := h.svc.QR(c.Request.Context(), h.userID(c), orgID)
	if err != nil {
		web.Fail(c, h.log, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "image/png", png)
}

func (h *Handler) verify(c *gin.Context) {
	token := c.Query("token")
	if token == "" || len(token) > 512 {
		web.Fail(c, h.log, apperr.Invalid("参数错误", map[string]string{"token": "缺少或无效的核验码"}))
		return
	}
	v, err := h.svc.Verify(c.Request.Context(), token)
	if err != nil {
		web.Fail(c, h.log, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, v)
}

package badge

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/render"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/web"
)

// Handler serves the badge endpoints.
type Handler struct {
	svc   *Service
	api   web.Adapter[int64]
	log   *slog.Logger
	limit gin.HandlerFunc
}

// NewHandler returns the badge handler; verifyLimit rate-limits the public
// verification endpoint.
func NewHandler(svc *Service, log *slog.Logger, userID func(*gin.Context) int64, verifyLimit gin.HandlerFunc) *Handler {
	return &Handler{svc: svc, api: web.NewAdapter(log, userID), log: log, limit: verifyLimit}
}

// Register adds the routes: the member's own badge behind authentication,
// verification in the public group.
func (h *Handler) Register(public, authed *gin.RouterGroup) {
	authed.GET("/me/badge", web.OK(h.api, h.mine))
	authed.GET("/me/badge/qr.png", web.OK(h.api, h.qr))
	public.GET("/badges/verify", h.limit, h.verify)
}

// orgInput names the org of the badge, ?org_id= (0: the member's home
// branch).
type orgInput struct {
	OrgID int64 `query:"org_id"`
}

func (h *Handler) mine(ctx context.Context, userID int64, in orgInput) (Badge, error) {
	return h.svc.Mine(ctx, userID, in.OrgID)
}

func (h *Handler) qr(ctx context.Context, userID int64, in orgInput) (render.Data, error) {
	png, err := h.svc.QR(ctx, userID, in.OrgID)
	return render.Data{ContentType: "image/png", Data: png}, err
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

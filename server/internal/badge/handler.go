package badge

import (
	"context"
	_ "embed"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/render"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/web"
)

// Handler serves the badge endpoints.
type Handler struct {
	svc  *Service
	log  *slog.Logger
	page Page
}

// Page configures what a person scanning a badge QR code gets.
type Page struct {
	// Zone is the time zone of the time of the check on the HTML page
	// (the configured APP_TIMEZONE); required.
	Zone *time.Location
	// MiniProgramPath is the mini-program page WeChat opens for the verify
	// link (the "scan an ordinary link QR code" rule); the HTML page names it.
	MiniProgramPath string
	// CheckFileName and CheckFileContent are the file WeChat asks the site
	// to serve at its root before it accepts that rule; empty serves none.
	CheckFileName, CheckFileContent string
}

// NewHandler returns the badge handler.
func NewHandler(svc *Service, log *slog.Logger, page Page) *Handler {
	if page.Zone == nil {
		panic("badge.NewHandler: Page.Zone is required (the configured APP_TIMEZONE)")
	}
	return &Handler{svc: svc, log: log, page: page}
}

// CheckFile serves WeChat's QR rule check file at /<name> and hands every
// other request to next (the router's 404).
func (h *Handler) CheckFile(next gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if h.page.CheckFileName != "" && c.Request.Method == http.MethodGet && c.Request.URL.Path == "/"+h.page.CheckFileName {
			c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(h.page.CheckFileContent))
			return
		}
		next(c)
	}
}

// orgInput names the org of the badge, ?org_id= (0: the member's home
// branch).
type orgInput struct {
	OrgID int64 `query:"org_id"`
}

func (h *Handler) Mine(ctx context.Context, userID int64, in orgInput) (Badge, error) {
	return h.svc.Mine(ctx, userID, in.OrgID)
}

func (h *Handler) QR(ctx context.Context, userID int64, in orgInput) (render.Data, error) {
	png, err := h.svc.QR(ctx, userID, in.OrgID)
	return render.Data{ContentType: "image/png", Data: png}, err
}

func (h *Handler) Verify(c *gin.Context) {
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
	if wantsHTML(c.GetHeader("Accept")) {
		h.render(c, v)
		return
	}
	c.JSON(http.StatusOK, v)
}

//go:embed verify.html
var verifyHTML string

var verifyPage = template.Must(template.New("verify").Parse(verifyHTML))

// wantsHTML reports whether the caller is a browser asking for a page: its
// Accept names text/html. Programs (no Accept, */*, application/json) get JSON.
func wantsHTML(accept string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(mt), "text/html") {
			continue
		}
		if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(q, 64); err == nil && f == 0 {
				return false
			}
		}
		return true
	}
	return false
}

// pageWords are the verdict's words on the page, by Verdict.Reason.
var pageWords = map[string][2]string{
	"":        {"有效", "身份牌真实有效"},
	"expired": {"已过期", "二维码已过期，请对方刷新身份牌后重新扫码"},
	"revoked": {"已失效", "该身份牌已被收回或变更，不能作为有效身份"},
	"invalid": {"无效", "不是本系统签发的身份牌，或已被篡改"},
}

// render writes the verification page a person reads at a checkpoint.
func (h *Handler) render(c *gin.Context, v Verdict) {
	words, ok := pageWords[v.Reason]
	if !ok || (v.Reason == "" && !v.Valid) {
		words = pageWords["invalid"]
	}
	data := struct {
		Verdict
		Word, Why, CheckedAt, MiniProgramPath string
	}{v, words[0], words[1], h.svc.now().In(h.page.Zone).Format("2006年01月02日 15:04:05") + "（" + h.page.Zone.String() + "）", h.page.MiniProgramPath}
	var b strings.Builder
	if err := verifyPage.Execute(&b, data); err != nil {
		web.Fail(c, h.log, err)
		return
	}
	c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(b.String()))
}

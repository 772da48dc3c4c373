package contentsec

import (
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/web"
	"xianfeng/server/internal/wechat"
)

// maxPushBytes bounds a message push body; a verdict is well under 2 KB.
const maxPushBytes = 64 << 10

// ErrBadSignature answers a callback whose signature is not WeChat's.
var ErrBadSignature = apperr.New(apperr.KindUnauthenticated, "bad_signature", "签名校验失败")

// Handler serves WeChat's message push callback.
type Handler struct {
	svc   *Service
	token string
	log   *slog.Logger
}

// NewHandler returns the callback handler; token is the message push token
// set in the WeChat console (APP_WECHAT_CALLBACK_TOKEN). With no token
// every request is refused.
func NewHandler(svc *Service, token string, log *slog.Logger) *Handler {
	return &Handler{svc: svc, token: token, log: log}
}

// signed reports whether the request carries WeChat's signature.
func (h *Handler) signed(c *gin.Context) bool {
	return wechat.VerifySignature(h.token, c.Query("timestamp"), c.Query("nonce"), c.Query("signature"))
}

// Handshake answers WeChat's check of the callback URL (GET with echostr):
// the echostr back, as plain text, when the signature is right.
func (h *Handler) Handshake(c *gin.Context) {
	if !h.signed(c) {
		web.Fail(c, h.log, ErrBadSignature)
		return
	}
	echo := c.Query("echostr")
	if echo == "" || len(echo) > 256 {
		web.Fail(c, h.log, apperr.Invalid("参数错误", map[string]string{"echostr": "缺少 echostr"}))
		return
	}
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(echo))
}

// Push receives a message push (POST, JSON, plain-text mode): a
// mediaCheckAsync verdict is recorded once; other events are acknowledged
// and ignored. WeChat wants "success" back.
func (h *Handler) Push(c *gin.Context) {
	if !h.signed(c) {
		web.Fail(c, h.log, ErrBadSignature)
		return
	}
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxPushBytes+1))
	if err != nil {
		web.Fail(c, h.log, apperr.Invalid("参数错误", map[string]string{"body": "无法读取请求体"}))
		return
	}
	if len(body) > maxPushBytes {
		web.Fail(c, h.log, apperr.New(apperr.KindTooLarge, "payload_too_large", "请求体过大"))
		return
	}
	mc, err := wechat.ParseMediaCheck(body)
	switch {
	case errors.Is(err, wechat.ErrNotMediaCheck):
	case err != nil:
		web.Fail(c, h.log, apperr.Wrap(err, apperr.KindInvalid, "invalid_argument", "消息格式错误"))
		return
	default:
		if err := h.svc.Verdict(c.Request.Context(), mc); err != nil {
			web.Fail(c, h.log, err)
			return
		}
	}
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte("success"))
}

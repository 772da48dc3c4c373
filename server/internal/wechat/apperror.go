package wechat

import (
	"context"
	"errors"
	"time"

	"xianfeng/server/internal/apperr"
)

// AppError maps the client's error kinds to the answer a member sees: the
// one place where WeChat failures become HTTP statuses and codes.
func AppError(err error) error {
	switch {
	case errors.Is(err, ErrCodeInvalid):
		return apperr.Wrap(err, apperr.KindUnauthenticated, "wechat_code_invalid", "微信登录凭证无效或已使用，请重新进入小程序再试")
	case errors.Is(err, ErrBusy):
		e := apperr.Wrap(err, apperr.KindUnavailable, "wechat_busy", "微信服务繁忙，请稍后重试")
		e.RetryAfter = 2 * time.Second
		return e
	case errors.Is(err, ErrQuota):
		e := apperr.Wrap(err, apperr.KindUnavailable, "wechat_quota_exceeded", "微信接口调用次数已达上限，请稍后重试")
		e.RetryAfter = time.Minute
		return e
	case errors.Is(err, ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return apperr.Wrap(err, apperr.KindBadGateway, "wechat_unavailable", "暂时无法连接微信服务，请稍后重试")
	default:
		return apperr.Wrap(err, apperr.KindBadGateway, "wechat_error", "微信服务返回错误，请稍后重试")
	}
}

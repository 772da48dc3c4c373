package wechat

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/miniprogram"
	"github.com/silenceper/wechat/v2/miniprogram/auth"
	"github.com/silenceper/wechat/v2/miniprogram/config"
	"github.com/silenceper/wechat/v2/miniprogram/security"
	"github.com/silenceper/wechat/v2/miniprogram/subscribe"
	"github.com/silenceper/wechat/v2/util"
)

// DefaultTimeout bounds each HTTP request to WeChat when Config.Timeout is
// not set.
const DefaultTimeout = 5 * time.Second

// Config configures the real WeChat client.
type Config struct {
	// AppID and AppSecret identify the mini program.
	AppID     string
	AppSecret string
	// Timeout bounds each HTTP request to WeChat; 0 means DefaultTimeout.
	Timeout time.Duration
	// Transport carries the requests; nil means a clone of
	// http.DefaultTransport. Tests set it to wechattest's rewriting transport.
	Transport http.RoundTripper
}

// API is the real Client, calling WeChat through the silenceper library.
// Its access token lives in Redis and is shared by every API on the same
// Redis and key prefix.
type API struct {
	auth      *auth.Auth
	subscribe *subscribe.Subscribe
	security  *security.Security
	cache     *redisCache
	tokenKey  string
	secret    string
	log       *slog.Logger
}

var _ Client = (*API)(nil)

// New returns the real WeChat client. Cache keys go under
// keyPrefix+"wechat:"; log receives failures with secrets masked (nil
// discards).
//
// New replaces the library's process-global util.DefaultHTTPClient with a
// client using cfg.Timeout and cfg.Transport: the library has no
// per-instance HTTP client, so the last New wins for every API in the
// process. Build one API per process (tests: do not run such tests in
// parallel).
func New(cfg Config, rdb redis.UniversalClient, keyPrefix string, log *slog.Logger) *API {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	transport := cfg.Transport
	if transport == nil {
		if t, ok := http.DefaultTransport.(*http.Transport); ok {
			c := t.Clone()
			// Workers send in parallel: keep a warm connection per worker
			// instead of a new TLS handshake with WeChat for most sends.
			c.MaxIdleConnsPerHost = 64
			transport = c
		} else {
			transport = http.DefaultTransport
		}
	}
	util.DefaultHTTPClient = &http.Client{Timeout: timeout, Transport: transport}

	c := newRedisCache(rdb, keyPrefix+"wechat:", log)
	mp := miniprogram.NewMiniProgram(&config.Config{
		AppID:     cfg.AppID,
		AppSecret: cfg.AppSecret,
		Cache:     c,
	})
	return &API{
		auth:      mp.GetAuth(),
		subscribe: mp.GetSubscribe(),
		security:  mp.GetSecurity(),
		cache:     c,
		// The key credential.DefaultAccessToken stores the token under.
		tokenKey: fmt.Sprintf("%s_access_token_%s", credential.CacheKeyMiniProgramPrefix, cfg.AppID),
		secret:   cfg.AppSecret,
		log:      log,
	}
}

// Code2Session exchanges a wx.login code for the user's session.
func (a *API) Code2Session(ctx context.Context, code string) (Session, error) {
	const op = "code2session"
	if code == "" {
		return Session{}, a.fail(ctx, op, &Error{Kind: ErrCodeInvalid, Message: "empty code"})
	}
	// The library puts the code into the URL unescaped.
	res, err := a.auth.Code2SessionContext(ctx, url.QueryEscape(code))
	if err != nil {
		return Session{}, a.fail(ctx, op, err)
	}
	if res.OpenID == "" || res.SessionKey == "" {
		return Session{}, a.fail(ctx, op, &Error{Kind: ErrUnavailable, Message: "answer without openid or session_key"})
	}
	return Session{OpenID: res.OpenID, UnionID: res.UnionID, SessionKey: res.SessionKey}, nil
}

// PhoneNumber exchanges a getPhoneNumber code for the phone number without
// country code.
func (a *API) PhoneNumber(ctx context.Context, code string) (string, error) {
	const op = "phone number"
	if code == "" {
		return "", a.fail(ctx, op, &Error{Kind: ErrCodeInvalid, Message: "empty code"})
	}
	var phone string
	err := a.withToken(ctx, op, func() error {
		res, err := a.auth.GetPhoneNumberContext(ctx, code)
		if err != nil {
			return err
		}
		phone = res.PhoneInfo.PurePhoneNumber
		return nil
	})
	if err != nil {
		return "", err
	}
	if phone == "" {
		return "", a.fail(ctx, op, &Error{Kind: ErrUnavailable, Message: "answer without purePhoneNumber"})
	}
	return phone, nil
}

// SendSubscribe sends one subscribe message. The library's send has no
// context variant: ctx is checked before each attempt and each attempt is
// bounded by the client timeout.
func (a *API) SendSubscribe(ctx context.Context, msg SubscribeMessage) error {
	data := make(map[string]*subscribe.DataItem, len(msg.Data))
	for k, v := range msg.Data {
		data[k] = &subscribe.DataItem{Value: v}
	}
	state := msg.State
	if state == "" {
		state = "formal"
	}
	m := &subscribe.Message{
		ToUser:           msg.ToOpenID,
		TemplateID:       msg.TemplateID,
		Page:             msg.Page,
		Data:             data,
		MiniprogramState: state,
	}
	return a.withToken(ctx, "subscribe send", func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return a.subscribe.Send(m)
	})
}

// withToken runs call, a library call that uses the access token. When
// WeChat rejects the token (the library does not evict it), it deletes the
// shared cached token and runs call exactly once more. Another instance may
// have just stored a fresh token under the same key; deleting it costs one
// extra token fetch, which is cheaper than coordinating.
func (a *API) withToken(ctx context.Context, op string, call func() error) error {
	err := call()
	if err == nil {
		return nil
	}
	if kind, code := classify(err); kind == ErrTokenInvalid {
		a.log.InfoContext(ctx, "wechat: access token rejected, evicting it and retrying once", "op", op, "errcode", code)
		if derr := a.cache.DeleteContext(ctx, a.tokenKey); derr != nil {
			a.log.WarnContext(ctx, "wechat: evicting the access token failed", "op", op, "error", derr)
		}
		err = call()
		if err == nil {
			return nil
		}
	}
	return a.fail(ctx, op, err)
}

// fail turns err into an *Error with a redacted message and logs it.
func (a *API) fail(ctx context.Context, op string, err error) error {
	e, ok := err.(*Error)
	if !ok {
		kind, code := classify(err)
		msg := redact(err.Error())
		if a.secret != "" {
			msg = strings.ReplaceAll(msg, a.secret, "***")
		}
		e = &Error{Kind: kind, Code: code, Message: msg}
	}
	e.Message = op + ": " + e.Message
	level := slog.LevelWarn
	if e.Kind == ErrCodeInvalid || e.Kind == ErrConsentRefused {
		level = slog.LevelInfo
	}
	a.log.Log(ctx, level, "wechat call failed", "op", op, "kind", e.Kind.Error(), "errcode", e.Code, "error", e.Message)
	return e
}

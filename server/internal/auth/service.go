package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unicode"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/redisdb"
	"xianfeng/server/internal/user"
	"xianfeng/server/internal/wechat"
)

// Users is the part of the user store that auth needs.
type Users interface {
	FindOrCreate(ctx context.Context, openID, unionID string) (user.User, bool, error)
	Get(ctx context.Context, id int64) (user.User, error)
	SetPhone(ctx context.Context, id int64, phone string) (user.User, error)
}

var _ Users = (*user.Store)(nil)

// Service logs users in with WeChat, binds phone numbers and ends sessions.
type Service struct {
	wx       wechat.Client
	users    Users
	sessions *Sessions
	me       *MeCache
	log      *slog.Logger
	// others are the other kinds of session of a user (the web console's),
	// which signing out everywhere ends too.
	others []*Sessions
}

// NewService returns the auth service; me caches the GET /me answers, and
// binding a phone number drops the user's. others are further session
// stores of the same users (the web console's): LogoutAll ends theirs too.
func NewService(wx wechat.Client, users Users, sessions *Sessions, me *MeCache, log *slog.Logger, others ...*Sessions) *Service {
	return &Service{wx: wx, users: users, sessions: sessions, me: me, log: log, others: others}
}

// LoginResult is what a successful login returns to the mini-program.
type LoginResult struct {
	Token     string
	ExpiresAt time.Time
	User      user.User
	NewUser   bool
}

// Login exchanges a wx.login code for a session. The code is checked for shape
// first; WeChat's answer decides whether it is valid.
func (s *Service) Login(ctx context.Context, code string) (LoginResult, error) {
	u, ws, created, err := s.identify(ctx, code)
	if err != nil {
		return LoginResult{}, err
	}
	token, exp, err := s.sessions.Create(ctx, Session{UserID: u.ID, OpenID: ws.OpenID, SessionKey: ws.SessionKey})
	if err != nil {
		return LoginResult{}, err
	}
	return LoginResult{Token: token, ExpiresAt: exp, User: u, NewUser: created}, nil
}

// Identify returns the user behind a wx.login code, as Login does, without
// starting a session: the web console's development login starts its own.
func (s *Service) Identify(ctx context.Context, code string) (user.User, error) {
	u, _, _, err := s.identify(ctx, code)
	return u, err
}

// identify exchanges a code with WeChat and finds or creates its user.
func (s *Service) identify(ctx context.Context, code string) (user.User, wechat.Session, bool, error) {
	if err := checkCode(code); err != nil {
		return user.User{}, wechat.Session{}, false, err
	}
	ws, err := s.wx.Code2Session(ctx, code)
	if err != nil {
		return user.User{}, wechat.Session{}, false, wechat.AppError(err)
	}
	u, created, err := s.users.FindOrCreate(ctx, ws.OpenID, ws.UnionID)
	if err != nil {
		return user.User{}, wechat.Session{}, false, err
	}
	if created {
		s.log.InfoContext(ctx, "new user", "user_id", u.ID)
	}
	return u, ws, created, nil
}

// Authenticate returns the session of a bearer token.
func (s *Service) Authenticate(ctx context.Context, token string) (Session, error) {
	return s.sessions.Lookup(ctx, token)
}

// AuthenticateMe is Authenticate for a GET /me: the session carries the
// user's cached answer, if any, read in the same round trip.
func (s *Service) AuthenticateMe(ctx context.Context, token string) (Session, error) {
	return s.sessions.LookupMe(ctx, token, s.me)
}

// AuthenticateWith is Authenticate that also reads the user's keys named by
// reads, in the same round trip, and returns their values by key (none on
// Redis Cluster; see Sessions.LookupWith).
func (s *Service) AuthenticateWith(ctx context.Context, token string, reads []redisdb.Read) (Session, map[string]any, error) {
	return s.sessions.LookupWith(ctx, token, reads)
}

// CachedMe returns the GET /me answer that the session's lookup found in
// the cache, or nil.
func (s *Service) CachedMe(sess Session) []byte { return sess.me }

// CacheMe keeps a GET /me answer rendered from reads made after the
// session's lookup; it is dropped, not stored, if a change to the user was
// committed since. A failure is logged: the answer is still right.
func (s *Service) CacheMe(ctx context.Context, sess Session, body []byte) {
	if _, err := s.me.store(ctx, sess.UserID, sess.meGen, body); err != nil {
		s.log.WarnContext(ctx, "GET /me answer not cached", "user_id", sess.UserID, "err", err)
	}
}

// Me returns the signed-in user.
func (s *Service) Me(ctx context.Context, sess Session) (user.User, error) {
	u, err := s.users.Get(ctx, sess.UserID)
	if errors.Is(err, user.ErrNotFound) {
		return user.User{}, apperr.ErrUnauthenticated
	}
	return u, err
}

// BindPhone asks WeChat for the phone number behind a getPhoneNumber code and
// binds it to the signed-in user.
func (s *Service) BindPhone(ctx context.Context, sess Session, code string) (user.User, error) {
	if err := checkCode(code); err != nil {
		return user.User{}, err
	}
	phone, err := s.wx.PhoneNumber(ctx, code)
	if err != nil {
		return user.User{}, wechat.AppError(err)
	}
	if !validPhone(phone) {
		return user.User{}, apperr.Wrap(fmt.Errorf("wechat returned a malformed phone number"), apperr.KindBadGateway, "wechat_error", "微信返回的手机号无效，请稍后重试")
	}
	u, err := s.users.SetPhone(ctx, sess.UserID, phone)
	if err != nil {
		return user.User{}, err
	}
	if err := s.me.Invalidate(ctx, u.ID); err != nil {
		return user.User{}, err
	}
	s.log.InfoContext(ctx, "phone bound", "user_id", u.ID, "phone", u.PhoneMasked())
	return u, nil
}

// Logout ends one session.
func (s *Service) Logout(ctx context.Context, sess Session) error {
	return s.sessions.Revoke(ctx, sess)
}

// LogoutAll ends every session of the user, on every device, the web
// console's included.
func (s *Service) LogoutAll(ctx context.Context, userID int64) error {
	for _, o := range s.others {
		if err := o.RevokeAll(ctx, userID); err != nil {
			return err
		}
	}
	return s.sessions.RevokeAll(ctx, userID)
}

func checkCode(code string) error {
	msg := ""
	switch {
	case code == "":
		msg = "不能为空"
	case len(code) > 256:
		msg = "过长"
	default:
		for _, r := range code {
			if unicode.IsControl(r) || unicode.IsSpace(r) {
				msg = "包含非法字符"
				break
			}
		}
	}
	if msg != "" {
		return apperr.Invalid("参数错误", map[string]string{"code": msg})
	}
	return nil
}

func validPhone(p string) bool {
	if len(p) < 5 || len(p) > 20 {
		return false
	}
	for i, r := range p {
		if !(r >= '0' && r <= '9' || i == 0 && r == '+') {
			return false
		}
	}
	return true
}

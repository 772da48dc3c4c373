// The tests of the real client live in package wechat_test because they use
// wechattest, which imports wechat. They are not parallel: wechat.New sets
// the library's process-global HTTP client.
package wechat_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"xianfeng/server/internal/wechat"
	"xianfeng/server/internal/wechat/wechattest"
)

const keyPrefix = "xf:"

type env struct {
	fake *wechattest.Server
	mr   *miniredis.Miniredis
	rdb  *redis.Client
	api  *wechat.API
	logs *bytes.Buffer
}

func newEnv(t *testing.T, timeout time.Duration) *env {
	t.Helper()
	e := &env{fake: wechattest.NewServer(t), mr: miniredis.RunT(t), logs: &bytes.Buffer{}}
	e.rdb = redis.NewClient(&redis.Options{Addr: e.mr.Addr()})
	t.Cleanup(func() { _ = e.rdb.Close() })
	e.api = e.newAPI(e.fake.Config(timeout))
	return e
}

func (e *env) newAPI(cfg wechat.Config) *wechat.API {
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return wechat.New(cfg, e.rdb, keyPrefix, log)
}

// checkErr asserts err has the wanted kind and errcode and that neither it
// nor the logs reveal the app secret or an access token.
func (e *env) checkErr(t *testing.T, err error, wantKind error, wantCode int) {
	t.Helper()
	if !errors.Is(err, wantKind) {
		t.Fatalf("error = %v, want %v", err, wantKind)
	}
	var werr *wechat.Error
	if !errors.As(err, &werr) {
		t.Fatalf("error %T is not a *wechat.Error", err)
	}
	if werr.Code != wantCode {
		t.Errorf("errcode = %d, want %d (%v)", werr.Code, wantCode, err)
	}
	e.checkNoSecrets(t, err.Error())
}

// errorCase is an input of a WeChat call (a login or phone code, an openid)
// and the error the call must end in.
type errorCase struct {
	name     string
	input    string
	wantKind error
	wantCode int
}

// sharedErrorCases are the fake's answers that every WeChat call meets
// alike; runErrorCases runs them after a call's own cases.
var sharedErrorCases = []errorCase{
	{"a busy WeChat is ErrBusy", "busy", wechat.ErrBusy, -1},
	{"a WeChat server error is ErrUnavailable and hides the secrets", "5xx", wechat.ErrUnavailable, 0},
}

// runErrorCases calls call with each case's input, and with the shared
// ones', in a subtest of its own and checks the error with checkErr on the
// env call used.
func runErrorCases(t *testing.T, cases []errorCase, call func(t *testing.T, input string) (*env, error)) {
	t.Helper()
	for _, tc := range append(cases, sharedErrorCases...) {
		t.Run(tc.name, func(t *testing.T) {
			e, err := call(t, tc.input)
			e.checkErr(t, err, tc.wantKind, tc.wantCode)
		})
	}
}

func (e *env) checkNoSecrets(t *testing.T, text string) {
	t.Helper()
	for _, s := range append(e.fake.IssuedTokens(), wechattest.AppSecret) {
		if strings.Contains(text, s) {
			t.Errorf("text reveals secret %q: %s", s, text)
		}
		if strings.Contains(e.logs.String(), s) {
			t.Errorf("logs reveal secret %q:\n%s", s, e.logs.String())
		}
	}
}

func TestCode2Session(t *testing.T) {
	e := newEnv(t, 2*time.Second)
	ctx := context.Background()

	t.Run("a valid login code returns the openid and a session key", func(t *testing.T) {
		s, err := e.api.Code2Session(ctx, "ok:alice")
		if err != nil {
			t.Fatal(err)
		}
		if s.OpenID != "o-alice" || s.UnionID != "" || s.SessionKey == "" {
			t.Errorf("session = %+v, want openid o-alice, no unionid, a session key", s)
		}
	})

	runErrorCases(t, []errorCase{
		{"an invalid login code is ErrCodeInvalid", "40029", wechat.ErrCodeInvalid, 40029},
		{"a used login code is ErrCodeInvalid", "40163", wechat.ErrCodeInvalid, 40163},
		{"too many logins is ErrQuota", "45011", wechat.ErrQuota, 45011},
		{"an empty code is ErrCodeInvalid without a call", "", wechat.ErrCodeInvalid, 0},
	}, func(t *testing.T, code string) (*env, error) {
		_, err := e.api.Code2Session(ctx, code)
		return e, err
	})

	t.Run("a code cannot inject query parameters", func(t *testing.T) {
		s, err := e.api.Code2Session(ctx, "ok:eve&appid=other")
		if err != nil {
			t.Fatal(err)
		}
		if s.OpenID != "o-eve&appid=other" {
			t.Errorf("OpenID = %q, want the code passed through intact", s.OpenID)
		}
	})

	t.Run("a wrong app secret is ErrUnknown with the errcode and without the secret", func(t *testing.T) {
		cfg := e.fake.Config(2 * time.Second)
		cfg.AppSecret = "wrong-secret-0042"
		api := e.newAPI(cfg)
		_, err := api.Code2Session(ctx, "ok:alice")
		e.checkErr(t, err, wechat.ErrUnknown, 40125)
		if strings.Contains(err.Error()+e.logs.String(), cfg.AppSecret) {
			t.Errorf("the wrong secret leaked: %v", err)
		}
	})
}

// TestCode2SessionTimeout: the fake answers "slow" with a busy errcode only
// after wechattest.SlowDelay, so ErrUnavailable shows that the call was
// ended before, by the client's timeout or the caller's deadline.
func TestCode2SessionTimeout(t *testing.T) {
	t.Run("a slow WeChat is ErrUnavailable once the client timeout passes", func(t *testing.T) {
		e := newEnv(t, 50*time.Millisecond)
		_, err := e.api.Code2Session(context.Background(), "slow")
		e.checkErr(t, err, wechat.ErrUnavailable, 0)
	})

	t.Run("the caller's deadline ends the call before the client timeout", func(t *testing.T) {
		e := newEnv(t, 5*time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := e.api.Code2Session(ctx, "slow")
		e.checkErr(t, err, wechat.ErrUnavailable, 0)
	})
}

func TestPhoneNumber(t *testing.T) {
	ctx := context.Background()

	for _, tc := range []struct {
		name, code, want string
		tokenFetches     int
	}{
		{"a phone code binds the pure number", "phone:13800138000", "13800138000", 1},
		{"an expired access token is evicted and the call retried once", "expire-once:13700137000", "13700137000", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 2*time.Second)
			got, err := e.api.PhoneNumber(ctx, tc.code)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("PhoneNumber = %q, want %s", got, tc.want)
			}
			if n := e.fake.TokenFetches(); n != tc.tokenFetches {
				t.Errorf("TokenFetches = %d, want %d", n, tc.tokenFetches)
			}
			e.checkNoSecrets(t, "")
		})
	}

	runErrorCases(t, []errorCase{
		{"an invalid phone code is ErrCodeInvalid", "40029", wechat.ErrCodeInvalid, 40029},
	}, func(t *testing.T, code string) (*env, error) {
		e := newEnv(t, 2*time.Second)
		_, err := e.api.PhoneNumber(ctx, code)
		return e, err
	})

	t.Run("the access token is fetched once, stored in Redis and reused", func(t *testing.T) {
		e := newEnv(t, 2*time.Second)
		for _, code := range []string{"phone:13800138000", "phone:13900139000"} {
			if _, err := e.api.PhoneNumber(ctx, code); err != nil {
				t.Fatal(err)
			}
		}
		if n := e.fake.TokenFetches(); n != 1 {
			t.Errorf("TokenFetches = %d, want 1", n)
		}
		key := keyPrefix + "wechat:gowechat_miniprogram__access_token_" + wechattest.AppID
		if got, err := e.mr.Get(key); err != nil || got != e.fake.IssuedTokens()[0] {
			t.Errorf("redis %s = %q, %v; want the issued token", key, got, err)
		}
		if ttl := e.mr.TTL(key); ttl <= 0 || ttl > 7200*time.Second {
			t.Errorf("token TTL = %v, want a positive expiry", ttl)
		}
	})

	t.Run("two instances on the same Redis share one access token", func(t *testing.T) {
		e := newEnv(t, 2*time.Second)
		other := e.newAPI(e.fake.Config(2 * time.Second))
		if _, err := e.api.PhoneNumber(ctx, "phone:13800138000"); err != nil {
			t.Fatal(err)
		}
		if _, err := other.PhoneNumber(ctx, "phone:13900139000"); err != nil {
			t.Fatal(err)
		}
		if n := e.fake.TokenFetches(); n != 1 {
			t.Errorf("TokenFetches = %d, want 1", n)
		}
	})

	t.Run("a token rejected twice is ErrTokenInvalid after exactly one retry", func(t *testing.T) {
		e := newEnv(t, 2*time.Second)
		_, err := e.api.PhoneNumber(ctx, "42001")
		e.checkErr(t, err, wechat.ErrTokenInvalid, 42001)
		if n := e.fake.TokenFetches(); n != 2 {
			t.Errorf("TokenFetches = %d, want 2", n)
		}
	})

	t.Run("tokens revoked by WeChat are replaced on the next call", func(t *testing.T) {
		e := newEnv(t, 2*time.Second)
		if _, err := e.api.PhoneNumber(ctx, "phone:13800138000"); err != nil {
			t.Fatal(err)
		}
		e.fake.ExpireTokens()
		if _, err := e.api.PhoneNumber(ctx, "phone:13800138000"); err != nil {
			t.Fatal(err)
		}
		if n := e.fake.TokenFetches(); n != 2 {
			t.Errorf("TokenFetches = %d, want 2", n)
		}
	})
}

func TestSendSubscribe(t *testing.T) {
	ctx := context.Background()
	msg := func(to string) wechat.SubscribeMessage {
		return wechat.SubscribeMessage{
			ToOpenID: to, TemplateID: "tpl-remind", Page: "pages/task/index?id=7",
			Data: map[string]string{"thing1": "支部学习", "time2": "2025-01-02 09:00"},
		}
	}

	t.Run("a message is delivered with its data and the formal state", func(t *testing.T) {
		e := newEnv(t, 2*time.Second)
		if err := e.api.SendSubscribe(ctx, msg("o-alice")); err != nil {
			t.Fatal(err)
		}
		sent := e.fake.Sent()
		if len(sent) != 1 {
			t.Fatalf("Sent = %+v, want one message", sent)
		}
		got, want := sent[0], msg("o-alice")
		if got.ToOpenID != want.ToOpenID || got.TemplateID != want.TemplateID || got.Page != want.Page ||
			got.Data["thing1"] != want.Data["thing1"] || got.Data["time2"] != want.Data["time2"] || got.State != "formal" {
			t.Errorf("sent %+v, want %+v with state formal", got, want)
		}
	})

	runErrorCases(t, []errorCase{
		{"a user without consent is ErrConsentRefused", "refused", wechat.ErrConsentRefused, 43101},
		{"invalid template data is ErrTemplateInvalid", "bad-template", wechat.ErrTemplateInvalid, 47003},
		{"a missing openid is ErrTemplateInvalid", "", wechat.ErrTemplateInvalid, 40003},
	}, func(t *testing.T, to string) (*env, error) {
		e := newEnv(t, 2*time.Second)
		err := e.api.SendSubscribe(ctx, msg(to))
		if len(e.fake.Sent()) != 0 {
			t.Errorf("Sent = %+v, want nothing", e.fake.Sent())
		}
		return e, err
	})

	t.Run("an expired access token is evicted and the message sent on the retry", func(t *testing.T) {
		e := newEnv(t, 2*time.Second)
		if err := e.api.SendSubscribe(ctx, msg("expire-once:o-bob")); err != nil {
			t.Fatal(err)
		}
		if n := e.fake.TokenFetches(); n != 2 {
			t.Errorf("TokenFetches = %d, want 2", n)
		}
		if len(e.fake.Sent()) != 1 {
			t.Errorf("Sent = %+v, want one message", e.fake.Sent())
		}
	})

	t.Run("a cancelled context sends nothing", func(t *testing.T) {
		e := newEnv(t, 2*time.Second)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err := e.api.SendSubscribe(cctx, msg("o-alice"))
		e.checkErr(t, err, wechat.ErrUnavailable, 0)
		if len(e.fake.Sent()) != 0 {
			t.Errorf("Sent = %+v, want nothing", e.fake.Sent())
		}
	})
}

func TestTransportRefusesOtherHosts(t *testing.T) {
	t.Run("a request to a host other than WeChat's fails instead of leaving the machine", func(t *testing.T) {
		fake := wechattest.NewServer(t)
		req, _ := http.NewRequest(http.MethodGet, "https://example.com/", nil)
		if _, err := fake.Transport().RoundTrip(req); err == nil {
			t.Error("RoundTrip to example.com succeeded")
		}
	})
}

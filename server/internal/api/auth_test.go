package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"xianfeng/config"
	"xianfeng/server/internal/testenv"
	"xianfeng/server/internal/user"
)

type loginAnswer struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	NewUser   bool      `json:"new_user"`
	User      struct {
		ID          int64  `json:"id"`
		PhoneBound  bool   `json:"phone_bound"`
		PhoneMasked string `json:"phone_masked"`
	} `json:"user"`
	Memberships []any `json:"memberships"`
}

func login(t *testing.T, env *testenv.Env, code string) (testenv.Response, loginAnswer) {
	t.Helper()
	r := env.Do("POST", "/api/v1/auth/login", "", map[string]string{"code": code})
	var a loginAnswer
	if r.Status == http.StatusOK {
		r.JSON(t, &a)
	}
	return r, a
}

func TestLoginMeAndLogout(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	r, first := login(t, env, "ok:alice")
	if r.Status != 200 || !first.NewUser || first.User.ID == 0 || first.Memberships == nil {
		t.Fatalf("first login = %d %s", r.Status, r.Body)
	}
	if len(first.Token) < 22 { // 128 bits in base64url
		t.Errorf("token %q is shorter than 128 bits", first.Token)
	}
	if d := time.Until(first.ExpiresAt); d < 167*time.Hour || d > 169*time.Hour {
		t.Errorf("expires_at is %s away, want about 7 days", d)
	}
	_, second := login(t, env, "ok:alice")
	if second.NewUser || second.User.ID != first.User.ID || second.Token == first.Token {
		t.Errorf("second login: new_user=%v id=%d (first %d), same token=%v", second.NewUser, second.User.ID, first.User.ID, second.Token == first.Token)
	}

	me := env.Do("GET", "/api/v1/me", first.Token, nil)
	var body struct {
		User struct {
			ID int64 `json:"id"`
		} `json:"user"`
	}
	me.JSON(t, &body)
	if me.Status != 200 || body.User.ID != first.User.ID {
		t.Fatalf("GET /me = %d %s", me.Status, me.Body)
	}

	if r := env.Do("POST", "/api/v1/auth/logout", first.Token, nil); r.Status != http.StatusNoContent {
		t.Fatalf("logout = %d %s", r.Status, r.Body)
	}
	if r := env.Do("GET", "/api/v1/me", first.Token, nil); r.Status != 401 || r.ErrorCode() != "unauthenticated" {
		t.Errorf("after logout GET /me = %d %s, want 401 unauthenticated", r.Status, r.Body)
	}
	if r := env.Do("GET", "/api/v1/me", second.Token, nil); r.Status != 200 {
		t.Errorf("logout of one device signed out the other: %d", r.Status)
	}
}

func TestLogoutEverywhere(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	_, phone := login(t, env, "ok:bob")
	_, tablet := login(t, env, "ok:bob")
	_, other := login(t, env, "ok:carol")
	if r := env.Do("POST", "/api/v1/auth/logout-all", phone.Token, nil); r.Status != 204 {
		t.Fatalf("logout-all = %d %s", r.Status, r.Body)
	}
	for name, tok := range map[string]string{"phone": phone.Token, "tablet": tablet.Token} {
		if r := env.Do("GET", "/api/v1/me", tok, nil); r.Status != 401 {
			t.Errorf("%s still signed in after logout-all: %d", name, r.Status)
		}
	}
	if r := env.Do("GET", "/api/v1/me", other.Token, nil); r.Status != 200 {
		t.Errorf("another user was signed out: %d", r.Status)
	}
}

func TestWeChatFailuresAtLogin(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	tests := []struct {
		name       string
		code       string
		status     int
		errCode    string
		retryAfter bool
	}{
		{"an invalid code is 401", "40029", 401, "wechat_code_invalid", false},
		{"a used code is 401", "40163", 401, "wechat_code_invalid", false},
		{"WeChat over quota is 503 with Retry-After", "45011", 503, "wechat_quota_exceeded", true},
		{"WeChat busy is 503 with Retry-After", "busy", 503, "wechat_busy", true},
		{"WeChat answering 5xx is 502", "5xx", 502, "wechat_unavailable", false},
		// The fake answers "slow" with a busy errcode after wechattest.SlowDelay,
		// far beyond the client's timeout: a 502 shows the client gave up.
		{"WeChat timing out is 502, not a hang", "slow", 502, "wechat_unavailable", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := env.In(t)
			r, _ := login(t, env, tc.code)
			if r.Status != tc.status || r.ErrorCode() != tc.errCode {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, tc.status, tc.errCode)
			}
			if tc.retryAfter && r.Header.Get("Retry-After") == "" {
				t.Error("no Retry-After header")
			}
		})
	}
}

func TestBindPhone(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	env := testenv.New(t, testenv.Options{Log: lockedWriter{&mu, &logs}})
	_, a := login(t, env, "ok:dora")

	r := env.Do("POST", "/api/v1/me/phone", a.Token, map[string]string{"code": "phone:13800138000"})
	if r.Status != 200 || !bytes.Contains(r.Body, []byte(`"phone_masked":"138****8000"`)) || !bytes.Contains(r.Body, []byte(`"phone_bound":true`)) {
		t.Fatalf("bind phone = %d %s", r.Status, r.Body)
	}
	me := env.Do("GET", "/api/v1/me", a.Token, nil)
	if bytes.Contains(me.Body, []byte("13800138000")) || !bytes.Contains(me.Body, []byte("138****8000")) {
		t.Errorf("GET /me shows %s, want only the masked number", me.Body)
	}

	t.Run("an expired access token is evicted and the call retried once", func(t *testing.T) {
		env := env.In(t)
		before := env.WeChat.TokenFetches()
		r := env.Do("POST", "/api/v1/me/phone", a.Token, map[string]string{"code": "expire-once:13900139000"})
		if r.Status != 200 || !bytes.Contains(r.Body, []byte("139****9000")) {
			t.Fatalf("bind phone after token expiry = %d %s", r.Status, r.Body)
		}
		if got := env.WeChat.TokenFetches() - before; got != 1 {
			t.Errorf("fetched the access token %d more times, want 1", got)
		}
	})
	t.Run("an invalid phone code is 401 and keeps the bound number", func(t *testing.T) {
		env := env.In(t)
		r := env.Do("POST", "/api/v1/me/phone", a.Token, map[string]string{"code": "40029"})
		if r.Status != 401 || r.ErrorCode() != "wechat_code_invalid" {
			t.Fatalf("got %d %s", r.Status, r.Body)
		}
		u, err := user.NewStore(env.App.DB.DB).Get(context.Background(), a.User.ID)
		if err != nil || u.Phone != "13900139000" {
			t.Errorf("stored phone = %q, %v", u.Phone, err)
		}
	})
	t.Run("the access token is fetched once and reused", func(t *testing.T) {
		env := env.In(t)
		before := env.WeChat.TokenFetches()
		env.Do("POST", "/api/v1/me/phone", a.Token, map[string]string{"code": "phone:13700137000"})
		env.Do("POST", "/api/v1/me/phone", a.Token, map[string]string{"code": "phone:13700137001"})
		if got := env.WeChat.TokenFetches() - before; got != 0 {
			t.Errorf("fetched the access token %d more times, want 0", got)
		}
	})

	mu.Lock()
	defer mu.Unlock()
	out := logs.String()
	secrets := append([]string{a.Token, "13800138000", "13900139000", "fake-app-secret"}, env.WeChat.IssuedTokens()...)
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the log contains a secret or full phone number %q", s)
		}
	}
	if !strings.Contains(out, "request_id") {
		t.Error("log lines carry no request_id")
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func TestTokensThatAreNotValid(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	_, a := login(t, env, "ok:erin")
	forged := strings.Repeat("A", len(a.Token))
	tests := []struct{ name, header string }{
		{"no Authorization header", ""},
		{"a Basic credential", "Basic dXNlcjpwYXNz"},
		{"Bearer with no token", "Bearer "},
		{"a forged token of the right shape", "Bearer " + forged},
		{"a truncated token", "Bearer " + a.Token[:len(a.Token)-3]},
		{"a token with characters outside base64url", "Bearer " + a.Token[:len(a.Token)-1] + "*"},
		{"an over-long token", "Bearer " + a.Token + a.Token},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is 401", func(t *testing.T) {
			env := env.In(t)
			if r := env.DoWith("GET", "/api/v1/me", "", nil, map[string]string{"Authorization": tc.header}); r.Status != 401 {
				t.Errorf("got %d", r.Status)
			}
		})
	}
	t.Run("an expired token is 401", func(t *testing.T) {
		env := env.In(t)
		_, b := login(t, env, "ok:erin")
		expireSession(t, env, b.Token)
		if r := env.Do("GET", "/api/v1/me", b.Token, nil); r.Status != 401 || r.ErrorCode() != "unauthenticated" {
			t.Errorf("got %d %s", r.Status, r.Body)
		}
	})
}

// expireSession makes a session's Redis key expire now.
func expireSession(t *testing.T, env *testenv.Env, token string) {
	t.Helper()
	sum := sha256.Sum256([]byte(token))
	key := env.App.Config.Redis.KeyPrefix + "sess:" + hex.EncodeToString(sum[:])
	if m := env.App.Redis.Embedded(); m != nil {
		if !m.Exists(key) {
			t.Fatalf("no session key %s", key)
		}
		m.FastForward(env.App.Config.Session.TTL + time.Second)
		return
	}
	if n, err := env.App.Redis.PExpire(context.Background(), key, time.Millisecond).Result(); err != nil || !n {
		t.Fatalf("expire %s: %v %v", key, n, err)
	}
	time.Sleep(20 * time.Millisecond)
}

func TestSessionsSlide(t *testing.T) {
	env := testenv.New(t, testenv.Options{Configure: func(c *config.Config) { c.Session.TTL = time.Hour }})
	m := env.App.Redis.Embedded()
	if m == nil {
		t.Skip("needs the embedded Redis to move time forward")
	}
	_, a := login(t, env, "ok:fay")
	m.FastForward(50 * time.Minute)
	// The server's clock has not moved, so make the touch throttle pass by
	// using the session after a real minute would be too slow: rewrite last-seen.
	key := sessionKey(env, a.Token)
	m.HSet(key, "seen", fmt.Sprint(time.Now().Add(-2*time.Minute).Unix()))
	if r := env.Do("GET", "/api/v1/me", a.Token, nil); r.Status != 200 {
		t.Fatalf("in use after 50 minutes: %d", r.Status)
	}
	m.FastForward(50 * time.Minute) // 100 minutes since login, 50 since last use
	if r := env.Do("GET", "/api/v1/me", a.Token, nil); r.Status != 200 {
		t.Fatalf("a session used 50 minutes ago expired: %d", r.Status)
	}
	m.FastForward(61 * time.Minute)
	if r := env.Do("GET", "/api/v1/me", a.Token, nil); r.Status != 401 {
		t.Fatalf("a session idle for over its TTL still works: %d", r.Status)
	}
}

func sessionKey(env *testenv.Env, token string) string {
	sum := sha256.Sum256([]byte(token))
	return env.App.Config.Redis.KeyPrefix + "sess:" + hex.EncodeToString(sum[:])
}

func TestRedisDownIsA503AndRecovers(t *testing.T) {
	// A short Redis timeout, so that the answer with Redis down comes soon.
	env := testenv.New(t, testenv.Options{Configure: func(c *config.Config) { c.Redis.Timeout = 200 * time.Millisecond }})
	m := env.App.Redis.Embedded()
	if m == nil {
		t.Skip("needs the embedded Redis to stop and restart it")
	}
	_, a := login(t, env, "ok:gus")
	m.Close()
	r := env.Do("GET", "/api/v1/me", a.Token, nil)
	if r.Status != 503 || r.ErrorCode() != "unavailable" || r.Header.Get("Retry-After") == "" {
		t.Errorf("with Redis down GET /me = %d %s", r.Status, r.Body)
	}
	if r := env.Do("GET", "/readyz", "", nil); r.Status != 503 {
		t.Errorf("/readyz with Redis down = %d", r.Status)
	}
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := env.Do("GET", "/api/v1/me", a.Token, nil)
		if r.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d after Redis came back", r.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestConcurrentFirstLoginsMakeOneUser(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	var wg sync.WaitGroup
	ids := make([]int64, 20)
	for i := range ids {
		wg.Go(func() {
			r, a := login(t, env, "ok:hana")
			if r.Status != 200 {
				t.Errorf("login %d = %d %s", i, r.Status, r.Body)
			}
			ids[i] = a.User.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent logins made users %v", ids)
		}
	}
	var n int64
	if err := env.App.DB.Table("users").Where("open_id = ?", "o-hana").Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d user rows for one openid", n)
	}
}

func TestMockLoginAndRecordedMessages(t *testing.T) {
	env := testenv.New(t, testenv.Options{Mock: true})
	tok := env.Login("ivy")
	if r := env.Do("POST", "/api/v1/me/phone", tok, map[string]string{"code": "mock:13600136000"}); r.Status != 200 || !bytes.Contains(r.Body, []byte("136****6000")) {
		t.Fatalf("mock phone = %d %s", r.Status, r.Body)
	}
	if r, _ := login(t, env, "ok:ivy"); r.Status != 401 {
		t.Errorf("the mock accepted a non-mock code: %d", r.Status)
	}
	if err := env.App.Mock.SendSubscribe(context.Background(), mockMessage()); err != nil {
		t.Fatal(err)
	}
	r := env.Do("GET", "/api/v1/dev/wechat/messages?limit=10", tok, nil)
	if r.Status != 200 || !bytes.Contains(r.Body, []byte(`"template_id":"tmpl-task"`)) {
		t.Errorf("dev messages = %d %s", r.Status, r.Body)
	}
	if r := env.Do("GET", "/api/v1/dev/wechat/messages?limit=0", tok, nil); r.Status != 400 {
		t.Errorf("limit=0 = %d", r.Status)
	}
}

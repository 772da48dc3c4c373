// Package wechattest runs a fake WeChat API server for tests, so the real
// wechat.API (and the silenceper library under it) can be exercised without
// the internet.
//
// The scenario is chosen by the input:
//
//   - msgSecCheck: openid "inactive" (or "o-inactive") → 61010 until
//     Activate; "busy",
//     "5xx", "slow" and decimal errcodes as for login; otherwise a text
//     containing RiskyText is risky (label 20006), any other passes. Only
//     version 2 requests with an openid and a scene of 1-4 are answered.
//   - mediaCheckAsync: the same openid scenarios; otherwise a new trace id,
//     and the request is recorded (MediaChecks) for the test to push a
//     verdict as WeChat would.
//   - login js_code "ok:<name>" → openid "o-<name>", unionid "", a random
//     session_key; "busy" → errcode -1; "5xx" → HTTP 502 with an HTML body;
//     "slow" → answers after 3 s; a decimal number such as "40029", "40163"
//     or "45011" → that errcode.
//   - phone code "phone:<digits>" → that number; "expire-once:<digits>" →
//     errcode 40001 the first time the code is seen (the fake revokes the
//     token used), then the number; "busy", "5xx", "slow" and decimal
//     numbers as for login.
//   - subscribe touser "refused" → 43101; "bad-template" → 47003; "busy" →
//     -1; "5xx", "slow"; "expire-once:<x>" as for phone; anything else is
//     delivered and recorded (Sent).
//   - subscribe touser "<scenario>:<x>", or "o-<scenario>:<x>" (the openid of
//     a user who logged in with "ok:<scenario>:<x>"), for these scenarios:
//     "refused" → 43101; "bad-template" → 47003; "slow" → answers after 3 s;
//     "expire-once" → 40001 the first time, as above; "quota-once" → 45011
//     the first time, then delivered; "busy-twice" → -1 the first two times,
//     then delivered. Each distinct touser counts on its own.
//     SendAttempts counts every subscribe-send request, answered or not.
//
// The token endpoint issues a fresh token on every fetch and counts fetches;
// it checks AppID and AppSecret (40013, 40125). Calls that need a token
// reject tokens it did not issue or has revoked with 40001.
//
// SetLatency makes every answer wait, as the real WeChat does (about 100 ms
// from a server in China), and MaxInFlight tells how many subscribe-send
// requests the fake held at once at most: how many sends a pusher really
// keeps in flight.
package wechattest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"xianfeng/server/internal/wechat"
)

const (
	// AppID is the only appid the fake accepts.
	AppID = "wx0000000000fake01"
	// AppSecret is the only app secret the fake accepts.
	AppSecret = "fake-app-secret-5b7e2c9d41"
	// Host is the WeChat API host the Transport redirects to the fake.
	Host = "api.weixin.qq.com"
	// SlowDelay is how long the "slow" scenario waits before answering.
	SlowDelay = 3 * time.Second
)

// Server is a running fake WeChat. Its methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu           sync.Mutex
	tokenFetches int
	tokens       map[string]bool // issued token → still valid
	issued       []string
	seen         map[string]bool // expire-once inputs already answered with 40001
	failed       map[string]int  // quota-once and busy-twice inputs: failures answered so far
	sent         []wechat.SubscribeMessage
	mediaChecks  []MediaCheck
	active       map[string]bool // "inactive" openids made active again
	sendAttempts int

	latency, jitter atomic.Int64 // nanoseconds
	inFlight        atomic.Int64 // subscribe-send requests being answered
	maxInFlight     atomic.Int64
	// sleep waits d before r is answered and reports whether to answer (not
	// if the client went away); tests replace it.
	sleep func(r *http.Request, d time.Duration) bool
}

// sendPath is the subscribe-send endpoint, whose requests in flight are
// counted.
const sendPath = "/cgi-bin/message/subscribe/send"

// NewServer starts a fake WeChat that is closed when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := Start()
	t.Cleanup(s.Close)
	return s
}

// Start starts a fake WeChat outside a test (server/cmd/pushbench); the
// caller closes it.
func Start() *Server {
	s := &Server{tokens: map[string]bool{}, seen: map[string]bool{}, failed: map[string]int{}, sleep: sleepCtx}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cgi-bin/token", s.token)
	mux.HandleFunc("GET /sns/jscode2session", s.code2Session)
	mux.HandleFunc("POST /wxa/business/getuserphonenumber", s.phoneNumber)
	mux.HandleFunc("POST "+sendPath, s.subscribeSend)
	mux.HandleFunc("POST /wxa/msg_sec_check", s.msgSecCheck)
	mux.HandleFunc("POST /wxa/media_check_async", s.mediaCheckAsync)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == sendPath {
			n := s.inFlight.Add(1)
			defer s.inFlight.Add(-1)
			for {
				m := s.maxInFlight.Load()
				if n <= m || s.maxInFlight.CompareAndSwap(m, n) {
					break
				}
			}
		}
		if d := s.delay(); d > 0 && !s.sleep(r, d) {
			return
		}
		mux.ServeHTTP(w, r)
	}))
	return s
}

// Close stops the fake and waits for the requests it is answering.
func (s *Server) Close() { s.srv.Close() }

// SetLatency makes every later answer wait latency, give or take up to
// jitter (uniformly; never less than zero). Zero for both, the default,
// answers at once.
func (s *Server) SetLatency(latency, jitter time.Duration) {
	s.latency.Store(int64(max(latency, 0)))
	s.jitter.Store(int64(max(jitter, 0)))
}

// delay is how long the next answer waits.
func (s *Server) delay() time.Duration {
	l, j := s.latency.Load(), s.jitter.Load()
	if j > 0 {
		l += int64((2*mrand.Float64() - 1) * float64(j))
	}
	return time.Duration(max(l, 0))
}

// MaxInFlight is the largest number of subscribe-send requests the fake was
// answering at once since it started or since ResetMaxInFlight.
func (s *Server) MaxInFlight() int { return int(s.maxInFlight.Load()) }

// ResetMaxInFlight starts a new peak from the requests in flight now.
func (s *Server) ResetMaxInFlight() { s.maxInFlight.Store(s.inFlight.Load()) }

func sleepCtx(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// URL is the fake's base URL.
func (s *Server) URL() string { return s.srv.URL }

// Transport sends requests for https://api.weixin.qq.com/... to the fake and
// refuses every other host.
func (s *Server) Transport() http.RoundTripper {
	return s.TransportOver(s.srv.Client().Transport)
}

// TransportOver is Transport over base, the caller's own connections to the
// fake (server/cmd/pushbench's -wx-idle pool).
func (s *Server) TransportOver(base http.RoundTripper) http.RoundTripper {
	target, _ := url.Parse(s.srv.URL)
	return &rewriteTransport{target: target, base: base}
}

// Config is a wechat.Config for the fake's app with the given timeout.
func (s *Server) Config(timeout time.Duration) wechat.Config {
	return wechat.Config{AppID: AppID, AppSecret: AppSecret, Timeout: timeout, Transport: s.Transport()}
}

// TokenFetches is how many times /cgi-bin/token was called.
func (s *Server) TokenFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenFetches
}

// IssuedTokens returns every access token issued so far.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// ExpireTokens revokes every token issued so far, as if they had expired.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok := range s.tokens {
		s.tokens[tok] = false
	}
}

// Sent returns the subscribe messages delivered so far, oldest first.
func (s *Server) Sent() []wechat.SubscribeMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]wechat.SubscribeMessage(nil), s.sent...)
}

// SendAttempts is how many subscribe-send requests the fake has seen,
// whatever it answered.
func (s *Server) SendAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sendAttempts
}

type rewriteTransport struct {
	target *url.URL
	base   http.RoundTripper
}

func (rt *rewriteTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != Host {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, fmt.Errorf("wechattest: refusing request to %s, only %s is faked", req.URL.Host, Host)
	}
	r := req.Clone(req.Context())
	r.URL.Scheme = rt.target.Scheme
	r.URL.Host = rt.target.Host
	r.Host = ""
	return rt.base.RoundTrip(r)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.tokenFetches++
	s.mu.Unlock()
	switch {
	case q.Get("grant_type") != "client_credential":
		writeErr(w, 40002, "invalid grant_type")
	case q.Get("appid") != AppID:
		writeErr(w, 40013, "invalid appid")
	case q.Get("secret") != AppSecret:
		writeErr(w, 40125, "invalid appsecret")
	default:
		tok := "fake-token-" + randomHex(12)
		s.mu.Lock()
		s.tokens[tok] = true
		s.issued = append(s.issued, tok)
		s.mu.Unlock()
		writeJSON(w, map[string]any{"access_token": tok, "expires_in": 7200})
	}
}

func (s *Server) code2Session(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Get("appid") != AppID:
		writeErr(w, 40013, "invalid appid")
		return
	case q.Get("secret") != AppSecret:
		writeErr(w, 40125, "invalid appsecret")
		return
	case q.Get("grant_type") != "authorization_code":
		writeErr(w, 40002, "invalid grant_type")
		return
	}
	code := q.Get("js_code")
	if s.common(w, r, code) {
		return
	}
	name, ok := strings.CutPrefix(code, "ok:")
	if !ok || name == "" {
		writeErr(w, 40029, "invalid code")
		return
	}
	writeJSON(w, map[string]any{"openid": "o-" + name, "session_key": randomHex(12)})
}

// sendRefusal is the errcode and errmsg WeChat refuses a subscribe message
// to openid with template with, as the scenario openids ask; 0 to send it.
func sendRefusal(openid, template string) (int, string) {
	switch {
	case openid == "":
		return 40003, "invalid openid"
	case template == "":
		return 40037, "invalid template_id"
	case openid == "refused":
		return 43101, "user refuse to accept the msg"
	case openid == "bad-template":
		return 47003, "argument invalid! data.thing1.value invalid"
	}
	return 0, ""
}

// accept checks the access token of a call, reads its JSON body into body
// and plays the scenarios every call shares (common, expire-once) for the
// code or openid key reads from the body. It reports whether the call goes
// on; if not, the answer is written.
func (s *Server) accept(w http.ResponseWriter, r *http.Request, body any, key func() string) bool {
	if !s.checkToken(w, r) {
		return false
	}
	if err := json.NewDecoder(r.Body).Decode(body); err != nil {
		writeErr(w, 47001, "data format error")
		return false
	}
	k := key()
	return !s.common(w, r, k) && !s.expireOnce(w, r, k)
}

func (s *Server) phoneNumber(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Code string `json:"code"`
	}
	if !s.accept(w, r, &body, func() string { return body.Code }) {
		return
	}
	digits, ok := strings.CutPrefix(body.Code, "phone:")
	if !ok {
		digits, ok = strings.CutPrefix(body.Code, "expire-once:")
	}
	if !ok || digits == "" {
		writeErr(w, 40029, "invalid code")
		return
	}
	writeJSON(w, map[string]any{
		"errcode": 0, "errmsg": "ok",
		"phone_info": map[string]any{
			"phoneNumber": digits, "purePhoneNumber": digits, "countryCode": "86",
			"watermark": map[string]any{"timestamp": time.Now().Unix(), "appid": AppID},
		},
	})
}

func (s *Server) subscribeSend(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.sendAttempts++
	s.mu.Unlock()
	var body struct {
		ToUser     string `json:"touser"`
		TemplateID string `json:"template_id"`
		Page       string `json:"page"`
		Data       map[string]struct {
			Value any `json:"value"`
		} `json:"data"`
		State string `json:"miniprogram_state"`
	}
	if !s.accept(w, r, &body, func() string { return body.ToUser }) {
		return
	}
	if code, msg := sendRefusal(body.ToUser, body.TemplateID); code != 0 {
		writeErr(w, code, msg)
		return
	}
	if s.subscribeScenario(w, r, body.ToUser) {
		return
	}
	msg := wechat.SubscribeMessage{
		ToOpenID: body.ToUser, TemplateID: body.TemplateID, Page: body.Page,
		Data: make(map[string]string, len(body.Data)), State: body.State,
	}
	for k, v := range body.Data {
		msg.Data[k] = fmt.Sprint(v.Value)
	}
	s.mu.Lock()
	s.sent = append(s.sent, msg)
	s.mu.Unlock()
	writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "msgid": time.Now().UnixNano()})
}

// subscribeScenario answers the "<scenario>:<x>" subscribe scenarios, with
// or without the "o-" of a fake login's openid, and reports whether it did.
func (s *Server) subscribeScenario(w http.ResponseWriter, r *http.Request, touser string) bool {
	input := strings.TrimPrefix(touser, "o-")
	name, _, ok := strings.Cut(input, ":")
	if !ok {
		return false
	}
	failFirst := func(times, code int, msg string) bool {
		s.mu.Lock()
		fail := s.failed[touser] < times
		if fail {
			s.failed[touser]++
		}
		s.mu.Unlock()
		if fail {
			writeErr(w, code, msg)
		}
		return fail
	}
	switch name {
	case "refused":
		writeErr(w, 43101, "user refuse to accept the msg")
		return true
	case "bad-template":
		writeErr(w, 47003, "argument invalid! data.thing1.value invalid")
		return true
	case "slow":
		return s.common(w, r, "slow")
	case "expire-once":
		return s.expireOnce(w, r, input)
	case "quota-once":
		return failFirst(1, 45011, "api minute-quota reach limit mustslower retry next minute")
	case "busy-twice":
		return failFirst(2, -1, "system error")
	}
	return false
}

// common answers the scenarios every endpoint shares and reports whether it
// did: "busy", "5xx", "slow" and decimal errcodes.
func (s *Server) common(w http.ResponseWriter, r *http.Request, input string) bool {
	switch input {
	case "busy":
		writeErr(w, -1, "system error")
		return true
	case "5xx":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
		return true
	case "slow":
		select {
		case <-time.After(SlowDelay):
			writeErr(w, -1, "system error")
		case <-r.Context().Done():
		}
		return true
	}
	if code, err := strconv.Atoi(input); err == nil && code != 0 {
		writeErr(w, code, "fake errcode "+input)
		return true
	}
	return false
}

// expireOnce answers 40001 the first time an "expire-once:" input is seen,
// revoking the token that was used, and reports whether it did.
func (s *Server) expireOnce(w http.ResponseWriter, r *http.Request, input string) bool {
	if !strings.HasPrefix(input, "expire-once:") {
		return false
	}
	s.mu.Lock()
	first := !s.seen[input]
	s.seen[input] = true
	if first {
		s.tokens[r.URL.Query().Get("access_token")] = false
	}
	s.mu.Unlock()
	if first {
		writeErr(w, 40001, "invalid credential, access_token is invalid or not latest")
	}
	return first
}

// checkToken answers 41001/40001 unless the request carries a valid token.
func (s *Server) checkToken(w http.ResponseWriter, r *http.Request) bool {
	tok := r.URL.Query().Get("access_token")
	if tok == "" {
		writeErr(w, 41001, "access_token missing")
		return false
	}
	s.mu.Lock()
	valid := s.tokens[tok]
	s.mu.Unlock()
	if !valid {
		writeErr(w, 40001, "invalid credential, access_token is invalid or not latest")
		return false
	}
	return true
}

func writeErr(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, map[string]any{"errcode": code, "errmsg": msg + " rid: " + randomHex(6)})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RiskyText makes the fake's msgSecCheck call a text risky.
const RiskyText = "违规测试"

// MediaCheck is a mediaCheckAsync request the fake accepted.
type MediaCheck struct {
	TraceID, OpenID, MediaURL string
	MediaType, Scene          int
}

// MediaChecks returns the mediaCheckAsync requests accepted so far.
func (s *Server) MediaChecks() []MediaCheck {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]MediaCheck(nil), s.mediaChecks...)
}

// Activate makes the "inactive" openid active again, as if the user had
// just opened the mini-program: its content is checked from now on.
func (s *Server) Activate(openid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active == nil {
		s.active = map[string]bool{}
	}
	s.active[openid] = true
}

func (s *Server) isActive(openid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active[openid]
}

// securityRefusal answers the openid scenarios of the content security
// calls and reports whether it did.
func (s *Server) securityRefusal(w http.ResponseWriter, version, scene int, openid string) bool {
	switch {
	case version != 2 || openid == "" || scene < 1 || scene > 4:
		writeErr(w, 47001, "data format error")
		return true
	case strings.TrimPrefix(openid, "o-") == "inactive" && !s.isActive(openid):
		writeErr(w, 61010, "user is not active in the last two hours")
		return true
	}
	return false
}

// securityCall is what the two content security calls (a text's and a
// picture's) carry besides the content: the member, the scene and the
// version of the API.
type securityCall struct {
	OpenID  string `json:"openid"`
	Scene   int    `json:"scene"`
	Version int    `json:"version"`
}

// acceptSecurity reads the body of a content security call, which embeds
// call, and answers the scenarios of its openid (see securityRefusal); it
// reports whether the call goes on.
func (s *Server) acceptSecurity(w http.ResponseWriter, r *http.Request, body any, call *securityCall) bool {
	return s.accept(w, r, body, func() string { return strings.TrimPrefix(call.OpenID, "o-") }) &&
		!s.securityRefusal(w, call.Version, call.Scene, call.OpenID)
}

func (s *Server) msgSecCheck(w http.ResponseWriter, r *http.Request) {
	var body struct {
		securityCall
		Content string `json:"content"`
	}
	if !s.acceptSecurity(w, r, &body, &body.securityCall) {
		return
	}
	suggest, label := "pass", 100
	if strings.Contains(body.Content, RiskyText) {
		suggest, label = "risky", 20006
	}
	writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "trace_id": "trace-" + randomHex(8),
		"result": map[string]any{"suggest": suggest, "label": label}})
}

func (s *Server) mediaCheckAsync(w http.ResponseWriter, r *http.Request) {
	var body struct {
		securityCall
		MediaURL  string `json:"media_url"`
		MediaType int    `json:"media_type"`
	}
	if !s.acceptSecurity(w, r, &body, &body.securityCall) {
		return
	}
	if body.MediaType != 2 || body.MediaURL == "" {
		writeErr(w, 47001, "data format error")
		return
	}
	trace := "trace-" + randomHex(8)
	s.mu.Lock()
	s.mediaChecks = append(s.mediaChecks, MediaCheck{TraceID: trace, OpenID: body.OpenID, MediaURL: body.MediaURL,
		MediaType: body.MediaType, Scene: body.Scene})
	s.mu.Unlock()
	writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "trace_id": trace})
}

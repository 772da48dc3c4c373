package wechat

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	// MockRiskyText makes the mock's msgSecCheck call a text risky.
	MockRiskyText = "违规测试"
	// MockInactiveOpenID is the openid (login code "mock:inactive") the
	// mock refuses to check for, as WeChat does for a user who has not
	// opened the mini-program lately (61010).
	MockInactiveOpenID = "mock-inactive"
	// MockRiskyImageOpenID starts the openids (login code "mock:risky…")
	// whose images the mock finds risky.
	MockRiskyImageOpenID = "mock-risky"
	// MockAppID is the appid in the mock's pushes.
	MockAppID = "wxmock"
)

// MockSecurity is the development content security: texts containing
// MockRiskyText are risky, and image verdicts are pushed to the callback
// URL, signed with the callback token, as WeChat pushes them, so that the
// whole flow runs offline.
type MockSecurity struct {
	callback string
	token    string
	delay    time.Duration
	client   *http.Client
	log      *slog.Logger
}

var _ Security = (*MockSecurity)(nil)

// NewMockSecurity returns the mock pushing image verdicts to callbackURL
// (the server's own POST /api/v1/wechat/callback), signed with token,
// delay after each check starts. log receives failed pushes.
func NewMockSecurity(callbackURL, token string, delay time.Duration, log *slog.Logger) *MockSecurity {
	return &MockSecurity{callback: callbackURL, token: token, delay: delay, client: &http.Client{Timeout: 5 * time.Second}, log: log}
}

func mockTrace() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "mock-" + hex.EncodeToString(b)
}

// MsgSecCheck finds a text risky when it contains MockRiskyText.
func (m *MockSecurity) MsgSecCheck(_ context.Context, openid string, _ int, content string) (Verdict, error) {
	if openid == MockInactiveOpenID {
		return Verdict{}, &Error{Kind: ErrUserInactive, Code: 61010, Message: "mock msgSecCheck: user not active lately"}
	}
	if strings.Contains(content, MockRiskyText) {
		return Verdict{Suggest: SuggestRisky, Label: 20006, TraceID: mockTrace()}, nil
	}
	return Verdict{Suggest: SuggestPass, Label: 100, TraceID: mockTrace()}, nil
}

// MediaCheckAsync answers a trace id and pushes the verdict to the
// callback after the delay: risky for the openids starting with
// MockRiskyImageOpenID, pass for the rest. A push that fails is tried
// twice more, as WeChat does.
func (m *MockSecurity) MediaCheckAsync(_ context.Context, openid string, _ int, _ string) (string, error) {
	if openid == MockInactiveOpenID {
		return "", &Error{Kind: ErrUserInactive, Code: 61010, Message: "mock mediaCheckAsync: user not active lately"}
	}
	trace := mockTrace()
	v := Verdict{Suggest: SuggestPass, Label: 100, TraceID: trace}
	if strings.HasPrefix(openid, MockRiskyImageOpenID) {
		v = Verdict{Suggest: SuggestRisky, Label: 20002, TraceID: trace}
	}
	go m.push(trace, v)
	return trace, nil
}

func (m *MockSecurity) push(trace string, v Verdict) {
	for attempt := 0; attempt < 3; attempt++ {
		time.Sleep(m.delay)
		now := time.Now().Unix()
		ts, nonce := strconv.FormatInt(now, 10), mockTrace()
		q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {Signature(m.token, ts, nonce)}}
		res, err := m.client.Post(m.callback+"?"+q.Encode(), "application/json", bytes.NewReader(MediaCheckPush(MockAppID, trace, v, now)))
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		m.log.Warn("wechat mock: pushing an image verdict failed", "trace_id", trace, "attempt", attempt+1, "err", err)
	}
}

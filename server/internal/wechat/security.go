package wechat

import (
	"context"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/silenceper/wechat/v2/miniprogram/security"
)

// Scenes of WeChat's content security checks (msgSecCheck and
// mediaCheckAsync v2): what kind of place the text or image appears in.
const (
	SceneProfile = 1 // 资料: names of people and organisations
	SceneComment = 2 // 评论
	SceneForum   = 3 // 论坛: reports, deeds, announcements, tasks, forms
	SceneSocial  = 4 // 社交日志
)

// Suggestions in a content-security verdict.
const (
	SuggestPass   = "pass"
	SuggestReview = "review"
	SuggestRisky  = "risky"
)

// Verdict is WeChat's verdict on a text or an image.
type Verdict struct {
	// Suggest is SuggestPass, SuggestReview or SuggestRisky.
	Suggest string
	// Label is WeChat's label of what was found (100 normal, 20002
	// pornography, ...).
	Label int
	// TraceID identifies the check at WeChat.
	TraceID string
}

// Risky reports whether the content must not be shown to others: WeChat
// says risky. "review" (a human might disagree) is shown.
func (v Verdict) Risky() bool { return v.Suggest == SuggestRisky }

// Security is WeChat's content security service (内容安全). Any caller may
// use it concurrently; its errors are those of Client.
type Security interface {
	// MsgSecCheck checks a text written by the user with openid (msgSecCheck
	// v2). A user who has not opened the mini-program in the last two hours
	// is ErrUserInactive (61010): WeChat will not check for them.
	MsgSecCheck(ctx context.Context, openid string, scene int, content string) (Verdict, error)
	// MediaCheckAsync asks WeChat to fetch the image at mediaURL and check
	// it (mediaCheckAsync v2); the verdict arrives later through the message
	// push (ParseMediaCheck) under the trace id returned.
	MediaCheckAsync(ctx context.Context, openid string, scene int, mediaURL string) (traceID string, err error)
}

var _ Security = (*API)(nil)

// MsgSecCheck checks a text with msgSecCheck v2.
func (a *API) MsgSecCheck(ctx context.Context, openid string, scene int, content string) (Verdict, error) {
	var v Verdict
	err := a.withToken(ctx, "msgSecCheck", func() error {
		res, err := a.security.MsgCheckContext(ctx, &security.MsgCheckRequest{OpenID: openid, Scene: security.MsgScene(scene), Content: content})
		if err != nil {
			return err
		}
		v = Verdict{Suggest: string(res.Result.Suggest), Label: int(res.Result.Label), TraceID: res.TraceID}
		return nil
	})
	if err != nil {
		return Verdict{}, err
	}
	if v.Suggest == "" {
		return Verdict{}, a.fail(ctx, "msgSecCheck", &Error{Kind: ErrUnavailable, Message: "answer without result.suggest"})
	}
	return v, nil
}

// MediaCheckAsync starts an image check with mediaCheckAsync v2.
func (a *API) MediaCheckAsync(ctx context.Context, openid string, scene int, mediaURL string) (string, error) {
	var trace string
	err := a.withToken(ctx, "mediaCheckAsync", func() error {
		var err error
		trace, err = a.security.MediaCheckAsyncContext(ctx, &security.MediaCheckAsyncRequest{
			MediaURL: mediaURL, MediaType: 2, OpenID: openid, Scene: uint8(scene)})
		return err
	})
	if err != nil {
		return "", err
	}
	if trace == "" {
		return "", a.fail(ctx, "mediaCheckAsync", &Error{Kind: ErrUnavailable, Message: "answer without trace_id"})
	}
	return trace, nil
}

// Signature is the signature of WeChat's message push: the hex SHA-1 of
// the token, the timestamp and the nonce sorted and joined.
func Signature(token, timestamp, nonce string) string {
	parts := []string{token, timestamp, nonce}
	sort.Strings(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

// VerifySignature reports whether signature is the message push's
// signature of timestamp and nonce with token. An empty token verifies
// nothing.
func VerifySignature(token, timestamp, nonce, signature string) bool {
	if token == "" || signature == "" {
		return false
	}
	want := Signature(token, timestamp, nonce)
	return subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(signature))) == 1
}

// EventMediaCheck is the message push event of a mediaCheckAsync verdict.
const EventMediaCheck = "wxa_media_check"

// MediaCheck is a mediaCheckAsync verdict as the message push delivers it.
type MediaCheck struct {
	TraceID string
	Verdict Verdict
}

// mediaCheckPush is the JSON body of the push (data format JSON, plain
// text mode).
type mediaCheckPush struct {
	MsgType string `json:"MsgType"`
	Event   string `json:"Event"`
	TraceID string `json:"trace_id"`
	ErrCode int    `json:"errcode"`
	Result  struct {
		Suggest string `json:"suggest"`
		Label   int    `json:"label"`
	} `json:"result"`
}

// ErrNotMediaCheck is ParseMediaCheck's answer to a push of another event,
// which the callback acknowledges and ignores.
var ErrNotMediaCheck = fmt.Errorf("wechat: not a %s push", EventMediaCheck)

// ParseMediaCheck reads a message push body (JSON) carrying a
// mediaCheckAsync verdict. Another event is ErrNotMediaCheck; a malformed
// body, or a verdict without trace id or suggestion, is another error.
func ParseMediaCheck(body []byte) (MediaCheck, error) {
	var p mediaCheckPush
	if err := json.Unmarshal(body, &p); err != nil {
		return MediaCheck{}, fmt.Errorf("wechat: message push: %w", err)
	}
	if p.Event != EventMediaCheck {
		return MediaCheck{}, ErrNotMediaCheck
	}
	if p.TraceID == "" || len(p.TraceID) > 128 {
		return MediaCheck{}, fmt.Errorf("wechat: media check push without a usable trace_id")
	}
	switch p.Result.Suggest {
	case SuggestPass, SuggestReview, SuggestRisky:
	default:
		return MediaCheck{}, fmt.Errorf("wechat: media check push with suggest %q", p.Result.Suggest)
	}
	return MediaCheck{TraceID: p.TraceID, Verdict: Verdict{Suggest: p.Result.Suggest, Label: p.Result.Label, TraceID: p.TraceID}}, nil
}

// MediaCheckPush is the body WeChat pushes for a mediaCheckAsync verdict,
// for the mock and tests that play WeChat.
func MediaCheckPush(appID, traceID string, v Verdict, createTime int64) []byte {
	b, _ := json.Marshal(map[string]any{
		"ToUserName": "gh_mock", "FromUserName": "wechat", "CreateTime": createTime, "MsgType": "event",
		"Event": EventMediaCheck, "appid": appID, "trace_id": traceID, "version": 2, "errcode": 0, "errmsg": "ok",
		"result": map[string]any{"suggest": v.Suggest, "label": v.Label},
	})
	return b
}

package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/silenceper/wechat/v2/util"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			name: "the app secret and login code in a code2session URL are masked",
			in:   `Get "https://api.weixin.qq.com/sns/jscode2session?appid=wx1&secret=s3cr3t&js_code=abc&grant_type=authorization_code": context deadline exceeded`,
			want: `Get "https://api.weixin.qq.com/sns/jscode2session?appid=wx1&secret=***&js_code=***&grant_type=authorization_code": context deadline exceeded`,
		},
		{
			name: "an access token first in the query is masked",
			in:   "http post error : uri=https://api.weixin.qq.com/wxa/business/getuserphonenumber?access_token=TOKEN123 , statusCode=502",
			want: "http post error : uri=https://api.weixin.qq.com/wxa/business/getuserphonenumber?access_token=*** , statusCode=502",
		},
		{
			name: "appsecret and code parameters are masked",
			in:   "https://x/y?appsecret=AAA&code=BBB&keep=1",
			want: "https://x/y?appsecret=***&code=***&keep=1",
		},
		{
			name: "JSON fields carrying secrets are masked",
			in:   `{"access_token":"TOK","session_key":"SK","openid":"o1"}`,
			want: `{"access_token":"***","session_key":"***","openid":"o1"}`,
		},
		{
			name: "errcode and errmsg are left alone",
			in:   "Code2Session error : errcode=40029 , errmsg=invalid code",
			want: "Code2Session error : errcode=40029 , errmsg=invalid code",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redact(tt.in); got != tt.want {
				t.Errorf("redact(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	var syntaxErr *json.SyntaxError
	jsonErr := json.Unmarshal([]byte("<html>"), &struct{}{})
	if !errors.As(jsonErr, &syntaxErr) {
		t.Fatalf("want a *json.SyntaxError, got %T", jsonErr)
	}
	tests := []struct {
		name     string
		err      error
		wantKind error
		wantCode int
	}{
		{"a CommonError 40029 is an invalid code", util.NewCommonError("phone", 40029, "invalid code"), ErrCodeInvalid, 40029},
		{"a string errcode 40163 is an invalid code", fmt.Errorf("Code2Session error : errcode=40163 , errmsg=code been used"), ErrCodeInvalid, 40163},
		{"errcode -1 is busy", fmt.Errorf("Code2Session error : errcode=-1 , errmsg=system error"), ErrBusy, -1},
		{"errcode 45011 is quota", util.NewCommonError("x", 45011, "api minute-quota reach limit"), ErrQuota, 45011},
		{"errcode 45009 is quota", util.NewCommonError("x", 45009, "reach max api daily quota limit"), ErrQuota, 45009},
		{"errcode 43101 is a refused consent", util.NewCommonError("Send", 43101, "user refuse"), ErrConsentRefused, 43101},
		{"errcode 47003 is an invalid template", util.NewCommonError("Send", 47003, "argument invalid"), ErrTemplateInvalid, 47003},
		{"errcode 40037 is an invalid template", util.NewCommonError("Send", 40037, "invalid template_id"), ErrTemplateInvalid, 40037},
		{"errcode 40003 is an invalid openid", util.NewCommonError("Send", 40003, "invalid openid"), ErrTemplateInvalid, 40003},
		{"errcode 42001 is an invalid token", util.NewCommonError("x", 42001, "access_token expired"), ErrTokenInvalid, 42001},
		{"errcode 40014 is an invalid token", fmt.Errorf("errcode=40014 , errmsg=invalid access_token"), ErrTokenInvalid, 40014},
		{"an unlisted errcode is unknown", fmt.Errorf("get access_token error : errcode=40125 , errormsg=invalid appsecret"), ErrUnknown, 40125},
		{"a deadline is unavailable", fmt.Errorf("x: %w", context.DeadlineExceeded), ErrUnavailable, 0},
		{"a url.Error is unavailable", &url.Error{Op: "Get", URL: "https://api.weixin.qq.com", Err: errors.New("connection refused")}, ErrUnavailable, 0},
		{"HTTP 502 is unavailable", fmt.Errorf("http get error : uri=https://x , statusCode=502"), ErrUnavailable, 0},
		{"HTTP 404 is unknown", fmt.Errorf("http get error : uri=https://x , statusCode=404"), ErrUnknown, 0},
		{"an unparseable answer is unavailable", jsonErr, ErrUnavailable, 0},
		{"the library's wrapped JSON error is unavailable", fmt.Errorf("json Unmarshal Error, err=%v", jsonErr), ErrUnavailable, 0},
		{"a token cache failure is unavailable", fmt.Errorf("%w: set k: %w", errCache, errors.New("dial tcp: refused")), ErrUnavailable, 0},
		{"anything else is unknown", errors.New("something odd"), ErrUnknown, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, code := classify(tt.err)
			if kind != tt.wantKind || code != tt.wantCode {
				t.Errorf("classify(%v) = %v, %d; want %v, %d", tt.err, kind, code, tt.wantKind, tt.wantCode)
			}
		})
	}
}

func TestErrorWrapsItsKind(t *testing.T) {
	var err error = &Error{Kind: ErrQuota, Code: 45011, Message: "phone number: quota"}
	if !errors.Is(err, ErrQuota) {
		t.Errorf("errors.Is(%v, ErrQuota) = false", err)
	}
	for _, other := range []error{ErrCodeInvalid, ErrBusy, ErrUnavailable, ErrConsentRefused, ErrTemplateInvalid, ErrTokenInvalid, ErrUnknown} {
		if errors.Is(err, other) {
			t.Errorf("errors.Is(%v, %v) = true; an error wraps exactly one kind", err, other)
		}
	}
	if got := err.Error(); !strings.Contains(got, "45011") || !strings.Contains(got, "quota") {
		t.Errorf("Error() = %q, want the errcode and the message", got)
	}
}

package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/silenceper/wechat/v2/util"
)

// Error kinds. Every error a Client returns wraps exactly one of them.
var (
	// ErrCodeInvalid means the login or phone code is invalid, expired or
	// already used (errcode 40029, 40163): ask the user to try again.
	ErrCodeInvalid = errors.New("wechat: code invalid or already used")
	// ErrBusy means WeChat answered "system busy" (errcode -1): retry later.
	ErrBusy = errors.New("wechat: system busy")
	// ErrQuota means a call quota or frequency limit was hit (errcode 45009,
	// 45011): retry later, more slowly.
	ErrQuota = errors.New("wechat: quota or frequency limit reached")
	// ErrUnavailable means WeChat could not be reached or gave no usable
	// answer: network error, timeout, cancelled context, HTTP 5xx, an
	// unparseable body, or our token cache failing.
	ErrUnavailable = errors.New("wechat: unavailable")
	// ErrConsentRefused means the user has no subscribe grant for the
	// template (errcode 43101): do not retry until the user grants again.
	ErrConsentRefused = errors.New("wechat: user refused the subscribe message")
	// ErrTemplateInvalid means the template id, its data or the openid was
	// rejected (errcode 47003, 40037, 40003): retrying cannot fix it.
	ErrTemplateInvalid = errors.New("wechat: subscribe template, data or openid invalid")
	// ErrTokenInvalid means the access token was rejected (errcode 40001,
	// 42001, 40014) even after evicting it and retrying once.
	ErrTokenInvalid = errors.New("wechat: access token invalid")
	// ErrUserInactive means WeChat will not check content for a user who
	// has not opened the mini-program in the last two hours (errcode
	// 61010): check again later.
	ErrUserInactive = errors.New("wechat: user not active in the mini-program lately")
	// ErrUnknown is any other WeChat errcode or unexpected failure; *Error's
	// Code tells which.
	ErrUnknown = errors.New("wechat: unexpected error")
)

// Error is the error every Client method returns. Use errors.Is with the
// error kinds, or errors.As to read the WeChat errcode.
type Error struct {
	// Kind is one of the error kinds above.
	Kind error
	// Code is the WeChat errcode, 0 when there was none (network errors).
	Code int
	// Message describes the failure with secrets, tokens and codes masked.
	Message string
}

// Error returns the kind, the errcode and the redacted message.
func (e *Error) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("%v (errcode %d): %s", e.Kind, e.Code, e.Message)
	}
	return fmt.Sprintf("%v: %s", e.Kind, e.Message)
}

// Unwrap returns the error kind, so errors.Is(err, ErrQuota) works.
func (e *Error) Unwrap() error { return e.Kind }

// errCache marks failures of our Redis token cache, which the library
// passes through unchanged.
var errCache = errors.New("wechat token cache")

var (
	errcodePattern    = regexp.MustCompile(`errcode=\s*(-?\d+)`)
	statusCodePattern = regexp.MustCompile(`statusCode=\s*(\d{3})`)
)

// classify is the one place that maps what the silenceper library and the
// HTTP client under it return to our error kinds and the WeChat errcode.
// The library answers with *util.CommonError, with fmt.Errorf strings that
// contain "errcode=N" (Code2Session, the token fetch), with "statusCode=N"
// strings for non-200 answers, with JSON errors, or with net/http errors.
func classify(err error) (kind error, code int) {
	var kerr *Error
	if errors.As(err, &kerr) {
		return kerr.Kind, kerr.Code
	}
	var cerr *util.CommonError
	if errors.As(err, &cerr) {
		return kindOfCode(int(cerr.ErrCode)), int(cerr.ErrCode)
	}
	var (
		nerr  net.Error
		uerr  *url.Error
		serr  *json.SyntaxError
		terr  *json.UnmarshalTypeError
		msg   = err.Error()
		match []string
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.As(err, &nerr), errors.As(err, &uerr),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.As(err, &serr), errors.As(err, &terr),
		errors.Is(err, errCache):
		return ErrUnavailable, 0
	}
	if match = errcodePattern.FindStringSubmatch(msg); match != nil {
		if n, perr := strconv.Atoi(match[1]); perr == nil && n != 0 {
			return kindOfCode(n), n
		}
	}
	if match = statusCodePattern.FindStringSubmatch(msg); match != nil {
		if n, _ := strconv.Atoi(match[1]); n >= 500 {
			return ErrUnavailable, 0
		}
		return ErrUnknown, 0
	}
	if strings.Contains(msg, "json Unmarshal Error") {
		return ErrUnavailable, 0
	}
	return ErrUnknown, 0
}

// kindOfCode maps a WeChat errcode to its error kind.
func kindOfCode(code int) error {
	switch code {
	case 40029, 40163:
		return ErrCodeInvalid
	case -1:
		return ErrBusy
	case 45009, 45011:
		return ErrQuota
	case 43101:
		return ErrConsentRefused
	case 47003, 40037, 40003:
		return ErrTemplateInvalid
	case 40001, 42001, 40014:
		return ErrTokenInvalid
	case 61010:
		return ErrUserInactive
	default:
		return ErrUnknown
	}
}

var (
	secretQueryPattern = regexp.MustCompile(`(?i)([?&](?:appsecret|secret|access_token|js_code|code)=)[^&\s"'#]*`)
	secretJSONPattern  = regexp.MustCompile(`(?i)("(?:appsecret|secret|access_token|session_key|js_code|code)"\s*:\s*")[^"]*`)
)

// redact masks the values of the query parameters appsecret, secret,
// access_token, js_code and code (and of the JSON fields of the same names
// and session_key) in s, as found in the library's and net/http's error
// texts, which quote the full request URL.
func redact(s string) string {
	s = secretQueryPattern.ReplaceAllString(s, "${1}***")
	return secretJSONPattern.ReplaceAllString(s, "${1}***")
}

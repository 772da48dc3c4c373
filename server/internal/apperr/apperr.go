// Package apperr defines the error kinds every domain package returns, so that
// one table in the HTTP layer can turn them into statuses and a stable code with
// a Chinese message a member can read.
package apperr

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error by what the caller can do about it.
type Kind int

// The kinds of error. Each maps to one HTTP status in package web.
const (
	KindInternal        Kind = iota // a bug or an unexpected failure: 500
	KindInvalid                     // malformed or out-of-range input: 400
	KindUnauthenticated             // no valid session: 401
	KindForbidden                   // valid session, not allowed: 403
	KindNotFound                    // no such thing in the caller's scope: 404
	KindConflict                    // clashes with the current state: 409
	KindTooLarge                    // request body over the limit: 413
	KindRule                        // breaks a business rule: 422
	KindRateLimited                 // too many requests: 429
	KindBadGateway                  // an upstream (WeChat) failed: 502
	KindUnavailable                 // a dependency is down or busy: 503
	KindUnsupported                 // a body of a type the operation does not take: 415
	KindGone                        // existed, but is used up or expired for good: 410
)

// Error is a domain error with a stable machine code and a message safe to
// show to the member. Err, when set, is the cause for logs; it never reaches
// the response.
type Error struct {
	Kind       Kind
	Code       string
	Message    string
	Fields     map[string]string
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is match two *Error values with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// New returns an error of the given kind, code and message.
func New(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// Wrap returns an error of the given kind, code and message caused by err.
func Wrap(err error, kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message, Err: err}
}

// Invalid returns an invalid_argument error naming the offending fields.
func Invalid(message string, fields map[string]string) *Error {
	return &Error{Kind: KindInvalid, Code: "invalid_argument", Message: message, Fields: fields}
}

// Unavailable returns the error for a dependency (database, Redis) that does
// not answer; cause is kept for the log.
func Unavailable(cause error) *Error {
	return &Error{Kind: KindUnavailable, Code: "unavailable", Message: "服务暂时不可用，请稍后重试", RetryAfter: 2 * time.Second, Err: cause}
}

// Common errors shared by several packages.
var (
	ErrUnauthenticated = New(KindUnauthenticated, "unauthenticated", "登录已失效，请重新登录")
	ErrForbidden       = New(KindForbidden, "forbidden", "没有权限执行此操作")
	ErrNotFound        = New(KindNotFound, "not_found", "未找到相关内容")
)

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// Annotate adds the operation's name to *errp, in the style of pkgsite's
// derrors.Wrap: call it as `defer apperr.Annotate(&err, "task.Cancel(%d)", id)`
// in a function with a named error result. A nil error and an *Error (which
// already says what the caller may know) are left as they are, so the
// error→status table and errors.Is keep working; anything else becomes
// "op: cause", still unwrappable.
func Annotate(errp *error, format string, args ...any) {
	if *errp == nil {
		return
	}
	if _, ok := (*errp).(*Error); ok {
		return
	}
	*errp = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), *errp)
}

package wechat

import "context"

// Session is what code2session returns for a login code.
//
// SessionKey is a credential: keep it on the server, never log it and never
// send it to the mini program.
type Session struct {
	OpenID     string
	UnionID    string
	SessionKey string
}

// SubscribeMessage is one subscribe message (订阅消息) to send to a user who
// has granted the template with wx.requestSubscribeMessage.
type SubscribeMessage struct {
	// ToOpenID is the receiving user's openid.
	ToOpenID string
	// TemplateID is the subscribe template chosen in the WeChat console.
	TemplateID string
	// Page is the mini-program page opened from the message card; "" opens none.
	Page string
	// Data maps template keys such as "thing1" to their values.
	Data map[string]string
	// State is the mini-program version the card opens: "developer", "trial"
	// or "formal"; "" means "formal".
	State string
}

// Client is the WeChat API the server uses. Any caller may use it
// concurrently.
//
// Every error returned wraps exactly one of the error kinds of this package
// (ErrCodeInvalid, ErrBusy, ErrQuota, ErrUnavailable, ErrConsentRefused,
// ErrTemplateInvalid, ErrTokenInvalid, ErrUnknown), test it with errors.Is;
// errors.As with *Error gives the WeChat errcode. Error texts are redacted and
// safe to log.
type Client interface {
	// Code2Session exchanges a wx.login code for the user's session. An
	// invalid or already used code is ErrCodeInvalid.
	Code2Session(ctx context.Context, code string) (Session, error)
	// PhoneNumber exchanges a getPhoneNumber code for the user's phone number
	// without country code, e.g. "13800138000". An invalid or used code is
	// ErrCodeInvalid.
	PhoneNumber(ctx context.Context, code string) (string, error)
	// SendSubscribe sends one subscribe message. A user who has no grant left
	// for the template is ErrConsentRefused; a wrong template, data or openid
	// is ErrTemplateInvalid.
	SendSubscribe(ctx context.Context, msg SubscribeMessage) error
}

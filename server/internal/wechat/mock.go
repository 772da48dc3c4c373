package wechat

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// MockCodePrefix starts every login and phone code the Mock accepts.
	MockCodePrefix = "mock:"
	// MockRefusedOpenID is the openid (login code "mock:refused") whose
	// subscribe messages the Mock refuses with ErrConsentRefused.
	MockRefusedOpenID = "mock-refused"
	// MockMessagesKept is how many recorded subscribe messages the Mock keeps.
	MockMessagesKept = 1000
)

var (
	mockNamePattern  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	mockPhonePattern = regexp.MustCompile(`^[0-9]{5,20}$`)
)

// Mock is the development Client: no AppID, no network. Login code
// "mock:<name>" is openid "mock-<name>", phone code "mock:<digits>" is that
// number, and subscribe messages are recorded in Redis instead of sent.
type Mock struct {
	rdb redis.UniversalClient
	key string
}

var _ Client = (*Mock)(nil)

// NewMock returns a Mock recording messages under keyPrefix+"dev:wechat:messages".
func NewMock(rdb redis.UniversalClient, keyPrefix string) *Mock {
	return &Mock{rdb: rdb, key: keyPrefix + "dev:wechat:messages"}
}

// RecordedMessage is a subscribe message the Mock recorded.
type RecordedMessage struct {
	ToOpenID   string            `json:"to_openid"`
	TemplateID string            `json:"template_id"`
	Page       string            `json:"page"`
	Data       map[string]string `json:"data"`
	SentAt     time.Time         `json:"sent_at"`
}

// Code2Session accepts "mock:<name>", name being 1-64 of [A-Za-z0-9_-], and
// returns openid "mock-<name>" with a random session key.
func (m *Mock) Code2Session(_ context.Context, code string) (Session, error) {
	name, ok := strings.CutPrefix(code, MockCodePrefix)
	if !ok || !mockNamePattern.MatchString(name) {
		return Session{}, &Error{Kind: ErrCodeInvalid, Code: 40029, Message: "mock code2session: want mock:<name>"}
	}
	var key [16]byte
	if _, err := rand.Read(key[:]); err != nil {
		return Session{}, &Error{Kind: ErrUnavailable, Message: "mock code2session: " + err.Error()}
	}
	return Session{OpenID: "mock-" + name, SessionKey: base64.StdEncoding.EncodeToString(key[:])}, nil
}

// PhoneNumber accepts "mock:<digits>", 5 to 20 digits, and returns the digits.
func (m *Mock) PhoneNumber(_ context.Context, code string) (string, error) {
	digits, ok := strings.CutPrefix(code, MockCodePrefix)
	if !ok || !mockPhonePattern.MatchString(digits) {
		return "", &Error{Kind: ErrCodeInvalid, Code: 40029, Message: "mock phone number: want mock:<5-20 digits>"}
	}
	return digits, nil
}

// SendSubscribe records msg, keeping the last MockMessagesKept; openid
// MockRefusedOpenID is refused with ErrConsentRefused.
func (m *Mock) SendSubscribe(ctx context.Context, msg SubscribeMessage) error {
	if msg.ToOpenID == MockRefusedOpenID {
		return &Error{Kind: ErrConsentRefused, Code: 43101, Message: "mock subscribe send: user refused"}
	}
	b, err := json.Marshal(RecordedMessage{
		ToOpenID:   msg.ToOpenID,
		TemplateID: msg.TemplateID,
		Page:       msg.Page,
		Data:       msg.Data,
		SentAt:     time.Now().UTC().Truncate(time.Second),
	})
	if err != nil {
		return &Error{Kind: ErrUnknown, Message: "mock subscribe send: " + err.Error()}
	}
	_, err = m.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.LPush(ctx, m.key, b)
		p.LTrim(ctx, m.key, 0, MockMessagesKept-1)
		return nil
	})
	if err != nil {
		return &Error{Kind: ErrUnavailable, Message: "mock subscribe send: " + err.Error()}
	}
	return nil
}

// Messages returns up to limit recorded messages, newest first; limit <= 0
// or above MockMessagesKept means all kept.
func (m *Mock) Messages(ctx context.Context, limit int) ([]RecordedMessage, error) {
	if limit <= 0 || limit > MockMessagesKept {
		limit = MockMessagesKept
	}
	raw, err := m.rdb.LRange(ctx, m.key, 0, int64(limit)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("wechat mock messages: %w", err)
	}
	out := make([]RecordedMessage, 0, len(raw))
	for _, r := range raw {
		var rm RecordedMessage
		if err := json.Unmarshal([]byte(r), &rm); err != nil {
			return nil, fmt.Errorf("wechat mock messages: %w", err)
		}
		out = append(out, rm)
	}
	return out, nil
}

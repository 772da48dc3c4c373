package wechat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestMockCode2Session(t *testing.T) {
	_, rdb := newTestRedis(t)
	m := NewMock(rdb, "xf:")
	ctx := context.Background()
	tests := []struct {
		name       string
		code       string
		wantOpenID string
		wantErr    error
	}{
		{"a mock code logs in as mock-<name>", "mock:alice_01", "mock-alice_01", nil},
		{"a 64-character name is accepted", "mock:" + strings.Repeat("a", 64), "mock-" + strings.Repeat("a", 64), nil},
		{"a 65-character name is an invalid code", "mock:" + strings.Repeat("a", 65), "", ErrCodeInvalid},
		{"an empty name is an invalid code", "mock:", "", ErrCodeInvalid},
		{"a name with other characters is an invalid code", "mock:al ice", "", ErrCodeInvalid},
		{"a real-looking code is an invalid code", "0a3Xyz", "", ErrCodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := m.Code2Session(ctx, tt.code)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Code2Session(%q) error = %v, want %v", tt.code, err, tt.wantErr)
			}
			if s.OpenID != tt.wantOpenID {
				t.Errorf("OpenID = %q, want %q", s.OpenID, tt.wantOpenID)
			}
			if tt.wantErr == nil && s.SessionKey == "" {
				t.Error("SessionKey is empty")
			}
		})
	}
	t.Run("each login gets a different session key", func(t *testing.T) {
		a, _ := m.Code2Session(ctx, "mock:bob")
		b, _ := m.Code2Session(ctx, "mock:bob")
		if a.SessionKey == b.SessionKey {
			t.Errorf("two logins share session key %q", a.SessionKey)
		}
	})
}

func TestMockPhoneNumber(t *testing.T) {
	_, rdb := newTestRedis(t)
	m := NewMock(rdb, "xf:")
	tests := []struct {
		name, code, want string
		wantErr          error
	}{
		{"a mock phone code binds its digits", "mock:13800138000", "13800138000", nil},
		{"five digits are accepted", "mock:12345", "12345", nil},
		{"four digits are an invalid code", "mock:1234", "", ErrCodeInvalid},
		{"twenty-one digits are an invalid code", "mock:" + strings.Repeat("1", 21), "", ErrCodeInvalid},
		{"letters are an invalid code", "mock:1380013800a", "", ErrCodeInvalid},
		{"a code without the mock prefix is an invalid code", "13800138000", "", ErrCodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.PhoneNumber(context.Background(), tt.code)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Errorf("PhoneNumber(%q) = %q, %v; want %q, %v", tt.code, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestMockSendSubscribe(t *testing.T) {
	ctx := context.Background()

	t.Run("sent messages are recorded and listed newest first", func(t *testing.T) {
		_, rdb := newTestRedis(t)
		m := NewMock(rdb, "xf:")
		before := time.Now().Add(-time.Second)
		for i := range 3 {
			msg := SubscribeMessage{ToOpenID: "mock-alice", TemplateID: "tpl", Page: "pages/task?id=1", Data: map[string]string{"thing1": fmt.Sprint(i)}}
			if err := m.SendSubscribe(ctx, msg); err != nil {
				t.Fatal(err)
			}
		}
		got, err := m.Messages(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Data["thing1"] != "2" || got[1].Data["thing1"] != "1" {
			t.Fatalf("Messages(2) = %+v, want the last two, newest first", got)
		}
		if got[0].ToOpenID != "mock-alice" || got[0].TemplateID != "tpl" || got[0].Page != "pages/task?id=1" {
			t.Errorf("recorded %+v, want the sent fields", got[0])
		}
		if got[0].SentAt.Before(before) || got[0].SentAt.After(time.Now().Add(time.Second)) {
			t.Errorf("SentAt = %v, want about now", got[0].SentAt)
		}
		raw, _ := rdb.LIndex(ctx, "xf:dev:wechat:messages", 0).Result()
		if !strings.Contains(raw, `"sent_at":"`) || !strings.Contains(raw, `"to_openid":"mock-alice"`) {
			t.Errorf("stored JSON %s lacks to_openid or sent_at", raw)
		}
	})

	t.Run("only the last 1000 messages are kept", func(t *testing.T) {
		_, rdb := newTestRedis(t)
		m := NewMock(rdb, "xf:")
		for i := range MockMessagesKept + 5 {
			if err := m.SendSubscribe(ctx, SubscribeMessage{ToOpenID: "mock-a", TemplateID: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		if n, _ := rdb.LLen(ctx, "xf:dev:wechat:messages").Result(); n != MockMessagesKept {
			t.Errorf("list length = %d, want %d", n, MockMessagesKept)
		}
		all, err := m.Messages(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != MockMessagesKept || all[0].TemplateID != fmt.Sprint(MockMessagesKept+4) {
			t.Errorf("Messages(0) has %d, newest %q", len(all), all[0].TemplateID)
		}
	})

	t.Run("the refusing user gets ErrConsentRefused and nothing is recorded", func(t *testing.T) {
		_, rdb := newTestRedis(t)
		m := NewMock(rdb, "xf:")
		err := m.SendSubscribe(ctx, SubscribeMessage{ToOpenID: MockRefusedOpenID, TemplateID: "tpl"})
		if !errors.Is(err, ErrConsentRefused) {
			t.Fatalf("error = %v, want ErrConsentRefused", err)
		}
		if got, _ := m.Messages(ctx, 10); len(got) != 0 {
			t.Errorf("recorded %d messages, want 0", len(got))
		}
	})
}

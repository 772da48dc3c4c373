package badge

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestATokenHasExactlyOneValidSpelling(t *testing.T) {
	s := NewSigner("a-test-key-that-is-at-least-32-characters")
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	// A token with '-' or '_' in it, so the standard alphabet spells it differently.
	var token string
	var id int64
	for id = 1234; !strings.ContainsAny(token, "-_"); id++ {
		token = s.Sign(Claims{MembershipID: id, ExpiresAt: now.Add(10 * time.Minute), BadgeVersion: 3})
	}
	id--
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		t.Fatalf("the signed token is not base64url: %v", err)
	}

	// The last character carries 2 data bits and 4 padding bits; setting
	// any padding bit spells the same bytes differently.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, token[len(token)-1])
	trailing := token[:len(token)-1] + string(alphabet[last|0x0f])

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"the canonical spelling is valid", token, nil},
		{"the same bytes with padding are invalid", base64.URLEncoding.EncodeToString(raw), ErrInvalid},
		{"the same bytes in the standard alphabet with padding are invalid", base64.StdEncoding.EncodeToString(raw), ErrInvalid},
		{"the same bytes in the standard alphabet are invalid", base64.RawStdEncoding.EncodeToString(raw), ErrInvalid},
		{"the same bytes with non-zero trailing bits are invalid", trailing, ErrInvalid},
		{"the token with a line break inside is invalid", token[:20] + "\n" + token[20:len(token)-1], ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := s.Parse(tt.token, now)
			if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
				t.Fatalf("Parse(%q) = %v, want %v", tt.token, err, tt.want)
			}
			if tt.want == nil && c.MembershipID != id {
				t.Errorf("Parse(%q) membership = %d, want %d", tt.token, c.MembershipID, id)
			}
		})
	}
}

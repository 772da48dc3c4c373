// Package badge shows a member's identity badge (亮身份) and lets anyone
// verify it: a short-lived signed token, as text and as a QR code, that a
// resident at a checkpoint scans to see that the badge is genuine and current.
package badge

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// Token layout: version(1) | membership id(8) | expiry unix seconds(8) |
// badge version(4) | HMAC-SHA256 truncated to 16 bytes. 37 bytes, 50
// characters of base64url: small enough for a dense-free QR code.
const (
	tokenVersion = 1
	payloadLen   = 1 + 8 + 8 + 4
	macLen       = 16
	tokenLen     = payloadLen + macLen
)

// Claims are what a verification token asserts.
type Claims struct {
	MembershipID int64
	ExpiresAt    time.Time
	BadgeVersion int
}

// Signer makes and checks verification tokens with an HMAC key.
type Signer struct{ key []byte }

// NewSigner returns a signer with the given key.
func NewSigner(key string) *Signer { return &Signer{key: []byte(key)} }

// Sign returns the token for c.
func (s *Signer) Sign(c Claims) string {
	buf := make([]byte, payloadLen, tokenLen)
	buf[0] = tokenVersion
	binary.BigEndian.PutUint64(buf[1:], uint64(c.MembershipID))
	binary.BigEndian.PutUint64(buf[9:], uint64(c.ExpiresAt.Unix()))
	binary.BigEndian.PutUint32(buf[17:], uint32(c.BadgeVersion))
	buf = append(buf, s.mac(buf)...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// Token check failures; each maps to a reason the verify endpoint gives.
var (
	ErrInvalid = errors.New("badge token invalid")
	ErrExpired = errors.New("badge token expired")
)

// Parse checks a token's signature and expiry and returns its claims. A
// token that is not ours or was altered is ErrInvalid; a genuine one past
// its expiry is ErrExpired (with its claims). A token has one spelling, the
// one Sign writes (base64url, no padding, zero trailing bits): any other
// spelling of the same bytes is ErrInvalid, so a token can be compared,
// logged or rate-limited as the string it is.
func (s *Signer) Parse(token string, now time.Time) (Claims, error) {
	if len(token) != base64.RawURLEncoding.EncodedLen(tokenLen) {
		return Claims{}, ErrInvalid
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) != tokenLen || raw[0] != tokenVersion || base64.RawURLEncoding.EncodeToString(raw) != token {
		return Claims{}, ErrInvalid
	}
	if !hmac.Equal(raw[payloadLen:], s.mac(raw[:payloadLen])) {
		return Claims{}, ErrInvalid
	}
	c := Claims{
		MembershipID: int64(binary.BigEndian.Uint64(raw[1:])),
		ExpiresAt:    time.Unix(int64(binary.BigEndian.Uint64(raw[9:])), 0).UTC(),
		BadgeVersion: int(binary.BigEndian.Uint32(raw[17:])),
	}
	if !now.Before(c.ExpiresAt) {
		return c, ErrExpired
	}
	return c, nil
}

func (s *Signer) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("xianfeng-badge:"))
	m.Write(payload)
	return m.Sum(nil)[:macLen]
}

package media

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// URL token layout, as badge tokens: version(1) | media id(8) | variant(1)
// | viewer id(8) | expiry unix seconds(8) | HMAC-SHA256 truncated to 16
// bytes; 42 bytes, 56 characters of base64url. The viewer is the user the
// URL was made for, so that an item found risky after the URL was made
// stops showing to anyone but its uploader.
const (
	urlTokenVersion = 1
	urlPayloadLen   = 1 + 8 + 1 + 8 + 8
	urlMacLen       = 16
	urlTokenLen     = urlPayloadLen + urlMacLen
)

// Variants of a media item a URL fetches.
const (
	variantFull  byte = 'f'
	variantThumb byte = 't'
)

// Signer makes and checks the tokens of signed media URLs with an HMAC key
// (the badge key, under a label of its own, so neither token passes for
// the other).
type Signer struct{ key []byte }

// NewSigner returns a signer with the given key.
func NewSigner(key string) *Signer { return &Signer{key: []byte(key)} }

type urlClaims struct {
	MediaID   int64
	Variant   byte
	Viewer    int64
	ExpiresAt time.Time
}

func (s *Signer) sign(c urlClaims) string {
	buf := make([]byte, urlPayloadLen, urlTokenLen)
	buf[0] = urlTokenVersion
	binary.BigEndian.PutUint64(buf[1:], uint64(c.MediaID))
	buf[9] = c.Variant
	binary.BigEndian.PutUint64(buf[10:], uint64(c.Viewer))
	binary.BigEndian.PutUint64(buf[18:], uint64(c.ExpiresAt.Unix()))
	buf = append(buf, s.mac(buf)...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// parse checks a token's signature and expiry; ok is false for a token
// that is not ours, was altered or has expired.
func (s *Signer) parse(token string, now time.Time) (urlClaims, bool) {
	if len(token) != base64.RawURLEncoding.EncodedLen(urlTokenLen) {
		return urlClaims{}, false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) != urlTokenLen || raw[0] != urlTokenVersion {
		return urlClaims{}, false
	}
	if !hmac.Equal(raw[urlPayloadLen:], s.mac(raw[:urlPayloadLen])) {
		return urlClaims{}, false
	}
	c := urlClaims{
		MediaID:   int64(binary.BigEndian.Uint64(raw[1:])),
		Variant:   raw[9],
		Viewer:    int64(binary.BigEndian.Uint64(raw[10:])),
		ExpiresAt: time.Unix(int64(binary.BigEndian.Uint64(raw[18:])), 0).UTC(),
	}
	return c, now.Before(c.ExpiresAt)
}

func (s *Signer) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("xianfeng-media:"))
	m.Write(payload)
	return m.Sum(nil)[:urlMacLen]
}

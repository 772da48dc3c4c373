// Package pii keeps personal information (ID and phone numbers) encrypted at
// rest and masks it for readers who may not see it whole. A ciphertext
// names the key that sealed it, so keys can be rotated: old keys stay
// readable from configuration until everything is re-sealed.
package pii

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// prefix marks a sealed value: "pii1:<key id>:<base64 nonce+ciphertext>".
const prefix = "pii1:"

// ErrUnknownKey is the error for a ciphertext sealed with a key that is not
// configured (neither the current key nor an old one).
var ErrUnknownKey = errors.New("pii: sealed with a key that is not configured")

type key struct {
	id   string
	aead cipher.AEAD
}

// Box seals with the current key and opens with it or any old key.
type Box struct {
	current key
	byID    map[string]key
}

func newKey(secret string) (key, error) {
	sum := sha256.Sum256([]byte("xianfeng data key:" + secret))
	block, err := aes.NewCipher(sum[:])
	if err != nil {
		return key{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return key{}, err
	}
	id := sha256.Sum256([]byte("xianfeng data key id:" + secret))
	return key{id: hex.EncodeToString(id[:4]), aead: aead}, nil
}

// New returns a box that seals with current and opens with current or any
// of old.
func New(current string, old []string) (*Box, error) {
	b := &Box{byID: map[string]key{}}
	for i, s := range append([]string{current}, old...) {
		k, err := newKey(s)
		if err != nil {
			return nil, fmt.Errorf("pii.New: %w", err)
		}
		if i == 0 {
			b.current = k
		}
		if _, dup := b.byID[k.id]; !dup {
			b.byID[k.id] = k
		}
	}
	return b, nil
}

// Sealed reports whether s is a sealed value.
func Sealed(s string) bool { return strings.HasPrefix(s, prefix) }

// Seal encrypts plain with the current key.
func (b *Box) Seal(plain string) (string, error) {
	nonce := make([]byte, b.current.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("pii.Seal: %w", err)
	}
	out := b.current.aead.Seal(nonce, nonce, []byte(plain), []byte(b.current.id))
	return prefix + b.current.id + ":" + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts a sealed value; a value that is not sealed is returned as
// it is.
func (b *Box) Open(s string) (string, error) {
	if !Sealed(s) {
		return s, nil
	}
	id, body, ok := strings.Cut(strings.TrimPrefix(s, prefix), ":")
	if !ok {
		return "", errors.New("pii.Open: malformed ciphertext")
	}
	k, ok := b.byID[id]
	if !ok {
		return "", fmt.Errorf("%w (key id %s)", ErrUnknownKey, id)
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || len(raw) < k.aead.NonceSize() {
		return "", errors.New("pii.Open: malformed ciphertext")
	}
	plain, err := k.aead.Open(nil, raw[:k.aead.NonceSize()], raw[k.aead.NonceSize():], []byte(id))
	if err != nil {
		return "", fmt.Errorf("pii.Open: key %s: %w", id, err)
	}
	return string(plain), nil
}

// Current reports whether s is sealed with the current key (nothing to
// re-seal).
func (b *Box) Current(s string) bool { return strings.HasPrefix(s, prefix+b.current.id+":") }

// Mask hides all but the first keep and the last four characters of s:
// 3702**********1234 for an ID number, 139****5678 for a phone number.
func Mask(s string, keep int) string {
	n := utf8.RuneCountInString(s)
	if n <= keep+4 {
		return strings.Repeat("*", n)
	}
	r := []rune(s)
	return string(r[:keep]) + strings.Repeat("*", n-keep-4) + string(r[n-4:])
}

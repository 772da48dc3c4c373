package org

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// codeAlphabet has no 0/O or 1/I, so a code read aloud or off a screen is
// typed right the first time.
const codeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// newCode returns n random characters of codeAlphabet (5 bits each).
func newCode(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("org: no randomness: " + err.Error())
	}
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b)
}

// normalizeCode upper-cases a code and drops spaces and dashes, so
// "abcd-efgh" and "ABCDEFGH" are the same code. It returns "" for anything
// outside the alphabet.
func normalizeCode(s string) string {
	s = strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(s))
	if len(s) == 0 || len(s) > 32 {
		return ""
	}
	for _, r := range s {
		if !strings.ContainsRune(codeAlphabet, r) {
			return ""
		}
	}
	return s
}

// groupCode writes a code in groups of four for reading: ABCD-EFGH-JKLM.
func groupCode(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func hashCode(code string) string {
	sum := sha256.Sum256([]byte("xianfeng-claim:" + code))
	return hex.EncodeToString(sum[:])
}

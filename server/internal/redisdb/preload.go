package redisdb

import (
	"context"
	"strconv"
)

// A Read is a key of the signed-in user that a route reads from Redis
// anyway: the session lookup reads it in its own round trip (a script that
// knows the user id only once it has found the session), and the route's
// code finds the value with Preloaded instead of asking Redis again. The key
// is Before + the user id + After; Hash reads the whole hash (HGETALL), else
// the string (GET).
type Read struct {
	Before, After string
	Hash          bool
}

// Key is the read's key for a user.
func (r Read) Key(userID int64) string {
	return r.Before + strconv.FormatInt(userID, 10) + r.After
}

type preloadedKey struct{}

// WithPreloaded returns ctx carrying values read ahead, by key: a string or
// nil for a GET, a []any of field, value, … for an HGETALL.
func WithPreloaded(ctx context.Context, values map[string]any) context.Context {
	return context.WithValue(ctx, preloadedKey{}, values)
}

// Preloaded returns the value of key read ahead for this request, and
// whether it was: a nil value that was read is a key Redis does not hold.
func Preloaded(ctx context.Context, key string) (any, bool) {
	m, _ := ctx.Value(preloadedKey{}).(map[string]any)
	v, ok := m[key]
	return v, ok
}

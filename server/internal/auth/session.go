// Package auth logs members in with WeChat and keeps their sessions in Redis.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/redisdb"
)

// Session is one signed-in device. SessionKey is WeChat's session_key: it
// stays on the server and is never logged or returned.
type Session struct {
	ID         string // hash of the token; the token itself is never stored
	UserID     int64
	OpenID     string
	SessionKey string
	CreatedAt  time.Time
	LastSeen   time.Time

	// me is the user's cached GET /me answer when the lookup was asked for
	// it and found one, and meGen the generation to store a new one at.
	me    []byte
	meGen string
}

// LogValue keeps the session_key out of any log line that prints a session.
// It must return slog.Value to satisfy slog.LogValuer.
func (s Session) LogValue() slog.Value { return slog.GroupValue(slog.Int64("user_id", s.UserID)) }

// tokenBytes is the token's randomness: 256 bits.
const tokenBytes = 32

// tokenLen is the length of a token in unpadded base64url.
var tokenLen = base64.RawURLEncoding.EncodedLen(tokenBytes)

// touchEvery throttles the sliding-expiry write: a session used many times a
// minute is extended once a minute.
const touchEvery = time.Minute

// Sessions stores sessions in Redis under the SHA-256 of their token, with a
// sliding expiry, and indexes them by user so all of a user's sessions can be
// revoked at once from any instance.
type Sessions struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
	now    func() time.Time
	// cluster: a script may name only its declared keys, so the user index
	// is extended in a second round trip.
	cluster bool
}

// NewSessions returns a session store with keys under prefix. Sessions keep
// real time, not the app's clock: their expiry is Redis's, which runs on it.
func NewSessions(rdb redis.UniversalClient, prefix string, ttl time.Duration) *Sessions {
	_, cluster := rdb.(*redis.ClusterClient)
	return &Sessions{rdb: rdb, prefix: prefix, ttl: ttl, now: time.Now, cluster: cluster}
}

// TTL is the sliding lifetime of a session.
func (s *Sessions) TTL() time.Duration { return s.ttl }

func (s *Sessions) key(id string) string { return s.prefix + "sess:" + id }
func (s *Sessions) userKey(userID int64) string {
	return s.prefix + "usess:" + strconv.FormatInt(userID, 10)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Create stores a new session and returns its opaque token and expiry.
func (s *Sessions) Create(ctx context.Context, sess Session) (token string, expiresAt time.Time, err error) {
	defer apperr.Annotate(&err, "auth.CreateSession")
	var raw [tokenBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", time.Time{}, err
	}
	token = base64.RawURLEncoding.EncodeToString(raw[:])
	now := s.now().UTC()
	sess.ID = hashToken(token)
	key, userKey := s.key(sess.ID), s.userKey(sess.UserID)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, map[string]any{
			"uid":     sess.UserID,
			"openid":  sess.OpenID,
			"sk":      sess.SessionKey,
			"created": now.Unix(),
			"seen":    now.Unix(),
		})
		p.Expire(ctx, key, s.ttl)
		return nil
	})
	if err == nil {
		// The per-user index lives on its own (it may sit on another Cluster
		// slot); it outlives every session it lists.
		_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.SAdd(ctx, userKey, sess.ID)
			p.Expire(ctx, userKey, s.ttl)
			return nil
		})
	}
	if err != nil {
		return "", time.Time{}, redisErr(err)
	}
	return token, now.Add(s.ttl), nil
}

// lookup reads a session and, when it was last extended touchEvery ago or
// more, extends it in the same script: one round trip for a fresh or an
// idle session. The extension happens only if the session still exists, so
// a revoke that races a request is never undone. KEYS[1] is the session;
// ARGV: now (Unix seconds), the TTL in ms, touchEvery in seconds, the user
// index key's prefix, and the key prefix of the /me cache (see MeCache);
// the last two are "" where the script may not name those keys (Redis
// Cluster, where they sit on other slots and the caller reads them) or, for
// the cache, where the request is not a GET /me.
// It returns nil for no session, else uid, openid, sk, created, seen, 1 if
// it extended the session, and, when asked, the cached /me answer (or
// false) and the user's /me generation.
var lookup = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'uid', 'openid', 'sk', 'created', 'seen')
if not v[1] then return nil end
local touched = 0
if tonumber(ARGV[1]) - (tonumber(v[5]) or 0) >= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'seen', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  if ARGV[4] ~= '' then redis.call('PEXPIRE', ARGV[4] .. v[1], ARGV[2]) end
  v[5] = ARGV[1]
  touched = 1
end
v[6] = touched
if ARGV[5] ~= '' then
  v[7] = redis.call('GET', ARGV[5] .. 'me:{' .. v[1] .. '}')
  v[8] = redis.call('GET', ARGV[5] .. 'mgen:{' .. v[1] .. '}') or '0'
end
return v`)

// Lookup returns the session of a token and extends its expiry. A malformed,
// unknown, expired or revoked token is apperr.ErrUnauthenticated; Redis not
// answering is an "unavailable" error.
func (s *Sessions) Lookup(ctx context.Context, token string) (Session, error) {
	return s.lookup(ctx, token, nil)
}

// LookupMe is Lookup for a GET /me: the session also carries the user's
// cached answer from c, read in the same round trip (two on Redis Cluster).
func (s *Sessions) LookupMe(ctx context.Context, token string, c *MeCache) (Session, error) {
	return s.lookup(ctx, token, c)
}

func (s *Sessions) lookup(ctx context.Context, token string, me *MeCache) (Session, error) {
	if !wellFormed(token) {
		return Session{}, apperr.ErrUnauthenticated
	}
	id := hashToken(token)
	now := s.now()
	indexPrefix, mePrefix := s.prefix+"usess:", ""
	if me != nil {
		mePrefix = me.prefix
	}
	if s.cluster {
		indexPrefix, mePrefix = "", ""
	}
	res, err := lookup.Run(ctx, s.rdb, []string{s.key(id)}, now.Unix(), s.ttl.Milliseconds(), int64(touchEvery/time.Second), indexPrefix, mePrefix).Slice()
	if err == redis.Nil {
		return Session{}, apperr.ErrUnauthenticated
	}
	if err != nil {
		return Session{}, redisErr(err)
	}
	if want := map[bool]int{false: 6, true: 8}[mePrefix != ""]; len(res) != want {
		return Session{}, fmt.Errorf("auth: redis: session lookup answered %d values", len(res))
	}
	field := func(i int) string { v, _ := res[i].(string); return v }
	uid, err := strconv.ParseInt(field(0), 10, 64)
	if err != nil || uid <= 0 {
		return Session{}, apperr.ErrUnauthenticated
	}
	created, _ := strconv.ParseInt(field(3), 10, 64)
	seen, _ := strconv.ParseInt(field(4), 10, 64)
	sess := Session{
		ID: id, UserID: uid, OpenID: field(1), SessionKey: field(2),
		CreatedAt: time.Unix(created, 0).UTC(), LastSeen: time.Unix(seen, 0).UTC(),
	}
	if touched, _ := res[5].(int64); touched == 1 && indexPrefix == "" {
		if err := s.rdb.Expire(ctx, s.userKey(uid), s.ttl).Err(); err != nil {
			return Session{}, redisErr(err)
		}
	}
	switch {
	case mePrefix != "":
		sess.me, sess.meGen = cached(res[6]), generation(res[7])
	case me != nil:
		if sess.me, sess.meGen, err = me.read(ctx, uid); err != nil {
			return Session{}, err
		}
	}
	return sess, nil
}

// Revoke ends the session of a token at once, on every instance.
func (s *Sessions) Revoke(ctx context.Context, sess Session) error {
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, s.key(sess.ID))
		p.SRem(ctx, s.userKey(sess.UserID), sess.ID)
		return nil
	})
	return redisErr(err)
}

// RevokeAll ends every session of a user: "sign out everywhere", and what
// removal from an organisation uses.
func (s *Sessions) RevokeAll(ctx context.Context, userID int64) error {
	userKey := s.userKey(userID)
	ids, err := s.rdb.SMembers(ctx, userKey).Result()
	if err != nil {
		return redisErr(err)
	}
	if len(ids) == 0 {
		return nil
	}
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.Del(ctx, s.key(id))
		}
		p.SRem(ctx, userKey, toAny(ids)...)
		return nil
	})
	return redisErr(err)
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// wellFormed checks a token's shape before any Redis round trip.
func wellFormed(token string) bool {
	if len(token) != tokenLen {
		return false
	}
	for i := 0; i < len(token); i++ {
		b := token[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}

// redisErr turns a Redis failure into the 503 "unavailable" error.
func redisErr(err error) error {
	if err == nil || err == redis.Nil {
		return nil
	}
	if redisdb.IsUnavailable(err) {
		return apperr.Unavailable(err)
	}
	return fmt.Errorf("auth: redis: %w", err)
}

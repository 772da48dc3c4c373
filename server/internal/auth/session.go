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
	return &Sessions{rdb: rdb, prefix: prefix, ttl: ttl, now: time.Now, cluster: redisdb.IsCluster(rdb)}
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
// index key's prefix ("" where the script may not name it: Redis Cluster,
// where it sits on another slot and the caller extends it), then, for each
// key of the user that the request reads anyway (see redisdb.Read), "h"
// (HGETALL) or "s" (GET), the part of its name before the user id and the
// part after; none on Redis Cluster, where the caller reads them.
// It returns nil for no session, else uid, openid, sk, created, seen, 1 if
// it extended the session, then the value of each key asked for.
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
local n = 6
for i = 5, #ARGV, 3 do
  local key = ARGV[i+1] .. v[1] .. ARGV[i+2]
  n = n + 1
  if ARGV[i] == 'h' then v[n] = redis.call('HGETALL', key) else v[n] = redis.call('GET', key) end
end
return v`)

// Lookup returns the session of a token and extends its expiry. A malformed,
// unknown, expired or revoked token is apperr.ErrUnauthenticated; Redis not
// answering is an "unavailable" error.
func (s *Sessions) Lookup(ctx context.Context, token string) (Session, error) {
	sess, _, err := s.lookup(ctx, token, nil)
	return sess, err
}

// LookupMe is Lookup for a GET /me: the session also carries the user's
// cached answer from c, read in the same round trip (two on Redis Cluster).
func (s *Sessions) LookupMe(ctx context.Context, token string, c *MeCache) (Session, error) {
	sess, vals, err := s.lookup(ctx, token, c.reads())
	if err != nil {
		return Session{}, err
	}
	if vals == nil {
		if sess.me, sess.meGen, err = c.read(ctx, sess.UserID); err != nil {
			return Session{}, err
		}
		return sess, nil
	}
	sess.me, sess.meGen = cached(vals[0]), generation(vals[1])
	return sess, nil
}

// LookupWith is Lookup that also reads the user's keys named by reads in the
// same round trip, and returns their values by key. On Redis Cluster, where
// the script may not name them, it returns no values: the request reads
// them itself.
func (s *Sessions) LookupWith(ctx context.Context, token string, reads []redisdb.Read) (Session, map[string]any, error) {
	sess, vals, err := s.lookup(ctx, token, reads)
	if err != nil || vals == nil {
		return sess, nil, err
	}
	byKey := make(map[string]any, len(reads))
	for i, r := range reads {
		byKey[r.Key(sess.UserID)] = vals[i]
	}
	return sess, byKey, nil
}

// lookup reads the session and the values of reads (nil on Redis Cluster).
func (s *Sessions) lookup(ctx context.Context, token string, reads []redisdb.Read) (Session, []any, error) {
	if !wellFormed(token) {
		return Session{}, nil, apperr.ErrUnauthenticated
	}
	id := hashToken(token)
	now := s.now()
	indexPrefix := s.prefix + "usess:"
	if s.cluster {
		indexPrefix, reads = "", nil
	}
	args := make([]any, 0, 4+3*len(reads))
	args = append(args, now.Unix(), s.ttl.Milliseconds(), int64(touchEvery/time.Second), indexPrefix)
	for _, r := range reads {
		op := "s"
		if r.Hash {
			op = "h"
		}
		args = append(args, op, r.Before, r.After)
	}
	res, err := lookup.Run(ctx, s.rdb, []string{s.key(id)}, args...).Slice()
	if err == redis.Nil {
		return Session{}, nil, apperr.ErrUnauthenticated
	}
	if err != nil {
		return Session{}, nil, redisErr(err)
	}
	if len(res) != 6+len(reads) {
		return Session{}, nil, fmt.Errorf("auth: redis: session lookup answered %d values", len(res))
	}
	field := func(i int) string { v, _ := res[i].(string); return v }
	uid, err := strconv.ParseInt(field(0), 10, 64)
	if err != nil || uid <= 0 {
		return Session{}, nil, apperr.ErrUnauthenticated
	}
	created, _ := strconv.ParseInt(field(3), 10, 64)
	seen, _ := strconv.ParseInt(field(4), 10, 64)
	sess := Session{
		ID: id, UserID: uid, OpenID: field(1), SessionKey: field(2),
		CreatedAt: time.Unix(created, 0).UTC(), LastSeen: time.Unix(seen, 0).UTC(),
	}
	if touched, _ := res[5].(int64); touched == 1 && indexPrefix == "" {
		if err := s.rdb.Expire(ctx, s.userKey(uid), s.ttl).Err(); err != nil {
			return Session{}, nil, redisErr(err)
		}
	}
	if len(reads) == 0 {
		return sess, nil, nil
	}
	return sess, res[6:], nil
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
func redisErr(err error) error { return redisdb.Err("auth", err) }

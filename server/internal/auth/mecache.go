package auth

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"xianfeng/server/internal/redisdb"
)

// MeCache keeps each user's rendered GET /me answer in Redis, so that a
// /me is one Redis round trip (the session lookup returns it) and no
// database read. Every change that shows in /me calls Invalidate after it
// commits: it deletes the answer and bumps the user's generation. An answer
// is stored only if the generation is still the one read before the
// database was (a compare-and-set), so an answer read before a change is
// never stored after it, on any instance.
//
// Both keys of a user carry the hash tag {<user id>}: they sit on one Redis
// Cluster slot, so each script names only keys of one slot.
type MeCache struct {
	rdb    redis.UniversalClient
	prefix string
}

// meTTL bounds how long an answer lives without being read again: the
// cache is for members who use the app, not an archive. genTTL is longer,
// so a generation never vanishes while an answer filled at it may be stored.
const (
	meTTL  = time.Hour
	genTTL = 25 * time.Hour
)

// NewMeCache returns the /me cache with keys under prefix (the sessions').
func NewMeCache(rdb redis.UniversalClient, prefix string) *MeCache {
	return &MeCache{rdb: rdb, prefix: prefix}
}

// The key names; the session lookup reads both (reads).
func meKey(prefix string, userID int64) string  { return meRead(prefix).Key(userID) }
func genKey(prefix string, userID int64) string { return genRead(prefix).Key(userID) }

func meRead(prefix string) redisdb.Read  { return redisdb.Read{Before: prefix + "me:{", After: "}"} }
func genRead(prefix string) redisdb.Read { return redisdb.Read{Before: prefix + "mgen:{", After: "}"} }

// reads are the user's answer and generation, for the session lookup.
func (c *MeCache) reads() []redisdb.Read {
	return []redisdb.Read{meRead(c.prefix), genRead(c.prefix)}
}

// invalidate deletes a user's answer and bumps its generation.
// KEYS: the answer, the generation; ARGV: genTTL in ms.
var invalidate = redis.NewScript(`
redis.call('DEL', KEYS[1])
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1`)

// storeMe stores an answer only if the generation is still ARGV[1] ("0"
// for none), and keeps the generation at least as long as the answer.
// KEYS: the answer, the generation; ARGV: generation, answer, meTTL and
// genTTL in ms.
var storeMe = redis.NewScript(`
local g = redis.call('GET', KEYS[2])
if (g or '0') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if g then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
return 1`)

// Invalidate drops the cached /me answers of users after a change that
// shows in them (a membership added, ended, approved or seconded, a badge
// or role change, a phone number bound). Call it after the change commits;
// an error means Redis did not take it.
func (c *MeCache) Invalidate(ctx context.Context, userIDs ...int64) error {
	switch len(userIDs) {
	case 0:
		return nil
	case 1:
		id := userIDs[0]
		return redisErr(invalidate.Run(ctx, c.rdb, []string{meKey(c.prefix, id), genKey(c.prefix, id)}, genTTL.Milliseconds()).Err())
	}
	// One script per user (each on its own slot), all in one pipeline; EVAL,
	// as a pipeline cannot fall back from EVALSHA when Redis lacks the script.
	_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range userIDs {
			invalidate.Eval(ctx, p, []string{meKey(c.prefix, id), genKey(c.prefix, id)}, genTTL.Milliseconds())
		}
		return nil
	})
	return redisErr(err)
}

// read returns a user's cached answer (nil if none) and the generation to
// store a new one at: the second round trip on Redis Cluster, where the
// session script may not name the user's keys.
func (c *MeCache) read(ctx context.Context, userID int64) ([]byte, string, error) {
	vs, err := c.rdb.MGet(ctx, meKey(c.prefix, userID), genKey(c.prefix, userID)).Result()
	if err != nil {
		return nil, "", redisErr(err)
	}
	return cached(vs[0]), generation(vs[1]), nil
}

// store keeps an answer read at generation gen, unless the user's
// generation moved on since; it reports whether it stored it.
func (c *MeCache) store(ctx context.Context, userID int64, gen string, body []byte) (bool, error) {
	n, err := storeMe.Run(ctx, c.rdb, []string{meKey(c.prefix, userID), genKey(c.prefix, userID)},
		gen, body, meTTL.Milliseconds(), genTTL.Milliseconds()).Int()
	return n == 1, redisErr(err)
}

func cached(v any) []byte {
	if s, ok := v.(string); ok && s != "" {
		return []byte(s)
	}
	return nil
}

func generation(v any) string {
	if s, ok := v.(string); ok && s != "" {
		return s
	}
	return "0"
}

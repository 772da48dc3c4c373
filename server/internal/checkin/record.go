package checkin

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"xianfeng/server/internal/org"
	"xianfeng/server/internal/redisdb"
)

// Records keeps each member's check-ins of the day in Redis, so that a
// repeat (a phone retrying, a member tapping twice) is answered from Redis
// with the first check-in, without the database. The database stays the
// truth: a record Redis lost (eviction, failover) sends the repeat down the
// database path, which writes the record again.
//
// A record may only answer while the membership that made it is live. A
// removal, rejection, dissolution, badge or role change reaches Invalidate
// (it is one of org's Options.Changed), which bumps the member's
// generation; a record is stored with the generation read before the
// database statement that found the membership live, and only if the
// generation is still that one (a compare-and-set), and it answers only
// while the generation is unchanged. So a record never outlives a change
// that committed after the statement's snapshot, on any instance. An org's
// end date passes without a change: the record keeps it and stops
// answering at that instant. A missing generation never matches: a record
// whose generation Redis lost goes back to the database too.
//
// A member's records of a day are one hash, a field per org asked for (0:
// the home membership), so the session lookup can read the day's records
// and the generation with the session, in its one round trip (see
// Reads): a repeat then costs Redis one round trip in all.
//
// A member's keys carry the hash tag {<user id>}, so each script and
// pipeline names keys of one Redis Cluster slot.
type Records struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ org.Invalidator = (*Records)(nil)

// NewRecords returns the records on rdb with keys under prefix.
func NewRecords(rdb redis.UniversalClient, prefix string) *Records {
	return &Records{rdb: rdb, prefix: prefix}
}

// recordTTL is how long a record and its generation live: the day of the
// check-in and the hours an offline retry may come late. A record that
// expires only costs its next repeat a database statement.
const recordTTL = 36 * time.Hour

// dayRead is the hash of a member's records of day, a field per org asked
// for; genRead the member's generation.
func (r *Records) dayRead(day string) redisdb.Read {
	return redisdb.Read{Before: r.prefix + "ckday:{", After: "}:" + day, Hash: true}
}
func (r *Records) genRead() redisdb.Read {
	return redisdb.Read{Before: r.prefix + "ckgen:{", After: "}"}
}

func (r *Records) dayKey(userID int64, day string) string { return r.dayRead(day).Key(userID) }
func (r *Records) genKey(userID int64) string             { return r.genRead().Key(userID) }

// Reads are the keys a check-in on day reads first: the session lookup
// reads them with the session (auth's ReadAhead).
func (r *Records) Reads(day string) []redisdb.Read {
	return []redisdb.Read{r.dayRead(day), r.genRead()}
}

// keepRecord stores a record only if the generation is still ARGV[1] (""
// for none); with none it starts one at ARGV[2], a random number far from
// any count of bumps. KEYS: the day's records, the generation; ARGV: the
// generation read, a fresh one, the org asked for, the record, the TTL in
// ms.
var keepRecord = redis.NewScript(`
local g = redis.call('GET', KEYS[2])
if (g or '') ~= ARGV[1] then return 0 end
if not g then
  g = ARGV[2]
  redis.call('SET', KEYS[2], g, 'PX', ARGV[5])
else
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
redis.call('HSET', KEYS[1], ARGV[3], g .. '|' .. ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`)

// Invalidate implements org.Invalidator: the members' records stop
// answering. The generations move on in one round trip (each key on its
// own slot, so no script spans them).
func (r *Records) Invalidate(ctx context.Context, userIDs ...int64) error {
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range userIDs {
			p.Incr(ctx, r.genKey(id))
			p.PExpire(ctx, r.genKey(id), recordTTL)
		}
		return nil
	})
	return err
}

// record is what Redis keeps of a check-in: the answer, and when the
// membership's org stops taking check-ins.
type record struct {
	JSON
	Seconded bool       `json:"seconded,omitempty"`
	EndsAt   *time.Time `json:"ends_at,omitempty"`
}

// recall is the member's record of a check-in requested in orgID on day,
// if one may answer at now; gen is the member's generation ("" for none),
// to keep a record at after the database answered. The keys come from the
// session lookup when it read them (redisdb.Preloaded), else from one round
// trip. An error means Redis did not answer: the caller goes to the
// database and keeps no record.
func (r *Records) recall(ctx context.Context, userID int64, day string, orgID int64, now time.Time) (c Checkin, ok bool, gen string, err error) {
	dayKey, genKey := r.dayKey(userID, day), r.genKey(userID)
	records, ok1 := redisdb.Preloaded(ctx, dayKey)
	g, ok2 := redisdb.Preloaded(ctx, genKey)
	field := strconv.FormatInt(orgID, 10)
	var raw string
	if ok1 && ok2 {
		gen, _ = g.(string)
		fields, _ := records.([]any)
		for i := 0; i+1 < len(fields); i += 2 {
			if f, _ := fields[i].(string); f == field {
				raw, _ = fields[i+1].(string)
			}
		}
	} else {
		var rc, gc *redis.StringCmd
		_, _ = r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			rc, gc = p.HGet(ctx, dayKey, field), p.Get(ctx, genKey)
			return nil
		})
		for _, cmd := range []*redis.StringCmd{rc, gc} {
			if err := cmd.Err(); err != nil && err != redis.Nil {
				return Checkin{}, false, "", err
			}
		}
		raw, gen = rc.Val(), gc.Val()
	}
	recGen, body, found := strings.Cut(raw, "|")
	if !found || gen == "" || recGen != gen {
		return Checkin{}, false, gen, nil
	}
	var rec record
	if err := json.Unmarshal([]byte(body), &rec); err != nil {
		return Checkin{}, false, gen, nil // not ours to answer with: the database will, and keep a good one
	}
	if rec.EndsAt != nil && !rec.EndsAt.After(now) {
		return Checkin{}, false, gen, nil // the org has ended: the database refuses
	}
	return Checkin{ID: rec.ID, UserID: userID, OrgID: rec.OrgID, Day: day, Badge: rec.Badge, Seconded: rec.Seconded,
		Lat: rec.Lat, Lng: rec.Lng, AccuracyM: rec.AccuracyM, RequestID: rec.RequestID, ClientTime: rec.ClientTime,
		CreatedAt: rec.ServerTime}, true, gen, nil
}

// keep queues on p the record of c, requested in orgID, of a membership in
// an org that ends at endsAt (nil: never), to be stored if the member's
// generation is still gen.
func (r *Records) keep(ctx context.Context, p redis.Pipeliner, orgID int64, c Checkin, endsAt *time.Time, gen string) *redis.Cmd {
	body, _ := json.Marshal(record{JSON: newJSON(c), Seconded: c.Seconded, EndsAt: endsAt})
	fresh := strconv.FormatUint(1<<62|rand.Uint64()>>2, 10)
	return keepRecord.EvalSha(ctx, p, []string{r.dayKey(c.UserID, c.Day), r.genKey(c.UserID)},
		gen, fresh, strconv.FormatInt(orgID, 10), body, recordTTL.Milliseconds())
}

// isNoScript reports whether Redis lacked a script run by its SHA.
func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}

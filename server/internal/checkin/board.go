package checkin

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"xianfeng/server/internal/org"
)

// Board keeps the live check-in counters of every org's subtree in Redis.
//
// For each day there is one set per org of the users who checked in there,
// and one hash per org of subtree counters (total and per badge). A check-in
// adds its user to its org's set and, only if the user was not in it yet,
// bumps the counters of the org and every ancestor — in one Lua script, so
// counting is idempotent. That makes a rebuild simple and race-free: after a
// Redis restart lost the counters, replaying the day's check-ins from the
// database through the same script (while live check-ins keep arriving)
// ends with exactly the database's numbers.
type Board struct {
	rdb    redis.UniversalClient
	db     *gorm.DB
	prefix string
	log    *slog.Logger

	mu        sync.RWMutex
	ancestors map[int64][]int64 // an org's ancestors never change

	records *Records
}

// NewBoard returns the board on rdb with keys under prefix, and the
// members' check-in records beside it (see Records).
func NewBoard(rdb redis.UniversalClient, db *gorm.DB, prefix string, log *slog.Logger) *Board {
	return &Board{rdb: rdb, db: db, prefix: prefix, log: log, ancestors: map[int64][]int64{}, records: NewRecords(rdb, prefix)}
}

// Records are the members' check-in records that answer repeats. The app
// must tell them of every membership change (org's Options.Changed).
func (b *Board) Records() *Records { return b.records }

// keep is how long a day's board stays in Redis.
const keep = 72 * time.Hour

// Keys of one day share a hash tag, so the script works on Redis Cluster.
func (b *Board) key(day, kind string, orgID int64) string {
	return b.prefix + "board:{" + day + "}:" + kind + ":" + strconv.FormatInt(orgID, 10)
}
func (b *Board) readyKey(day string) string   { return b.prefix + "board:{" + day + "}:ready" }
func (b *Board) rebuildKey(day string) string { return b.prefix + "board:{" + day + "}:rebuilding" }

// count: KEYS[1] the org's set, KEYS[2..] the counter hashes of the org and
// its ancestors; ARGV user id, badge field, ttl seconds.
var count = redis.NewScript(`
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[3])
for i = 2, #KEYS do
  redis.call('HINCRBY', KEYS[i], 'total', 1)
  redis.call('HINCRBY', KEYS[i], ARGV[2], 1)
  redis.call('EXPIRE', KEYS[i], ARGV[3])
end
return 1`)

func (b *Board) orgAncestors(ctx context.Context, orgID int64) ([]int64, error) {
	b.mu.RLock()
	a, ok := b.ancestors[orgID]
	b.mu.RUnlock()
	if ok {
		return a, nil
	}
	a, err := org.Ancestors(ctx, b.db, orgID)
	if err != nil {
		return nil, fmt.Errorf("board: %w", err)
	}
	b.mu.Lock()
	b.ancestors[orgID] = a
	b.mu.Unlock()
	return a, nil
}

// apply runs (or, on a pipeline, queues) the count of c.
func (b *Board) apply(ctx context.Context, run redis.Scripter, c Checkin) (*redis.Cmd, error) {
	anc, err := b.orgAncestors(ctx, c.OrgID)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(anc)+1)
	keys = append(keys, b.key(c.Day, "set", c.OrgID))
	if c.Seconded {
		anc = []int64{c.OrgID} // counted at the temporary org only; home counts it at home
	}
	for _, a := range anc {
		keys = append(keys, b.key(c.Day, "cnt", a))
	}
	return count.Run(ctx, run, keys, c.UserID, "b:"+string(c.Badge), int(keep.Seconds())), nil
}

// settle tells Redis of a check-in the database answered, in one round
// trip: a new one (created) is counted on the board, and its record is
// kept for the repeats if the member's generation is still gen (haveGen
// false: it was not read, keep none). requested is the org the member asked
// for (0: home), endsAt the end date of the membership's org. The check-in
// is already safe in the database; if Redis fails to count it, the day's
// board is marked for a rebuild instead of failing the member's request,
// and a record not kept only costs the next repeat a database statement.
func (b *Board) settle(ctx context.Context, c Checkin, created bool, requested int64, endsAt *time.Time, gen string, haveGen bool) {
	if !created && !haveGen {
		return
	}
	var err error
	for try := 0; try < 2; try++ {
		pipe := b.rdb.Pipeline()
		var counted, kept *redis.Cmd
		if created {
			if counted, err = b.apply(ctx, pipe, c); err != nil {
				break
			}
		}
		if haveGen {
			kept = b.records.keep(ctx, pipe, requested, c, endsAt, gen)
		}
		_, _ = pipe.Exec(ctx)
		err = cmdErr(counted)
		if try == 0 && (isNoScript(err) || isNoScript(cmdErr(kept))) {
			// Redis restarted and lost the scripts: load them and go again
			// (counting is idempotent, keeping a record too).
			_ = count.Load(ctx, b.rdb).Err()
			_ = keepRecord.Load(ctx, b.rdb).Err()
			continue
		}
		break
	}
	if err != nil {
		b.log.WarnContext(ctx, "board counter not updated; the day's board will be rebuilt", "day", c.Day, "err", err)
		_ = b.rdb.Del(ctx, b.readyKey(c.Day)).Err()
	}
}

func cmdErr(c *redis.Cmd) error {
	if c == nil {
		return nil
	}
	return c.Err()
}

// Tally is a subtree's check-ins of a day.
type Tally struct {
	Total   int64
	ByBadge map[org.Badge]int64
}

// Read returns the counters of an org's subtree for a day, rebuilding the
// day's board from the database first if Redis lost it. ok is false when
// another process is rebuilding; the caller then counts in the database.
func (b *Board) Read(ctx context.Context, orgID int64, day string) (Tally, bool, error) {
	ready, err := b.rdb.Exists(ctx, b.readyKey(day)).Result()
	if err != nil {
		return Tally{}, false, err
	}
	if ready == 0 {
		done, err := b.Rebuild(ctx, day)
		if err != nil || !done {
			return Tally{}, false, err
		}
	}
	vals, err := b.rdb.HGetAll(ctx, b.key(day, "cnt", orgID)).Result()
	if err != nil {
		return Tally{}, false, err
	}
	t := Tally{ByBadge: map[org.Badge]int64{}}
	t.Total, _ = strconv.ParseInt(vals["total"], 10, 64)
	for _, bd := range org.Badges {
		t.ByBadge[bd], _ = strconv.ParseInt(vals["b:"+string(bd)], 10, 64)
	}
	return t, true, nil
}

// Rebuild replays a day's check-ins from the database into Redis and marks
// the day ready. Only one process rebuilds a day at a time; done is false
// when another one is at it.
func (b *Board) Rebuild(ctx context.Context, day string) (done bool, err error) {
	got, err := b.rdb.SetNX(ctx, b.rebuildKey(day), "1", 5*time.Minute).Result()
	if err != nil || !got {
		return false, err
	}
	defer b.rdb.Del(context.WithoutCancel(ctx), b.rebuildKey(day))
	// Pipelined scripts go as EVALSHA, so the script must be loaded first.
	if err := count.Load(ctx, b.rdb).Err(); err != nil {
		return false, err
	}
	after := int64(0)
	for {
		var rows []Checkin
		if err := b.db.WithContext(ctx).Select("id, user_id, org_id, day, badge, seconded").Where("day = ? AND id > ?", day, after).
			Order("id").Limit(1000).Find(&rows).Error; err != nil {
			return false, fmt.Errorf("board: rebuild %s: %w", day, err)
		}
		if len(rows) == 0 {
			break
		}
		pipe := b.rdb.Pipeline()
		for _, c := range rows {
			if _, err := b.apply(ctx, pipe, c); err != nil {
				return false, err
			}
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return false, fmt.Errorf("board: rebuild %s: %w", day, err)
		}
		after = rows[len(rows)-1].ID
	}
	if err := b.rdb.Set(ctx, b.readyKey(day), "1", keep).Err(); err != nil {
		return false, err
	}
	b.log.InfoContext(ctx, "check-in board rebuilt from the database", "day", day)
	return true, nil
}

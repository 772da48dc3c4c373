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
	settler settler
}

// NewBoard returns the board on rdb with keys under prefix, and the
// members' check-in records beside it (see Records).
func NewBoard(rdb redis.UniversalClient, db *gorm.DB, prefix string, log *slog.Logger) *Board {
	b := &Board{rdb: rdb, db: db, prefix: prefix, log: log, ancestors: map[int64][]int64{}, records: NewRecords(rdb, prefix)}
	b.settler.cond = sync.NewCond(&b.settler.mu)
	return b
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
	// What this instance has answered is on the board before it is read.
	b.Flush()
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
	// Org by org (a batch at a time) through the (org, day) index: no
	// index by day alone is kept for this rare pass, as every check-in
	// would pay for it.
	for afterOrg := int64(0); ; {
		orgs, err := org.IDsAfter(ctx, b.db, afterOrg, 500)
		if err != nil {
			return false, fmt.Errorf("board: rebuild %s: %w", day, err)
		}
		if len(orgs) == 0 {
			break
		}
		var rows []Checkin
		if err := b.db.WithContext(ctx).Select("id, user_id, org_id, day, badge, seconded").Where("org_id IN ? AND day = ?", orgs, day).
			Find(&rows).Error; err != nil {
			return false, fmt.Errorf("board: rebuild %s: %w", day, err)
		}
		for len(rows) > 0 {
			chunk := rows[:min(len(rows), 1000)]
			rows = rows[len(chunk):]
			pipe := b.rdb.Pipeline()
			for _, c := range chunk {
				if _, err := b.apply(ctx, pipe, c); err != nil {
					return false, err
				}
			}
			if _, err := pipe.Exec(ctx); err != nil {
				return false, fmt.Errorf("board: rebuild %s: %w", day, err)
			}
		}
		afterOrg = orgs[len(orgs)-1]
	}
	if err := b.rdb.Set(ctx, b.readyKey(day), "1", keep).Err(); err != nil {
		return false, err
	}
	b.log.InfoContext(ctx, "check-in board rebuilt from the database", "day", day)
	return true, nil
}

package checkin

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Telling Redis of a check-in (its count on the board, its record for the
// repeats) happens after the member has their answer, in pipelines shared
// by the check-ins answered meanwhile.
//
// Why after: the row is committed when the statement returns, and nothing
// the member is told depends on Redis. Waiting for Redis before answering
// added a round trip to every new check-in, and a pipeline per check-in
// cost the server and Redis a write and a read each; one pipeline for all
// the check-ins answered while the last one was in flight costs them one.
//
// What it risks is what answering after Redis risked too: a process that
// dies between the commit and Redis leaves a check-in uncounted on the
// board (now for the few milliseconds a settle waits, before for the
// microseconds between two statements). The database keeps the row, the
// board of a day Redis could not count is rebuilt from it, and a record not
// kept only sends the next repeat to the database. The app flushes what is
// queued before it closes (Board.Close), and a board read on this instance
// first waits for what is queued (Board.Flush), so a secretary never reads
// a board short of what this instance answered.

// settlement is one check-in the database answered, to tell Redis of.
type settlement struct {
	c         Checkin
	created   bool       // count it on the board
	requested int64      // the org the member asked for (0: home)
	endsAt    *time.Time // when the membership's org ends (nil: never)
	gen       string     // keep the record if the member's generation is still this
	haveGen   bool       // the generation was read: keep a record
}

// settleBatch is the most settlements sent in one pipeline.
const settleBatch = 256

// settleBacklog is how many settlements may wait: past it the check-in
// waits for Redis as before, so a Redis that stopped answering slows the
// check-ins down instead of growing the queue without end.
const settleBacklog = 4096

// settler sends settlements to Redis from one goroutine at a time.
type settler struct {
	mu      sync.Mutex
	cond    *sync.Cond
	queue   []settlement
	running bool
	queued  uint64 // settlements ever queued
	settled uint64 // settlements ever sent (or given up on)
}

// settle tells Redis of a check-in the database answered: a new one
// (created) is counted on the board, and its record is kept for the
// repeats if the member's generation is still gen (haveGen false: it was
// not read, keep none). requested is the org the member asked for (0:
// home), endsAt the end date of the membership's org. It returns at once;
// the settlement goes in the next pipeline.
func (b *Board) settle(c Checkin, created bool, requested int64, endsAt *time.Time, gen string, haveGen bool) {
	if !created && !haveGen {
		return
	}
	st := settlement{c: c, created: created, requested: requested, endsAt: endsAt, gen: gen, haveGen: haveGen}
	s := &b.settler
	s.mu.Lock()
	if len(s.queue) >= settleBacklog {
		s.mu.Unlock()
		b.send(context.Background(), []settlement{st})
		return
	}
	s.queue = append(s.queue, st)
	s.queued++
	if !s.running {
		s.running = true
		go b.drain()
	}
	s.mu.Unlock()
}

// drain sends the queue, a pipeline at a time, until it is empty.
func (b *Board) drain() {
	s := &b.settler
	s.mu.Lock()
	for len(s.queue) > 0 {
		n := min(len(s.queue), settleBatch)
		batch := make([]settlement, n)
		copy(batch, s.queue)
		s.queue = s.queue[:copy(s.queue, s.queue[n:])]
		s.mu.Unlock()
		b.send(context.Background(), batch)
		s.mu.Lock()
		s.settled += uint64(n)
		s.cond.Broadcast()
	}
	s.running = false
	s.mu.Unlock()
}

// Flush returns when every settlement queued before the call has been sent.
func (b *Board) Flush() {
	s := &b.settler
	s.mu.Lock()
	for target := s.queued; s.settled < target; {
		s.cond.Wait()
	}
	s.mu.Unlock()
}

// Close sends what is queued: the app calls it before closing Redis.
func (b *Board) Close() error {
	b.Flush()
	return nil
}

// send tells Redis of settlements in one pipeline. A check-in Redis failed
// to count marks its day's board for a rebuild from the database.
func (b *Board) send(ctx context.Context, batch []settlement) {
	counted := make([]*redis.Cmd, len(batch))
	for try := 0; try < 2; try++ {
		pipe := b.rdb.Pipeline()
		kept := make([]*redis.Cmd, len(batch))
		for i, st := range batch {
			if st.created {
				var err error
				if counted[i], err = b.apply(ctx, pipe, st.c); err != nil {
					counted[i] = redis.NewCmd(ctx)
					counted[i].SetErr(err)
				}
			}
			if st.haveGen {
				kept[i] = b.records.keep(ctx, pipe, st.requested, st.c, st.endsAt, st.gen)
			}
		}
		_, _ = pipe.Exec(ctx)
		noScript := false
		for i := range batch {
			noScript = noScript || isNoScript(cmdErr(counted[i])) || isNoScript(cmdErr(kept[i]))
		}
		if try == 0 && noScript {
			// Redis restarted and lost the scripts: load them and go again
			// (counting is idempotent, keeping a record too).
			_ = count.Load(ctx, b.rdb).Err()
			_ = keepRecord.Load(ctx, b.rdb).Err()
			continue
		}
		break
	}
	failed := map[string]error{}
	for i, st := range batch {
		if err := cmdErr(counted[i]); err != nil {
			failed[st.c.Day] = err
		}
	}
	for day, err := range failed {
		b.log.WarnContext(ctx, "board counter not updated; the day's board will be rebuilt", "day", day, "err", err)
		_ = b.rdb.Del(ctx, b.readyKey(day)).Err()
	}
}

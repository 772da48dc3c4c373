package notify_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"xianfeng/config"
	"xianfeng/server/internal/notify"
)

// TestTwoAttemptsAtOnePushSpendOneSendSlot: a fan-out batch and a send job
// (queued again by the start-up sweep) can try the same notification at
// once. Only one of them may wait for a place in the global send rate:
// before, both took one, the loser found the message sent and gave its
// place to nobody, and a third member's push waited a whole minute.
func TestTwoAttemptsAtOnePushSpendOneSendSlot(t *testing.T) {
	const kind = notify.KindTaskAssigned
	w := newPushWorld(t, func(c *config.Config) { c.Notify.RatePerMinute = 2 })
	a, b := w.user("twice"), w.user("third")
	w.consent(a, kind, 1)
	w.consent(b, kind, 1)
	ids := w.notifyMany([]int64{a, b}, kind, "twice:1") // no workers run: the jobs stay queued

	// The window is full for another half second, so both attempts at a's
	// push pass their checks and wait for a place together.
	ctx := context.Background()
	key := w.env.App.Config.Redis.KeyPrefix + "push:rate"
	full := float64(time.Now().Add(-time.Minute + 500*time.Millisecond).UnixMilli())
	if err := w.env.App.Redis.ZAdd(ctx, key, redis.Z{Score: full, Member: "x1"}, redis.Z{Score: full, Member: "x2"}).Err(); err != nil {
		t.Fatal(err)
	}
	// The third member's push may ask before or after them: with two places
	// freeing at once, it waits a minute only if a's two attempts took both.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { _ = w.env.App.Pusher.Deliver(ctx, ids[0], false) })
	}
	wg.Go(func() {
		if err := w.env.App.Pusher.Deliver(ctx, ids[1], false); err != nil {
			t.Errorf("Deliver(third member) = %v", err)
		}
	})
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("an attempt is still waiting for a send slot after 3 s: the two attempts at one push took two of the minute's places")
	}
	for i, id := range ids {
		if got := w.delivery(id); got != notify.DeliverySent {
			t.Errorf("push %d (user %s): %s, want sent", id, strconv.FormatInt([]int64{a, b}[i], 10), got)
		}
	}
	if got := len(w.env.WeChat.Sent()); got != 2 {
		t.Errorf("WeChat got %d messages, want 2 (one each)", got)
	}
}

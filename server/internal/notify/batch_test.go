package notify_test

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"xianfeng/config"
	"xianfeng/server/internal/notify"
)

// usersWithConsent logs the users in by name and banks n consents each for
// the kind's template.
func (w *pushWorld) usersWithConsent(kind string, n int, names ...string) []int64 {
	users := make([]int64, len(names))
	for i, name := range names {
		users[i] = w.user(name)
		w.consent(users[i], kind, n)
	}
	return users
}

// deliverBatch runs Pusher.DeliverBatch with a gate of 8 sends in flight.
func (w *pushWorld) deliverBatch(ctx context.Context, p *notify.Pusher, ids []int64) map[int64]error {
	return p.DeliverBatch(ctx, ids, make(chan struct{}, 8))
}

// TestABatchSpendsExactlyTheConsentsOfThoseWhoGaveOne: in one batch,
// members with a consent get the message and lose one consent each; those
// without are inbox only at once; a member notified twice in the batch gets
// two messages for two consents; nobody's ledger moves otherwise.
func TestABatchSpendsExactlyTheConsentsOfThoseWhoGaveOne(t *testing.T) {
	w := newPushWorld(t)
	const kind = notify.KindTaskAssigned
	with, without, twice := w.user("with"), w.user("without"), w.user("twice")
	w.consent(with, kind, 3)
	w.consent(twice, kind, 2)
	ids := w.notifyMany([]int64{with, without, twice}, kind, "batch:1")
	ids = append(ids, w.notify(twice, kind, "batch:2"))

	if out := w.deliverBatch(context.Background(), w.env.App.Pusher, ids); len(out) != 0 {
		t.Fatalf("DeliverBatch left %v", out)
	}
	want := []string{notify.DeliverySent, notify.DeliveryNoConsent, notify.DeliverySent, notify.DeliverySent}
	for i, id := range ids {
		if got := w.delivery(id); got != want[i] {
			t.Errorf("notification %d: %s, want %s", i, got, want[i])
		}
	}
	for _, c := range []struct {
		user       int64
		openID     string
		sent, left int
	}{{with, "o-with", 1, 2}, {without, "o-without", 0, 0}, {twice, "o-twice", 2, 0}} {
		if got := w.sentTo(c.openID); got != c.sent {
			t.Errorf("%s got %d messages, want %d", c.openID, got, c.sent)
		}
		if got := w.consentsLeft(c.user, kind); got != c.left {
			t.Errorf("%s has %d consents left, want %d", c.openID, got, c.left)
		}
	}
}

// TestABatchLeavesAPushAnotherAttemptHolds: a send job (queued again by the
// sweep) holding a notification's claim keeps the batch off it: the batch
// reports it in flight, sends it not, and spends none of its consent,
// while the rest of the batch goes out.
func TestABatchLeavesAPushAnotherAttemptHolds(t *testing.T) {
	w := newPushWorld(t)
	const kind = notify.KindTaskAssigned
	users := w.usersWithConsent(kind, 1, "held", "free")
	held, free := users[0], users[1]
	ids := w.notifyMany(users, kind, "held:1")
	ctx := context.Background()
	key := w.env.App.Config.Redis.KeyPrefix + "push:attempt:" + strconv.FormatInt(ids[0], 10)
	if err := w.env.App.Redis.Set(ctx, key, "the send job", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}

	out := w.deliverBatch(ctx, w.env.App.Pusher, ids)
	if len(out) != 1 || !errors.Is(out[ids[0]], notify.ErrAttemptInFlight) {
		t.Fatalf("DeliverBatch left %v, want the held push in flight", out)
	}
	if got := w.delivery(ids[0]); got != notify.DeliveryQueued {
		t.Errorf("the held push is %s, want queued for its holder", got)
	}
	if w.sentTo("o-held") != 0 || w.consentsLeft(held, kind) != 1 {
		t.Errorf("the held push: %d messages and %d consents left, want 0 and 1", w.sentTo("o-held"), w.consentsLeft(held, kind))
	}
	if w.delivery(ids[1]) != notify.DeliverySent || w.sentTo("o-free") != 1 || w.consentsLeft(free, kind) != 0 {
		t.Errorf("the free push: %s, %d messages, %d consents left; want sent, 1, 0", w.delivery(ids[1]), w.sentTo("o-free"), w.consentsLeft(free, kind))
	}
	if got, err := w.env.App.Redis.Get(ctx, key).Result(); err != nil || got != "the send job" {
		t.Errorf("the holder's claim is %q (%v) after the batch, want it untouched", got, err)
	}
}

// TestABatchHonoursTheSendRate: with two sends allowed a minute, a batch of
// three sends two; the third waits for a slot, queued with its consent,
// until the job's time runs out, and is left for the job's next run.
func TestABatchHonoursTheSendRate(t *testing.T) {
	w := newPushWorld(t, func(c *config.Config) { c.Notify.RatePerMinute = 2 })
	const kind = notify.KindTaskAssigned
	users := w.usersWithConsent(kind, 1, "r1", "r2", "r3")
	ids := w.notifyMany(users, kind, "rate:1")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()

	out := w.deliverBatch(ctx, w.env.App.Pusher, ids)
	if got := len(w.env.WeChat.Sent()); got != 2 {
		t.Fatalf("WeChat got %d messages, want 2 of the minute's 2", got)
	}
	if len(out) != 0 {
		t.Fatalf("DeliverBatch left %v, want nothing: the batch's job runs again for the third push", out)
	}
	if got := w.delivery(ids[2]); got != notify.DeliveryQueued {
		t.Errorf("the third push is %s, want queued", got)
	}
	if got := w.consentsLeft(users[2], kind); got != 1 {
		t.Errorf("the third member has %d consents left, want 1", got)
	}
}

// TestABatchCrashBetweenSendAndRecord: a batch whose worker dies after
// WeChat accepted its messages leaves them "sending" with their consents
// spent; a retry of the batch sends none of them again.
func TestABatchCrashBetweenSendAndRecord(t *testing.T) {
	w := newPushWorld(t)
	const kind = notify.KindTaskAssigned
	users := w.usersWithConsent(kind, 2, "ca", "cb")
	ids := w.notifyMany(users, kind, "crash:1")
	errCrash := errors.New("worker killed")
	crashing := w.crashingPusher(errCrash)
	ctx := context.Background()
	if out := w.deliverBatch(ctx, crashing, ids); len(out) != 2 || !errors.Is(out[ids[0]], errCrash) {
		t.Fatalf("the crashing batch left %v, want both crashed", out)
	}
	w.deliverBatch(ctx, w.env.App.Pusher, ids) // the batch's retry
	for i, u := range users {
		if got := w.delivery(ids[i]); got != notify.DeliverySending {
			t.Errorf("push %d is %s after the retry, want sending (then unconfirmed once stale)", i, got)
		}
		if got := w.consentsLeft(u, kind); got != 1 {
			t.Errorf("member %d has %d consents left of 2, want 1", i, got)
		}
	}
	if got := len(w.env.WeChat.Sent()); got != 2 {
		t.Errorf("WeChat got %d messages, want 2: none sent twice", got)
	}
}

// TestTheStatementsOfABatchDoNotGrowWithItsMessages: the database work of a
// batch is a few statements per chunk of messages, not six per message.
func TestTheStatementsOfABatchDoNotGrowWithItsMessages(t *testing.T) {
	w := newPushWorld(t)
	const kind = notify.KindTaskAssigned
	names := make([]string, 60)
	for i := range names {
		names[i] = "s" + strconv.Itoa(i)
	}
	users := w.usersWithConsent(kind, 1, names...)
	ids := w.notifyMany(users, kind, "statements:1")
	var statements atomic.Int64
	count := func(*gorm.DB) { statements.Add(1) }
	cb := w.env.App.DB.DB.Callback()
	if err := errors.Join(cb.Query().After("gorm:query").Register("test:count", count),
		cb.Update().After("gorm:update").Register("test:count", count),
		cb.Row().After("gorm:row").Register("test:count", count),
		cb.Raw().After("gorm:raw").Register("test:count", count)); err != nil {
		t.Fatal(err)
	}

	if out := w.deliverBatch(context.Background(), w.env.App.Pusher, ids); len(out) != 0 {
		t.Fatalf("DeliverBatch left %v", out)
	}
	t.Logf("%d messages, %d statements", len(ids), statements.Load())
	if got := statements.Load(); got > 8 {
		t.Errorf("a batch of %d messages ran %d statements, want at most 8", len(ids), got)
	}
	if got := len(w.env.WeChat.Sent()); got != len(ids) {
		t.Errorf("WeChat got %d messages, want %d", got, len(ids))
	}
}

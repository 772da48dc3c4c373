package notify_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"xianfeng/config"
	"xianfeng/server/internal/app"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/queue"
	"xianfeng/server/internal/testenv"
)

// runWorkers runs the queue workers of a until the test ends.
func runWorkers(t *testing.T, a *app.App) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.RunWorkers(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunWorkers: %v", err)
		}
	})
}

// secondProcess builds another app on the same database, Redis and fake
// WeChat, standing for a second worker process; it is closed when the test ends.
func (w *pushWorld) secondProcess() *app.App {
	w.t.Helper()
	cfg := w.env.App.Config
	if mr := w.env.App.Redis.Embedded(); mr != nil {
		cfg.Redis.URL = "redis://" + mr.Addr()
	}
	a, err := app.New(context.Background(), cfg, w.env.App.Log, app.Options{WeChatTransport: w.env.WeChat.Transport()})
	if err != nil {
		w.t.Fatalf("second process: %v", err)
	}
	w.t.Cleanup(func() { _ = a.Close() })
	return a
}

// queueDepth returns the pending and the active jobs of a priority's queue.
func (w *pushWorld) queueDepth(t *testing.T, priority string) [2]int {
	t.Helper()
	info, err := w.env.App.Queue.Inspector().GetQueueInfo(w.env.App.Queue.Name(priority))
	if err != nil {
		if queues, _ := w.env.App.Queue.Inspector().Queues(); !slices.Contains(queues, w.env.App.Queue.Name(priority)) {
			return [2]int{} // never used
		}
		t.Fatal(err)
	}
	return [2]int{info.Pending, info.Active}
}

// askedWhenFull is a Redis hook that counts the scripts run on the send
// rate's ledger (the sorted set of the minute's slots) while it already
// held limit slots, once each has run: asks that a working limit refuses.
type askedWhenFull struct {
	rdb   redis.UniversalClient
	key   string
	limit int64
	n     atomic.Int64
}

func (h *askedWhenFull) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *askedWhenFull) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h *askedWhenFull) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		args := cmd.Args()
		if (cmd.Name() != "evalsha" && cmd.Name() != "eval") || len(args) <= 3 || args[3] != h.key {
			return next(ctx, cmd)
		}
		held, zerr := h.rdb.ZCard(ctx, h.key).Result()
		err := next(ctx, cmd)
		if zerr == nil && held >= h.limit {
			h.n.Add(1)
		}
		return err
	}
}

// TestRateLimitAcrossWorkerProcesses checks that notify.rate_per_minute
// caps the sends of all worker processes together.
func TestRateLimitAcrossWorkerProcesses(t *testing.T) {
	const perMinute, total = 5, 12
	const kind = notify.KindTaskAssigned
	w := newPushWorld(t, func(c *config.Config) {
		c.Notify.RatePerMinute = perMinute
		c.Queue.Concurrency = 4
		// The workers still waiting for a slot are cut off at the end.
		c.HTTP.ShutdownTimeout = 50 * time.Millisecond
	})
	users := make([]int64, total)
	for i := range users {
		users[i] = w.user(fmt.Sprintf("rate%02d", i))
		w.consent(users[i], kind, 1)
	}
	second := w.secondProcess()
	ledger := w.env.App.Config.Redis.KeyPrefix + "push:rate"
	asked := &askedWhenFull{rdb: w.env.App.Redis, key: ledger, limit: perMinute}
	w.env.App.Redis.AddHook(asked)
	second.Redis.AddHook(asked)
	runWorkers(t, w.env.App)
	runWorkers(t, second)

	ids := w.notifyMany(users, kind, "rate:1")
	testenv.Eventually(t, 20*time.Second, fmt.Sprintf("%d messages recorded sent", perMinute), func() bool {
		sent := 0
		for _, id := range ids {
			if w.delivery(id) == notify.DeliverySent {
				sent++
			}
		}
		return sent >= perMinute
	})
	// Wait until the workers have taken every job (a fan-out batch sends its
	// messages itself, each asking for a send slot at once) and the limit
	// has been asked for a slot once the minute's were all handed out: a
	// limit that did not hold would have granted it in the ledger.
	testenv.Eventually(t, 20*time.Second, "the workers to ask for a slot beyond the minute's", func() bool {
		c, d := w.queueDepth(t, queue.Critical), w.queueDepth(t, queue.Default)
		return c[0] == 0 && d[0] == 0 && c[1]+d[1] > 0 && asked.n.Load() > 0
	})

	if got, err := w.env.App.Redis.ZCard(context.Background(), ledger).Result(); err != nil || got != perMinute {
		t.Errorf("the rate's ledger holds %d slots (%v), want %d", got, err, perMinute)
	}
	if got := len(w.env.WeChat.Sent()); got != perMinute {
		t.Errorf("WeChat delivered %d messages within the first minute, want %d", got, perMinute)
	}
	if got := w.env.WeChat.SendAttempts(); got != perMinute {
		t.Errorf("WeChat was asked %d times within the first minute, want %d", got, perMinute)
	}
	states := map[string]int{}
	for i, id := range ids {
		state := w.delivery(id)
		states[state]++
		left := w.consentsLeft(users[i], kind)
		if (state == notify.DeliverySent) != (left == 0) {
			t.Errorf("user %d: delivery %s with %d consents left", users[i], state, left)
		}
	}
	if states[notify.DeliverySent] != perMinute || states[notify.DeliveryQueued] != total-perMinute {
		t.Errorf("deliveries %v, want %d sent and %d still queued", states, perMinute, total-perMinute)
	}
}

// TestPushEndToEnd runs the queue workers and follows notifications from
// the API to the fake WeChat.
func TestPushEndToEnd(t *testing.T) {
	w := newPushWorld(t, func(c *config.Config) { c.HTTP.ShutdownTimeout = time.Second })
	o := newOrgWorld(w)
	runWorkers(t, w.env.App)
	member := o.join("quinn", "13900000021", "刘先锋", "frontline")

	t.Run("approving a membership tells the member in the inbox", func(t *testing.T) {
		w := w.in(t)
		r := w.env.Do("GET", "/api/v1/me/notifications", member.Token, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("inbox: %d %s", r.Status, r.Body)
		}
		var p inboxJSON
		r.JSON(t, &p)
		if len(p.Items) != 1 || p.Items[0].Kind != notify.KindMemberApproved {
			t.Fatalf("inbox %+v, want one member_approved notification", p.Items)
		}
		// No consent was given for it: it is not pushed.
		testenv.Eventually(t, 20*time.Second, "member_approved ends inbox-only", func() bool {
			return w.in(t).delivery(p.Items[0].ID) == notify.DeliveryNoConsent
		})
	})

	r := w.env.Do("POST", "/api/v1/me/subscriptions", member.Token, map[string]any{"accepted": []string{templateID(notify.KindTaskAssigned)}})
	if r.Status != http.StatusOK {
		t.Fatalf("consent: %d %s", r.Status, r.Body)
	}

	t.Run("the first task uses the one consent and is pushed", func(t *testing.T) {
		w, o := w.in(t), o.in(t)
		id := o.createTask("核酸检测点值守", member)
		testenv.Eventually(t, 20*time.Second, "the task pushed to the member", func() bool { return w.sentTo("o-quinn") == 1 })
		msg := w.env.WeChat.Sent()[0]
		if msg.TemplateID != templateID(notify.KindTaskAssigned) || msg.Page != fmt.Sprintf("pages/task/detail?id=%d", id) {
			t.Errorf("message %+v", msg)
		}
		testenv.Eventually(t, 20*time.Second, "the delivery recorded as pushed", func() bool { return o.delivery(id).Pushed == 1 })
		if d := o.delivery(id); d.Total != 1 || d.InboxOnly != 0 || d.Queued != 0 {
			t.Errorf("delivery %+v, want 1 of 1 pushed", d)
		}
		if got := w.consentsLeft(member.ID, notify.KindTaskAssigned); got != 0 {
			t.Errorf("%d consents left, want 0", got)
		}
	})

	t.Run("the second task finds no consent left and stays in the inbox", func(t *testing.T) {
		w, o := w.in(t), o.in(t)
		id := o.createTask("物资配送", member)
		testenv.Eventually(t, 20*time.Second, "the second task inbox-only", func() bool { return o.delivery(id).InboxOnly == 1 })
		if d := o.delivery(id); d.Total != 1 || d.Pushed != 0 {
			t.Errorf("delivery %+v, want 1 of 1 inbox-only", d)
		}
		if got := w.sentTo("o-quinn"); got != 1 {
			t.Errorf("WeChat delivered %d messages to the member, want still 1", got)
		}
		var n int64
		if err := w.env.App.DB.Table("notifications").Where("user_id = ? AND kind = ? AND ref_type = 'task' AND ref_id = ?", member.ID, notify.KindTaskAssigned, id).
			Count(&n).Error; err != nil || n != 1 {
			t.Errorf("%d notifications of the second task for the member (%v), want 1", n, err)
		}
	})
}

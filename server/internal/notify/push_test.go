package notify_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"xianfeng/config"
	"xianfeng/server/internal/app"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/wechat"
)

// crashingPusher is a pusher on the world's database, Redis and fake
// WeChat whose worker dies (errCrash) after WeChat accepted each message,
// before the result is recorded.
func (w *pushWorld) crashingPusher(errCrash error) *notify.Pusher {
	cfg := w.env.App.Config
	wx := wechat.New(w.env.WeChat.Config(cfg.WeChat.Timeout), w.env.App.Redis, cfg.Redis.KeyPrefix, nil)
	return notify.NewPusher(w.env.App.DB.DB, w.env.App.Redis, wx, notify.PushOptions{
		Templates: app.NotifyTemplates(cfg), RatePerMinute: cfg.Notify.RatePerMinute, MiniprogramState: cfg.Notify.MiniprogramState,
		KeyPrefix: cfg.Redis.KeyPrefix, Location: cfg.Location(), Log: w.env.App.Log,
		AfterSend: func(int64) error { return errCrash },
	})
}

// in returns the world for a subtest, so its helpers fail the subtest.
func (w *pushWorld) in(t *testing.T) *pushWorld {
	c := *w
	c.t = t
	c.env = w.env.In(t)
	return &c
}

// TestDeliverAgainstWeChat runs one push per WeChat answer through the real
// client against the fake WeChat, calling Deliver again as asynq would retry.
func TestDeliverAgainstWeChat(t *testing.T) {
	// The fake WeChat answers at once but for "slow", which it holds for
	// wechattest.SlowDelay: a short client timeout gives that case up soon.
	w := newPushWorld(t, func(c *config.Config) { c.WeChat.Timeout = 150 * time.Millisecond })
	const kind = notify.KindTaskAssigned
	type attempt struct {
		last      bool  // asynq's last retry
		wantErr   error // nil, notify.ErrPermanent or the wechat kind a retry is for
		wantState string
	}
	tests := []struct {
		name         string
		login        string // the openid o-<login> chooses the fake's answer
		banked       int
		attempts     []attempt
		wantConsents int
		wantRequests int
		wantSent     int
	}{
		{
			name: "a member with consent gets the message and one consent is used", login: "alice", banked: 3,
			attempts:     []attempt{{wantState: notify.DeliverySent}, {wantState: notify.DeliverySent}},
			wantConsents: 2, wantRequests: 1, wantSent: 1,
		},
		{
			name: "a member who withdrew consent in WeChat (43101) is left inbox-only with no consent", login: "refused:bob", banked: 3,
			attempts:     []attempt{{wantState: notify.DeliveryNoConsent}, {wantState: notify.DeliveryNoConsent}},
			wantConsents: 0, wantRequests: 1, wantSent: 0,
		},
		{
			name: "a template WeChat rejects (47003) fails for good at once and gives the consent back", login: "bad-template:carol", banked: 3,
			attempts:     []attempt{{wantErr: notify.ErrPermanent, wantState: notify.DeliveryFailed}, {wantState: notify.DeliveryFailed}},
			wantConsents: 3, wantRequests: 1, wantSent: 0,
		},
		{
			name: "a quota error (45011) gives the consent back and the retry sends", login: "quota-once:dan", banked: 3,
			attempts:     []attempt{{wantErr: wechat.ErrQuota, wantState: notify.DeliveryQueued}, {wantState: notify.DeliverySent}},
			wantConsents: 2, wantRequests: 2, wantSent: 1,
		},
		{
			name: "a busy WeChat (-1) twice is retried twice and the third attempt sends", login: "busy-twice:erin", banked: 3,
			attempts: []attempt{
				{wantErr: wechat.ErrBusy, wantState: notify.DeliveryQueued},
				{wantErr: wechat.ErrBusy, wantState: notify.DeliveryQueued},
				{wantState: notify.DeliverySent},
			},
			wantConsents: 2, wantRequests: 3, wantSent: 1,
		},
		{
			name: "a WeChat that does not answer in time is retried and fails after the last attempt with the consent back", login: "slow:frank", banked: 3,
			attempts: []attempt{
				{wantErr: wechat.ErrUnavailable, wantState: notify.DeliveryQueued},
				{last: true, wantErr: wechat.ErrUnavailable, wantState: notify.DeliveryFailed},
				{wantState: notify.DeliveryFailed},
			},
			wantConsents: 3, wantRequests: 2, wantSent: 0,
		},
		{
			name: "an expired access token (40001) is replaced and the message sent in the same attempt", login: "expire-once:gina", banked: 3,
			attempts:     []attempt{{wantState: notify.DeliverySent}},
			wantConsents: 2, wantRequests: 2, wantSent: 1,
		},
		{
			name: "a member without consent stays inbox-only and WeChat is not asked", login: "hank", banked: 0,
			attempts:     []attempt{{wantState: notify.DeliveryNoConsent}},
			wantConsents: 0, wantRequests: 0, wantSent: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := w.in(t)
			ctx := context.Background()
			uid := w.user(tc.login)
			w.consent(uid, kind, tc.banked)
			id := w.notify(uid, kind, "deliver:"+tc.login)
			if got := w.delivery(id); got != notify.DeliveryQueued {
				t.Fatalf("a new pushable notification is %q, want queued", got)
			}
			before := w.env.WeChat.SendAttempts()
			for i, a := range tc.attempts {
				err := w.env.App.Pusher.Deliver(ctx, id, a.last)
				switch {
				case a.wantErr == nil && err != nil:
					t.Fatalf("attempt %d: %v, want no error", i+1, err)
				case a.wantErr != nil && !errors.Is(err, a.wantErr):
					t.Fatalf("attempt %d: error %v, want %v", i+1, err, a.wantErr)
				case a.wantErr != nil && a.wantErr != notify.ErrPermanent && errors.Is(err, notify.ErrPermanent):
					t.Fatalf("attempt %d: %v is permanent, want a retry", i+1, err)
				}
				if got := w.delivery(id); got != a.wantState {
					t.Fatalf("after attempt %d the delivery is %q, want %q", i+1, got, a.wantState)
				}
			}
			if got := w.env.WeChat.SendAttempts() - before; got != tc.wantRequests {
				t.Errorf("WeChat saw %d send requests, want %d", got, tc.wantRequests)
			}
			if got := w.sentTo("o-" + tc.login); got != tc.wantSent {
				t.Errorf("WeChat delivered %d messages, want %d", got, tc.wantSent)
			}
			if got := w.consentsLeft(uid, kind); got != tc.wantConsents {
				t.Errorf("%d consents left, want %d (of %d banked)", got, tc.wantConsents, tc.banked)
			}
		})
	}

	t.Run("the message carries the template, the page and the notification's words", func(t *testing.T) {
		w := w.in(t)
		var got *wechat.SubscribeMessage
		for _, m := range w.env.WeChat.Sent() {
			if m.ToOpenID == "o-alice" {
				got = &m
			}
		}
		if got == nil {
			t.Fatal("no message to o-alice")
		}
		if got.TemplateID != templateID(kind) || got.Page != "pages/task/detail?id=7" || got.State != "formal" {
			t.Errorf("template %q page %q state %q", got.TemplateID, got.Page, got.State)
		}
		if got.Data["thing1"] != "新任务：社区值守" || got.Data["thing2"] != "第一党支部" {
			t.Errorf("data %v", got.Data)
		}
	})
}

// TestCrashBetweenSendAndRecord stands for a worker that dies after WeChat
// accepted a message and before the result was written: the retry must not
// send it again, nor take a second consent.
func TestCrashBetweenSendAndRecord(t *testing.T) {
	w := newPushWorld(t)
	ctx := context.Background()
	const kind = notify.KindTaskAssigned
	uid := w.user("ivy")
	w.consent(uid, kind, 2)
	id := w.notify(uid, kind, "crash:1")

	errCrash := errors.New("worker killed")
	crashing := w.crashingPusher(errCrash)

	if err := crashing.Deliver(ctx, id, false); !errors.Is(err, errCrash) {
		t.Fatalf("Deliver on the crashing worker: %v, want the crash", err)
	}
	if got := w.sentTo("o-ivy"); got != 1 {
		t.Fatalf("WeChat delivered %d messages before the crash, want 1", got)
	}

	t.Run("a retry at once leaves the message to the attempt still in flight", func(t *testing.T) {
		w := w.in(t)
		if err := w.env.App.Pusher.Deliver(ctx, id, false); err == nil {
			t.Error("a retry while the mark is fresh succeeded, want an error so asynq tries later")
		}
		if got := w.in(t).delivery(id); got != notify.DeliverySending {
			t.Errorf("delivery %q, want sending", got)
		}
	})

	t.Run("a retry after the sending mark went stale records it unconfirmed without sending again", func(t *testing.T) {
		w := w.in(t)
		if err := w.env.App.DB.Table("notifications").Where("id = ?", id).
			Update("attempted_at", time.Now().UTC().Add(-time.Minute)).Error; err != nil {
			t.Fatal(err)
		}
		attempts := w.env.WeChat.SendAttempts()
		if err := w.env.App.Pusher.Deliver(ctx, id, false); err != nil {
			t.Fatalf("Deliver after the crash: %v", err)
		}
		if got := w.delivery(id); got != notify.DeliveryUnconfirmed {
			t.Errorf("delivery %q, want unconfirmed: nobody knows whether WeChat got it", got)
		}
		st, err := w.env.App.Inbox.BatchStats(ctx, "test", 7, kind)
		if err != nil {
			t.Fatal(err)
		}
		if st.Unconfirmed != 1 || st.Pushed != 0 || st.Queued != 0 || st.Total != 1 {
			t.Errorf("delivery stats %+v, want the one message unconfirmed, not pushed", st)
		}
		if got := w.env.WeChat.SendAttempts() - attempts; got != 0 {
			t.Errorf("WeChat was asked %d more times, want 0", got)
		}
		if got := w.sentTo("o-ivy"); got != 1 {
			t.Errorf("WeChat delivered %d messages in all, want 1", got)
		}
		if got := w.consentsLeft(uid, kind); got != 1 {
			t.Errorf("%d consents left of 2, want 1: the consent is taken exactly once", got)
		}
	})
}

// TestPushWithoutConsentDoesNotWaitForTheRate checks that the send rate
// counts only messages that go to WeChat: a notification nobody consented
// to goes inbox-only at once even when the minute's sends are used up.
func TestPushWithoutConsentDoesNotWaitForTheRate(t *testing.T) {
	w := newPushWorld(t, func(c *config.Config) { c.Notify.RatePerMinute = 1 })
	const kind = notify.KindTaskAssigned
	sender, other := w.user("jack"), w.user("kate")
	w.consent(sender, kind, 1)
	first := w.notify(sender, kind, "rate:1")
	second := w.notify(other, kind, "rate:1")
	if err := w.env.App.Pusher.Deliver(context.Background(), first, false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.env.App.Pusher.Deliver(ctx, second, false); err != nil {
		t.Fatalf("Deliver without consent: %v, want inbox-only at once", err)
	}
	if got := w.delivery(second); got != notify.DeliveryNoConsent {
		t.Errorf("delivery %q, want no_consent", got)
	}
}

// cancellingSender is WeChat asked by a job whose time runs out (asynq's
// timeout, a shutdown) while the answer comes back.
type cancellingSender struct {
	wechat.Client
	cancel context.CancelFunc
}

func (s cancellingSender) SendSubscribe(ctx context.Context, m wechat.SubscribeMessage) error {
	err := s.Client.SendSubscribe(ctx, m)
	s.cancel()
	return err
}

// TestJobEndsWhileWeChatAnswers checks that WeChat's answer is recorded even
// when the job's context ends during the call: otherwise the notification is
// stuck in "sending", later counted as sent whether or not it was, and the
// consent is lost.
func TestJobEndsWhileWeChatAnswers(t *testing.T) {
	w := newPushWorld(t)
	const kind = notify.KindTaskAssigned
	cfg := w.env.App.Config
	wx := wechat.New(w.env.WeChat.Config(cfg.WeChat.Timeout), w.env.App.Redis, cfg.Redis.KeyPrefix, nil)
	tests := []struct {
		name         string
		login        string
		wantState    string
		wantConsents int
	}{
		{"a message WeChat accepted is recorded sent", "mia", notify.DeliverySent, 1},
		{"a busy answer gives the consent back and leaves the message queued for a retry", "busy-twice:liam", notify.DeliveryQueued, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := w.in(t)
			uid := w.user(tc.login)
			w.consent(uid, kind, 2)
			id := w.notify(uid, kind, "timeout:"+tc.login)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p := notify.NewPusher(w.env.App.DB.DB, w.env.App.Redis, cancellingSender{Client: wx, cancel: cancel}, notify.PushOptions{
				Templates: app.NotifyTemplates(cfg), RatePerMinute: cfg.Notify.RatePerMinute, MiniprogramState: cfg.Notify.MiniprogramState,
				KeyPrefix: cfg.Redis.KeyPrefix, Location: cfg.Location(), Log: w.env.App.Log,
			})
			_ = p.Deliver(ctx, id, false)
			if got := w.delivery(id); got != tc.wantState {
				t.Errorf("delivery %q, want %q", got, tc.wantState)
			}
			if got := w.consentsLeft(uid, kind); got != tc.wantConsents {
				t.Errorf("%d consents left of 2, want %d", got, tc.wantConsents)
			}
		})
	}
}

package notify_test

import (
	"context"
	"testing"
	"time"

	"xianfeng/config"
	"xianfeng/server/internal/notify"
)

// TestPushWritesTimesInTheConfiguredZone: a message's time is the
// notification's, in the configured zone (not a fixed UTC+8), on either side
// of Shanghai's midnight.
func TestPushWritesTimesInTheConfiguredZone(t *testing.T) {
	const kind = notify.KindAnnouncement // its template shows {{time}}
	for _, tc := range []struct {
		zone string
		at   time.Time
		want string
	}{
		{"Asia/Shanghai", time.Date(2026, 3, 1, 15, 59, 59, 0, time.UTC), "2026-03-01 23:59"},
		{"Asia/Shanghai", time.Date(2026, 3, 1, 16, 0, 1, 0, time.UTC), "2026-03-02 00:00"},
		{"America/Los_Angeles", time.Date(2026, 3, 1, 16, 0, 1, 0, time.UTC), "2026-03-01 08:00"},
		{"UTC", time.Date(2026, 3, 1, 23, 59, 59, 0, time.UTC), "2026-03-01 23:59"},
	} {
		t.Run("made at "+tc.at.Format(time.TimeOnly)+" UTC, in "+tc.zone+" it is "+tc.want, func(t *testing.T) {
			w := newPushWorld(t, func(c *config.Config) { c.Timezone = tc.zone })
			uid := w.user("alice")
			w.consent(uid, kind, 1)
			id := w.notify(uid, kind, "zone")
			if err := w.env.App.DB.Table("notifications").Where("id = ?", id).Update("created_at", tc.at).Error; err != nil {
				t.Fatal(err)
			}
			if err := w.env.App.Pusher.Deliver(context.Background(), id, false); err != nil {
				t.Fatal(err)
			}
			sent := w.env.WeChat.Sent()
			if len(sent) != 1 || sent[0].Data["time3"] != tc.want {
				t.Fatalf("WeChat got %+v, want one message with time3 %q", sent, tc.want)
			}
		})
	}
}

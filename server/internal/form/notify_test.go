package form_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"xianfeng/server/internal/notify"
)

// TestTheAudienceIsToldOfANewFormAndRemindedOnceBeforeItIsDue: publishing
// tells each member of the audience once; 30 minutes before 10:00 the
// members who have not filled today's entry are reminded, once.
func TestTheAudienceIsToldOfANewFormAndRemindedOnceBeforeItIsDue(t *testing.T) {
	w := newWorld(t) // 09:00 in Shanghai
	ctx := context.Background()
	f := w.createForm(w.SecA, w.A, "daily", healthFields, map[string]any{"due_at": "10:00", "remind_before_minutes": 30})
	count := func(t *testing.T, kind string, userID int64) int64 {
		t.Helper()
		var n int64
		w.Must(w.App.DB.Table("notifications").Where("kind = ? AND user_id = ? AND ref_id = ?", kind, userID, f.ID).Count(&n).Error)
		return n
	}
	// The job may have run already; running it again tells nobody twice.
	w.Must(w.App.Form.FanOut(ctx, f.ID))
	w.Must(w.App.Form.FanOut(ctx, f.ID))
	for _, p := range []struct {
		name string
		id   int64
		want int64
	}{{"MemberA", w.MemberA.ID, 1}, {"SecA", w.SecA.ID, 1}, {"MemberB", w.MemberB.ID, 0}} {
		if got := count(t, notify.KindFormPublished, p.id); got != p.want {
			t.Errorf("%s got %d form_published notifications, want %d", p.name, got, p.want)
		}
	}

	w.Expect(w.submit(w.SecA, f.ID, "n-1", healthy), http.StatusCreated)
	w.Must(w.App.Form.Remind(ctx)) // 09:00: too early
	if got := count(t, notify.KindFormReminder, w.MemberA.ID); got != 0 {
		t.Errorf("reminded %d times at 09:00, want 0", got)
	}
	w.clock.Set(time.Date(2020, 2, 3, 1, 40, 0, 0, time.UTC)) // 09:40
	w.Must(w.App.Form.Remind(ctx))
	w.clock.Add(time.Minute)
	w.Must(w.App.Form.Remind(ctx))
	if got := count(t, notify.KindFormReminder, w.MemberA.ID); got != 1 {
		t.Errorf("MemberA was reminded %d times, want once", got)
	}
	if got := count(t, notify.KindFormReminder, w.SecA.ID); got != 0 {
		t.Errorf("SecA, who has filled it, was reminded %d times", got)
	}
	t.Run("the next day is reminded again", func(t *testing.T) {
		w := w.In(t)
		w.clock.Add(24 * time.Hour)
		w.Must(w.App.Form.Remind(ctx))
		if got := count(t, notify.KindFormReminder, w.MemberA.ID); got != 2 {
			t.Errorf("MemberA was reminded %d times over two days, want 2", got)
		}
	})
}

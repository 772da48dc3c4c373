package form_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"xianfeng/server/internal/form"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/queue"
)

// shanghai is the instant of a wall-clock time in Shanghai on a day of
// February 2020.
func shanghai(day, hour, minute, sec int) time.Time {
	return time.Date(2020, 2, day, hour, minute, sec, 0, time.FixedZone("CST", 8*3600))
}

// misses lists the form's misses as "day name" in day and user order.
func (w *world) misses(formID int64) []string {
	w.T().Helper()
	var rows []struct {
		Day    string
		UserID int64
	}
	w.Must(w.App.DB.Table("form_misses").Where("form_id = ?", formID).Order("day, user_id").Scan(&rows).Error)
	names := map[int64]string{w.SecA.ID: "SecA", w.MemberA.ID: "MemberA", w.MemberB.ID: "MemberB", w.RootSec.ID: "RootSec", w.SecB.ID: "SecB"}
	out := []string{}
	for _, r := range rows {
		n, ok := names[r.UserID]
		if !ok {
			n = fmt.Sprint("user ", r.UserID)
		}
		out = append(out, r.Day+" "+n)
	}
	return out
}

// TestMembersWhoHaveNotFilledADailyFormByItsDueTimeAreMarkedMissing walks a
// daily form due at 10:00 in Shanghai through four days at fixed instants.
func TestMembersWhoHaveNotFilledADailyFormByItsDueTimeAreMarkedMissing(t *testing.T) {
	w := newWorld(t) // 09:00 on 2020-02-03
	ctx := context.Background()
	f := w.createForm(w.SecA, w.A, "daily", healthFields, map[string]any{"due_at": "10:00"})
	// Both take the subtest's world, so that a failure is the subtest's.
	sweep := func(w *world, at time.Time) {
		w.clock.Set(at)
		w.Must(w.App.Form.MarkMissing(ctx))
	}
	expect := func(t *testing.T, w *world, want ...string) {
		t.Helper()
		if got := w.misses(f.ID); !slices.Equal(got, want) {
			t.Errorf("misses = %q, want %q", got, want)
		}
	}
	w.Expect(w.submit(w.SecA, f.ID, "d3-s", healthy), http.StatusCreated)

	t.Run("nobody is missing before the due time", func(t *testing.T) {
		w := w.In(t)
		sweep(w, shanghai(3, 9, 59, 59))
		expect(t, w)
	})
	t.Run("at the due time the member of the audience without an entry is, once", func(t *testing.T) {
		w := w.In(t)
		sweep(w, shanghai(3, 10, 0, 0))
		sweep(w, shanghai(3, 10, 1, 0))
		// PendingA is not approved; MemberB is of another branch.
		expect(t, w, "2020-02-03 MemberA")
	})
	t.Run("a late entry does not undo the miss", func(t *testing.T) {
		w := w.In(t)
		w.clock.Set(shanghai(3, 10, 30, 0))
		w.Expect(w.submit(w.MemberA, f.ID, "d3-a", healthy), http.StatusCreated)
		sweep(w, shanghai(3, 10, 31, 0))
		expect(t, w, "2020-02-03 MemberA")
	})
	var late int64
	t.Run("an entry at midnight counts for the new day; a member who joins after the due time is not missing that day", func(t *testing.T) {
		w := w.In(t)
		w.clock.Set(shanghai(4, 0, 0, 0))
		w.Expect(w.submit(w.MemberA, f.ID, "d4-a", healthy), http.StatusCreated)
		w.clock.Set(shanghai(4, 10, 0, 30))
		late = w.Member(w.A, "周后来", "frontline").ID
		sweep(w, shanghai(4, 10, 1, 0))
		expect(t, w, "2020-02-03 MemberA", "2020-02-04 SecA")
	})
	t.Run("days whose sweep did not run are marked at the next", func(t *testing.T) {
		w := w.In(t)
		w.clock.Set(shanghai(5, 9, 0, 0))
		w.Expect(w.submit(w.MemberA, f.ID, "d5-a", healthy), http.StatusCreated)
		w.Expect(w.submit(w.SecA, f.ID, "d5-s", healthy), http.StatusCreated)
		sweep(w, shanghai(6, 10, 5, 0))
		expect(t, w, "2020-02-03 MemberA", "2020-02-04 SecA",
			fmt.Sprint("2020-02-05 user ", late), "2020-02-06 SecA", "2020-02-06 MemberA", fmt.Sprint("2020-02-06 user ", late))
	})
	t.Run("an entry made offline before the due time and sent after the sweep withdraws the miss", func(t *testing.T) {
		w := w.In(t)
		w.clock.Set(shanghai(6, 10, 20, 0))
		w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/forms/%d/entries", f.ID), w.MemberA, map[string]any{
			"request_id": "d6-a", "answers": healthy, "client_time": shanghai(6, 9, 55, 0).Format(time.RFC3339)}), http.StatusCreated)
		expect(t, w, "2020-02-03 MemberA", "2020-02-04 SecA",
			fmt.Sprint("2020-02-05 user ", late), "2020-02-06 SecA", fmt.Sprint("2020-02-06 user ", late))
	})
	t.Run("the misses count in the branch's assessment figures", func(t *testing.T) {
		w := w.In(t)
		var st struct {
			Org struct {
				Forms struct{ Entries, Missed int64 } `json:"forms"`
			} `json:"org"`
			Members struct {
				Items []struct {
					UserID int64                           `json:"user_id"`
					Forms  struct{ Entries, Missed int64 } `json:"forms"`
				} `json:"items"`
			} `json:"members"`
		}
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/stats?from=2020-02-03&to=2020-02-06", w.A), w.SecA, nil), http.StatusOK).JSON(t, &st)
		if st.Org.Forms.Entries != 6 || st.Org.Forms.Missed != 5 {
			t.Errorf("branch A's form figures = %+v, want 6 entries and 5 misses", st.Org.Forms)
		}
		for _, m := range st.Members.Items {
			if m.UserID == w.MemberA.ID && (m.Forms.Entries != 4 || m.Forms.Missed != 1) {
				t.Errorf("MemberA's form figures = %+v, want 4 entries and 1 miss", m.Forms)
			}
		}
	})
}

// TestAOnceFormMarksMissingOnceAtItsDueTime: a once form due at 12:00
// marks the members without an entry then, on that day, and never again.
func TestAOnceFormMarksMissingOnceAtItsDueTime(t *testing.T) {
	w := newWorld(t) // 09:00 on 2020-02-03
	ctx := context.Background()
	f := w.createForm(w.SecA, w.A, "once", healthFields, map[string]any{"due_at": shanghai(3, 12, 0, 0).Format(time.RFC3339)})
	w.Expect(w.submit(w.MemberA, f.ID, "o-a", healthy), http.StatusCreated)
	for _, at := range []time.Time{shanghai(3, 11, 59, 0), shanghai(3, 12, 0, 0), shanghai(4, 12, 0, 0)} {
		w.clock.Set(at)
		w.Must(w.App.Form.MarkMissing(ctx))
	}
	if got, want := w.misses(f.ID), []string{"2020-02-03 SecA"}; !slices.Equal(got, want) {
		t.Errorf("misses = %q, want %q", got, want)
	}
}

// TestTheAudienceIsToldOfANewFormAndRemindedOnceBeforeItIsDue: publishing
// tells each member of the audience once; 30 minutes before 10:00 the
// members who have not filled today's entry are reminded, once.
func TestTheAudienceIsToldOfANewFormAndRemindedOnceBeforeItIsDue(t *testing.T) {
	w := newWorld(t) // 09:00 in Shanghai
	ctx := context.Background()
	f := w.createForm(w.SecA, w.A, "daily", healthFields, map[string]any{"due_at": "10:00", "remind_before_minutes": 30})
	// The job may have run already; running it again tells nobody twice.
	w.Must(w.App.Form.FanOut(ctx, f.ID))
	w.Must(w.App.Form.FanOut(ctx, f.ID))
	for _, p := range []struct {
		name string
		id   int64
		want int64
	}{{"MemberA", w.MemberA.ID, 1}, {"SecA", w.SecA.ID, 1}, {"MemberB", w.MemberB.ID, 0}} {
		if got := w.notified(notify.KindFormPublished, p.id, f.ID); got != p.want {
			t.Errorf("%s got %d form_published notifications, want %d", p.name, got, p.want)
		}
	}

	w.Expect(w.submit(w.SecA, f.ID, "n-1", healthy), http.StatusCreated)
	w.Must(w.App.Form.Remind(ctx)) // 09:00: too early
	if got := w.notified(notify.KindFormReminder, w.MemberA.ID, f.ID); got != 0 {
		t.Errorf("reminded %d times at 09:00, want 0", got)
	}
	w.clock.Set(time.Date(2020, 2, 3, 1, 40, 0, 0, time.UTC)) // 09:40
	w.Must(w.App.Form.Remind(ctx))
	w.clock.Add(time.Minute)
	w.Must(w.App.Form.Remind(ctx))
	if got := w.notified(notify.KindFormReminder, w.MemberA.ID, f.ID); got != 1 {
		t.Errorf("MemberA was reminded %d times, want once", got)
	}
	if got := w.notified(notify.KindFormReminder, w.SecA.ID, f.ID); got != 0 {
		t.Errorf("SecA, who has filled it, was reminded %d times", got)
	}
	t.Run("the next day is reminded again", func(t *testing.T) {
		w := w.In(t)
		w.clock.Add(24 * time.Hour)
		w.Must(w.App.Form.Remind(ctx))
		if got := w.notified(notify.KindFormReminder, w.MemberA.ID, f.ID); got != 2 {
			t.Errorf("MemberA was reminded %d times over two days, want 2", got)
		}
	})
}

// TestANewFormsFanOutIsQueuedOnceOnTheDefaultQueue pins the fan-out job a
// new form queues: its task id is the form's, its payload names the form,
// and publishing it again queues nothing more.
func TestANewFormsFanOutIsQueuedOnceOnTheDefaultQueue(t *testing.T) {
	w := newWorld(t)
	f := w.createForm(w.SecA, w.A, "daily", healthFields, nil)
	w.Must(form.NewJobs(w.App.Queue).Publish(context.Background(), f.ID))

	q := w.App.Queue
	info, err := q.Inspector().GetTaskInfo(q.Name(queue.Default), fmt.Sprintf("form-fanout-%d", f.ID))
	if err != nil {
		t.Fatalf("the fan-out of form %d: %v", f.ID, err)
	}
	if want := fmt.Sprintf(`{"id":%d}`, f.ID); info.Type != form.TypeFanOut || string(info.Payload) != want || info.MaxRetry != 20 || info.Timeout != 10*time.Minute {
		t.Errorf("queued %s %s with %d retries and timeout %s, want %s %s, 20 and 10m", info.Type, info.Payload, info.MaxRetry, info.Timeout, form.TypeFanOut, want)
	}
	pending, err := q.Inspector().ListPendingTasks(q.Name(queue.Default))
	if err != nil {
		t.Fatalf("list the pending jobs: %v", err)
	}
	n := 0
	for _, p := range pending {
		if p.Type == form.TypeFanOut {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d form fan-outs pending, want 1", n)
	}
}

// TestAOnceFormRemindsEachMemberOnceEvenOverMidnight: a once form due at
// 10:00 tomorrow with a reminder a day before reminds the members who have
// not filled it at 10:00 today, and not again after midnight (a new day)
// nor just before the due time.
func TestAOnceFormRemindsEachMemberOnceEvenOverMidnight(t *testing.T) {
	w := newWorld(t) // 09:00 on 2020-02-03 in Shanghai
	ctx := context.Background()
	f := w.createForm(w.SecA, w.A, "once", healthFields, map[string]any{
		"due_at": shanghai(4, 10, 0, 0).Format(time.RFC3339), "remind_before_minutes": 24 * 60})
	w.Expect(w.submit(w.SecA, f.ID, "o-s", healthy), http.StatusCreated)
	for _, at := range []time.Time{shanghai(3, 9, 59, 0), shanghai(3, 10, 0, 0), shanghai(3, 23, 59, 0), shanghai(4, 0, 0, 30), shanghai(4, 9, 59, 0), shanghai(4, 10, 0, 0)} {
		w.clock.Set(at)
		w.Must(w.App.Form.Remind(ctx))
	}
	for _, p := range []struct {
		name string
		id   int64
		want int64
	}{{"MemberA", w.MemberA.ID, 1}, {"SecA, who filled it", w.SecA.ID, 0}} {
		if n := w.notified(notify.KindFormReminder, p.id, f.ID); n != p.want {
			t.Errorf("%s was reminded %d times, want %d", p.name, n, p.want)
		}
	}
}

// TestRemindersAndMissesReachEveryFormBeyondTheFirstThousand: 1,200
// older forms that have nothing due now (once forms reminded and missed
// already, daily forms due later in the day) do not keep the sweep from a
// newer form whose reminder and due time come now.
func TestRemindersAndMissesReachEveryFormBeyondTheFirstThousand(t *testing.T) {
	w := newWorld(t) // 09:00 on 2020-02-03 in Shanghai
	ctx := context.Background()
	due := shanghai(5, 10, 0, 0).UTC()
	var old []form.Form
	for i := range 1200 {
		f := form.Form{OrgID: w.A, CreatedBy: w.SecA.ID, Title: fmt.Sprint("旧表", i), Mode: form.ModeOnce, Target: `{"badges":[],"user_ids":[]}`,
			RemindBeforeMinutes: 30, RemindedOn: "2020-02-02", MissedOn: "2020-02-02", DueAt: &due, Fields: "[]", Status: form.StatusOpen,
			CreatedAt: start, UpdatedAt: start}
		if i%6 != 0 {
			f.Mode, f.DueAt, f.DueTime, f.RemindedOn, f.MissedOn = form.ModeDaily, nil, "18:00", "", ""
		}
		old = append(old, f)
	}
	w.Must(w.App.DB.CreateInBatches(old, 200).Error)
	f := w.createForm(w.SecA, w.A, "daily", healthFields, map[string]any{"due_at": "10:00", "remind_before_minutes": 30})
	w.clock.Set(shanghai(3, 9, 45, 0))
	w.Must(w.App.Form.Remind(ctx))
	if n := w.notified(notify.KindFormReminder, w.MemberA.ID, f.ID); n != 1 {
		t.Errorf("MemberA was reminded of the newest form %d times, want once", n)
	}
	w.clock.Set(shanghai(3, 10, 0, 0))
	w.Must(w.App.Form.MarkMissing(ctx))
	if got := w.misses(f.ID); !slices.Equal(got, []string{"2020-02-03 SecA", "2020-02-03 MemberA"}) {
		t.Errorf("misses of the newest form = %q, want SecA's and MemberA's", got)
	}
}

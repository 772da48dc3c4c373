package form_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"
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
	sweep := func(at time.Time) {
		w.clock.Set(at)
		w.Must(w.App.Form.MarkMissing(ctx))
	}
	expect := func(t *testing.T, want ...string) {
		t.Helper()
		if got := w.misses(f.ID); !slices.Equal(got, want) {
			t.Errorf("misses = %q, want %q", got, want)
		}
	}
	w.Expect(w.submit(w.SecA, f.ID, "d3-s", healthy), http.StatusCreated)

	t.Run("nobody is missing before the due time", func(t *testing.T) {
		sweep(shanghai(3, 9, 59, 59))
		expect(t)
	})
	t.Run("at the due time the member of the audience without an entry is, once", func(t *testing.T) {
		sweep(shanghai(3, 10, 0, 0))
		sweep(shanghai(3, 10, 1, 0))
		// PendingA is not approved; MemberB is of another branch.
		expect(t, "2020-02-03 MemberA")
	})
	t.Run("a late entry does not undo the miss", func(t *testing.T) {
		w := w.In(t)
		w.clock.Set(shanghai(3, 10, 30, 0))
		w.Expect(w.submit(w.MemberA, f.ID, "d3-a", healthy), http.StatusCreated)
		sweep(shanghai(3, 10, 31, 0))
		expect(t, "2020-02-03 MemberA")
	})
	var late int64
	t.Run("an entry at midnight counts for the new day; a member who joins after the due time is not missing that day", func(t *testing.T) {
		w := w.In(t)
		w.clock.Set(shanghai(4, 0, 0, 0))
		w.Expect(w.submit(w.MemberA, f.ID, "d4-a", healthy), http.StatusCreated)
		w.clock.Set(shanghai(4, 10, 0, 30))
		late = w.Member(w.A, "周后来", "frontline").ID
		sweep(shanghai(4, 10, 1, 0))
		expect(t, "2020-02-03 MemberA", "2020-02-04 SecA")
	})
	t.Run("days whose sweep did not run are marked at the next", func(t *testing.T) {
		w := w.In(t)
		w.clock.Set(shanghai(5, 9, 0, 0))
		w.Expect(w.submit(w.MemberA, f.ID, "d5-a", healthy), http.StatusCreated)
		w.Expect(w.submit(w.SecA, f.ID, "d5-s", healthy), http.StatusCreated)
		sweep(shanghai(6, 10, 5, 0))
		expect(t, "2020-02-03 MemberA", "2020-02-04 SecA",
			fmt.Sprint("2020-02-05 user ", late), "2020-02-06 SecA", "2020-02-06 MemberA", fmt.Sprint("2020-02-06 user ", late))
	})
	t.Run("an entry made offline before the due time and sent after the sweep withdraws the miss", func(t *testing.T) {
		w := w.In(t)
		w.clock.Set(shanghai(6, 10, 20, 0))
		w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/forms/%d/entries", f.ID), w.MemberA, map[string]any{
			"request_id": "d6-a", "answers": healthy, "client_time": shanghai(6, 9, 55, 0).Format(time.RFC3339)}), http.StatusCreated)
		expect(t, "2020-02-03 MemberA", "2020-02-04 SecA",
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

package stats_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"xianfeng/server/internal/checkin"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/task"
)

// TestStatsDaysAtMidnight makes a check-in and a task on each side of
// Shanghai's midnight on the server's clock, then asks for statistics at
// fixed instants: the default period ends on the clock's Shanghai day, and a
// day's figures hold exactly what was made on that Shanghai day.
func TestStatsDaysAtMidnight(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	var members []org.Membership
	for _, m := range w.memberships {
		if m.Status == org.StatusApproved && m.Role == org.RoleMember && len(members) < 2 {
			members = append(members, m)
		}
	}
	if len(members) < 2 {
		t.Fatal("the seed has fewer than two approved members")
	}
	lateAt, earlyAt := time.Date(2026, 3, 1, 15, 59, 59, 0, time.UTC), time.Date(2026, 3, 1, 16, 0, 1, 0, time.UTC)
	makeAt := func(at time.Time, m org.Membership, id string) {
		t.Helper()
		w.clock.Set(at)
		if _, _, err := w.env.App.Checkin.Checkin(ctx, m.UserID, checkin.Input{OrgID: m.OrgID, RequestID: id}); err != nil {
			t.Fatal(err)
		}
		tk, _, err := w.env.App.Task.Create(ctx, w.seed.RootSecretaryUserID, w.seed.RootID, task.Input{Title: "值守 " + id, Kind: task.KindDuty,
			Target: task.Target{UserIDs: []int64{m.UserID}, IncludeSuborgs: true}})
		w.must(err)
		w.must(w.env.App.Task.FanOut(ctx, tk.ID))
	}
	makeAt(lateAt, members[0], "late")   // 23:59:59 on 03-01 in Shanghai
	makeAt(earlyAt, members[1], "early") // 00:00:01 on 03-02 in Shanghai

	for _, tc := range []struct {
		name           string
		now            time.Time
		from, to       string // asked; "" for the default
		wantFrom, want string // the period answered
		days           int
		checkins       int64
		assigned       int64
	}{
		{"at 15:59:59 UTC (23:59:59 in Shanghai) the default period ends on 03-01 and holds the first",
			lateAt, "", "", "2026-01-31", "2026-03-01", 30, 1, 1},
		{"at 16:00:01 UTC (00:00:01 in Shanghai) the default period ends on 03-02 and holds both",
			earlyAt, "", "", "2026-02-01", "2026-03-02", 30, 2, 2},
		{"at 23:59:59 UTC (07:59:59 in Shanghai) the default period still ends on 03-02",
			time.Date(2026, 3, 1, 23, 59, 59, 0, time.UTC), "", "", "2026-02-01", "2026-03-02", 30, 2, 2},
		{"at 00:00:01 UTC (08:00:01 in Shanghai) the default period still ends on 03-02",
			time.Date(2026, 3, 2, 0, 0, 1, 0, time.UTC), "", "", "2026-02-01", "2026-03-02", 30, 2, 2},
		{"03-01 alone holds what was made at 23:59:59 in Shanghai",
			earlyAt, "2026-03-01", "2026-03-01", "2026-03-01", "2026-03-01", 1, 1, 1},
		{"03-02 alone holds what was made at 00:00:01 in Shanghai",
			earlyAt, "2026-03-02", "2026-03-02", "2026-03-02", "2026-03-02", 1, 1, 1},
		{"at 23:59:59 on 03-30 in Shanghai the default period starts on 03-01 and holds both",
			time.Date(2026, 3, 30, 15, 59, 59, 0, time.UTC), "", "", "2026-03-01", "2026-03-30", 30, 2, 2},
		{"at 00:00:01 on 03-31 in Shanghai the default period starts on 03-02 and holds the second",
			time.Date(2026, 3, 30, 16, 0, 1, 0, time.UTC), "", "", "2026-03-02", "2026-03-31", 30, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := w.in(t)
			w.clock.Set(tc.now)
			q := url.Values{}
			if tc.from != "" {
				q.Set("from", tc.from)
				q.Set("to", tc.to)
			}
			r := w.stats(w.rootSec, w.seed.RootID, q)
			var got statsJSON
			if r.JSON(t, &got); r.Status != http.StatusOK {
				t.Fatalf("GET stats: %d %s", r.Status, r.Body)
			}
			if got.From != tc.wantFrom || got.To != tc.want || got.Days != tc.days || got.Timezone != "Asia/Shanghai" {
				t.Errorf("period %s..%s (%d days, %s), want %s..%s (%d days, Asia/Shanghai)", got.From, got.To, got.Days, got.Timezone, tc.wantFrom, tc.want, tc.days)
			}
			if got.Org.Checkins.Days != tc.checkins || got.Org.Tasks.Assigned != tc.assigned {
				t.Errorf("%d check-ins and %d assignments, want %d and %d", got.Org.Checkins.Days, got.Org.Tasks.Assigned, tc.checkins, tc.assigned)
			}
		})
	}
}

package checkin_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"
)

// instants around the two midnights that matter: Shanghai's (16:00 UTC) and
// UTC's (08:00 in Shanghai, no new day there). day is the Shanghai day.
var instants = []struct {
	name string
	at   time.Time
	day  string
}{
	{"at 15:59:59 UTC, 23:59:59 in Shanghai, it is still 03-01", time.Date(2026, 3, 1, 15, 59, 59, 0, time.UTC), "2026-03-01"},
	{"at 16:00:01 UTC, 00:00:01 in Shanghai, it is 03-02 though UTC says 03-01", time.Date(2026, 3, 1, 16, 0, 1, 0, time.UTC), "2026-03-02"},
	{"at 23:59:59 UTC, 07:59:59 in Shanghai, it is 03-02 though UTC says 03-01", time.Date(2026, 3, 1, 23, 59, 59, 0, time.UTC), "2026-03-02"},
	{"at 00:00:01 UTC, 08:00:01 in Shanghai, it is 03-02", time.Date(2026, 3, 2, 0, 0, 1, 0, time.UTC), "2026-03-02"},
	{"at 23:59:59 in Shanghai it is still 03-05", time.Date(2026, 3, 5, 23, 59, 59, 0, shanghai), "2026-03-05"},
	{"at 00:00:01 in Shanghai it is 03-06", time.Date(2026, 3, 6, 0, 0, 1, 0, shanghai), "2026-03-06"},
}

// onBoard reports whether the user is in the org's Redis set for the day.
func (w *world) onBoard(day string, orgID, userID int64) bool {
	w.t.Helper()
	w.App.Board.Flush() // the count follows the answer
	key := w.App.Config.Redis.KeyPrefix + "board:{" + day + "}:set:" + strconv.FormatInt(orgID, 10)
	in, err := w.App.Redis.SIsMember(context.Background(), key, strconv.FormatInt(userID, 10)).Result()
	if err != nil {
		w.t.Fatalf("board key %s: %v", key, err)
	}
	return in
}

// TestCheckinDaysAtMidnight moves the server's clock to fixed instants
// around midnight: the check-in's day, its board keys and the board's and
// the list's default day are the configured zone's (Asia/Shanghai), never
// UTC's or the machine's.
func TestCheckinDaysAtMidnight(t *testing.T) {
	w := newWorld(t)
	for i, tc := range instants {
		t.Run(tc.name, func(t *testing.T) {
			w := w.in(t)
			w.clock.Set(tc.at)
			p := w.NewMember(w.A, "frontline")
			c, status := w.checkin(p, map[string]any{"request_id": "r" + strconv.Itoa(i)})
			if status != 201 || c.Day != tc.day {
				t.Errorf("the check-in answered %d for day %s, want 201 for %s", status, c.Day, tc.day)
			}
			if !w.onBoard(tc.day, w.A, p.ID) {
				t.Errorf("the check-in is not in the board key of %s", tc.day)
			}
			var b boardJSON
			w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/checkins", w.A), w.SecA, nil), 200).JSON(t, &b)
			if b.Date != tc.day {
				t.Errorf("the board shows %s by default, want %s", b.Date, tc.day)
			}
			var page struct {
				Items []checkinJSON `json:"items"`
			}
			w.Expect(w.DoAs("GET", "/api/v1/me/checkins?from="+tc.day, p, nil), 200).JSON(t, &page)
			if len(page.Items) != 1 || page.Items[0].ID != c.ID {
				t.Errorf("the list from %s to today shows %+v, want the check-in %d", tc.day, page.Items, c.ID)
			}
		})
	}
}

// TestOfflineCheckinAtMidnight sends a check-in queued offline just before
// midnight once the clock has passed it: it belongs to the day of its
// client_time in Shanghai, inside the default 12-hour window.
func TestOfflineCheckinAtMidnight(t *testing.T) {
	w := newWorld(t)
	window := w.App.Config.Checkin.OfflineWindow
	for _, tc := range []struct {
		name       string
		now, queue time.Time
		status     int
		day        string
	}{
		{"queued at 23:59:59 in Shanghai (15:59:59 UTC) and sent at 00:00:01: the previous day",
			time.Date(2026, 3, 1, 16, 0, 1, 0, time.UTC), time.Date(2026, 3, 1, 15, 59, 59, 0, time.UTC), 201, "2026-03-01"},
		{"queued at 00:00:01 in Shanghai and sent a second later: the new day",
			time.Date(2026, 3, 1, 16, 0, 2, 0, time.UTC), time.Date(2026, 3, 1, 16, 0, 1, 0, time.UTC), 201, "2026-03-02"},
		{"queued at 23:59:59 UTC (07:59:59 in Shanghai) and sent at 00:00:01 UTC: the same Shanghai day",
			time.Date(2026, 3, 2, 0, 0, 1, 0, time.UTC), time.Date(2026, 3, 1, 23, 59, 59, 0, time.UTC), 201, "2026-03-02"},
		{"queued at 23:59:59 in Shanghai and sent at 11:59:59 the next day: just within the window",
			time.Date(2026, 3, 1, 15, 59, 59, 0, time.UTC).Add(window), time.Date(2026, 3, 1, 15, 59, 59, 0, time.UTC), 201, "2026-03-01"},
		{"queued at 23:59:59 in Shanghai and sent at 12:00:00 the next day: outside the window",
			time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC).Add(window), time.Date(2026, 3, 1, 15, 59, 59, 0, time.UTC), 422, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := w.in(t)
			w.clock.Set(tc.now)
			p := w.NewMember(w.A, "frontline")
			r := w.DoAs("POST", "/api/v1/checkins", p, map[string]any{"request_id": "offline", "client_time": tc.queue})
			var c checkinJSON
			if r.JSON(t, &c); r.Status != tc.status || c.Day != tc.day {
				t.Fatalf("answered %d %s, want %d for day %q", r.Status, r.Body, tc.status, tc.day)
			}
			if tc.status != 201 {
				return
			}
			if !w.onBoard(tc.day, w.A, p.ID) {
				t.Errorf("the check-in is not in the board key of %s", tc.day)
			}
			again, status := w.checkin(p, map[string]any{"request_id": "online"})
			if want := tc.day != day(tc.now); (status == 201) != want || (status == 200 && again.ID != c.ID) {
				t.Errorf("a check-in at %s answered %d %+v; a new row only if the offline one was for another day (%v)", tc.now, status, again, want)
			}
		})
	}
}

// TestMyCheckinsDefaultRangeAtMidnight: the list's default range is the last
// 30 Shanghai days up to today on the server's clock.
func TestMyCheckinsDefaultRangeAtMidnight(t *testing.T) {
	w := newWorld(t)
	p := w.NewMember(w.A, "frontline")
	w.clock.Set(time.Date(2026, 3, 1, 15, 59, 59, 0, time.UTC))
	first, _ := w.checkin(p, map[string]any{"request_id": "first"})
	w.clock.Set(time.Date(2026, 3, 1, 16, 0, 1, 0, time.UTC))
	second, _ := w.checkin(p, map[string]any{"request_id": "second"})
	if first.Day != "2026-03-01" || second.Day != "2026-03-02" {
		t.Fatalf("check-ins on %s and %s, want 2026-03-01 and 2026-03-02", first.Day, second.Day)
	}
	for _, tc := range []struct {
		name string
		now  time.Time
		want []int64
	}{
		{"at 23:59:59 on 03-31 in Shanghai the range starts on 03-01: both", time.Date(2026, 3, 31, 15, 59, 59, 0, time.UTC), []int64{second.ID, first.ID}},
		{"at 00:00:01 on 04-01 in Shanghai the range starts on 03-02: the second only", time.Date(2026, 3, 31, 16, 0, 1, 0, time.UTC), []int64{second.ID}},
		{"at 23:59:59 on 03-01 in Shanghai the range ends that day: the first only", time.Date(2026, 3, 1, 15, 59, 59, 0, time.UTC), []int64{first.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := w.in(t)
			w.clock.Set(tc.now)
			var page struct {
				Items []checkinJSON `json:"items"`
			}
			w.Expect(w.DoAs("GET", "/api/v1/me/checkins", p, nil), 200).JSON(t, &page)
			var got []int64
			for _, c := range page.Items {
				got = append(got, c.ID)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("listed %v, want %v", got, tc.want)
			}
		})
	}
}

package checkin_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"xianfeng/config"
	"xianfeng/server/internal/checkin"
)

// checkinJSON is a check-in as the API answers it: the server's own type,
// since testenv's client checks every response against openapi.yaml.
type checkinJSON = checkin.JSON

// window is the offline window of these tests: wide enough that a
// check-in queued just before midnight is always within it.
const window = 36 * time.Hour

func wideWindow(c *config.Config) { c.Checkin.OfflineWindow = window }

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// day is the calendar day of t in Asia/Shanghai.
func day(t time.Time) string { return t.In(shanghai).Format(time.DateOnly) }

func (w *world) checkin(p person, body map[string]any) (checkinJSON, int) {
	w.t.Helper()
	r := w.DoAs("POST", "/api/v1/checkins", p, body)
	if r.Status != 200 && r.Status != 201 {
		w.t.Fatalf("check-in answered %d %s", r.Status, r.Body)
	}
	var c checkinJSON
	r.JSON(w.t, &c)
	return c, r.Status
}

func (w *world) rows(userID int64) int64 {
	w.t.Helper()
	var n int64
	w.Must(w.App.DB.Table("checkins").Where("user_id = ?", userID).Count(&n).Error)
	return n
}

func TestDailyCheckin(t *testing.T) {
	w := newWorld(t, wideWindow)
	body := map[string]any{"request_id": "phone-0001", "lat": 36.0671, "lng": 120.3826, "accuracy_m": 15}

	var today checkinJSON
	t.Run("50 identical concurrent check-ins make one row and all carry it", func(t *testing.T) {
		w := w.in(t)
		const n = 50
		answers := make([]struct {
			status int
			body   []byte
		}, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				r := w.Do("POST", "/api/v1/checkins", w.MemberA.Token, body)
				answers[i].status, answers[i].body = r.Status, r.Body
			})
		}
		wg.Wait()
		created := 0
		var first []byte
		for _, a := range answers {
			switch a.status {
			case 201:
				created++
				first = a.body
			case 200:
			default:
				t.Fatalf("a check-in answered %d %s", a.status, a.body)
			}
		}
		if created != 1 {
			t.Fatalf("%d check-ins answered 201, want 1", created)
		}
		for _, a := range answers {
			if !bytes.Equal(a.body, first) {
				t.Errorf("answers differ:\n%s\n%s", a.body, first)
				break
			}
		}
		if rows := w.rows(w.MemberA.ID); rows != 1 {
			t.Errorf("%d rows, want 1", rows)
		}
		if err := json.Unmarshal(first, &today); err != nil || today.ID == 0 || today.OrgID != w.A || today.Badge != "frontline" || today.Day != day(w.clock.Now()) {
			t.Errorf("the check-in is %+v (%v)", today, err)
		}
	})

	t.Run("another request_id the same day answers 200 with the same record", func(t *testing.T) {
		w := w.in(t)
		c, status := w.checkin(w.MemberA, map[string]any{"request_id": "phone-0002"})
		if status != 200 || c.ID != today.ID || c.RequestID != "phone-0001" {
			t.Errorf("got %d %+v, want 200 with record %d", status, c, today.ID)
		}
	})

	// Just before midnight of the previous day in Shanghai: within the window.
	now := w.clock.Now().In(shanghai)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, shanghai)
	lastNight := midnight.Add(-time.Minute)
	var yesterday checkinJSON
	t.Run("a check-in queued offline on the previous day makes that day's row", func(t *testing.T) {
		w := w.in(t)
		c, status := w.checkin(w.MemberA, map[string]any{"request_id": "offline-1", "client_time": lastNight})
		if status != 201 || c.ID == today.ID || c.Day != day(lastNight) || c.Day == today.Day || c.ClientTime == nil || !c.ClientTime.Equal(lastNight) {
			t.Errorf("got %d %+v, want 201 with a new row for %s", status, c, day(lastNight))
		}
		yesterday = c
		again, status := w.checkin(w.MemberA, map[string]any{"request_id": "offline-2", "client_time": lastNight.Add(-time.Hour)})
		if status != 200 || again.ID != c.ID {
			t.Errorf("a second check-in for that day answered %d %+v", status, again)
		}
		if rows := w.rows(w.MemberA.ID); rows != 2 {
			t.Errorf("%d rows, want 2", rows)
		}
	})

	t.Run("a client_time outside the window is refused", func(t *testing.T) {
		w := w.in(t)
		for _, tc := range []struct {
			name string
			at   time.Time
		}{
			{"older than the window", w.clock.Now().Add(-window - time.Minute)},
			{"ten minutes in the future", w.clock.Now().Add(10 * time.Minute)},
		} {
			r := w.DoAs("POST", "/api/v1/checkins", w.MemberB, map[string]any{"request_id": "skewed", "client_time": tc.at})
			if r.Status != 422 || r.ErrorCode() != "client_time_out_of_window" {
				t.Errorf("%s: got %d %s", tc.name, r.Status, r.Body)
			}
		}
		if rows := w.rows(w.MemberB.ID); rows != 0 {
			t.Errorf("refused check-ins left %d rows", rows)
		}
	})

	t.Run("someone who is not an approved member of the org cannot check in", func(t *testing.T) {
		w := w.in(t)
		outsider := w.LoginAs("outsider", "13400000001")
		for _, tc := range []struct {
			name string
			p    person
			org  int64
		}{
			{"a user without a membership", outsider, 0},
			{"a pending applicant", w.PendingA, 0},
			{"a pending applicant naming the org", w.PendingA, w.A},
			{"a member naming another branch", w.MemberA, w.B},
		} {
			r := w.DoAs("POST", "/api/v1/checkins", tc.p, map[string]any{"request_id": "nope", "org_id": tc.org})
			if r.Status != 404 || r.ErrorCode() != "not_member" {
				t.Errorf("%s: got %d %s", tc.name, r.Status, r.Body)
			}
		}
	})

	t.Run("bad input is refused with 400", func(t *testing.T) {
		w := w.in(t)
		for _, b := range []map[string]any{
			{},
			{"request_id": "x", "lat": 36.0},
			{"request_id": "x", "lat": 91, "lng": 120},
			{"request_id": "x", "accuracy_m": -1},
		} {
			if r := w.DoAs("POST", "/api/v1/checkins", w.MemberB, b); r.Status != 400 {
				t.Errorf("%v answered %d %s", b, r.Status, r.Body)
			}
		}
	})

	t.Run("my check-ins can be listed by day range", func(t *testing.T) {
		w := w.in(t)
		tomorrow := day(w.clock.Now().In(shanghai).AddDate(0, 0, 1))
		for _, tc := range []struct {
			name  string
			query string
			want  []int64
		}{
			{"the default range has both, newest first", "", []int64{today.ID, yesterday.ID}},
			{"today only", fmt.Sprintf("?from=%s&to=%s", today.Day, today.Day), []int64{today.ID}},
			{"the previous day only", fmt.Sprintf("?from=%s&to=%s", yesterday.Day, yesterday.Day), []int64{yesterday.ID}},
			{"from tomorrow on, none", "?from=" + tomorrow + "&to=" + tomorrow, nil},
		} {
			var page struct {
				Items []checkinJSON `json:"items"`
			}
			w.Expect(w.DoAs("GET", "/api/v1/me/checkins"+tc.query, w.MemberA, nil), 200).JSON(t, &page)
			var got []int64
			for _, c := range page.Items {
				got = append(got, c.ID)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			}
		}
		var page struct {
			Items []checkinJSON `json:"items"`
		}
		w.Expect(w.DoAs("GET", "/api/v1/me/checkins", w.MemberB, nil), 200).JSON(t, &page)
		if len(page.Items) != 0 {
			t.Errorf("another member lists %d check-ins", len(page.Items))
		}
		for _, q := range []string{"?from=2024-13-01", "?to=yesterday"} {
			if r := w.DoAs("GET", "/api/v1/me/checkins"+q, w.MemberA, nil); r.Status != 400 {
				t.Errorf("%s answered %d", q, r.Status)
			}
		}
	})
}

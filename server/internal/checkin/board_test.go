package checkin_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"xianfeng/server/internal/org"
	"xianfeng/server/internal/redisdb"
	"xianfeng/server/internal/testenv"
)

// boardJSON is GET /orgs/{id}/checkins.
type boardJSON struct {
	OrgID        int64           `json:"org_id"`
	Date         string          `json:"date"`
	Source       string          `json:"source"`
	Members      int64           `json:"members"`
	CheckedIn    int64           `json:"checked_in"`
	NotYet       int64           `json:"not_yet"`
	ByBadge      map[string]line `json:"by_badge"`
	NotCheckedIn []struct {
		UserID      int64  `json:"user_id"`
		OrgID       int64  `json:"org_id"`
		Name        string `json:"name"`
		Badge       string `json:"badge"`
		PhoneMasked string `json:"phone_masked"`
	} `json:"not_checked_in"`
	NextCursor string `json:"next_cursor"`
}

type line struct {
	Members   int64 `json:"members"`
	CheckedIn int64 `json:"checked_in"`
	NotYet    int64 `json:"not_yet"`
}

// tally is a board reduced to what can be compared with the database.
type tally struct {
	All     line
	ByBadge map[string]line
	Absent  []int64 // user ids, in the board's order
}

// board reads an org's board for a day as p, paging through the members
// who have not checked in.
func (w *world) board(p person, orgID int64, date string) (tally, string) {
	w.t.Helper()
	out := tally{ByBadge: map[string]line{}}
	source, cursor := "", ""
	for page := 0; ; page++ {
		if page > 50 {
			w.t.Fatal("the board's list of absent members does not end")
		}
		var b boardJSON
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/checkins?date=%s&limit=3&cursor=%s", orgID, date, cursor), p, nil), 200).JSON(w.t, &b)
		if page == 0 {
			source = b.Source
			out.All = line{b.Members, b.CheckedIn, b.NotYet}
			out.ByBadge = b.ByBadge
			if b.OrgID != orgID || b.Date != date {
				w.t.Errorf("the board of org %d on %s answered org %d on %s", orgID, date, b.OrgID, b.Date)
			}
		}
		for _, a := range b.NotCheckedIn {
			out.Absent = append(out.Absent, a.UserID)
		}
		if cursor = b.NextCursor; cursor == "" {
			return out, source
		}
	}
}

// counted is the board of an org for a day computed from the tables: every
// approved membership of its subtree (members lent to it included when it
// is the org itself, lent-out ones counted at home), checked in when that
// membership's user has a check-in in that org that day.
func (w *world) counted(orgID int64, date string) tally {
	w.t.Helper()
	var rows []struct {
		UserID  int64
		Badge   string
		Checked bool
	}
	err := w.App.DB.Raw(`SELECT m.user_id, m.badge,
			EXISTS (SELECT 1 FROM checkins c WHERE c.user_id = m.user_id AND c.org_id = m.org_id AND c.day = ?) AS checked
		FROM memberships m JOIN org_closure cl ON cl.descendant_id = m.org_id
		WHERE cl.ancestor_id = ? AND m.status = 'approved' AND (m.seconded_from IS NULL OR m.org_id = ?)
		ORDER BY m.id`, date, orgID, orgID).Scan(&rows).Error
	if err != nil {
		w.t.Fatal(err)
	}
	out := tally{ByBadge: map[string]line{}}
	for _, b := range org.Badges {
		out.ByBadge[string(b)] = line{}
	}
	for _, r := range rows {
		l := out.ByBadge[r.Badge]
		l.Members++
		out.All.Members++
		if r.Checked {
			l.CheckedIn++
			out.All.CheckedIn++
		} else {
			l.NotYet++
			out.All.NotYet++
			out.Absent = append(out.Absent, r.UserID)
		}
		out.ByBadge[r.Badge] = l
	}
	return out
}

// assertBoards compares the boards of orgs with the database as rootSec sees them.
func (w *world) assertBoards(t *testing.T, date string, orgs ...int64) {
	t.Helper()
	for _, id := range orgs {
		got, source := w.board(w.RootSec, id, date)
		want := w.counted(id, date)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("the board of org %d shows\n%+v\nthe database has\n%+v", id, got, want)
		}
		if source != "redis" {
			t.Errorf("the board of org %d came from %q, want redis", id, source)
		}
	}
}

// boardKeys lists this app's board keys in Redis.
func (w *world) boardKeys() []string {
	w.t.Helper()
	keys, err := redisdb.Keys(context.Background(), w.App.Redis, w.App.Config.Redis.KeyPrefix+"board:*")
	if err != nil {
		w.t.Fatal(err)
	}
	return keys
}

// loseRedis simulates a Redis restart that lost the board: the embedded
// Redis loses everything (sessions too, so everyone signs in again); on a
// real Redis the board's keys are deleted.
func (w *world) loseRedis(people ...*person) {
	w.t.Helper()
	if mr := w.App.Redis.Embedded(); mr != nil {
		mr.FlushAll()
		for _, p := range people {
			p.Token = w.Login(p.Login)
		}
		return
	}
	if keys := w.boardKeys(); len(keys) > 0 {
		if err := redisdb.Del(context.Background(), w.App.Redis, keys...); err != nil {
			w.t.Fatal(err)
		}
	}
}

func TestCheckinBoard(t *testing.T) {
	w := newWorld(t, wideWindow)
	a1, a2, a3 := w.NewMember(w.A, "information"), w.NewMember(w.A, "publicity"), w.NewMember(w.A, "frontline")
	b1, b2 := w.NewMember(w.B, "frontline"), w.NewMember(w.B, "information")
	rid := 0
	checkin := func(p person) checkinJSON {
		rid++
		c, status := w.checkin(p, map[string]any{"request_id": fmt.Sprintf("board-%d", rid)})
		if status != 201 {
			t.Fatalf("check-in of user %d answered %d", p.ID, status)
		}
		return c
	}
	date := checkin(w.MemberA).Day
	checkin(a1)
	checkin(w.SecA)
	checkin(b1)

	t.Run("the boards of the root and of a branch equal a count from the database", func(t *testing.T) {
		w := w.in(t)
		w.assertBoards(t, date, w.Root, w.A, w.B)
		got, _ := w.board(w.SecA, w.A, date)
		if got.All != (line{Members: 5, CheckedIn: 3, NotYet: 2}) {
			t.Errorf("branch A shows %+v, want 5 members, 3 checked in", got.All)
		}
	})

	t.Run("after Redis lost the counters the board is rebuilt from the database", func(t *testing.T) {
		w := w.in(t)
		w.loseRedis(&w.RootSec, &w.SecA, &w.SecB, &w.MemberA, &a2, &a3, &b2)
		if keys := w.boardKeys(); len(keys) != 0 {
			t.Fatalf("the board survived: %v", keys)
		}
		checkin(a2) // a check-in that arrives before anyone reads the board
		w.assertBoards(t, date, w.Root, w.A, w.B)
		if len(w.boardKeys()) == 0 {
			t.Error("reading the board did not rebuild its counters in Redis")
		}
	})

	t.Run("further check-ins keep the rebuilt board equal to the database", func(t *testing.T) {
		w := w.in(t)
		checkin(a3)
		checkin(b2)
		checkin(w.SecB)
		if _, status := w.checkin(w.MemberA, map[string]any{"request_id": "again"}); status != 200 {
			t.Errorf("a second check-in the same day answered %d", status)
		}
		w.assertBoards(t, date, w.Root, w.A, w.B)
	})

	t.Run("only secretaries of the org or above see its board", func(t *testing.T) {
		w := w.in(t)
		w.ExpectHidden(t, "/api/v1/orgs/%d/checkins", []testenv.Outsider{
			{Name: "a member of the branch", As: w.MemberA, Org: w.A},
			{Name: "a member, on the root", As: w.MemberA, Org: w.Root},
			{Name: "the secretary of another branch", As: w.SecB, Org: w.A},
			{Name: "a branch secretary, on the root", As: w.SecA, Org: w.Root},
		})
		if r := w.Do("GET", fmt.Sprintf("/api/v1/orgs/%d/checkins", w.A), "", nil); r.Status != 401 {
			t.Errorf("without a session: got %d", r.Status)
		}
	})
}

// A check-in is counted on the board after its answer (see settle.go): an
// instance that closes, as at a deploy, first sends what it answered, so
// the board in Redis holds every check-in the moment Close returns.
func TestCheckinsAnsweredBeforeACloseAreOnTheBoard(t *testing.T) {
	w := newWorld(t)
	other := w.Instance()
	members := make([]person, 25)
	for i := range members {
		members[i] = w.NewMember(w.A, "frontline")
	}
	day := ""
	for i, p := range members {
		r := other.DoAs("POST", "/api/v1/checkins", p, map[string]any{"request_id": fmt.Sprintf("closing-%d", i)})
		var c checkinJSON
		if r.JSON(t, &c); r.Status != 201 {
			t.Fatalf("check-in %d answered %d %s", i, r.Status, r.Body)
		}
		day = c.Day
	}
	if err := other.App.Close(); err != nil {
		t.Fatal(err)
	}
	key := w.App.Config.Redis.KeyPrefix + "board:{" + day + "}:set:" + fmt.Sprint(w.A)
	for _, p := range members {
		in, err := w.App.Redis.SIsMember(context.Background(), key, fmt.Sprint(p.ID)).Result()
		if err != nil {
			t.Fatal(err)
		}
		if !in {
			t.Errorf("user %d checked in through an instance that then closed, and is not on the board", p.ID)
		}
	}
	if got, _ := w.board(w.SecA, w.A, day); got.All.CheckedIn != int64(len(members)) {
		t.Errorf("the board shows %d checked in, want %d", got.All.CheckedIn, len(members))
	}
}

package stats_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"xianfeng/server/internal/auth"
	"xianfeng/server/internal/checkin"
	"xianfeng/server/internal/deed"
	"xianfeng/server/internal/form"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/report"
	"xianfeng/server/internal/task"
	"xianfeng/server/internal/testenv"
)

// world is a seeded tree with a month of activity:
//
//	root 压测市委 (secretary rootSec)
//	├── committee 1 ── general branches 1, 2 ── branches
//	└── committee 2 ── general branches 3, 4 ── branches (the last one is
//	    the leaf, secretary leafSec)
//
// Tasks, assignments, check-ins, reports with their escalations and deeds
// with their events are inserted straight into the tables, at random but
// reproducibly, between activityFrom and activityTo — around the period the
// tests ask for, so that the range's edges matter.
type world struct {
	t   *testing.T
	env *testenv.Env
	db  *gorm.DB
	// clock is the server's clock: it stands at start until a test moves it.
	clock *testenv.Clock
	// loc is the app's time zone; the activity is laid out in Asia/Shanghai.
	loc, shanghai *time.Location

	seed             org.SeedResult
	rootSec, leafSec string // tokens
	committees       []int64
	generals         []int64
	branches         []int64
	memberships      []org.Membership
	parent           map[int64]int64
	depth            map[int64]int
	stranger         string // a logged-in user who manages nothing
	strangerID       int64
}

// The period the tests ask for, and the wider span of the activity.
const (
	from = "2020-01-20"
	to   = "2020-02-05"
)

// start is where the server's clock stands until a test moves it: one
// second after midnight in Shanghai, when UTC still says the day before.
var start = time.Date(2026, 3, 1, 16, 0, 1, 0, time.UTC)

var (
	activityFrom = time.Date(2020, 1, 14, 0, 0, 0, 0, time.UTC)
	activityTo   = time.Date(2020, 2, 11, 0, 0, 0, 0, time.UTC)
)

func newWorld(t *testing.T) *world {
	t.Helper()
	clock := testenv.NewClock(start)
	env := testenv.New(t, testenv.Options{Now: clock.Now})
	ctx := context.Background()
	w := &world{t: t, env: env, db: env.App.DB.DB, clock: clock, loc: env.App.Config.Location(), parent: map[int64]int64{}, depth: map[int64]int{}}
	var err error
	if w.shanghai, err = time.LoadLocation("Asia/Shanghai"); err != nil {
		t.Fatal(err)
	}
	res, err := org.Seed(ctx, w.db, org.SeedSpec{Orgs: 12, Members: 60, Committees: 2, GeneralBranches: 2})
	if err != nil {
		t.Fatal(err)
	}
	w.seed = res
	w.rootSec = w.session(res.RootSecretaryUserID)
	w.leafSec = w.session(res.LeafSecretaryUserID)
	w.stranger = env.Login("stranger")

	var orgs []org.Org
	w.must(w.db.Order("id").Find(&orgs).Error)
	for _, o := range orgs {
		if o.ParentID != nil {
			w.parent[o.ID] = *o.ParentID
		}
		w.depth[o.ID] = o.Depth
		switch o.Kind {
		case org.KindCommittee:
			if o.ParentID != nil {
				w.committees = append(w.committees, o.ID)
			}
		case org.KindGeneralBranch:
			w.generals = append(w.generals, o.ID)
		case org.KindBranch:
			w.branches = append(w.branches, o.ID)
		}
	}
	w.must(w.db.Order("id").Find(&w.memberships).Error)
	w.activity(rand.New(rand.NewPCG(20200126, 1)))
	return w
}

// in returns the world for a subtest, so that its helpers fail the subtest.
func (w *world) in(t *testing.T) *world {
	c := *w
	c.t, c.env = t, w.env.In(t)
	return &c
}

func (w *world) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

// session signs a seeded user in (seeded users have no WeChat login).
func (w *world) session(userID int64) string {
	w.t.Helper()
	token, _, err := auth.NewSessions(w.env.App.Redis, w.env.App.Config.Redis.KeyPrefix, time.Hour).
		Create(context.Background(), auth.Session{UserID: userID, OpenID: "seed-" + strconv.FormatInt(userID, 10)})
	w.must(err)
	return token
}

// stats GETs the statistics of an org with the given query parameters.
func (w *world) stats(token string, orgID int64, q url.Values) testenv.Response {
	w.t.Helper()
	return w.env.Do(http.MethodGet, fmt.Sprintf("/api/v1/orgs/%d/stats?%s", orgID, q.Encode()), token, nil)
}

// at returns a random instant in [a, b).
func at(r *rand.Rand, a, b time.Time) time.Time {
	return a.Add(time.Duration(r.Int64N(int64(b.Sub(a))))).Truncate(time.Millisecond).UTC()
}

// wall is a wall-clock time in a zone, as UTC.
func (w *world) wall(loc *time.Location, day string, hh, mm, ss int) time.Time {
	d, err := time.ParseInLocation(time.DateOnly, day, loc)
	w.must(err)
	return time.Date(d.Year(), d.Month(), d.Day(), hh, mm, ss, 0, loc).UTC()
}

// activity inserts the tasks, check-ins, reports, deeds, and form entries
// and misses.
func (w *world) activity(r *rand.Rand) {
	db := w.db
	pick := func() org.Membership { return w.memberships[r.IntN(len(w.memberships))] }
	allOrgs := append(append(append([]int64{w.seed.RootID}, w.committees...), w.generals...), w.branches...)

	// Tasks, eight of them right at the edges of the period, in either zone.
	var created []time.Time
	for _, loc := range []*time.Location{w.shanghai, time.UTC} {
		created = append(created, w.wall(loc, from, 0, 0, 0), w.wall(loc, from, 0, 0, 0).Add(-time.Second),
			w.wall(loc, to, 23, 59, 59), w.wall(loc, to, 23, 59, 59).Add(time.Second))
	}
	for len(created) < 24 {
		created = append(created, at(r, activityFrom, activityTo))
	}
	aStatuses := []task.AStatus{task.AAssigned, task.AAccepted, task.ADeclined, task.ACheckedIn, task.ACompleted, task.ACompleted, task.ACancelled, task.ARemoved}
	for i, c := range created {
		t := task.Task{OrgID: allOrgs[r.IntN(len(allOrgs))], CreatedBy: w.seed.RootSecretaryUserID, Title: fmt.Sprintf("任务%d", i),
			Kind: task.KindDuty, Status: task.StatusOpen, CreatedAt: c, UpdatedAt: c}
		if r.IntN(4) > 0 {
			due := c.Add(time.Duration(1+r.IntN(72)) * time.Hour)
			t.DueAt = &due
		}
		w.must(db.Create(&t).Error)
		var as []task.Assignment
		for _, m := range w.memberships {
			if r.IntN(10) >= 4 {
				continue
			}
			a := task.Assignment{TaskID: t.ID, UserID: m.UserID, OrgID: m.OrgID, Status: aStatuses[r.IntN(len(aStatuses))], CreatedAt: c, UpdatedAt: c}
			if a.Status == task.AAccepted || a.Status == task.ACheckedIn || a.Status == task.ACompleted || a.Status == task.ARemoved {
				acc := c.Add(time.Duration(r.IntN(600)) * time.Minute)
				a.AcceptedAt = &acc
			}
			if a.Status == task.ACompleted {
				done := c.Add(time.Duration(r.IntN(96*60)) * time.Minute)
				a.CompletedAt = &done
			}
			a.Overdue = a.Status != task.ACompleted && a.Status != task.ADeclined && r.IntN(3) == 0
			as = append(as, a)
		}
		if t.DueAt != nil && len(as) > 0 {
			// One completed exactly at the due time: on time.
			due := *t.DueAt
			as[0].Status, as[0].CompletedAt, as[0].AcceptedAt = task.ACompleted, &due, &c
		}
		w.must(db.CreateInBatches(as, 50).Error)
	}

	// Daily check-ins.
	var cs []checkin.Checkin
	for d := activityFrom; d.Before(activityTo); d = d.AddDate(0, 0, 1) {
		day := d.Format(time.DateOnly)
		for _, m := range w.memberships {
			if m.Status != org.StatusApproved || r.IntN(10) >= 4 {
				continue
			}
			cs = append(cs, checkin.Checkin{UserID: m.UserID, OrgID: m.OrgID, Day: day, Badge: m.Badge,
				RequestID: fmt.Sprintf("c-%d-%s", m.UserID, day), CreatedAt: w.wall(w.shanghai, day, r.IntN(24), r.IntN(60), 0)})
		}
	}
	w.must(db.CreateInBatches(cs, 50).Error)

	// Reports, acknowledged or not, escalated up to three levels, by the
	// job (actor 0) or by hand.
	for i := range 60 {
		m := pick()
		c := at(r, activityFrom, activityTo)
		if i < 2 {
			c = w.wall([]*time.Location{w.shanghai, time.UTC}[i], from, 0, 0, 0) // the first instant of the period
		}
		rep := report.Report{OrgID: m.OrgID, ReporterID: m.UserID, RequestID: fmt.Sprintf("r%d", i), Category: "help_needed",
			Urgency: report.Normal, Content: "群众求助" + strconv.Itoa(i), Status: report.StatusOpen, CurrentOrgID: m.OrgID,
			CreatedAt: c, UpdatedAt: c}
		levels := r.IntN(w.depth[m.OrgID] + 1)
		evs := []report.Event{{Kind: report.EventCreated, OrgID: m.OrgID, ActorID: m.UserID, CreatedAt: c}}
		cur := m.OrgID
		for l := 1; l <= levels; l++ {
			cur = w.parent[cur]
			actor := int64(0)
			if r.IntN(5) == 0 {
				actor = w.seed.RootSecretaryUserID
			}
			evs = append(evs, report.Event{Kind: report.EventEscalated, OrgID: cur, ActorID: actor, Level: l,
				CreatedAt: c.Add(time.Duration(l)*20*time.Hour + time.Duration(r.IntN(3600))*time.Second)})
		}
		rep.CurrentOrgID, rep.EscalationLevel = cur, levels
		if r.IntN(10) < 6 {
			acked := evs[len(evs)-1].CreatedAt.Add(time.Duration(1+r.IntN(7200_000)) * time.Millisecond)
			rep.Status, rep.AckedAt, rep.AckedBy = report.StatusAcknowledged, &acked, &w.seed.RootSecretaryUserID
			evs = append(evs, report.Event{Kind: report.EventAcknowledged, OrgID: cur, ActorID: w.seed.RootSecretaryUserID, Level: levels, CreatedAt: acked})
		}
		w.must(db.Create(&rep).Error)
		for j := range evs {
			evs[j].ReportID = rep.ID
		}
		w.must(db.Create(&evs).Error)
	}

	// Deeds: nominated, approved by the branch, some commended.
	for i := range 30 {
		m := pick()
		c := at(r, activityFrom, activityTo)
		d := deed.Deed{OrgID: m.OrgID, UserID: m.UserID, NominatedBy: m.UserID, Title: fmt.Sprintf("事迹%d", i), Content: "值守卡口",
			Status: deed.StatusPending, CurrentOrgID: m.OrgID, CreatedAt: c, UpdatedAt: c}
		evs := []deed.Event{{Kind: "nominated", OrgID: m.OrgID, ActorID: m.UserID, CreatedAt: c}}
		if r.IntN(10) < 7 {
			c = c.Add(time.Duration(1+r.IntN(72)) * time.Hour)
			d.Status, d.UpdatedAt = deed.StatusApproved, c
			evs = append(evs, deed.Event{Kind: deed.StatusApproved, OrgID: m.OrgID, ActorID: w.seed.RootSecretaryUserID, CreatedAt: c})
			if r.IntN(2) == 0 {
				c = c.Add(time.Duration(1+r.IntN(72)) * time.Hour)
				d.Status, d.CurrentOrgID, d.UpdatedAt = deed.StatusCommended, w.seed.RootID, c
				evs = append(evs, deed.Event{Kind: deed.StatusCommended, OrgID: w.seed.RootID, ActorID: w.seed.RootSecretaryUserID, CreatedAt: c})
			}
		}
		w.must(db.Create(&d).Error)
		for j := range evs {
			evs[j].DeedID = d.ID
		}
		w.must(db.Create(&evs).Error)
	}

	// Screening forms with entries and misses, some on the days just
	// outside the period.
	edges := []string{w.day(from, -1), from, to, w.day(to, 1)}
	for i, mode := range []form.Mode{form.ModeDaily, form.ModeOnce, form.ModeEntries} {
		c := activityFrom
		f := form.Form{OrgID: allOrgs[r.IntN(len(allOrgs))], CreatedBy: w.seed.RootSecretaryUserID, Title: fmt.Sprintf("排查表%d", i),
			Mode: mode, Target: `{"badges":[],"user_ids":[],"include_suborgs":true}`, IncludeSuborgs: true, Fields: "[]",
			Status: form.StatusOpen, CreatedAt: c, UpdatedAt: c}
		if mode == form.ModeDaily {
			f.DueTime = "10:00"
		}
		w.must(db.Create(&f).Error)
		var es []form.Entry
		var ms []form.Miss
		for j := range 80 {
			m := pick()
			day := at(r, activityFrom, activityTo).In(w.shanghai).Format(time.DateOnly)
			if j < len(edges) {
				day = edges[j]
			}
			if r.IntN(3) == 0 {
				ms = append(ms, form.Miss{FormID: f.ID, UserID: m.UserID, OrgID: m.OrgID, Day: day, CreatedAt: c})
				continue
			}
			rid := fmt.Sprintf("f%d-%d", f.ID, j)
			es = append(es, form.Entry{FormID: f.ID, UserID: m.UserID, Slot: "r:" + rid, RequestID: rid, OrgID: m.OrgID, Day: day,
				Answers: "{}", Alert: r.IntN(5) == 0, Version: 1 + r.IntN(2), CreatedAt: c, UpdatedAt: c})
		}
		w.must(db.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(ms, 50).Error)
		w.must(db.CreateInBatches(es, 50).Error)
	}
}

// day is the day n days after day (YYYY-MM-DD).
func (w *world) day(day string, n int) string {
	d, err := time.Parse(time.DateOnly, day)
	w.must(err)
	return d.AddDate(0, 0, n).Format(time.DateOnly)
}

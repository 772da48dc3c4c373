package stats_test

import (
	"math"
	"slices"
	"time"

	"gorm.io/gorm"
)

// The recount below follows the definitions in the package documentation
// with plain per-org queries and Go, independent of the service's SQL:
// no roll-up through the closure table, no CASE expressions.

// tasksJSON … deedsJSON mirror the documented JSON shape of GET /orgs/{id}/stats.
type tasksJSON struct {
	Assigned   int64 `json:"assigned"`
	Accepted   int64 `json:"accepted"`
	DoneOnTime int64 `json:"done_on_time"`
	Overdue    int64 `json:"overdue"`
	Declined   int64 `json:"declined"`
}

type checkinsJSON struct {
	Days int64   `json:"days"`
	Rate float64 `json:"rate"`
}

type orgReportsJSON struct {
	Filed            int64    `json:"filed"`
	Acknowledged     int64    `json:"acknowledged"`
	MedianAckSeconds *float64 `json:"median_ack_seconds"`
	Escalations      int64    `json:"escalations"`
}

type deedsJSON struct {
	Approved  int64 `json:"approved"`
	Commended int64 `json:"commended"`
}

type formsJSON struct {
	Entries int64 `json:"entries"`
	Missed  int64 `json:"missed"`
}

type orgStatsJSON struct {
	OrgID           int64          `json:"org_id"`
	Name            string         `json:"name"`
	Kind            string         `json:"kind"`
	ApprovedMembers int64          `json:"approved_members"`
	Tasks           tasksJSON      `json:"tasks"`
	Checkins        checkinsJSON   `json:"checkins"`
	Reports         orgReportsJSON `json:"reports"`
	Deeds           deedsJSON      `json:"deeds"`
	Forms           formsJSON      `json:"forms"`
}

type memberStatsJSON struct {
	UserID     int64        `json:"user_id"`
	Name       string       `json:"name"`
	Badge      string       `json:"badge"`
	BadgeLabel string       `json:"badge_label"`
	Role       string       `json:"role"`
	Tasks      tasksJSON    `json:"tasks"`
	Checkins   checkinsJSON `json:"checkins"`
	Reports    struct {
		Filed int64 `json:"filed"`
	} `json:"reports"`
	Deeds deedsJSON `json:"deeds"`
	Forms formsJSON `json:"forms"`
}

type statsJSON struct {
	From     string         `json:"from"`
	To       string         `json:"to"`
	Days     int            `json:"days"`
	Timezone string         `json:"timezone"`
	Org      orgStatsJSON   `json:"org"`
	Children []orgStatsJSON `json:"children"`
	Members  struct {
		Items      []memberStatsJSON `json:"items"`
		NextCursor string            `json:"next_cursor"`
	} `json:"members"`
}

// period is the recount's idea of the range: every instant from the first
// moment of from to the first moment after to, in the configured zone.
type period struct {
	from, to   string
	start, end time.Time
	days       int
}

func (w *world) period(loc *time.Location, from, to string) period {
	start := w.wall(loc, from, 0, 0, 0)
	end := w.wall(loc, to, 0, 0, 0).AddDate(0, 0, 1)
	days := 0
	for d, _ := time.Parse(time.DateOnly, from); d.Format(time.DateOnly) <= to; d = d.AddDate(0, 0, 1) {
		days++
	}
	return period{from: from, to: to, start: start, end: end, days: days}
}

// subtree returns the ids of an org and everything below it, walking the
// parent links rather than the closure table.
func (w *world) subtree(id int64) []int64 {
	out := []int64{id}
	for i := 0; i < len(out); i++ {
		for child, parent := range w.parent {
			if parent == out[i] {
				out = append(out, child)
			}
		}
	}
	return out
}

// filter narrows the recount to a set of orgs and, for a member, a user.
type filter struct {
	orgs []int64
	user int64 // 0: every user
}

func (w *world) recountTasks(p period, f filter) tasksJSON {
	w.t.Helper()
	var rows []struct {
		Status      string
		Overdue     bool
		AcceptedAt  *time.Time
		CompletedAt *time.Time
		DueAt       *time.Time
		CreatedAt   time.Time
	}
	q := w.db.Table("assignments").Select("assignments.status, assignments.overdue, assignments.accepted_at, assignments.completed_at, tasks.due_at, tasks.created_at").
		Joins("JOIN tasks ON tasks.id = assignments.task_id").Where("assignments.org_id IN ?", f.orgs)
	if f.user != 0 {
		q = q.Where("assignments.user_id = ?", f.user)
	}
	w.must(q.Scan(&rows).Error)
	var out tasksJSON
	for _, r := range rows {
		if r.CreatedAt.Before(p.start) || !r.CreatedAt.Before(p.end) || r.Status == "removed" {
			continue
		}
		out.Assigned++
		if r.AcceptedAt != nil {
			out.Accepted++
		}
		if r.Status == "completed" && (r.DueAt == nil || !r.CompletedAt.After(*r.DueAt)) {
			out.DoneOnTime++
		}
		if r.Overdue {
			out.Overdue++
		}
		if r.Status == "declined" {
			out.Declined++
		}
	}
	return out
}

func (w *world) recountCheckinDays(p period, f filter) int64 {
	w.t.Helper()
	var days []string
	q := w.db.Table("checkins").Where("org_id IN ? AND day >= ? AND day <= ?", f.orgs, p.from, p.to)
	if f.user != 0 {
		q = q.Where("user_id = ?", f.user)
		w.must(q.Distinct("day").Pluck("day", &days).Error)
		return int64(len(days))
	}
	var n int64
	w.must(q.Count(&n).Error)
	return n
}

func (w *world) recountApproved(orgs []int64) int64 {
	w.t.Helper()
	var n int64
	w.must(w.db.Table("memberships").Where("org_id IN ? AND status = ? AND seconded_from IS NULL", orgs, "approved").Count(&n).Error)
	return n
}

func (w *world) recountReports(p period, f filter) (filed, acked int64, median *float64) {
	w.t.Helper()
	var rows []struct {
		CreatedAt time.Time
		AckedAt   *time.Time
	}
	q := w.db.Table("reports").Select("created_at, acked_at").Where("org_id IN ?", f.orgs)
	if f.user != 0 {
		q = q.Where("reporter_id = ?", f.user)
	}
	w.must(q.Scan(&rows).Error)
	var secs []float64
	for _, r := range rows {
		if r.CreatedAt.Before(p.start) || !r.CreatedAt.Before(p.end) {
			continue
		}
		filed++
		if r.AckedAt != nil {
			acked++
			secs = append(secs, float64(r.AckedAt.Sub(r.CreatedAt))/float64(time.Second))
		}
	}
	if len(secs) > 0 {
		slices.Sort(secs)
		m := secs[(len(secs)-1)/2]/2 + secs[len(secs)/2]/2
		median = &m
	}
	return filed, acked, median
}

// recountEscalations counts the automatic escalations in the period that
// left an org of orgs without acknowledging: it replays each report's
// escalated events in order of level.
func (w *world) recountEscalations(p period, orgs []int64) int64 {
	w.t.Helper()
	var evs []struct {
		ReportID, OrgID, ActorID int64
		Level                    int
		CreatedAt                time.Time
	}
	w.must(w.db.Table("report_events").Where("kind = ?", "escalated").Order("report_id, level").Scan(&evs).Error)
	var reports []struct{ ID, OrgID int64 }
	w.must(w.db.Table("reports").Select("id, org_id").Scan(&reports).Error)
	home := map[int64]int64{}
	for _, r := range reports {
		home[r.ID] = r.OrgID
	}
	sat := map[int64]int64{} // report → the org it sat at
	var n int64
	for _, e := range evs {
		before, ok := sat[e.ReportID]
		if !ok {
			before = home[e.ReportID]
		}
		sat[e.ReportID] = e.OrgID
		if e.ActorID == 0 && !e.CreatedAt.Before(p.start) && e.CreatedAt.Before(p.end) && slices.Contains(orgs, before) {
			n++
		}
	}
	return n
}

// count counts q's rows, only those of f's user when it names one
// (userCol is the user's column).
func (w *world) count(q *gorm.DB, userCol string, f filter) int64 {
	w.t.Helper()
	if f.user != 0 {
		q = q.Where(userCol+" = ?", f.user)
	}
	var n int64
	w.must(q.Count(&n).Error)
	return n
}

func (w *world) recountDeeds(p period, f filter) deedsJSON {
	w.t.Helper()
	count := func(kind string) int64 {
		return w.count(w.db.Table("deed_events").Joins("JOIN deeds ON deeds.id = deed_events.deed_id").
			Where("deed_events.kind = ? AND deeds.org_id IN ? AND deed_events.created_at >= ? AND deed_events.created_at < ?", kind, f.orgs, p.start, p.end),
			"deeds.user_id", f)
	}
	return deedsJSON{Approved: count("approved"), Commended: count("commended")}
}

func (w *world) recountForms(p period, f filter) formsJSON {
	w.t.Helper()
	count := func(table string) int64 {
		return w.count(w.db.Table(table).Where("org_id IN ? AND day >= ? AND day <= ?", f.orgs, p.from, p.to), "user_id", f)
	}
	return formsJSON{Entries: count("form_entries"), Missed: count("form_misses")}
}

// recountOrg computes every figure of an org's subtree.
func (w *world) recountOrg(p period, id int64) orgStatsJSON {
	w.t.Helper()
	orgs := w.subtree(id)
	f := filter{orgs: orgs}
	out := orgStatsJSON{OrgID: id, ApprovedMembers: w.recountApproved(orgs), Tasks: w.recountTasks(p, f)}
	out.Checkins.Days = w.recountCheckinDays(p, f)
	if out.ApprovedMembers > 0 {
		out.Checkins.Rate = float64(out.Checkins.Days) / float64(out.ApprovedMembers) / float64(p.days)
	}
	out.Reports.Filed, out.Reports.Acknowledged, out.Reports.MedianAckSeconds = w.recountReports(p, f)
	out.Reports.Escalations = w.recountEscalations(p, orgs)
	out.Deeds = w.recountDeeds(p, f)
	out.Forms = w.recountForms(p, f)
	return out
}

// recountMember computes the figures of a member in an org.
func (w *world) recountMember(p period, orgID, userID int64) memberStatsJSON {
	w.t.Helper()
	f := filter{orgs: []int64{orgID}, user: userID}
	out := memberStatsJSON{UserID: userID, Tasks: w.recountTasks(p, f), Deeds: w.recountDeeds(p, f), Forms: w.recountForms(p, f)}
	out.Checkins.Days = w.recountCheckinDays(p, f)
	out.Checkins.Rate = float64(out.Checkins.Days) / float64(p.days)
	out.Reports.Filed, _, _ = w.recountReports(p, f)
	return out
}

// near compares rounded figures: rates to 1e-4, seconds to 1e-3 (plus
// what a database's time precision may add).
func near(a, b, tolerance float64) bool { return math.Abs(a-b) <= tolerance }

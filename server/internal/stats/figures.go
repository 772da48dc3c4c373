package stats

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"
	"gorm.io/gorm"

	"xianfeng/server/internal/database"
	"xianfeng/server/internal/deed"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/report"
	"xianfeng/server/internal/task"
)

// The figures of an org and its children take one query per family,
// whatever the size of the tree: each family is first counted per org
// within the subtree (GROUP BY org_id, where the indexes on org_id help a
// small subtree) and then rolled up the tree to the org and each child
// (org.RollupSQL), so the join with the tree sees one row per org rather
// than one per check-in. The families run concurrently.

// taskFiguresSQL counts assignments (a) of tasks (t); taskArgs are its
// parameters. Removed assignments (their membership ended) count nowhere.
const taskFiguresSQL = `SUM(CASE WHEN a.status <> ? THEN 1 ELSE 0 END) AS assigned,
	SUM(CASE WHEN a.status <> ? AND a.accepted_at IS NOT NULL THEN 1 ELSE 0 END) AS accepted,
	SUM(CASE WHEN a.status = ? AND (t.due_at IS NULL OR a.completed_at <= t.due_at) THEN 1 ELSE 0 END) AS done_on_time,
	SUM(CASE WHEN a.status <> ? AND a.overdue = ? THEN 1 ELSE 0 END) AS overdue,
	SUM(CASE WHEN a.status = ? THEN 1 ELSE 0 END) AS declined`

func taskArgs() []any {
	return []any{task.ARemoved, task.ARemoved, task.ACompleted, task.ARemoved, true, task.ADeclined}
}

// deedFiguresSQL counts the deed events (e); deedArgs are its parameters.
const deedFiguresSQL = `SUM(CASE WHEN e.kind = ? THEN 1 ELSE 0 END) AS approved,
	SUM(CASE WHEN e.kind = ? THEN 1 ELSE 0 END) AS commended`

func deedArgs() []any { return []any{deed.StatusApproved, deed.StatusCommended} }

var deedKinds = []string{deed.StatusApproved, deed.StatusCommended}

// failedOrgSQL is the org whose level failed to acknowledge before the
// escalated event e: the org of the previous escalated event p, or the
// report's own org for the first step.
const failedOrgSQL = "CASE WHEN e.level = 1 THEN r.org_id ELSE p.org_id END"

// taskRow, deedRow and count are figures of an org or a user (ID).
type taskRow struct {
	ID                                                int64
	Assigned, Accepted, DoneOnTime, Overdue, Declined int64
}

func (r taskRow) tasks() Tasks {
	return Tasks{Assigned: r.Assigned, Accepted: r.Accepted, DoneOnTime: r.DoneOnTime, Overdue: r.Overdue, Declined: r.Declined}
}

type deedRow struct {
	ID                  int64
	Approved, Commended int64
}

type count struct{ ID, N int64 }

// figureRows are the rows an org's and a member's figures count alike,
// each by org or by user id.
type figureRows struct {
	tasks                     []taskRow
	checkins, entries, missed []count
	deeds                     []deedRow
}

// figures are where one org's or member's figures go.
type figures struct {
	tasks    *Tasks
	checkins *Checkins
	deeds    *Deeds
	forms    *Forms
}

// fill writes the rows into the figures of their ids.
func (r *figureRows) fill(at func(id int64) figures) {
	for _, x := range r.tasks {
		*at(x.ID).tasks = x.tasks()
	}
	for _, x := range r.checkins {
		at(x.ID).checkins.Days = x.N
	}
	for _, x := range r.deeds {
		*at(x.ID).deeds = Deeds{Approved: x.Approved, Commended: x.Commended}
	}
	for _, x := range r.entries {
		at(x.ID).forms.Entries = x.N
	}
	for _, x := range r.missed {
		at(x.ID).forms.Missed = x.N
	}
}

// orgFigures computes the figures of o's subtree and of each child's.
func (s *Service) orgFigures(ctx context.Context, o org.Org, p Period) (OrgStats, []OrgStats, error) {
	db := s.DB().WithContext(ctx)
	var children []org.Org
	if err := db.Select("id, name, kind").Where("parent_id = ?", o.ID).Order("id").Find(&children).Error; err != nil {
		return OrgStats{}, nil, fmt.Errorf("children: %w", err)
	}
	ids := make([]int64, 0, len(children)+1)
	ids = append(ids, o.ID)
	for _, c := range children {
		ids = append(ids, c.ID)
	}

	var (
		members   []count
		rows      figureRows
		reports   []struct{ ID, Filed, Acknowledged int64 }
		acks      map[int64][]float64
		escalated []count
	)
	g, gctx, q := s.parallel(ctx)
	g.Go(q(&members, "SELECT org_id AS id, SUM(n) AS n FROM org_counts WHERE status = ? AND org_id IN ? GROUP BY org_id",
		org.StatusApproved, ids))
	g.Go(q(&rows.tasks, org.RollupSQL(`SELECT a.org_id AS org_id, `+taskFiguresSQL+`
		FROM tasks t JOIN assignments a ON a.task_id = t.id
		WHERE t.created_at >= ? AND t.created_at < ? AND a.org_id IN (`+org.SubtreeSQL+`)
		GROUP BY a.org_id`, "assigned", "accepted", "done_on_time", "overdue", "declined"),
		append(taskArgs(), p.Start, p.End, o.ID, ids)...))
	g.Go(q(&rows.checkins, org.RollupSQL(`SELECT org_id, COUNT(*) AS n FROM checkins
		WHERE day >= ? AND day <= ? AND org_id IN (`+org.SubtreeSQL+`) GROUP BY org_id`, "n"),
		p.From, p.To, o.ID, ids))
	g.Go(q(&reports, org.RollupSQL(`SELECT org_id, COUNT(*) AS filed, SUM(CASE WHEN acked_at IS NOT NULL THEN 1 ELSE 0 END) AS acknowledged
		FROM reports WHERE created_at >= ? AND created_at < ? AND org_id IN (`+org.SubtreeSQL+`) GROUP BY org_id`, "filed", "acknowledged"),
		p.Start, p.End, o.ID, ids))
	g.Go(func() (err error) {
		acks, err = s.ackSeconds(gctx, p, ids)
		return err
	})
	g.Go(q(&escalated, org.RollupSQL(`SELECT `+failedOrgSQL+` AS org_id, COUNT(*) AS n
		FROM report_events e JOIN reports r ON r.id = e.report_id
		LEFT JOIN report_events p ON p.report_id = e.report_id AND p.kind = ? AND p.level = e.level - 1
		WHERE e.kind = ? AND e.actor_id = 0 AND e.created_at >= ? AND e.created_at < ? AND r.org_id IN (`+org.SubtreeSQL+`)
		GROUP BY `+failedOrgSQL, "n"),
		report.EventEscalated, report.EventEscalated, p.Start, p.End, o.ID, ids))
	g.Go(q(&rows.deeds, org.RollupSQL(`SELECT d.org_id AS org_id, `+deedFiguresSQL+`
		FROM deed_events e JOIN deeds d ON d.id = e.deed_id
		WHERE e.kind IN ? AND e.created_at >= ? AND e.created_at < ? AND d.org_id IN (`+org.SubtreeSQL+`)
		GROUP BY d.org_id`, "approved", "commended"),
		append(deedArgs(), deedKinds, p.Start, p.End, o.ID, ids)...))
	g.Go(q(&rows.entries, org.RollupSQL(`SELECT org_id, COUNT(*) AS n FROM form_entries
		WHERE day >= ? AND day <= ? AND org_id IN (`+org.SubtreeSQL+`) GROUP BY org_id`, "n"),
		p.From, p.To, o.ID, ids))
	g.Go(q(&rows.missed, org.RollupSQL(`SELECT org_id, COUNT(*) AS n FROM form_misses
		WHERE day >= ? AND day <= ? AND org_id IN (`+org.SubtreeSQL+`) GROUP BY org_id`, "n"),
		p.From, p.To, o.ID, ids))
	if err := g.Wait(); err != nil {
		return OrgStats{}, nil, err
	}

	out := make(map[int64]*OrgStats, len(ids))
	newStats := func(x org.Org) *OrgStats {
		st := &OrgStats{OrgID: x.ID, Name: x.Name, Kind: x.Kind}
		out[x.ID] = st
		return st
	}
	self := newStats(o)
	for _, c := range children {
		newStats(c)
	}
	for _, r := range members {
		out[r.ID].ApprovedMembers = r.N
	}
	rows.fill(func(id int64) figures { st := out[id]; return figures{&st.Tasks, &st.Checkins, &st.Deeds, &st.Forms} })
	for _, r := range reports {
		out[r.ID].Reports.Filed, out[r.ID].Reports.Acknowledged = r.Filed, r.Acknowledged
	}
	for id, secs := range acks {
		out[id].Reports.MedianAckSeconds = median(secs)
	}
	for _, r := range escalated {
		out[r.ID].Reports.Escalations = r.N
	}
	for _, st := range out {
		st.Checkins.Rate = rate(st.Checkins.Days, st.ApprovedMembers*int64(p.Days))
	}
	kids := make([]OrgStats, len(children))
	for i, c := range children {
		kids[i] = *out[c.ID]
	}
	return *self, kids, nil
}

// ackSeconds returns, for each org of ids, the time to acknowledge each
// acknowledged report of its subtree filed in the period, in seconds.
func (s *Service) ackSeconds(ctx context.Context, p Period, ids []int64) (map[int64][]float64, error) {
	out := map[int64][]float64{}
	err := s.read(ctx, func(db *gorm.DB) error {
		rows, err := db.Raw(org.SpreadSQL(`SELECT org_id, created_at, acked_at FROM reports
			WHERE created_at >= ? AND created_at < ? AND acked_at IS NOT NULL`, "created_at", "acked_at"),
			p.Start, p.End, ids).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var created, acked time.Time
			if err := rows.Scan(&id, &created, &acked); err != nil {
				return err
			}
			out[id] = append(out[id], acked.Sub(created).Seconds())
		}
		return rows.Err()
	})
	return out, err
}

// read runs fn with a handle for read-only statements, planned for their
// parameters (see database.CustomPlans).
func (s *Service) read(ctx context.Context, fn func(db *gorm.DB) error) error {
	return database.CustomPlans(ctx, s.DB(), fn)
}

// scan runs a read-only query into dst (see read).
func (s *Service) scan(ctx context.Context, dst any, sql string, args ...any) error {
	return s.read(ctx, func(db *gorm.DB) error { return db.Raw(sql, args...).Scan(dst).Error })
}

// parallel returns the group that runs the queries of one answer four at a
// time, its context, and q, which makes a query of the group that scans sql
// into dst.
func (s *Service) parallel(ctx context.Context) (*errgroup.Group, context.Context, func(dst any, sql string, args ...any) func() error) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	return g, gctx, func(dst any, sql string, args ...any) func() error {
		return func() error { return s.scan(gctx, dst, sql, args...) }
	}
}

// memberFigures computes the figures of a page of the org's direct members
// with a live membership (org.Live), in membership id order after the given id.
func (s *Service) memberFigures(ctx context.Context, orgID int64, p Period, after int64, limit int) (paging.Page[MemberStats], error) {
	var ms []org.Membership
	err := s.read(ctx, func(db *gorm.DB) error {
		return db.Scopes(org.LiveMemberships(s.Now().UTC())).Select("m.*").Where("m.org_id = ? AND m.id > ?", orgID, after).
			Order("m.id").Limit(limit + 1).Find(&ms).Error
	})
	if err != nil {
		return paging.Page[MemberStats]{}, err
	}
	page := paging.Trim(ms, limit, func(m org.Membership) int64 { return m.ID })
	ms = page.Items
	if len(ms) == 0 {
		return paging.Page[MemberStats]{Items: []MemberStats{}}, nil
	}
	users := make([]int64, len(ms))
	for i, m := range ms {
		users[i] = m.UserID
	}

	var (
		rows    figureRows
		reports []count
	)
	g, _, q := s.parallel(ctx)
	g.Go(q(&rows.tasks, `SELECT a.user_id AS id, `+taskFiguresSQL+`
		FROM tasks t JOIN assignments a ON a.task_id = t.id
		WHERE t.created_at >= ? AND t.created_at < ? AND a.org_id = ? AND a.user_id IN ?
		GROUP BY a.user_id`, append(taskArgs(), p.Start, p.End, orgID, users)...))
	g.Go(q(&rows.checkins, `SELECT user_id AS id, COUNT(DISTINCT day) AS n FROM checkins
		WHERE org_id = ? AND user_id IN ? AND day >= ? AND day <= ? GROUP BY user_id`, orgID, users, p.From, p.To))
	g.Go(q(&reports, `SELECT reporter_id AS id, COUNT(*) AS n FROM reports
		WHERE org_id = ? AND reporter_id IN ? AND created_at >= ? AND created_at < ? GROUP BY reporter_id`,
		orgID, users, p.Start, p.End))
	g.Go(q(&rows.deeds, `SELECT d.user_id AS id, `+deedFiguresSQL+`
		FROM deed_events e JOIN deeds d ON d.id = e.deed_id
		WHERE d.org_id = ? AND d.user_id IN ? AND e.kind IN ? AND e.created_at >= ? AND e.created_at < ?
		GROUP BY d.user_id`, append(deedArgs(), orgID, users, deedKinds, p.Start, p.End)...))
	g.Go(q(&rows.entries, `SELECT user_id AS id, COUNT(*) AS n FROM form_entries
		WHERE org_id = ? AND user_id IN ? AND day >= ? AND day <= ? GROUP BY user_id`, orgID, users, p.From, p.To))
	g.Go(q(&rows.missed, `SELECT user_id AS id, COUNT(*) AS n FROM form_misses
		WHERE org_id = ? AND user_id IN ? AND day >= ? AND day <= ? GROUP BY user_id`, orgID, users, p.From, p.To))
	if err := g.Wait(); err != nil {
		return paging.Page[MemberStats]{}, err
	}

	out := make([]MemberStats, len(ms))
	at := make(map[int64]*MemberStats, len(ms))
	for i, m := range ms {
		out[i] = MemberStats{MembershipID: m.ID, UserID: m.UserID, Name: m.Name, Badge: m.Badge, BadgeLabel: m.Badge.Label(), Role: m.Role}
		at[m.UserID] = &out[i]
	}
	rows.fill(func(id int64) figures { st := at[id]; return figures{&st.Tasks, &st.Checkins, &st.Deeds, &st.Forms} })
	for _, r := range reports {
		at[r.ID].Reports.Filed = r.N
	}
	for i := range out {
		out[i].Checkins.Rate = rate(out[i].Checkins.Days, int64(p.Days))
	}
	return paging.Page[MemberStats]{Items: out, Next: page.Next}, nil
}

// rate is n ÷ of to four decimals, 0 when of is 0.
func rate(n, of int64) float64 {
	if of <= 0 {
		return 0
	}
	return math.Round(float64(n)/float64(of)*1e4) / 1e4
}

// median is the middle value of xs (the mean of the two middle ones for an
// even count) to the millisecond, or nil when xs is empty. It sorts xs.
func median(xs []float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	slices.Sort(xs)
	m := xs[len(xs)/2]
	if len(xs)%2 == 0 {
		m = (xs[len(xs)/2-1] + m) / 2
	}
	m = math.Round(m*1000) / 1000
	return &m
}

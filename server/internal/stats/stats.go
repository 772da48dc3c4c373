// Package stats is the assessment (考核) of an organisation over a range of
// days: what its members were asked to do and did, how often they checked
// in, how fast its secretaries answered reports, which deeds were approved
// and commended — for the org, each child org and each direct member — and
// the Excel export of the same for the organisation department.
//
// Definitions (the tests recount every figure from the database by them):
//
//   - Range: from and to are calendar days YYYY-MM-DD in the configured time
//     zone, both included; by default the 30 days up to today. At most 366
//     days. A timestamp is in range when it falls in [from 00:00, to+1 00:00)
//     in that zone.
//   - Tasks: a task counts when its created_at is in range. assigned = its
//     assignments; accepted = those with accepted_at set; done_on_time =
//     status completed and (the task has no due_at or completed_at ≤ due_at);
//     overdue = the overdue flag set; declined = status declined. An
//     assignment belongs to the org it records (the member's org when it was
//     made). Removed assignments (closed when their membership ended) count
//     in none of these.
//   - Check-ins: days = daily check-ins (one per member, org and day) on days
//     in range. For a member, rate = days ÷ days in range; for an org, rate =
//     its check-ins ÷ (approved members × days in range), where approved
//     members is the org's subtree counter (org_counts: a seconded member
//     counts once, at home); 0 when it has none.
//   - Reports: filed = reports created in range whose org_id is in the org's
//     subtree (for a member: the ones they filed in the org); acknowledged =
//     those of them with acked_at set; median_ack_seconds = the median of
//     acked_at − created_at over the acknowledged ones, in seconds (the mean
//     of the two middle values for an even count; null when none).
//   - Escalations: report_events of kind escalated made automatically
//     (actor_id 0) in range, each attributed to the org whose level failed to
//     acknowledge: where the report sat before that step, which is the org of
//     the escalated event one level lower, or the report's own org for level
//     1. An org counts those attributed to its subtree.
//   - Deeds: approved and commended = deed_events of those kinds made in
//     range, for deeds whose org_id is in the subtree (for a member: their
//     deeds in the org).
//   - Forms: entries = screening-form entries (one per entry, however often
//     corrected) whose day is in range, made under a membership of an org
//     of the subtree (for a member: theirs in the org); missed = form
//     misses on days in range, of members of the subtree's orgs (for a
//     member: theirs in the org). A miss is a member of a form's audience
//     who had made no entry by its due time: for a daily form each day at
//     its time of day, for a once or entries form once, at due_at, on that
//     day; a late entry does not undo it (as a task completed late stays
//     overdue), an offline entry made before the due time does.
//
// Org figures aggregate the whole subtree (the org included); each child
// org's row its own subtree; member rows are the direct members of the org
// with a live membership (approved, the org not ended: org.Live), paged,
// each with their own figures in that org.
package stats

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/service"
)

// MaxDays is the longest range a request may ask for.
const MaxDays = 366

// DefaultDays is the length of the range when from is not given.
const DefaultDays = 30

// ActionExport is the audit action of an export.
const ActionExport = "stats.export"

// Orgs is what statistics need from the org tree: its scope rule.
type Orgs interface {
	// RequireManager returns the org if the user manages it, else org.ErrOrgNotFound.
	RequireManager(ctx context.Context, userID, orgID int64) (org.Org, error)
}

var _ Orgs = (*org.Service)(nil)

// Options configure the service.
type Options struct {
	service.Deps
	// Location decides what a calendar day is; it is required.
	Location *time.Location
	// TmpDir is where the export keeps its sheets while it builds them
	// ("" means the system's temporary directory).
	TmpDir string
}

// Service computes statistics and exports.
type Service struct {
	service.Base
	orgs Orgs
	opts Options
}

// NewService returns the statistics service.
func NewService(db *gorm.DB, orgs Orgs, opts Options) *Service {
	if opts.Location == nil {
		panic("stats.NewService: Options.Location is required")
	}
	return &Service{Base: service.New("stats.NewService", db, opts.Deps), orgs: orgs, opts: opts}
}

// Period is a range of whole calendar days in the configured time zone.
type Period struct {
	From, To string    // YYYY-MM-DD, both included
	Days     int       // days in the range
	Start    time.Time // the first instant of From, in UTC
	End      time.Time // the first instant after To, in UTC
}

// Period reads a range from the query parameters from and to (either may be
// empty: to defaults to today, from to DefaultDays days up to to). A day
// that is not YYYY-MM-DD, from after to, or more than MaxDays days is an
// invalid_argument error.
func (s *Service) Period(from, to string) (Period, error) {
	loc := s.opts.Location
	day := func(name, v string) (time.Time, error) {
		t, err := time.ParseInLocation(time.DateOnly, v, loc)
		if err != nil {
			return time.Time{}, apperr.Invalid("参数错误", map[string]string{name: "日期格式应为 YYYY-MM-DD"})
		}
		return t, nil
	}
	var end, start time.Time
	var err error
	if to == "" {
		n := s.Now().In(loc)
		end = time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
	} else if end, err = day("to", to); err != nil {
		return Period{}, err
	}
	if from == "" {
		start = end.AddDate(0, 0, -(DefaultDays - 1))
	} else if start, err = day("from", from); err != nil {
		return Period{}, err
	}
	if start.After(end) {
		return Period{}, apperr.Invalid("参数错误", map[string]string{"from": "开始日期不能晚于结束日期"})
	}
	days := int(dayNumber(end)-dayNumber(start)) + 1
	if days > MaxDays {
		return Period{}, apperr.Invalid("参数错误", map[string]string{"to": fmt.Sprintf("日期范围不能超过 %d 天", MaxDays)})
	}
	return Period{From: start.Format(time.DateOnly), To: end.Format(time.DateOnly), Days: days,
		Start: start.UTC(), End: end.AddDate(0, 0, 1).UTC()}, nil
}

// dayNumber counts calendar days since 1970-01-01, whatever the zone's
// daylight saving does to the hours between them.
func dayNumber(t time.Time) int64 {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// Tasks are the task figures of an org or a member.
type Tasks struct {
	Assigned   int64 `json:"assigned"`
	Accepted   int64 `json:"accepted"`
	DoneOnTime int64 `json:"done_on_time"`
	Overdue    int64 `json:"overdue"`
	Declined   int64 `json:"declined"`
}

// Checkins are the check-in figures of an org or a member.
type Checkins struct {
	// Days is the member's days with a check-in; for an org, the check-ins
	// of its subtree (member-days).
	Days int64   `json:"days"`
	Rate float64 `json:"rate"`
}

// OrgReports are the report figures of an org's subtree.
type OrgReports struct {
	Filed            int64    `json:"filed"`
	Acknowledged     int64    `json:"acknowledged"`
	MedianAckSeconds *float64 `json:"median_ack_seconds"`
	Escalations      int64    `json:"escalations"`
}

// MemberReports are the report figures of a member.
type MemberReports struct {
	Filed int64 `json:"filed"`
}

// Deeds are the deed figures of an org or a member.
type Deeds struct {
	Approved  int64 `json:"approved"`
	Commended int64 `json:"commended"`
}

// Forms are the screening-form figures of an org or a member.
type Forms struct {
	Entries int64 `json:"entries"`
	Missed  int64 `json:"missed"`
}

// OrgStats are the figures of one org's subtree.
type OrgStats struct {
	OrgID           int64      `json:"org_id"`
	Name            string     `json:"name"`
	Kind            org.Kind   `json:"kind"`
	ApprovedMembers int64      `json:"approved_members"`
	Tasks           Tasks      `json:"tasks"`
	Checkins        Checkins   `json:"checkins"`
	Reports         OrgReports `json:"reports"`
	Deeds           Deeds      `json:"deeds"`
	Forms           Forms      `json:"forms"`
}

// MemberStats are the figures of one member in one org.
type MemberStats struct {
	MembershipID int64         `json:"-"`
	UserID       int64         `json:"user_id"`
	Name         string        `json:"name"`
	Badge        org.Badge     `json:"badge"`
	BadgeLabel   string        `json:"badge_label"`
	Role         org.Role      `json:"role"`
	Tasks        Tasks         `json:"tasks"`
	Checkins     Checkins      `json:"checkins"`
	Reports      MemberReports `json:"reports"`
	Deeds        Deeds         `json:"deeds"`
	Forms        Forms         `json:"forms"`
}

// Report is the assessment of an org over a period.
type Report struct {
	Period   Period
	Org      OrgStats
	Children []OrgStats
	// Members is a page of the org's direct members, in membership id
	// order.
	Members paging.Page[MemberStats]
}

// Stats returns the assessment of an org, its children and one page of its
// approved direct members (after a membership id, at most limit), to a
// secretary of the org or of an ancestor; anyone else gets
// org.ErrOrgNotFound.
func (s *Service) Stats(ctx context.Context, userID, orgID int64, p Period, after int64, limit int) (_ Report, err error) {
	defer apperr.Annotate(&err, "stats.Stats(%d)", orgID)
	o, err := s.orgs.RequireManager(ctx, userID, orgID)
	if err != nil {
		return Report{}, err
	}
	r := Report{Period: p}
	r.Org, r.Children, err = s.orgFigures(ctx, o, p)
	if err != nil {
		return Report{}, err
	}
	r.Members, err = s.memberFigures(ctx, orgID, p, after, limit)
	if err != nil {
		return Report{}, fmt.Errorf("members: %w", err)
	}
	return r, nil
}

package form

import (
	"context"
	"strings"
	"time"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/database"
	"xianfeng/server/internal/org"
)

// Miss records a member of a form's audience who had not filled it by its
// due time: for a daily form, one per member and day; for a once or
// entries form with a due time, one per member, on the due time's day. The
// sweep writes them a minute or less after each due time; they count in
// the assessment figures as a task's overdue assignments do.
type Miss struct {
	ID     int64
	FormID int64
	UserID int64
	// OrgID is the org of the membership that put the member in the
	// audience.
	OrgID     int64
	Day       string
	CreatedAt time.Time
}

// TableName is the form_misses table.
func (Miss) TableName() string { return "form_misses" }

// maxCatchUp bounds how many past days of a daily form one sweep marks
// (after the workers were down): older days stay unmarked.
const maxCatchUp = 7

// MarkMissing records the misses of every open form whose due time has
// passed since the last sweep: the members of its audience at that time —
// a live membership approved by then — who had made no entry for it by
// then (an offline entry counts at its client_time). It is safe to run
// again and concurrently: a miss is unique per form, member and day.
func (s *Service) MarkMissing(ctx context.Context) (err error) {
	defer apperr.Annotate(&err, "form.MarkMissing")
	now := s.now()
	today := s.Day(now)
	// Once and entries forms not marked whose due time has passed; daily
	// forms not marked today.
	return s.eachForm(ctx, "status = ? AND ((due_at IS NOT NULL AND due_at <= ? AND missed_on = '') OR (due_time <> '' AND missed_on < ?))",
		[]any{StatusOpen, now, today}, func(f Form) error {
			for _, day := range s.dueDays(f, now) {
				if err := s.markDay(ctx, f, day, *s.Due(f, day), now); err != nil {
					return err
				}
				if err := s.DB().WithContext(ctx).Model(&Form{}).Where("id = ? AND missed_on < ?", f.ID, day).Update("missed_on", day).Error; err != nil {
					return err
				}
			}
			return nil
		})
}

// dueDays returns the days of f, oldest first, whose due time has passed
// at now and whose misses are not marked: for a daily form the days after
// missed_on (at most maxCatchUp) whose due time came after the form was
// made; for the others the due time's day, once.
func (s *Service) dueDays(f Form, now time.Time) []string {
	if f.DueAt != nil {
		if f.MissedOn != "" || now.Before(*f.DueAt) {
			return nil
		}
		return []string{s.Day(*f.DueAt)}
	}
	var days []string
	n := now.In(s.opts.Location)
	for back := maxCatchUp - 1; back >= 0; back-- {
		day := time.Date(n.Year(), n.Month(), n.Day()-back, 12, 0, 0, 0, s.opts.Location).Format(time.DateOnly)
		due := s.Due(f, day)
		if day <= f.MissedOn || due == nil || due.After(now) || !due.After(f.CreatedAt) {
			continue
		}
		days = append(days, day)
	}
	return days
}

// markDay writes in one statement a miss for each member of f's audience
// at due who had no entry for the day by then.
func (s *Service) markDay(ctx context.Context, f Form, day string, due, now time.Time) error {
	where := []string{org.LiveSQL, "COALESCE(m.approved_at, m.created_at) <= ?"}
	args := []any{f.ID, day, now}
	args = append(args, org.LiveArgs(now)...)
	args = append(args, due)
	if f.IncludeSuborgs {
		where = append(where, "m.org_id IN ("+org.SubtreeSQL+")")
	} else {
		where = append(where, "m.org_id = ?")
	}
	args = append(args, f.OrgID)
	if t := f.Audience(); len(t.Badges) > 0 || len(t.UserIDs) > 0 {
		var who []string
		if len(t.Badges) > 0 {
			who = append(who, "m.badge IN ?")
			args = append(args, t.Badges)
		}
		if len(t.UserIDs) > 0 {
			who = append(who, "m.user_id IN ?")
			args = append(args, t.UserIDs)
		}
		where = append(where, "("+strings.Join(who, " OR ")+")")
	}
	filled := "e.form_id = ? AND e.user_id = m.user_id AND COALESCE(e.client_time, e.created_at) <= ?"
	args = append(args, f.ID, due)
	if f.Mode == ModeDaily {
		filled += " AND e.day = ?"
		args = append(args, day)
	}
	where = append(where, "NOT EXISTS (SELECT 1 FROM form_entries e WHERE "+filled+")")
	_, err := database.InsertSelect(s.DB().WithContext(ctx), "form_misses", []string{"form_id", "user_id", "day", "created_at", "org_id"},
		"SELECT ?, m.user_id, ?, ?, m.org_id FROM "+org.FromSQL+" WHERE "+strings.Join(where, " AND "), args...)
	return err
}

// missDay is the day a miss of f is recorded on for an entry of day.
func (s *Service) missDay(f Form, day string) string {
	if f.DueAt != nil {
		return s.Day(*f.DueAt)
	}
	return day
}

// unmiss removes the miss that an entry made offline before the due time,
// and sent after the sweep, shows to be wrong.
func (s *Service) unmiss(ctx context.Context, f Form, e Entry, at time.Time) error {
	due := s.Due(f, e.Day)
	if due == nil || at.After(*due) || !s.now().After(*due) {
		return nil
	}
	return s.DB().WithContext(ctx).Where("form_id = ? AND user_id = ? AND day = ?", f.ID, e.UserID, s.missDay(f, e.Day)).Delete(&Miss{}).Error
}

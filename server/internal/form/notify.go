package form

import (
	"context"
	"slices"
	"strconv"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/org"
)

// Publisher queues the notification of a new form's audience.
type Publisher interface {
	Publish(ctx context.Context, formID int64) error
}

// fanOutBatch is how many memberships a fan-out reads at a time, and how
// many forms a sweep.
const fanOutBatch = 1000

// eachForm calls fn with each form that where (with args) selects, in id
// order, a batch at a time: a sweep reaches every form however many come
// before it.
func (s *Service) eachForm(ctx context.Context, where string, args []any, fn func(Form) error) error {
	for after := int64(0); ; {
		var forms []Form
		if err := s.DB().WithContext(ctx).Where(where, args...).Where("id > ?", after).
			Order("id").Limit(fanOutBatch).Find(&forms).Error; err != nil {
			return err
		}
		for _, f := range forms {
			if err := fn(f); err != nil {
				return err
			}
		}
		if len(forms) < fanOutBatch {
			return nil
		}
		after = forms[len(forms)-1].ID
	}
}

// memberships selects the live memberships (aliased m) of the orgs the
// form reaches: its org, and everything below it with include_suborgs.
func (s *Service) memberships(ctx context.Context, f Form) *gorm.DB {
	q := s.DB().WithContext(ctx).Scopes(org.LiveMemberships(s.now()))
	if f.IncludeSuborgs {
		return q.Scopes(org.InSubtree("m.org_id", f.OrgID))
	}
	return q.Where("m.org_id = ?", f.OrgID)
}

// audience calls each with the user ids of the form's audience as it
// stands, a batch at a time.
func (s *Service) audience(ctx context.Context, f Form, each func(users []int64) error) error {
	seen := map[int64]bool{}
	for after := int64(0); ; {
		q := s.memberships(ctx, f).Select("m.id, m.user_id, m.badge").Where("m.id > ?", after)
		var rows []struct {
			ID     int64
			UserID int64
			Badge  org.Badge
		}
		if err := q.Order("m.id").Limit(fanOutBatch).Scan(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		after = rows[len(rows)-1].ID
		var users []int64
		for _, r := range rows {
			if !seen[r.UserID] && f.For(r.UserID, r.Badge) {
				seen[r.UserID] = true
				users = append(users, r.UserID)
			}
		}
		if err := each(users); err != nil {
			return err
		}
	}
}

// tell sends one notification about the form to each user.
func (s *Service) tell(ctx context.Context, f Form, users []int64, kind, title, body, dedupe, day string) error {
	if len(users) == 0 || s.opts.Notifier == nil {
		return nil
	}
	data := map[string]string{}
	if o, err := s.orgs.Get(ctx, f.OrgID); err == nil {
		data["org"] = o.Name
	}
	if due := s.Due(f, day); due != nil {
		data["due"] = due.In(s.opts.Location).Format("2006-01-02 15:04")
	}
	ns := make([]notify.Notification, len(users))
	for i, u := range users {
		ns[i] = notify.Notification{UserID: u, Kind: kind, Title: title, Body: body, RefType: "form", RefID: f.ID, DedupeKey: dedupe, Data: data}
	}
	return s.opts.Notifier.Notify(ctx, ns)
}

// FanOut notifies the audience of a new form (inbox, and a subscribe
// message where consented). Run again it tells nobody twice.
func (s *Service) FanOut(ctx context.Context, formID int64) (err error) {
	defer apperr.Annotate(&err, "form.FanOut(%d)", formID)
	f, err := s.get(ctx, formID)
	if err != nil || f.Status != StatusOpen {
		return nil // gone or closed: nothing to tell
	}
	dedupe := "form_published:" + strconv.FormatInt(f.ID, 10)
	return s.audience(ctx, f, func(users []int64) error {
		return s.tell(ctx, f, users, notify.KindFormPublished, "新的填报："+f.Title, "请按时填报", dedupe, s.Day(s.now()))
	})
}

// Remind tells the members of the audience who have not filled a form with
// a due time and a reminder that it is due soon: once per form and day
// (once per form for once/entries forms), remind_before_minutes before the
// due time. The sweep job runs it every minute.
func (s *Service) Remind(ctx context.Context) (err error) {
	defer apperr.Annotate(&err, "form.Remind")
	now := s.now()
	today := s.Day(now)
	// Daily forms not reminded today; once and entries forms never
	// reminded and not yet due.
	return s.eachForm(ctx, "status = ? AND remind_before_minutes > 0 AND reminded_on <> ? AND (due_time <> '' OR (reminded_on = '' AND due_at > ?))",
		[]any{StatusOpen, today, now}, func(f Form) error { return s.remind(ctx, f, now, today) })
}

// remind sends f's reminder of today if it is time and no other sweep has.
func (s *Service) remind(ctx context.Context, f Form, now time.Time, today string) error {
	due := s.Due(f, today)
	if due == nil || now.Before(due.Add(-time.Duration(f.RemindBeforeMinutes)*time.Minute)) || !now.Before(*due) || (f.Mode != ModeDaily && f.RemindedOn != "") {
		return nil
	}
	// Claim the day's reminder: of concurrent sweeps, one sends it.
	res := s.DB().WithContext(ctx).Model(&Form{}).Where("id = ? AND reminded_on = ?", f.ID, f.RemindedOn).Update("reminded_on", today)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return nil
	}
	dedupe := "form_reminder:" + strconv.FormatInt(f.ID, 10) + ":" + today
	return s.audience(ctx, f, func(users []int64) error {
		q := s.DB().WithContext(ctx).Model(&Entry{}).Where("form_id = ? AND user_id IN ?", f.ID, users)
		if f.Mode == ModeDaily {
			q = q.Where("day = ?", today)
		}
		var done []int64
		if err := q.Distinct().Pluck("user_id", &done).Error; err != nil {
			return err
		}
		var pending []int64
		for _, u := range users {
			if !slices.Contains(done, u) {
				pending = append(pending, u)
			}
		}
		return s.tell(ctx, f, pending, notify.KindFormReminder, "即将截止："+f.Title, "您还没有填报，请在截止前完成", dedupe, today)
	})
}

package form

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/checkin"
	"xianfeng/server/internal/contentsec"
	"xianfeng/server/internal/database"
	"xianfeng/server/internal/media"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/paging"
)

// member is a live membership that puts its user in a form's audience.
type member struct {
	OrgID int64
	Badge org.Badge
}

// For reports whether a member with the badge, of an org the form reaches,
// is in its audience.
func (f Form) For(userID int64, badge org.Badge) bool {
	t := f.Audience()
	if len(t.Badges) == 0 && len(t.UserIDs) == 0 {
		return true
	}
	return slices.Contains(t.Badges, badge) || slices.Contains(t.UserIDs, userID)
}

// membership returns the oldest live membership of the user that puts
// them in the form's audience, evaluated now: a member who joined after
// the form was made has it, a removed one no longer does.
func (s *Service) membership(ctx context.Context, userID int64, f Form) (member, bool, error) {
	q := s.memberships(ctx, f).Select("m.org_id, m.badge").Where("m.user_id = ?", userID)
	var ms []member
	if err := q.Order("m.id").Scan(&ms).Error; err != nil {
		return member{}, false, fmt.Errorf("form: membership: %w", err)
	}
	for _, m := range ms {
		if f.For(userID, m.Badge) {
			return m, true, nil
		}
	}
	return member{}, false, nil
}

// latest returns the user's newest entry of the form, or nil.
func (s *Service) latest(ctx context.Context, f Form, userID int64) (*Entry, error) {
	var es []Entry
	if err := s.DB().WithContext(ctx).Where("form_id = ? AND user_id = ?", f.ID, userID).Order("id DESC").Limit(1).Find(&es).Error; err != nil {
		return nil, fmt.Errorf("form: latest entry: %w", err)
	}
	if len(es) == 0 {
		return nil, nil
	}
	return &es[0], nil
}

// MineItem is an open form in a member's list, with whether their part is
// done: today's entry of a daily form, their entry of a once form; for the
// entries mode, Entries counts what they filed.
type MineItem struct {
	Form    Form
	Done    bool
	Entries int64
	Day     string
}

// Mine returns the open forms the user is in the audience of, newest first.
func (s *Service) Mine(ctx context.Context, userID int64) (_ []MineItem, err error) {
	defer apperr.Annotate(&err, "form.Mine")
	db := s.DB().WithContext(ctx)
	now := s.now()
	var ms []member
	if err := db.Scopes(org.LiveMemberships(now)).Select("m.org_id, m.badge").Where("m.user_id = ?", userID).Scan(&ms).Error; err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return []MineItem{}, nil
	}
	own := make([]int64, 0, len(ms))
	var above []int64
	for _, m := range ms {
		own = append(own, m.OrgID)
		ids, err := org.Ancestors(ctx, s.DB(), m.OrgID)
		if err != nil {
			return nil, err
		}
		above = append(above, ids...)
	}
	var forms []Form
	if err := db.Where("status = ? AND (org_id IN ? OR (include_suborgs = ? AND org_id IN ?))", StatusOpen, own, true, above).
		Order("id DESC").Limit(200).Find(&forms).Error; err != nil {
		return nil, err
	}
	today := s.Day(now)
	out := []MineItem{}
	for _, f := range forms {
		in := false
		for _, m := range ms {
			if f.For(userID, m.Badge) && (m.OrgID == f.OrgID || f.IncludeSuborgs) {
				if m.OrgID != f.OrgID {
					ids, err := org.Ancestors(ctx, s.DB(), m.OrgID)
					if err != nil {
						return nil, err
					}
					if !slices.Contains(ids, f.OrgID) {
						continue
					}
				}
				in = true
				break
			}
		}
		if !in {
			continue
		}
		q := db.Model(&Entry{}).Where("form_id = ? AND user_id = ?", f.ID, userID)
		if f.Mode == ModeDaily {
			q = q.Where("day = ?", today)
		}
		var n int64
		if err := q.Count(&n).Error; err != nil {
			return nil, err
		}
		out = append(out, MineItem{Form: f, Done: n > 0 && f.Mode != ModeEntries, Entries: n, Day: today})
	}
	return out, nil
}

// SubmitInput is an entry from a phone.
type SubmitInput struct {
	RequestID  string
	Answers    map[string]json.RawMessage
	ClientTime *time.Time
	// CopyLast repeats the member's previous entry: yesterday's for a daily
	// form, the last one otherwise.
	CopyLast bool
	// MediaIDs are photos the member uploaded (media.MaxPerOwner at most).
	MediaIDs []int64
}

// Submit records an entry; created is false when the request_id had been
// seen and the first entry made with it is returned.
func (s *Service) Submit(ctx context.Context, userID, formID int64, in SubmitInput) (_ Entry, created bool, err error) {
	defer apperr.Annotate(&err, "form.Submit(%d)", formID)
	if in.RequestID == "" || len(in.RequestID) > 64 {
		return Entry{}, false, apperr.Invalid("参数错误", map[string]string{"request_id": "需要 1 到 64 个字符的请求编号"})
	}
	if in.CopyLast && len(in.Answers) > 0 {
		return Entry{}, false, apperr.Invalid("参数错误", map[string]string{"answers": "复制上一次填报时不能同时提供答案"})
	}
	if err := media.CheckIDs(in.MediaIDs); err != nil {
		return Entry{}, false, err
	}
	if s.oneTrip != nil && !in.CopyLast && len(in.MediaIDs) == 0 {
		if e, ok, err := s.submitOneTrip(ctx, userID, formID, in); err != nil || ok {
			return e, ok, err
		}
		// Whatever the statement could not write, the general path below
		// answers, in the order it always has.
	}
	f, err := s.get(ctx, formID)
	if err != nil {
		return Entry{}, false, err
	}
	m, ok, err := s.membership(ctx, userID, f)
	if err != nil {
		return Entry{}, false, err
	}
	if !ok {
		return Entry{}, false, ErrNotFound
	}
	db := s.DB().WithContext(ctx)
	var first Entry
	if err := db.Take(&first, "form_id = ? AND user_id = ? AND request_id = ?", formID, userID, in.RequestID).Error; err == nil {
		return first, false, s.show(ctx, userID, f, &first, true)
	} else if !errors.Is(err, gorm.ErrRecordNotFound) {
		return Entry{}, false, err
	}
	if f.Status != StatusOpen {
		return Entry{}, false, ErrClosed
	}
	e, at, err := s.newEntry(f, userID, in)
	if err != nil {
		return Entry{}, false, err
	}
	e.OrgID = m.OrgID
	if f.Mode != ModeEntries {
		var n int64
		if err := db.Model(&Entry{}).Where("form_id = ? AND user_id = ? AND slot = ?", f.ID, userID, e.Slot).Count(&n).Error; err != nil {
			return Entry{}, false, err
		}
		if n > 0 {
			return Entry{}, false, ErrAlreadySubmitted
		}
	}
	answers := in.Answers
	if in.CopyLast {
		if answers, err = s.previous(ctx, f, userID, at); err != nil {
			return Entry{}, false, err
		}
	}
	fields := f.FieldList()
	stored, checks, err := s.compose(ctx, fields, userID, answers, &e)
	if err != nil {
		return Entry{}, false, err
	}
	err = database.Transact(ctx, s.DB(), func(tx *gorm.DB) error {
		e.ID = 0 // a retried transaction inserts afresh
		if err := tx.Create(&e).Error; err != nil {
			return err
		}
		// Counted in the totals by the next fold.
		if err := tx.Create(&pendingEntry{FormID: f.ID, EntryID: e.ID}).Error; err != nil {
			return err
		}
		if err := contentsec.Record(tx, e.ID, checks...); err != nil {
			return err
		}
		return s.opts.Media.Attach(tx, userID, in.MediaIDs, media.OwnerFormEntry, e.ID)
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		// A concurrent retry of the same request, or a second entry for the slot.
		if err := db.Take(&first, "form_id = ? AND user_id = ? AND request_id = ?", formID, userID, in.RequestID).Error; err == nil {
			return first, false, s.show(ctx, userID, f, &first, true)
		}
		return Entry{}, false, ErrAlreadySubmitted
	}
	if err != nil {
		return Entry{}, false, err
	}
	return s.submitted(ctx, userID, f, fields, stored, in, at, e)
}

// submitOneTrip is Submit's hot path (see oneTrip): the form's definition
// from the cache, the answers checked and sealed, then one statement. ok
// is false when it wrote nothing, or met anything (a bad answer, a
// client_time out of its window, a text WeChat did not check) whose answer
// the general path gives.
func (s *Service) submitOneTrip(ctx context.Context, userID, formID int64, in SubmitInput) (_ Entry, ok bool, err error) {
	f, err := s.definition(ctx, formID)
	if errors.Is(err, ErrNotFound) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, err
	}
	e, at, err := s.newEntry(f, userID, in)
	if err != nil {
		return Entry{}, false, nil
	}
	fields := f.FieldList()
	stored, checks, err := s.compose(ctx, fields, userID, in.Answers, &e)
	if err != nil || slices.ContainsFunc(checks, func(p *contentsec.Pending) bool { return p != nil }) {
		return Entry{}, false, nil
	}
	if ok, err := s.oneTrip(ctx, s.DB(), f, &e); err != nil || !ok {
		return Entry{}, false, err
	}
	return s.submitted(ctx, userID, f, fields, stored, in, at, e)
}

// clientAt is when an entry was made (see checkin.ClientAt), with the
// form's own error.
func (s *Service) clientAt(now time.Time, clientTime *time.Time) (time.Time, error) {
	at, err := checkin.ClientAt(now, clientTime, s.opts.Window, checkin.ClientSkew)
	if err != nil {
		e := *ErrWindow
		e.Message = fmt.Sprintf("离线填报只接受 %g 小时以内的记录", s.opts.Window.Hours())
		return time.Time{}, &e
	}
	return at, nil
}

// newEntry returns the entry in of userID makes now, and at, when it was
// made (its client time when given, see clientAt); its slot is set by the
// form's mode, its org and answers are not set.
func (s *Service) newEntry(f Form, userID int64, in SubmitInput) (Entry, time.Time, error) {
	now := s.now()
	at, err := s.clientAt(now, in.ClientTime)
	if err != nil {
		return Entry{}, time.Time{}, err
	}
	day := s.Day(at)
	e := Entry{FormID: f.ID, UserID: userID, RequestID: in.RequestID, Day: day, Version: 1, CreatedAt: now, UpdatedAt: now}
	if in.ClientTime != nil {
		e.ClientTime = &at
	}
	switch f.Mode {
	case ModeOnce:
		e.Slot = "once"
	case ModeDaily:
		e.Slot = day
	default:
		e.Slot = "r:" + in.RequestID
	}
	return e, at, nil
}

// compose checks answers against the fields (400 naming each bad one) and
// their texts with content security, seals the sensitive ones and sets
// them and the alert on e; it returns the checked answers as stored (the
// sensitive ones sealed) and the content checks to record with the entry.
func (s *Service) compose(ctx context.Context, fields []Field, userID int64, answers map[string]json.RawMessage, e *Entry) (map[string]any, []*contentsec.Pending, error) {
	problems := map[string]string{}
	stored, alert := Check(fields, answers, problems)
	if len(problems) > 0 {
		return nil, nil, apperr.Invalid("填报内容有误", problems)
	}
	checks, err := contentsec.Fields(ctx, contentsec.Or(s.opts.Content), userID, contentsec.KindFormEntry, texts(fields, stored)...)
	if err != nil {
		return nil, nil, err
	}
	if err := s.seal(fields, stored); err != nil {
		return nil, nil, err
	}
	aj, err := json.Marshal(stored)
	if err != nil {
		return nil, nil, err
	}
	e.Answers, e.Alert = string(aj), alert
	return stored, checks, nil
}

// submitted finishes a new entry once it is written: its urgent report if
// it trips an alert, the miss it undoes if it was made offline before the
// due time, and its answers as its member sees them.
func (s *Service) submitted(ctx context.Context, userID int64, f Form, fields []Field, answers map[string]any, in SubmitInput, at time.Time, e Entry) (Entry, bool, error) {
	if e.Alert {
		s.alert(ctx, &e, f, fields, answers)
	}
	if in.ClientTime != nil {
		// Made offline before the due time, it is no miss.
		if err := s.unmiss(ctx, f, e, at); err != nil {
			s.Log().WarnContext(ctx, "could not withdraw the miss of an offline entry", "entry_id", e.ID, "err", err)
		}
	}
	return e, true, s.show(ctx, userID, f, &e, true)
}

// CanSeeEntry reports whether userID may see entry id and its photos: its
// member, or a secretary of the org it was made in or above
// (media.Viewer of form entries).
func (s *Service) CanSeeEntry(ctx context.Context, userID, id int64) (bool, error) {
	var e Entry
	err := s.DB().WithContext(ctx).Take(&e, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, nil
	}
	if err != nil || e.UserID == userID {
		return err == nil, err
	}
	if contentsec.Hidden(e.ContentHidden, e.UserID, userID) {
		return false, nil
	}
	return s.orgs.Manages(ctx, userID, e.OrgID)
}

// previous returns the answers of the entry copy_last repeats.
func (s *Service) previous(ctx context.Context, f Form, userID int64, at time.Time) (map[string]json.RawMessage, error) {
	q := s.DB().WithContext(ctx).Where("form_id = ? AND user_id = ?", f.ID, userID)
	if f.Mode == ModeDaily {
		d := at.In(s.opts.Location)
		q = q.Where("day = ?", time.Date(d.Year(), d.Month(), d.Day()-1, 12, 0, 0, 0, s.opts.Location).Format(time.DateOnly))
	}
	var es []Entry
	if err := q.Order("id DESC").Limit(1).Find(&es).Error; err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, ErrNothingToCopy
	}
	return s.open(f.FieldList(), es[0].Answers, true)
}

// alert files the entry's urgent report and links it to the entry. A
// failure is logged, not returned: the entry is recorded and the member
// must not send it again.
func (s *Service) alert(ctx context.Context, e *Entry, f Form, fields []Field, answers map[string]any) {
	if s.opts.Alerts == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	var lines []string
	for _, fd := range fields {
		if v, ok := answers[fd.Key]; ok && fd.Alert != nil && fd.trips(v) {
			lines = append(lines, fmt.Sprintf("%s：%v%s", fd.Label, v, fd.Unit))
		}
	}
	content := "【排查预警】" + f.Title + "：" + strings.Join(lines, "；")
	id, err := s.opts.Alerts.Alert(ctx, e.UserID, e.OrgID, "form_entry:"+strconv.FormatInt(e.ID, 10), content)
	if err != nil {
		s.Log().ErrorContext(ctx, "could not report an alerting form entry", "form_id", f.ID, "entry_id", e.ID, "err", err)
		return
	}
	if err := s.DB().WithContext(ctx).Model(&Entry{}).Where("id = ?", e.ID).Update("report_id", id).Error; err != nil {
		s.Log().ErrorContext(ctx, "could not link an alerting form entry to its report", "entry_id", e.ID, "err", err)
		return
	}
	e.ReportID = &id
}

// Row is an entry in a secretary's list, with the member's name.
type Row struct {
	Entry
	Name string
}

// Filter narrows a form's entry list.
type Filter struct {
	Alert *bool
	OrgID int64
	Day   string
}

// Entries returns a page of a form's entries to a secretary who oversees
// some of it (those in what they see: see viewOf), newest first, before the entry id before (0: from the newest).
// ID and phone numbers are whole only for the secretaries of the entry's
// own org (and audited), masked for those above.
func (s *Service) Entries(ctx context.Context, userID, formID int64, flt Filter, before int64, limit int) (_ paging.Page[Row], err error) {
	defer apperr.Annotate(&err, "form.Entries(%d)", formID)
	f, v, err := s.oversee(ctx, userID, formID)
	if err != nil {
		return paging.Page[Row]{}, err
	}
	q := s.DB().WithContext(ctx).Table("form_entries AS e").Select("e.*, COALESCE("+org.MemberNameSQL("e.user_id")+", '') AS name").
		Where("e.form_id = ?", f.ID).Scopes(contentsec.Shown("e.user_id", userID))
	q = v.within(q, "e.org_id")
	if flt.Alert != nil {
		q = q.Where("e.alert = ?", *flt.Alert)
	}
	if flt.OrgID > 0 {
		q = q.Where("e.org_id = ?", flt.OrgID)
	}
	if flt.Day != "" {
		q = q.Where("e.day = ?", flt.Day)
	}
	if before > 0 {
		q = q.Where("e.id < ?", before)
	}
	var rows []Row
	if err := q.Order("e.id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return paging.Page[Row]{}, err
	}
	page := paging.Trim(rows, limit, func(r Row) int64 { return r.ID })
	for i := range page.Items {
		if err := s.show(ctx, userID, f, &page.Items[i].Entry, false); err != nil {
			return paging.Page[Row]{}, err
		}
	}
	return page, nil
}

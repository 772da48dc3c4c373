// Package form is screening forms (排查) and daily health reports: a
// secretary designs a form of typed fields for their org, the members it is
// for fill it on their phones (once, once a day, or as many entries as they
// need), and an entry that trips an alert rule is reported upward at once.
package form

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/contentsec"
	"xianfeng/server/internal/database"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/pii"
	"xianfeng/server/internal/service"
	"xianfeng/server/internal/task"
	"xianfeng/server/internal/text"
)

// Mode says how many entries a member makes.
type Mode string

// Modes of a form.
const (
	ModeOnce    Mode = "once"    // one entry per member
	ModeDaily   Mode = "daily"   // one entry per member per calendar day
	ModeEntries Mode = "entries" // any number (one per household visited)
)

// Statuses of a form.
const (
	StatusOpen   = "open"
	StatusClosed = "closed"
)

// Form is a set of questions for the members of an org.
type Form struct {
	ID          int64
	OrgID       int64
	CreatedBy   int64
	RequestID   *string
	Title       string
	Description string
	Mode        Mode
	// Target is the audience as JSON (task.Target); IncludeSuborgs repeats
	// its include_suborgs for queries.
	Target         string
	IncludeSuborgs bool
	// DueAt is when a once/entries form is due; DueTime ("HH:MM" in the
	// configured zone) when each day's entry of a daily form is.
	DueAt               *time.Time
	DueTime             string
	RemindBeforeMinutes int
	// RemindedOn is the last day whose reminder went out ("" for none).
	RemindedOn string
	// MissedOn is the last day whose misses are marked ("" for none).
	MissedOn  string
	Fields    string // JSON []Field
	Status    string
	ClosedAt  *time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName is the forms table.
func (Form) TableName() string { return "forms" }

// Audience returns who the form is for.
func (f Form) Audience() task.Target {
	var t task.Target
	_ = json.Unmarshal([]byte(f.Target), &t) // written by Create from a task.Target
	return t
}

// FieldList returns the form's fields.
func (f Form) FieldList() []Field {
	var out []Field
	_ = json.Unmarshal([]byte(f.Fields), &out) // written by Create from checked fields
	return out
}

// Entry is one member's answers to a form.
type Entry struct {
	ID     int64
	FormID int64
	UserID int64
	// Slot is what makes the entry unique for its member: "once", the day
	// of a daily form, or "r:"+request_id for the entries mode.
	Slot      string
	RequestID string
	// OrgID is the org of the membership the entry was made under.
	OrgID      int64
	Day        string
	Answers    string // JSON object keyed by field key
	Alert      bool
	ReportID   *int64
	Version    int
	ClientTime *time.Time
	// ContentRisky and ContentHidden: a later content check found a text
	// answer risky; the entry is hidden from all but its member.
	ContentRisky  bool
	ContentHidden bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// TableName is the form_entries table.
func (Entry) TableName() string { return "form_entries" }

// Orgs is what forms need from the org tree: its scope rules, the
// secretaries to tell, and a secretary's own memberships (a secretary
// below the form's org sees their branch's part of it).
type Orgs interface {
	org.Secretariat
	// ForUser returns the user's memberships.
	ForUser(ctx context.Context, userID int64) ([]org.MembershipView, error)
}

var _ Orgs = (*org.Service)(nil)

// Options configure the service.
type Options struct {
	service.Deps
	// Location decides what a calendar day is; it is required.
	Location *time.Location
	// Window is how old an offline entry's client_time may be (the daily
	// check-in's window); 24 hours when zero.
	Window time.Duration
	// Notifier tells the audience of a new form and reminds it; Publisher
	// queues that. Without them nobody is told.
	Notifier  notify.Notifier
	Publisher Publisher
	// Box seals ID and phone numbers at rest; it is required.
	Box *pii.Box
	// Alerts, when set, files the urgent report of an entry that trips an
	// alert rule.
	Alerts Alerter
	// Media attaches photos to entries, in the entry's transaction; it is
	// required.
	Media interface {
		Attach(tx *gorm.DB, userID int64, ids []int64, kind string, ownerID int64) error
	}
	// Content checks titles and labels (contentsec); nil checks nothing.
	Content contentsec.Checker
}

// Alerter reports an alerting entry upward (report.Service).
type Alerter interface {
	// Alert files one urgent report by the member with the secretaries of
	// orgID and returns its id; called again with the same key it returns
	// the same report.
	Alert(ctx context.Context, reporterID, orgID int64, key, content string) (int64, error)
	// Note adds a note by actorID to the timeline of a report Alert filed.
	Note(ctx context.Context, reportID, actorID int64, note string) error
}

// Service holds the rules of forms and entries.
type Service struct {
	service.Base
	orgs    Orgs
	opts    Options
	defs    definitions
	oneTrip oneTrip // nil: the dialect has no one-statement entry
}

// now is the service's clock to the millisecond, which is what every
// database keeps: an entry and its retries show the same times.
func (s *Service) now() time.Time { return s.Now().Truncate(time.Millisecond) }

// NewService returns the form service.
func NewService(db *gorm.DB, orgs Orgs, opts Options) *Service {
	if opts.Location == nil || opts.Box == nil || opts.Media == nil {
		panic("form.NewService: Options.Location, Box and Media are required")
	}
	if opts.Window <= 0 {
		opts.Window = 24 * time.Hour
	}
	return &Service{Base: service.New("form.NewService", db, opts.Deps), orgs: orgs, opts: opts, oneTrip: oneTripFor(db)}
}

// Errors of the service.
var (
	ErrNotFound         = apperr.New(apperr.KindNotFound, "form_not_found", "表单不存在或无权查看")
	ErrEntryNotFound    = apperr.New(apperr.KindNotFound, "entry_not_found", "填报记录不存在或无权查看")
	ErrNothingToCopy    = apperr.New(apperr.KindNotFound, "no_previous_entry", "没有可以复制的上一次填报")
	ErrClosed           = apperr.New(apperr.KindConflict, "form_closed", "表单已关闭，不再接受填报")
	ErrAlreadySubmitted = apperr.New(apperr.KindConflict, "already_submitted", "您已填报过，不能重复提交")
	ErrPastDue          = apperr.New(apperr.KindConflict, "past_due", "已过截止时间，不能再修改")
	ErrWindow           = apperr.New(apperr.KindRule, "client_time_out_of_window", "离线填报时间超出允许范围")
)

// Input is a new form.
type Input struct {
	RequestID           string
	Title               string
	Description         string
	Mode                Mode
	Target              task.Target
	DueAt               *time.Time
	DueTime             string
	RemindBeforeMinutes int
	Fields              []Field
}

func (s *Service) validate(in Input) error {
	f := map[string]string{}
	if msg := text.Problem(in.Title, 1, 100); msg != "" {
		f["title"] = msg
	}
	if msg := text.Problem(in.Description, 0, 2000); msg != "" {
		f["description"] = msg
	}
	if !slices.Contains([]Mode{ModeOnce, ModeDaily, ModeEntries}, in.Mode) {
		f["mode"] = "应为 once、daily 或 entries"
	}
	for _, b := range in.Target.Badges {
		if !b.Valid() {
			f["target.badges"] = "应为 publicity、information 或 frontline"
		}
	}
	if len(in.Target.UserIDs) > 1000 {
		f["target.user_ids"] = "一次最多指定 1000 人"
	}
	for _, id := range in.Target.UserIDs {
		if id <= 0 {
			f["target.user_ids"] = "应为正整数"
		}
	}
	if in.DueTime != "" {
		if _, err := time.Parse("15:04", in.DueTime); err != nil || in.Mode != ModeDaily {
			f["due_at"] = "每日填报的截止时间应为 HH:MM；其他表单应为 RFC 3339 时间"
		}
	}
	if in.DueAt != nil && (in.Mode == ModeDaily || !in.DueAt.After(s.now())) {
		f["due_at"] = "截止时间应晚于现在（每日填报用 HH:MM）"
	}
	if in.RemindBeforeMinutes < 0 || in.RemindBeforeMinutes > 7*24*60 {
		f["remind_before_minutes"] = "应在 0 到 10080 分钟之间"
	} else if in.RemindBeforeMinutes > 0 && in.DueAt == nil && in.DueTime == "" {
		f["remind_before_minutes"] = "设置提醒需要截止时间"
	}
	if len(in.RequestID) > 64 {
		f["request_id"] = "不能超过 64 个字符"
	}
	checkFields(in.Fields, f)
	if len(f) > 0 {
		return apperr.Invalid("参数错误", f)
	}
	return nil
}

// Create records a form for the org and opens it. The same request_id from
// the same secretary returns the form made the first time.
func (s *Service) Create(ctx context.Context, userID, orgID int64, in Input) (_ Form, err error) {
	defer apperr.Annotate(&err, "form.Create")
	db := s.DB().WithContext(ctx)
	if in.RequestID != "" {
		var first Form
		err := db.Take(&first, "created_by = ? AND request_id = ?", userID, in.RequestID).Error
		if err == nil && first.OrgID == orgID {
			return first, nil
		}
		if err == nil {
			return Form{}, apperr.Invalid("参数错误", map[string]string{"request_id": "该请求编号已用于另一个组织的表单"})
		}
	}
	if err := s.validate(in); err != nil {
		return Form{}, err
	}
	o, err := s.orgs.RequireManager(ctx, userID, orgID)
	if err != nil {
		return Form{}, err
	}
	if o.Ended(s.now()) {
		return Form{}, org.ErrOrgEnded
	}
	target := task.Target{Badges: []org.Badge{}, UserIDs: []int64{}, IncludeSuborgs: in.Target.IncludeSuborgs}
	for _, b := range in.Target.Badges {
		if !slices.Contains(target.Badges, b) {
			target.Badges = append(target.Badges, b)
		}
	}
	for _, id := range in.Target.UserIDs {
		if !slices.Contains(target.UserIDs, id) {
			target.UserIDs = append(target.UserIDs, id)
		}
	}
	tj, err := json.Marshal(target)
	if err != nil {
		return Form{}, err
	}
	for i := range in.Fields {
		in.Fields[i].Label = strings.TrimSpace(in.Fields[i].Label)
	}
	fj, err := json.Marshal(in.Fields)
	if err != nil {
		return Form{}, err
	}
	texts := []string{"title", in.Title, "description", in.Description}
	for i, f := range in.Fields {
		texts = append(texts, fmt.Sprintf("fields[%d].label", i), f.Label)
	}
	checks, err := contentsec.Fields(ctx, contentsec.Or(s.opts.Content), userID, contentsec.KindForm, texts...)
	if err != nil {
		return Form{}, err
	}
	now := s.now()
	fm := Form{OrgID: orgID, CreatedBy: userID, Title: strings.TrimSpace(in.Title), Description: strings.TrimSpace(in.Description),
		Mode: in.Mode, Target: string(tj), IncludeSuborgs: target.IncludeSuborgs, DueTime: in.DueTime,
		RemindBeforeMinutes: in.RemindBeforeMinutes, Fields: string(fj), Status: StatusOpen, CreatedAt: now, UpdatedAt: now}
	if in.DueAt != nil {
		d := in.DueAt.UTC().Truncate(time.Millisecond)
		fm.DueAt = &d
	}
	if in.RequestID != "" {
		fm.RequestID = &in.RequestID
	}
	err = database.Transact(ctx, s.DB(), func(tx *gorm.DB) error {
		fm.ID = 0 // a retried transaction inserts afresh
		if err := tx.Create(&fm).Error; err != nil {
			return err
		}
		return contentsec.Record(tx, fm.ID, checks...)
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) && fm.RequestID != nil {
		var first Form
		return first, db.Take(&first, "created_by = ? AND request_id = ?", userID, in.RequestID).Error
	}
	if err != nil {
		return Form{}, err
	}
	if s.opts.Publisher != nil {
		// The form is committed: queue the fan-out even if the client hangs up now.
		if err := s.opts.Publisher.Publish(context.WithoutCancel(ctx), fm.ID); err != nil {
			s.Log().WarnContext(ctx, "could not queue the notification of a new form's audience", "form_id", fm.ID, "err", err)
		}
	}
	return fm, nil
}

// get loads a form.
func (s *Service) get(ctx context.Context, id int64) (Form, error) {
	var f Form
	err := s.DB().WithContext(ctx).Take(&f, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Form{}, ErrNotFound
	}
	if err != nil {
		return Form{}, fmt.Errorf("form.get(%d): %w", id, err)
	}
	return f, nil
}

// manage loads a form whose org the user manages; anyone else gets
// ErrNotFound.
func (s *Service) manage(ctx context.Context, userID, id int64) (Form, error) {
	f, err := s.get(ctx, id)
	if err != nil {
		return Form{}, err
	}
	return org.Managed(ctx, s.orgs, userID, f.OrgID, f, ErrNotFound)
}

// List returns a page of an org's forms, newest first, before the form id
// before (0: from the newest).
func (s *Service) List(ctx context.Context, userID, orgID, before int64, limit int) (paging.Page[Form], error) {
	if _, err := s.orgs.RequireManager(ctx, userID, orgID); err != nil {
		return paging.Page[Form]{}, err
	}
	q := s.DB().WithContext(ctx).Where("org_id = ?", orgID)
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	var rows []Form
	if err := q.Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return paging.Page[Form]{}, fmt.Errorf("form.List: %w", err)
	}
	return paging.Trim(rows, limit, func(f Form) int64 { return f.ID }), nil
}

// Detail is a form as its reader sees it: Manager for its secretaries
// (those of a branch below its org too, who see their branch's part of it),
// Mine the caller's own latest entry when they are in its audience.
type Detail struct {
	Form    Form
	Manager bool
	Mine    *Entry
}

// Get returns a form to a secretary who oversees some of it (see viewOf)
// or a member of its audience.
func (s *Service) Get(ctx context.Context, userID, id int64) (Detail, error) {
	f, err := s.get(ctx, id)
	if err != nil {
		return Detail{}, err
	}
	v, err := s.viewOf(ctx, userID, f)
	if err != nil {
		return Detail{}, err
	}
	manages := len(v.Roots) > 0
	d := Detail{Form: f, Manager: manages}
	if _, ok, err := s.membership(ctx, userID, f); err != nil {
		return Detail{}, err
	} else if ok {
		mine, err := s.latest(ctx, f, userID)
		if err != nil {
			return Detail{}, err
		}
		if mine != nil {
			if err := s.show(ctx, userID, f, mine, true); err != nil {
				return Detail{}, err
			}
		}
		d.Mine = mine
	} else if !manages {
		return Detail{}, ErrNotFound
	}
	return d, nil
}

// Close closes a form: it takes no more entries.
func (s *Service) Close(ctx context.Context, userID, id int64) (Form, error) {
	f, err := s.manage(ctx, userID, id)
	if err != nil {
		return Form{}, err
	}
	now := s.now()
	if err := s.DB().WithContext(ctx).Model(&Form{}).Where("id = ? AND status = ?", id, StatusOpen).
		Updates(map[string]any{"status": StatusClosed, "closed_at": now, "updated_at": now}).Error; err != nil {
		return Form{}, fmt.Errorf("form.Close(%d): %w", id, err)
	}
	if f.Status == StatusOpen {
		f.Status, f.ClosedAt, f.UpdatedAt = StatusClosed, &now, now
	}
	return f, nil
}

// Day returns the calendar day of t in the configured zone.
func (s *Service) Day(t time.Time) string { return t.In(s.opts.Location).Format(time.DateOnly) }

// Due returns when the entry of day is due for f, or nil when f has no due time.
func (s *Service) Due(f Form, day string) *time.Time {
	if f.DueAt != nil {
		return f.DueAt
	}
	if f.DueTime == "" {
		return nil
	}
	t, err := time.ParseInLocation(time.DateOnly+" 15:04", day+" "+f.DueTime, s.opts.Location)
	if err != nil {
		return nil
	}
	t = t.UTC()
	return &t
}

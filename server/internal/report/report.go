// Package report carries what members see upward at once (第一时间向上级报告):
// a report goes to the secretaries of the reporter's org and, if nobody
// acknowledges it within its SLA, climbs one level at a time to the root, so
// an unanswered report (漏报、瞒报) always shows somewhere.
package report

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/audit"
	"xianfeng/server/internal/contentsec"
	"xianfeng/server/internal/database"
	"xianfeng/server/internal/media"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/service"
	"xianfeng/server/internal/text"
)

// Categories of report.
var Categories = map[string]string{
	"epidemic_clue": "疫情线索", "help_needed": "群众求助", "supplies": "物资短缺", "rumor": "谣言", "other": "其他",
	CategoryScreeningAlert: "排查预警",
}

// CategoryScreeningAlert is the category of the reports the server files
// itself for a screening form entry that trips an alert rule; nobody files
// one by hand.
const CategoryScreeningAlert = "screening_alert"

// Urgencies of report.
const (
	Urgent = "urgent"
	Normal = "normal"
)

// Statuses of a report.
const (
	StatusOpen         = "open"
	StatusAcknowledged = "acknowledged"
	StatusResolved     = "resolved"
)

// Event kinds of a report's timeline.
const (
	EventCreated      = "created"
	EventNotified     = "notified"
	EventEscalated    = "escalated"
	EventAcknowledged = "acknowledged"
	EventResolved     = "resolved"
	// EventNote is a note added by the server, e.g. that the form entry
	// behind a screening alert was corrected.
	EventNote = "note"
)

// Report is one report upward.
type Report struct {
	ID              int64
	OrgID           int64
	ReporterID      int64
	RequestID       string
	Category        string
	Urgency         string
	Content         string
	Lat             *float64
	Lng             *float64
	Address         string
	Status          string
	CurrentOrgID    int64
	EscalationLevel int
	NextEscalateAt  *time.Time
	AckedBy         *int64
	AckedAt         *time.Time
	ResolvedBy      *int64
	ResolvedAt      *time.Time
	ResolveNote     string
	// ContentRisky flags a report whose content WeChat found risky: an
	// urgent one stays shown to its secretaries, flagged; any other, found
	// risky after it was stored, is hidden (ContentHidden) from all but its
	// reporter.
	ContentRisky  bool
	ContentHidden bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// TableName is the reports table.
func (Report) TableName() string { return "reports" }

// Event is one line of a report's timeline.
type Event struct {
	ID        int64
	ReportID  int64
	Kind      string
	OrgID     int64
	ActorID   int64
	Level     int
	Note      string
	CreatedAt time.Time
}

// TableName is the report_events table.
func (Event) TableName() string { return "report_events" }

// Orgs is what reports need from the org tree: its scope rules and the
// secretaries to tell.
type Orgs = org.Secretariat

// Members finds a reporter's membership.
type Members = org.Badger

// Scheduler queues escalation steps.
type Scheduler interface {
	// ScheduleEscalation runs the step from level to level+1 at the given time.
	ScheduleEscalation(ctx context.Context, reportID int64, level int, at time.Time) error
	// CancelEscalation removes the pending step from level, if any.
	CancelEscalation(ctx context.Context, reportID int64, level int) error
}

// Media attaches uploaded photos in the service's transaction and shows
// them in its answers (media.Service).
type Media = media.Photos

// Options configure the service.
type Options struct {
	service.Deps
	SLAUrgent, SLANormal time.Duration
	// Notifier, Scheduler and Media are required.
	Notifier  notify.Notifier
	Scheduler Scheduler
	Media     Media
	// Content checks the content (contentsec); nil checks nothing.
	Content contentsec.Checker
}

// Service holds the rules of reports.
type Service struct {
	service.Base
	orgs    Orgs
	members Members
	sched   Scheduler
	opts    Options
}

// NewService returns the report service.
func NewService(db *gorm.DB, orgs Orgs, members Members, opts Options) *Service {
	if opts.Notifier == nil || opts.Scheduler == nil || opts.Media == nil {
		panic("report.NewService: Options.Notifier, Scheduler and Media are required")
	}
	opts.Content = contentsec.Or(opts.Content)
	return &Service{Base: service.New("report.NewService", db, opts.Deps), orgs: orgs, members: members, sched: opts.Scheduler, opts: opts}
}

// Errors of the service.
var (
	ErrNotFound   = apperr.New(apperr.KindNotFound, "report_not_found", "上报不存在或无权查看")
	ErrTransition = apperr.New(apperr.KindConflict, "invalid_transition", "该上报当前状态不允许此操作")
	ErrAtRoot     = apperr.New(apperr.KindRule, "already_at_root", "已上报至最高一级组织")
	ErrNotMember  = apperr.New(apperr.KindNotFound, "not_member", "您还不是该组织已通过审核的党员，无法上报")
)

func (s *Service) sla(urgency string) time.Duration {
	if urgency == Urgent {
		return s.opts.SLAUrgent
	}
	return s.opts.SLANormal
}

// Input is a new report.
type Input struct {
	OrgID     int64
	Category  string
	Urgency   string
	Content   string
	Lat, Lng  *float64
	Address   string
	RequestID string
	// MediaIDs are photos the reporter uploaded (media.MaxPerOwner at most).
	MediaIDs []int64
}

// Create files a report with the secretaries of the reporter's org and
// starts its escalation clock. The same request_id returns the first report.
func (s *Service) Create(ctx context.Context, userID int64, in Input) (_ Report, _ bool, err error) {
	defer apperr.Annotate(&err, "report.Create")
	f := map[string]string{}
	if Categories[in.Category] == "" || in.Category == CategoryScreeningAlert {
		f["category"] = "应为 epidemic_clue、help_needed、supplies、rumor 或 other"
	}
	if in.Urgency != Urgent && in.Urgency != Normal {
		f["urgency"] = "应为 urgent 或 normal"
	}
	if msg := text.Problem(in.Content, 1, 5000); msg != "" {
		f["content"] = msg
	}
	if (in.Lat == nil) != (in.Lng == nil) || (in.Lat != nil && (*in.Lat < -90 || *in.Lat > 90 || *in.Lng < -180 || *in.Lng > 180)) {
		f["lat"] = "经纬度无效"
	}
	if utf8.RuneCountInString(in.Address) > 200 {
		f["address"] = "不能超过 200 字"
	}
	if in.RequestID == "" || len(in.RequestID) > 64 {
		f["request_id"] = "需要 1 到 64 个字符的请求编号"
	}
	if len(f) > 0 {
		return Report{}, false, apperr.Invalid("参数错误", f)
	}
	if err := media.CheckIDs(in.MediaIDs); err != nil {
		return Report{}, false, err
	}
	db := s.DB().WithContext(ctx)
	var prior Report
	if err := db.Where("reporter_id = ? AND request_id = ?", userID, in.RequestID).Take(&prior).Error; err == nil {
		return prior, false, nil
	}
	m, err := s.members.Badge(ctx, userID, in.OrgID)
	if errors.Is(err, org.ErrMembershipAbsent) {
		return Report{}, false, ErrNotMember
	}
	if err != nil {
		return Report{}, false, err
	}
	kind := contentsec.KindReport
	if in.Urgency == Urgent {
		kind = contentsec.KindUrgentReport // never refused: flagged for the secretary
	}
	check, err := s.opts.Content.Check(ctx, userID, kind, "content", in.Content)
	if err != nil {
		return Report{}, false, err
	}
	return s.file(ctx, Report{OrgID: m.OrgID, ReporterID: userID, RequestID: in.RequestID, Category: in.Category, Urgency: in.Urgency,
		Content: strings.TrimSpace(in.Content), Lat: in.Lat, Lng: in.Lng, Address: strings.TrimSpace(in.Address)}, in.MediaIDs, check)
}

// Alert files an urgent screening_alert report for a member, in the org of
// their membership orgID, with the secretaries of that org, and returns its
// id: the form package calls it for an entry that trips an alert rule, key
// naming the entry, so that the entry files one report however often it is
// called. Such reports pass no rate limit and their pushes never wait
// behind a member's earlier reports.
func (s *Service) Alert(ctx context.Context, reporterID, orgID int64, key, content string) (_ int64, err error) {
	defer apperr.Annotate(&err, "report.Alert(%s)", key)
	var prior Report
	if err := s.DB().WithContext(ctx).Where("reporter_id = ? AND request_id = ?", reporterID, key).Take(&prior).Error; err == nil {
		return prior.ID, nil
	}
	r, _, err := s.file(ctx, Report{OrgID: orgID, ReporterID: reporterID, RequestID: key, Category: CategoryScreeningAlert,
		Urgency: Urgent, Content: content}, nil, nil)
	return r.ID, err
}

// Note adds a note by the reporter to the timeline of a report filed by
// Alert; the report itself stays as it is.
func (s *Service) Note(ctx context.Context, reportID, actorID int64, note string) error {
	r, err := s.load(ctx, reportID)
	if err != nil {
		return err
	}
	return s.DB().WithContext(ctx).Create(&Event{ReportID: r.ID, Kind: EventNote, OrgID: r.CurrentOrgID, ActorID: actorID,
		Level: r.EscalationLevel, Note: note, CreatedAt: s.Now()}).Error
}

// file records a new report r, its first event and its photos (mediaIDs),
// tells the secretaries of its org and starts its escalation clock;
// created is false when the reporter's request_id had been used, and the
// first report is returned.
func (s *Service) file(ctx context.Context, r Report, mediaIDs []int64, check *contentsec.Pending) (_ Report, created bool, err error) {
	now := s.Now()
	next := now.Add(s.sla(r.Urgency))
	r.Status, r.CurrentOrgID, r.NextEscalateAt = StatusOpen, r.OrgID, &next
	err = database.Transact(ctx, s.DB(), func(tx *gorm.DB) error {
		r.ID = 0 // a retried transaction inserts afresh
		if err := tx.Create(&r).Error; err != nil {
			return err
		}
		if err := s.opts.Media.Attach(tx, r.ReporterID, mediaIDs, media.OwnerReport, r.ID); err != nil {
			return err
		}
		if err := contentsec.Record(tx, r.ID, check); err != nil {
			return err
		}
		return tx.Create(&Event{ReportID: r.ID, Kind: EventCreated, OrgID: r.OrgID, ActorID: r.ReporterID, CreatedAt: now}).Error
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		var prior Report
		if err := s.DB().WithContext(ctx).Where("reporter_id = ? AND request_id = ?", r.ReporterID, r.RequestID).Take(&prior).Error; err != nil {
			return Report{}, false, err
		}
		return prior, false, nil
	}
	if err != nil {
		return Report{}, false, err
	}
	ctx = context.WithoutCancel(ctx)
	if err := s.tell(ctx, r, r.OrgID, 0, notify.KindReportReceived); err != nil {
		s.Log().WarnContext(ctx, "could not notify the secretaries of a report", "report_id", r.ID, "err", err)
	}
	if err := s.sched.ScheduleEscalation(ctx, r.ID, 0, next); err != nil {
		s.Log().WarnContext(ctx, "could not schedule a report's escalation; the sweeper will", "report_id", r.ID, "err", err)
	}
	return r, true, nil
}

// tell notifies the secretaries of orgID about the report and records it
// on the timeline.
func (s *Service) tell(ctx context.Context, r Report, orgID int64, level int, kind string) error {
	secs, err := s.orgs.Secretaries(ctx, orgID)
	if err != nil {
		return err
	}
	o, err := s.orgs.Get(ctx, orgID)
	if err != nil {
		return err
	}
	if len(secs) > 0 {
		title := "【" + Categories[r.Category] + "】"
		if r.Urgency == Urgent {
			title = "【紧急】" + title
		}
		if kind == notify.KindReportEscalated {
			title = "【逐级上报】" + title
		}
		content := []rune(r.Content)
		// The pushes of one reporter's reports to a secretary coalesce (the
		// pusher holds back those that follow one that went out recently);
		// escalations are never held back.
		group := ""
		if kind == notify.KindReportReceived && r.Category != CategoryScreeningAlert {
			group = "report:" + strconv.FormatInt(r.ReporterID, 10)
		}
		ns := make([]notify.Notification, len(secs))
		for i, u := range secs {
			ns[i] = notify.Notification{UserID: u, Kind: kind, Title: title + string(content[:min(len(content), 30)]),
				Body: string(content[:min(len(content), 200)]), RefType: "report", RefID: r.ID,
				DedupeKey: "report:" + strconv.FormatInt(r.ID, 10) + ":" + strconv.Itoa(level), PushGroup: group,
				Data: map[string]string{"org": o.Name}}
		}
		if err := s.opts.Notifier.Notify(ctx, ns); err != nil {
			return err
		}
	}
	return s.DB().WithContext(ctx).Create(&Event{ReportID: r.ID, Kind: EventNotified, OrgID: orgID, Level: level,
		Note: strconv.Itoa(len(secs)) + " 位书记", CreatedAt: s.Now()}).Error
}

func (s *Service) load(ctx context.Context, id int64) (_ Report, err error) {
	defer apperr.Annotate(&err, "report.load(%d)", id)
	return database.Take[Report](s.DB().WithContext(ctx), id, ErrNotFound)
}

// inScope loads a report a secretary may act on: one filed in an org they manage.
func (s *Service) inScope(ctx context.Context, userID, id int64) (Report, error) {
	r, err := s.load(ctx, id)
	if err != nil {
		return Report{}, err
	}
	if contentsec.Hidden(r.ContentHidden, r.ReporterID, userID) {
		return Report{}, ErrNotFound
	}
	return org.Managed(ctx, s.orgs, userID, r.OrgID, r, ErrNotFound)
}

// Escalate moves an open report from level to level+1 (the parent of its
// current org): the job at the end of each SLA, or a secretary by hand
// (actorID set). A report acknowledged or moved on since is left alone, so
// an acknowledgement racing an escalation leaves one consistent timeline.
func (s *Service) Escalate(ctx context.Context, id int64, level int, actorID int64, note string) (_ Report, err error) {
	defer apperr.Annotate(&err, "report.Escalate(%d)", id)
	r, err := s.load(ctx, id)
	if err != nil {
		return Report{}, err
	}
	if r.Status != StatusOpen || r.EscalationLevel != level {
		if actorID == 0 {
			return r, nil // stale job
		}
		return Report{}, ErrTransition
	}
	cur, err := s.orgs.Get(ctx, r.CurrentOrgID)
	if err != nil {
		return Report{}, err
	}
	if cur.ParentID == nil {
		if actorID != 0 {
			return Report{}, ErrAtRoot
		}
		// At the root nobody is above: stop the clock, the report stays open there.
		return r, s.DB().WithContext(ctx).Model(&Report{}).Where("id = ? AND escalation_level = ?", r.ID, level).Update("next_escalate_at", nil).Error
	}
	now := s.Now()
	next := now.Add(s.sla(r.Urgency))
	moved := false
	err = database.Transact(ctx, s.DB(), func(tx *gorm.DB) error {
		moved = false
		res := tx.Model(&Report{}).Where("id = ? AND status = ? AND escalation_level = ?", r.ID, StatusOpen, level).
			Updates(map[string]any{"current_org_id": *cur.ParentID, "escalation_level": level + 1, "next_escalate_at": next, "updated_at": now})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		moved = true
		if err := tx.Create(&Event{ReportID: r.ID, Kind: EventEscalated, OrgID: *cur.ParentID, ActorID: actorID, Level: level + 1, Note: note, CreatedAt: now}).Error; err != nil {
			return err
		}
		if actorID != 0 {
			return audit.Write(tx, r.CurrentOrgID, actorID, "report.escalate", &r.ReporterID, map[string]any{"report_id": r.ID, "to_org_id": *cur.ParentID})
		}
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	if !moved {
		if actorID == 0 {
			return s.load(ctx, id)
		}
		return Report{}, ErrTransition
	}
	r, err = s.load(ctx, id)
	if err != nil {
		return Report{}, err
	}
	ctx = context.WithoutCancel(ctx)
	if err := s.tell(ctx, r, r.CurrentOrgID, r.EscalationLevel, notify.KindReportEscalated); err != nil {
		s.Log().WarnContext(ctx, "could not notify the secretaries of an escalated report", "report_id", r.ID, "err", err)
	}
	if actorID != 0 {
		_ = s.sched.CancelEscalation(ctx, r.ID, level)
	}
	if err := s.sched.ScheduleEscalation(ctx, r.ID, r.EscalationLevel, next); err != nil {
		s.Log().WarnContext(ctx, "could not schedule a report's next escalation; the sweeper will", "report_id", r.ID, "err", err)
	}
	return r, nil
}

// EscalateByHand is a secretary sending a report one level up with a note.
func (s *Service) EscalateByHand(ctx context.Context, userID, id int64, note string) (Report, error) {
	note, err := text.Note("note", note, 1000)
	if err != nil {
		return Report{}, err
	}
	r, err := s.inScope(ctx, userID, id)
	if err != nil {
		return Report{}, err
	}
	return s.Escalate(ctx, r.ID, r.EscalationLevel, userID, note)
}

// Ack acknowledges an open report: its escalation stops.
func (s *Service) Ack(ctx context.Context, userID, id int64) (_ Report, err error) {
	defer apperr.Annotate(&err, "report.Ack(%d)", id)
	r, err := s.inScope(ctx, userID, id)
	if err != nil {
		return Report{}, err
	}
	if r.Status != StatusOpen {
		return Report{}, ErrTransition
	}
	now := s.Now()
	cur, err := s.settle(ctx, userID, id, step{where: "status = ?", arg: StatusOpen, kind: EventAcknowledged, action: "report.ack",
		updates: map[string]any{"status": StatusAcknowledged, "acked_by": userID, "acked_at": now, "next_escalate_at": nil, "updated_at": now}}, now)
	if err != nil {
		return Report{}, err
	}
	_ = s.sched.CancelEscalation(context.WithoutCancel(ctx), id, cur.EscalationLevel)
	return s.load(ctx, id)
}

// step is a secretary's closing step on a report: the updates it makes
// while where (with arg) still holds, and the event and audit action that
// record it.
type step struct {
	where      string
	arg        any
	updates    map[string]any
	kind, note string
	action     string
}

// settle makes the step and returns the report as it then is. It updates
// first, then reads the level reached, so that an escalation that commits
// meanwhile is waited for and the step recorded at the new level, not
// refused as a conflict; a report no longer in the state where expects is
// ErrTransition.
func (s *Service) settle(ctx context.Context, userID, id int64, st step, now time.Time) (Report, error) {
	var cur Report
	err := database.Transact(ctx, s.DB(), func(tx *gorm.DB) error {
		res := tx.Model(&Report{}).Where("id = ? AND "+st.where, id, st.arg).Updates(st.updates)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrTransition
		}
		if err := tx.Take(&cur, "id = ?", id).Error; err != nil {
			return err
		}
		ev := Event{ReportID: id, Kind: st.kind, OrgID: cur.CurrentOrgID, ActorID: userID, Level: cur.EscalationLevel, Note: st.note, CreatedAt: now}
		if err := tx.Create(&ev).Error; err != nil {
			return err
		}
		return audit.Write(tx, cur.CurrentOrgID, userID, st.action, &cur.ReporterID, map[string]any{"report_id": id})
	})
	return cur, err
}

// Resolve closes a report with a note.
func (s *Service) Resolve(ctx context.Context, userID, id int64, note string) (_ Report, err error) {
	defer apperr.Annotate(&err, "report.Resolve(%d)", id)
	if note, err = text.Note("note", note, 1000); err != nil {
		return Report{}, err
	}
	r, err := s.inScope(ctx, userID, id)
	if err != nil {
		return Report{}, err
	}
	if r.Status == StatusResolved {
		return Report{}, ErrTransition
	}
	now := s.Now()
	cur, err := s.settle(ctx, userID, id, step{where: "status <> ?", arg: StatusResolved, kind: EventResolved, note: note, action: "report.resolve",
		updates: map[string]any{"status": StatusResolved, "resolved_by": userID, "resolved_at": now, "resolve_note": note, "next_escalate_at": nil, "updated_at": now,
			"acked_by": gorm.Expr("COALESCE(acked_by, ?)", userID), "acked_at": gorm.Expr("COALESCE(acked_at, ?)", now)}}, now)
	if err != nil {
		return Report{}, err
	}
	if r.Status == StatusOpen {
		_ = s.sched.CancelEscalation(context.WithoutCancel(ctx), id, cur.EscalationLevel)
	}
	return s.load(ctx, id)
}

// CanSee reports whether userID may see report id: its reporter, or a
// secretary of an org above where it was filed (media.Viewer of reports).
func (s *Service) CanSee(ctx context.Context, userID, id int64) (bool, error) {
	r, err := s.load(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil || r.ReporterID == userID {
		return err == nil, err
	}
	return s.orgs.Manages(ctx, userID, r.OrgID)
}

// Timeline returns a report with its events, to its reporter or a secretary in scope.
func (s *Service) Timeline(ctx context.Context, userID, id int64) (_ Report, _ []Event, err error) {
	defer apperr.Annotate(&err, "report.Timeline(%d)", id)
	r, err := s.load(ctx, id)
	if err != nil {
		return Report{}, nil, err
	}
	if r.ReporterID != userID {
		if r, err = s.inScope(ctx, userID, id); err != nil {
			return Report{}, nil, err
		}
	}
	var evs []Event
	if err := s.DB().WithContext(ctx).Where("report_id = ?", id).Order("id").Find(&evs).Error; err != nil {
		return Report{}, nil, err
	}
	return r, evs, nil
}

// List returns a page of the reports filed in an org's subtree, newest
// first, before the report id before (0: from the newest), for its
// secretaries; escalated ones show where they now wait.
func (s *Service) List(ctx context.Context, userID, orgID int64, status, urgency string, before int64, limit int) (paging.Page[Report], error) {
	rows, err := s.list(ctx, userID, orgID, status, urgency, before, limit+1)
	return paging.Trim(rows, limit, reportID), err
}

func reportID(r Report) int64 { return r.ID }

// list returns up to limit reports for List.
func (s *Service) list(ctx context.Context, userID, orgID int64, status, urgency string, before int64, limit int) (_ []Report, err error) {
	defer apperr.Annotate(&err, "report.List(%d)", orgID)
	if _, err := s.orgs.RequireManager(ctx, userID, orgID); err != nil {
		return nil, err
	}
	q := s.DB().WithContext(ctx).Scopes(org.InSubtree("org_id", orgID), contentsec.Shown("reporter_id", userID))
	if status != "" {
		q = q.Where("status = ?", status)
	}
	if urgency != "" {
		q = q.Where("urgency = ?", urgency)
	}
	return database.Newest[Report](q, before, limit)
}

// Mine returns a page of the reporter's own reports, newest first, before
// the report id before (0: from the newest).
func (s *Service) Mine(ctx context.Context, userID, before int64, limit int) (_ paging.Page[Report], err error) {
	defer apperr.Annotate(&err, "report.Mine(%d)", userID)
	q := s.DB().WithContext(ctx).Where("reporter_id = ?", userID)
	out, err := database.Newest[Report](q, before, limit+1)
	if err != nil {
		return paging.Page[Report]{}, err
	}
	return paging.Trim(out, limit, reportID), nil
}

// Sweep escalates open reports whose SLA passed but whose job never ran.
func (s *Service) Sweep(ctx context.Context) (err error) {
	defer apperr.Annotate(&err, "report.Sweep")
	var due []Report
	if err := s.DB().WithContext(ctx).Where("status = ? AND next_escalate_at IS NOT NULL AND next_escalate_at < ?", StatusOpen, s.Now().Add(-30*time.Second)).
		Order("next_escalate_at").Limit(200).Find(&due).Error; err != nil {
		return err
	}
	for _, r := range due {
		if _, err := s.Escalate(ctx, r.ID, r.EscalationLevel, 0, ""); err != nil {
			return err
		}
	}
	return nil
}

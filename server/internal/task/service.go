package task

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/contentsec"
	"xianfeng/server/internal/database"
	"xianfeng/server/internal/media"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/service"
	"xianfeng/server/internal/text"
)

// Orgs is what tasks need from the org tree: its scope rules.
type Orgs interface {
	org.Scope
	// LiveMember reports whether the user has standing in the org at now.
	LiveMember(ctx context.Context, orgID, userID int64, now time.Time) (bool, error)
}

var _ Orgs = (*org.Service)(nil)

// Scheduler puts a task's background work on the queue.
type Scheduler interface {
	// Dispatch enqueues the fan-out of a task.
	Dispatch(ctx context.Context, taskID int64) error
	// ScheduleDue enqueues the reminder and overdue jobs for the task's due time.
	ScheduleDue(ctx context.Context, t Task) error
	// Unschedule removes the reminder and overdue jobs for the task's due time.
	Unschedule(ctx context.Context, t Task) error
}

// Media attaches uploaded photos in the service's transaction and shows
// them in its answers (media.Service).
type Media = media.Photos

// Options configure the service.
type Options struct {
	service.Deps
	// Location is the zone of the due times written in notifications; it
	// is required.
	Location *time.Location
	Notifier notify.Notifier
	// Scheduler puts the fan-out and due-time jobs on the queue; it is required.
	Scheduler Scheduler
	// BatchSize is how many assignments the fan-out writes per statement.
	BatchSize int
	// Deliveries, when set, reports how the task's notifications were delivered.
	Deliveries interface {
		BatchStats(ctx context.Context, refType string, refID int64, kind string) (notify.Stats, error)
	}
	// OfflineWindow is how old a check-in's client_time may be (the daily
	// check-in's window); 24 hours when zero.
	OfflineWindow time.Duration
	// Media attaches photos to check-ins and completions; it is required.
	Media Media
	// Content checks title and description (contentsec); nil checks nothing.
	Content contentsec.Checker
	// AfterBatch, when set, runs after each fan-out batch is committed
	// (tests use it to stop a fan-out half-way, as a crash would).
	AfterBatch func(taskID int64, batch int) error
}

// Service holds the rules of tasks and assignments.
type Service struct {
	db   *gorm.DB
	orgs Orgs
	opts Options
	now  func() time.Time
}

// NewService returns the task service.
func NewService(db *gorm.DB, orgs Orgs, opts Options) *Service {
	if opts.Location == nil || opts.Notifier == nil || opts.Scheduler == nil || opts.Media == nil {
		panic("task.NewService: Options.Location, Notifier, Scheduler and Media are required")
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if opts.OfflineWindow <= 0 {
		opts.OfflineWindow = 24 * time.Hour
	}
	// db and now stay fields of their own: the hot paths read them.
	opts.Content = contentsec.Or(opts.Content)
	base := service.New("task.NewService", db, opts.Deps)
	return &Service{db: base.DB(), orgs: orgs, opts: opts, now: base.Now}
}

// Errors of the service.
var (
	ErrTaskNotFound = apperr.New(apperr.KindNotFound, "task_not_found", "任务不存在或无权查看")
	ErrCancelled    = apperr.New(apperr.KindConflict, "task_cancelled", "任务已取消")
	ErrTransition   = apperr.New(apperr.KindConflict, "invalid_transition", "当前状态不允许此操作")
	ErrNotAssigned  = apperr.New(apperr.KindNotFound, "task_not_found", "任务不存在或未分配给您")
	ErrCheckinFirst = apperr.New(apperr.KindConflict, "checkin_required", "请先到岗打卡再完成任务")
	ErrNotStarted   = apperr.New(apperr.KindConflict, "task_not_started", "任务尚未开始")
)

// Target says who a task is for: members with one of Badges, or the listed
// users; neither means every approved member. IncludeSuborgs widens the
// scope from the org to everything below it.
type Target struct {
	Badges         []org.Badge `json:"badges"`
	UserIDs        []int64     `json:"user_ids"`
	IncludeSuborgs bool        `json:"include_suborgs"`
}

// Input is a new task.
type Input struct {
	RequestID           string
	Title               string
	Description         string
	Kind                Kind
	Target              Target
	Location            *Location
	StartsAt            *time.Time
	DueAt               *time.Time
	RemindBeforeMinutes int
}

// maxTargetUsers bounds a task's list of named assignees.
const maxTargetUsers = 1000

func (s *Service) validate(in Input) error {
	f := map[string]string{}
	if msg := text.Problem(in.Title, 1, 100); msg != "" {
		f["title"] = msg
	}
	if msg := text.Problem(in.Description, 0, 2000); msg != "" {
		f["description"] = msg
	}
	if in.Kind.Label() == "" {
		f["kind"] = "应为 duty、screening、publicity、report 或 other"
	}
	for _, b := range in.Target.Badges {
		if !b.Valid() {
			f["target.badges"] = "应为 publicity、information 或 frontline"
		}
	}
	if len(in.Target.UserIDs) > maxTargetUsers {
		f["target.user_ids"] = "一次最多指定 1000 人"
	}
	for _, id := range in.Target.UserIDs {
		if id <= 0 {
			f["target.user_ids"] = "应为正整数"
		}
	}
	if l := in.Location; l != nil {
		if field, msg := l.Problem(); msg != "" {
			f["location"+field] = msg
		}
	}
	now := s.now()
	if in.DueAt != nil && !in.DueAt.After(now) {
		f["due_at"] = "截止时间应晚于现在"
	}
	if in.DueAt != nil && in.StartsAt != nil && !in.DueAt.After(*in.StartsAt) {
		f["due_at"] = "截止时间应晚于开始时间"
	}
	if in.RemindBeforeMinutes < 0 || in.RemindBeforeMinutes > 7*24*60 {
		f["remind_before_minutes"] = "应在 0 到 10080 分钟之间"
	} else if in.RemindBeforeMinutes > 0 && in.DueAt == nil {
		f["remind_before_minutes"] = "设置提醒需要截止时间"
	}
	if len(in.RequestID) > 64 {
		f["request_id"] = "不能超过 64 个字符"
	}
	if len(f) > 0 {
		return apperr.Invalid("参数错误", f)
	}
	return nil
}

// manageTask loads a task whose org the user manages; anyone else gets
// ErrTaskNotFound.
func (s *Service) manageTask(ctx context.Context, userID, taskID int64) (Task, error) {
	t, err := s.getFor(ctx, userID, taskID)
	if err != nil {
		return Task{}, err
	}
	if _, err := s.orgs.RequireManager(ctx, userID, t.OrgID); err != nil {
		if errors.Is(err, org.ErrOrgNotFound) {
			return Task{}, ErrTaskNotFound
		}
		return Task{}, err
	}
	return t, nil
}

// Create records a task and hands its fan-out to the queue; it answers at
// once with the task "dispatching". The same request_id from the same
// secretary returns the task made the first time.
func (s *Service) Create(ctx context.Context, userID, orgID int64, in Input) (Task, bool, error) {
	if in.RequestID != "" {
		var first Task
		err := s.db.WithContext(ctx).Take(&first, "created_by = ? AND request_id = ?", userID, in.RequestID).Error
		if err == nil && first.OrgID == orgID {
			return first, false, nil // a retry: the first answer again
		}
		if err == nil {
			return Task{}, false, apperr.Invalid("参数错误", map[string]string{"request_id": "该请求编号已用于另一个组织的任务"})
		}
	}
	if err := s.validate(in); err != nil {
		return Task{}, false, err
	}
	o, err := s.orgs.RequireManager(ctx, userID, orgID)
	if err != nil {
		return Task{}, false, err
	}
	if o.Ended(s.now()) {
		return Task{}, false, org.ErrOrgEnded
	}
	checks, err := contentsec.Fields(ctx, s.opts.Content, userID, contentsec.KindTask, "title", in.Title, "description", in.Description)
	if err != nil {
		return Task{}, false, err
	}
	badges := make([]string, 0, len(in.Target.Badges))
	for _, b := range in.Target.Badges {
		if !slices.Contains(badges, string(b)) {
			badges = append(badges, string(b))
		}
	}
	ids := make([]string, 0, len(in.Target.UserIDs))
	for _, id := range in.Target.UserIDs {
		ids = append(ids, strconv.FormatInt(id, 10))
	}
	t := Task{
		OrgID: orgID, CreatedBy: userID, Title: strings.TrimSpace(in.Title), Description: strings.TrimSpace(in.Description),
		Kind: in.Kind, TargetBadges: strings.Join(badges, ","), TargetUserIDs: strings.Join(ids, ","),
		IncludeSuborgs: in.Target.IncludeSuborgs, StartsAt: toMillis(in.StartsAt), DueAt: toMillis(in.DueAt),
		RemindBeforeMinutes: in.RemindBeforeMinutes, Status: StatusDispatching,
	}
	t.CreatedAt = s.now().Truncate(time.Millisecond) // as stored, so a replay answers the same
	t.UpdatedAt = t.CreatedAt
	if in.RequestID != "" {
		rid := in.RequestID
		t.RequestID = &rid
	}
	if l := in.Location; l != nil {
		t.LocLat, t.LocLng, t.LocRadiusM, t.LocAddress = &l.Lat, &l.Lng, &l.RadiusM, strings.TrimSpace(l.Address)
	}
	err = database.Transact(ctx, s.db, func(tx *gorm.DB) error {
		t.ID = 0 // a retried transaction inserts afresh
		if err := tx.Create(&t).Error; err != nil {
			return err
		}
		return contentsec.Record(tx, t.ID, checks...)
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) && t.RequestID != nil {
		var first Task
		if err := s.db.WithContext(ctx).Take(&first, "created_by = ? AND request_id = ?", userID, *t.RequestID).Error; err != nil {
			return Task{}, false, fmt.Errorf("task.Create: replay: %w", err)
		}
		return first, false, nil
	}
	if err != nil {
		return Task{}, false, fmt.Errorf("task.Create: %w", err)
	}
	s.schedule(ctx, t)
	return t, true, nil
}

// schedule enqueues the fan-out and the due-time jobs. A failure here loses
// nothing: the sweeper finds tasks still dispatching or past their times.
func (s *Service) schedule(ctx context.Context, t Task) {
	// The task is committed: enqueue even if the client hangs up now.
	ctx = context.WithoutCancel(ctx)
	if t.Status == StatusDispatching {
		if err := s.opts.Scheduler.Dispatch(ctx, t.ID); err != nil {
			s.opts.Log.WarnContext(ctx, "could not enqueue a task's fan-out; the sweeper will", "task_id", t.ID, "err", err)
		}
	}
	if t.DueAt != nil {
		if err := s.opts.Scheduler.ScheduleDue(ctx, t); err != nil {
			s.opts.Log.WarnContext(ctx, "could not schedule a task's reminder and overdue jobs; the sweeper will", "task_id", t.ID, "err", err)
		}
	}
}

// Get returns a task the user manages or is assigned to.
func (s *Service) get(ctx context.Context, taskID int64) (_ Task, err error) {
	defer apperr.Annotate(&err, "task.get(%d)", taskID)
	return database.Take[Task](s.db.WithContext(ctx), taskID, ErrTaskNotFound)
}

// getFor loads a task for userID to see or act on: a task whose text a
// later content check found risky (hidden) is not found for anyone but its
// author, as hidden reports are, before any scope rule.
func (s *Service) getFor(ctx context.Context, userID, taskID int64) (Task, error) {
	t, err := s.get(ctx, taskID)
	if err == nil && contentsec.Hidden(t.ContentHidden, t.CreatedBy, userID) {
		return Task{}, ErrTaskNotFound
	}
	return t, err
}

// List returns a page of an org's tasks, newest first, before the task id
// before (0: from the newest).
func (s *Service) List(ctx context.Context, userID, orgID int64, status Status, before int64, limit int) (paging.Page[Task], error) {
	rows, err := s.list(ctx, userID, orgID, status, before, limit+1)
	return paging.Trim(rows, limit, func(t Task) int64 { return t.ID }), err
}

// list returns up to limit of an org's tasks for List.
func (s *Service) list(ctx context.Context, userID, orgID int64, status Status, before int64, limit int) ([]Task, error) {
	if _, err := s.orgs.RequireManager(ctx, userID, orgID); err != nil {
		return nil, err
	}
	q := s.db.WithContext(ctx).Where("org_id = ?", orgID).Scopes(contentsec.Shown("created_by", userID))
	if status != "" {
		q = q.Where("status = ?", status)
	}
	out, err := database.Newest[Task](q, before, limit)
	if err != nil {
		return nil, fmt.Errorf("task.List: %w", err)
	}
	return out, nil
}

// Progress counts a task's assignments by status.
type Progress struct {
	Assigned  int64 `json:"assigned"`
	Accepted  int64 `json:"accepted"`
	Declined  int64 `json:"declined"`
	CheckedIn int64 `json:"checked_in"`
	Completed int64 `json:"completed"`
	Cancelled int64 `json:"cancelled"`
	Removed   int64 `json:"removed"`
	// Overdue counts the overdue assignments that were not removed.
	Overdue int64 `json:"overdue"`
	Total   int64 `json:"total"`
}

// Assignee is a row of a task's assignee list for its secretaries.
type Assignee struct {
	Assignment
	Name  string
	Badge org.Badge
}

// Detail is a task as GET /tasks/{id} shows it: secretaries get progress
// and assignees; an assignee gets the task and their own assignment (a
// secretary who is assigned gets both).
type Detail struct {
	Task      Task
	Manager   bool
	Progress  *Progress
	Delivery  *notify.Stats
	Assignees paging.Page[Assignee]
	Mine      *Assignment
}

// Detail returns the task for a secretary above its org or one of its
// assignees; a secretary gets a page of at most limit assignees after the
// assignment id after.
func (s *Service) Detail(ctx context.Context, userID, taskID int64, status AStatus, after int64, limit int) (Detail, error) {
	t, err := s.getFor(ctx, userID, taskID)
	if err != nil {
		return Detail{}, err
	}
	d := Detail{Task: t}
	manages, err := s.orgs.Manages(ctx, userID, t.OrgID)
	if err != nil {
		return Detail{}, err
	}
	db := s.db.WithContext(ctx)
	// A secretary may be assigned too, and needs their own part as well.
	var a Assignment
	err = db.Take(&a, "task_id = ? AND user_id = ?", taskID, userID).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return Detail{}, fmt.Errorf("task.Detail: %w", err)
	}
	if err == nil {
		ok, err := s.standing(ctx, a)
		if err != nil {
			return Detail{}, err
		}
		if ok {
			d.Mine = &a
		}
	}
	if d.Mine == nil && !manages {
		return Detail{}, ErrTaskNotFound
	}
	if !manages {
		return d, nil
	}
	d.Manager = true
	var rows []struct {
		Status  AStatus
		Overdue bool
		N       int64
	}
	if err := db.Model(&Assignment{}).Select("status, overdue, COUNT(*) AS n").Where("task_id = ?", taskID).
		Group("status, overdue").Scan(&rows).Error; err != nil {
		return Detail{}, fmt.Errorf("task.Detail: progress: %w", err)
	}
	p := &Progress{}
	count := map[AStatus]*int64{AAssigned: &p.Assigned, AAccepted: &p.Accepted, ADeclined: &p.Declined,
		ACheckedIn: &p.CheckedIn, ACompleted: &p.Completed, ACancelled: &p.Cancelled, ARemoved: &p.Removed}
	for _, r := range rows {
		p.Total += r.N
		if r.Overdue && r.Status != ARemoved {
			p.Overdue += r.N
		}
		if c := count[r.Status]; c != nil {
			*c += r.N
		}
	}
	d.Progress = p
	if s.opts.Deliveries != nil {
		st, err := s.opts.Deliveries.BatchStats(ctx, "task", taskID, notify.KindTaskAssigned)
		if err != nil {
			return Detail{}, err
		}
		d.Delivery = &st
	}
	q := db.Table("assignments AS a").Select("a.*, "+org.MemberName+" AS name, m.badge AS badge").
		Joins(org.JoinMembershipSQL("a.org_id", "a.user_id")).
		Where("a.task_id = ? AND a.id > ?", taskID, after)
	if status != "" {
		q = q.Where("a.status = ?", status)
	}
	var assignees []Assignee
	if err := q.Order("a.id").Limit(limit + 1).Find(&assignees).Error; err != nil {
		return Detail{}, fmt.Errorf("task.Detail: assignees: %w", err)
	}
	d.Assignees = paging.Trim(assignees, limit, func(a Assignee) int64 { return a.ID })
	return d, nil
}

// Cancel cancels a task: its open assignments are cancelled, its assignees
// told, and its scheduled jobs removed. The task and its assignments change
// in one transaction, so no failure leaves a cancelled task with open
// assignments; cancelling again cancels whatever is still open (an
// assignment a fan-out wrote late) and tells only those members.
func (s *Service) Cancel(ctx context.Context, userID, taskID int64) (_ Task, err error) {
	defer apperr.Annotate(&err, "task.Cancel(%d)", taskID)
	t, err := s.manageTask(ctx, userID, taskID)
	if err != nil {
		return Task{}, err
	}
	if err := s.cancel(ctx, t); err != nil {
		return Task{}, err
	}
	if t.DueAt != nil && t.Status != StatusCancelled {
		if err := s.opts.Scheduler.Unschedule(ctx, t); err != nil {
			s.opts.Log.WarnContext(ctx, "could not remove a cancelled task's jobs; they will find it cancelled", "task_id", t.ID, "err", err)
		}
	}
	return s.get(ctx, taskID)
}

// cancel marks the task cancelled (if it is not yet) and cancels its open
// assignments in one transaction, then tells their members. It is
// idempotent: run again, it finds nothing open and tells nobody, and the
// notifications' dedupe key would stop a second one anyway.
func (s *Service) cancel(ctx context.Context, t Task) error {
	now := s.now()
	var users []int64
	err := database.Transact(ctx, s.db, func(tx *gorm.DB) error {
		users = nil // a retried transaction starts afresh
		if err := tx.Model(&Task{}).Where("id = ? AND status <> ?", t.ID, StatusCancelled).
			Updates(map[string]any{"status": StatusCancelled, "cancelled_at": now}).Error; err != nil {
			return err
		}
		if err := tx.Model(&Assignment{}).Where("task_id = ? AND status IN ?", t.ID, activeStatuses).Pluck("user_id", &users).Error; err != nil {
			return err
		}
		if len(users) == 0 {
			return nil
		}
		return tx.Model(&Assignment{}).Where("task_id = ? AND status IN ?", t.ID, activeStatuses).
			Updates(map[string]any{"status": ACancelled, "updated_at": now}).Error
	})
	if err != nil {
		return err
	}
	// After the commit, so that a retried transaction does not tell anyone twice.
	err = s.notify(context.WithoutCancel(ctx), t, users, notify.KindTaskCancelled, "任务已取消："+t.Title,
		"该任务已由书记取消，无需继续执行。", "task_cancelled:"+strconv.FormatInt(t.ID, 10))
	if err != nil {
		s.opts.Log.WarnContext(ctx, "could not tell the members of a cancelled task", "task_id", t.ID, "members", len(users), "err", err)
	}
	return nil
}

// Reschedule changes a task's due time and reminder; the jobs move with it.
func (s *Service) Reschedule(ctx context.Context, userID, taskID int64, dueAt *time.Time, remind *int) (Task, error) {
	dueAt = toMillis(dueAt)
	t, err := s.manageTask(ctx, userID, taskID)
	if err != nil {
		return Task{}, err
	}
	if t.Status == StatusCancelled {
		return Task{}, ErrCancelled
	}
	in := Input{Title: t.Title, Description: t.Description, Kind: t.Kind, StartsAt: t.StartsAt, DueAt: dueAt, RemindBeforeMinutes: t.RemindBeforeMinutes}
	if remind != nil {
		in.RemindBeforeMinutes = *remind
	}
	if err := s.validate(in); err != nil {
		return Task{}, err
	}
	if t.DueAt != nil {
		if err := s.opts.Scheduler.Unschedule(ctx, t); err != nil {
			// The old jobs carry the old due time and do nothing when they run.
			s.opts.Log.WarnContext(ctx, "could not remove a task's old jobs", "task_id", t.ID, "err", err)
		}
	}
	err = database.Transact(ctx, s.db, func(tx *gorm.DB) error {
		if err := tx.Model(&Task{}).Where("id = ?", t.ID).Updates(map[string]any{
			"due_at": dueAt, "remind_before_minutes": in.RemindBeforeMinutes, "reminded_at": nil, "overdue_at": nil, "updated_at": s.now(),
		}).Error; err != nil {
			return err
		}
		return tx.Model(&Assignment{}).Where("task_id = ? AND overdue = ?", t.ID, true).Update("overdue", false).Error
	})
	if err != nil {
		return Task{}, fmt.Errorf("task.Reschedule: %w", err)
	}
	t, err = s.get(ctx, taskID)
	if err != nil {
		return Task{}, err
	}
	if t.DueAt != nil {
		if err := s.opts.Scheduler.ScheduleDue(ctx, t); err != nil {
			s.opts.Log.WarnContext(ctx, "could not schedule a task's new jobs; the sweeper will", "task_id", t.ID, "err", err)
		}
	}
	return t, nil
}

// notify sends one notification about a task to each user.
func (s *Service) notify(ctx context.Context, t Task, users []int64, kind, title, body, dedupe string) error {
	// A hidden task's title is told to nobody who may not see the task.
	users = slices.DeleteFunc(slices.Clone(users), func(u int64) bool { return contentsec.Hidden(t.ContentHidden, t.CreatedBy, u) })
	if len(users) == 0 {
		return nil
	}
	base := s.notification(ctx, t, kind, title, body, dedupe)
	ns := make([]notify.Notification, len(users))
	for i, u := range users {
		ns[i] = base
		ns[i].UserID = u
	}
	return s.opts.Notifier.Notify(ctx, ns)
}

// notification is a notification about a task, for no user yet.
func (s *Service) notification(ctx context.Context, t Task, kind, title, body, dedupe string) notify.Notification {
	data := map[string]string{}
	if o, err := s.orgs.Get(ctx, t.OrgID); err == nil {
		data["org"] = o.Name
	}
	if t.DueAt != nil {
		data["due"] = t.DueAt.In(s.opts.Location).Format("2006-01-02 15:04")
	}
	return notify.Notification{Kind: kind, Title: title, Body: body, RefType: "task", RefID: t.ID, DedupeKey: dedupe, Data: data}
}

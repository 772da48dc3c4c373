package task

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/checkin"
	"xianfeng/server/internal/contentsec"
	"xianfeng/server/internal/database"
	"xianfeng/server/internal/media"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/text"
)

// mine loads the user's assignment in a task with the task.
func (s *Service) mine(ctx context.Context, userID, taskID int64) (Task, Assignment, error) {
	t, err := s.getFor(ctx, userID, taskID)
	if errors.Is(err, ErrTaskNotFound) {
		return Task{}, Assignment{}, ErrNotAssigned
	}
	if err != nil {
		return Task{}, Assignment{}, err
	}
	var a Assignment
	err = s.db.WithContext(ctx).Take(&a, "task_id = ? AND user_id = ?", taskID, userID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Task{}, Assignment{}, ErrNotAssigned
	}
	if err != nil {
		return Task{}, Assignment{}, fmt.Errorf("task.mine: %w", err)
	}
	ok, err := s.standing(ctx, a)
	if err != nil {
		return Task{}, Assignment{}, err
	}
	if !ok {
		return Task{}, Assignment{}, ErrNotAssigned
	}
	if t.Status == StatusCancelled || a.Status == ACancelled {
		return t, a, ErrCancelled
	}
	return t, a, nil
}

// standing reports whether an assignment is still its member's: not
// removed, and their membership of its org live (org.Live). From the
// request after a membership ends, its tasks are not found.
func (s *Service) standing(ctx context.Context, a Assignment) (bool, error) {
	if a.Status == ARemoved {
		return false, nil
	}
	return s.orgs.LiveMember(ctx, a.OrgID, a.UserID, s.now())
}

// move changes an assignment's status if it is still in one of from; a
// concurrent change makes it ErrTransition.
func (s *Service) move(ctx context.Context, a Assignment, from []AStatus, updates map[string]any) (Assignment, error) {
	return s.moveWith(ctx, a, from, updates, "", nil)
}

// moveWith is move that also attaches the member's photos mediaIDs to the
// step (kind media.OwnerTaskCheckin or OwnerTaskComplete), in the same
// transaction: the step and its photos are recorded together or not at all.
func (s *Service) moveWith(ctx context.Context, a Assignment, from []AStatus, updates map[string]any, kind string, mediaIDs []int64) (Assignment, error) {
	updates["updated_at"] = s.now()
	step := func(tx *gorm.DB) error {
		res := tx.Model(&Assignment{}).Where("id = ? AND status IN ?", a.ID, from).Updates(updates)
		if res.Error != nil {
			return fmt.Errorf("task: update assignment %d: %w", a.ID, res.Error)
		}
		if res.RowsAffected != 1 {
			return ErrTransition
		}
		return s.opts.Media.Attach(tx, a.UserID, mediaIDs, kind, a.ID)
	}
	var err error
	if len(mediaIDs) == 0 {
		err = step(s.db.WithContext(ctx))
	} else {
		err = database.Transact(ctx, s.db, step)
	}
	if err != nil {
		return Assignment{}, err
	}
	var out Assignment
	if err := s.db.WithContext(ctx).Take(&out, "id = ?", a.ID).Error; err != nil {
		return Assignment{}, fmt.Errorf("task: reload assignment %d: %w", a.ID, err)
	}
	return out, nil
}

func transitionError(a Assignment, action string) error {
	return apperr.New(apperr.KindConflict, "invalid_transition",
		fmt.Sprintf("任务当前状态为「%s」，不能%s", statusLabel(a.Status), action))
}

func statusLabel(st AStatus) string {
	return map[AStatus]string{AAssigned: "待接受", AAccepted: "已接受", ADeclined: "已拒绝", ACheckedIn: "已到岗",
		ACompleted: "已完成", ACancelled: "已取消", ARemoved: "已移除"}[st]
}

// Accept takes on an assigned task.
func (s *Service) Accept(ctx context.Context, userID, taskID int64) (Task, Assignment, error) {
	t, a, err := s.mine(ctx, userID, taskID)
	if err != nil {
		return Task{}, Assignment{}, err
	}
	if a.Status != AAssigned {
		return Task{}, Assignment{}, transitionError(a, "接受")
	}
	a, err = s.move(ctx, a, []AStatus{AAssigned}, map[string]any{"status": AAccepted, "accepted_at": s.now()})
	return t, a, err
}

// Decline turns down a task not yet done, with an optional reason.
func (s *Service) Decline(ctx context.Context, userID, taskID int64, reason string) (Task, Assignment, error) {
	reason, err := text.Note("reason", reason, 200)
	if err != nil {
		return Task{}, Assignment{}, err
	}
	t, a, err := s.mine(ctx, userID, taskID)
	if err != nil {
		return Task{}, Assignment{}, err
	}
	if a.Status != AAssigned && a.Status != AAccepted {
		return Task{}, Assignment{}, transitionError(a, "拒绝")
	}
	a, err = s.move(ctx, a, []AStatus{AAssigned, AAccepted}, map[string]any{"status": ADeclined, "reason": reason})
	return t, a, err
}

// CheckinInput is a check-in at a task's post.
type CheckinInput struct {
	Lat, Lng  *float64
	AccuracyM *float64
	RequestID string
	// ClientTime is when the phone checked in, for a check-in queued offline
	// and sent later: within Options.OfflineWindow it is the check-in's time,
	// so one made before the due time counts as on time however late it arrives.
	ClientTime *time.Time
	// MediaIDs are photos of the post the member uploaded (media.MaxPerOwner at most).
	MediaIDs []int64
}

// ErrClientTime refuses a client_time outside the offline window, as the
// daily check-in does.
var ErrClientTime = apperr.New(apperr.KindRule, "client_time_out_of_window", "离线打卡时间超出允许范围")

func checkRequestID(id string) error {
	if id == "" || len(id) > 64 {
		return apperr.Invalid("参数错误", map[string]string{"request_id": "需要 1 到 64 个字符的请求编号"})
	}
	return nil
}

// Checkin records that the member is at the task's post. A task with a
// location accepts only a position within its radius, widened by the
// phone's reported accuracy up to 100 m. The same request_id again
// returns the first answer.
func (s *Service) Checkin(ctx context.Context, userID, taskID int64, in CheckinInput) (Task, Assignment, error) {
	if err := checkRequestID(in.RequestID); err != nil {
		return Task{}, Assignment{}, err
	}
	f := map[string]string{}
	checkin.CheckPosition(f, in.Lat, in.Lng, in.AccuracyM)
	if len(f) > 0 {
		return Task{}, Assignment{}, apperr.Invalid("参数错误", f)
	}
	if err := media.CheckIDs(in.MediaIDs); err != nil {
		return Task{}, Assignment{}, err
	}
	at, err := checkin.ClientAt(s.now(), in.ClientTime, s.opts.OfflineWindow, checkin.ClientSkew)
	if err != nil {
		return Task{}, Assignment{}, err
	}
	t, a, err := s.mine(ctx, userID, taskID)
	if err != nil {
		return Task{}, Assignment{}, err
	}
	if a.CheckinRequestID != nil && *a.CheckinRequestID == in.RequestID {
		return t, asCheckedIn(a), nil // a retry of a check-in that went through
	}
	if in.ClientTime != nil && at.Add(time.Second).Before(a.CreatedAt) {
		// An offline check-in timed before the task reached the member is
		// not one: the window of a task check-in opens with its assignment
		// (a second's leeway for a store that keeps whole seconds).
		e := *ErrClientTime
		e.Message = "离线打卡时间早于任务下达时间"
		return Task{}, Assignment{}, &e
	}
	if a.Status != AAssigned && a.Status != AAccepted {
		return Task{}, Assignment{}, transitionError(a, "到岗打卡")
	}
	if t.StartsAt != nil && at.Before(*t.StartsAt) {
		return Task{}, Assignment{}, ErrNotStarted
	}
	updates := map[string]any{"status": ACheckedIn, "checked_in_at": at, "checkin_request_id": in.RequestID}
	if in.Lat != nil {
		updates["checkin_lat"], updates["checkin_lng"] = *in.Lat, *in.Lng
	}
	if in.AccuracyM != nil {
		updates["checkin_accuracy_m"] = *in.AccuracyM
	}
	if loc := t.Location(); loc != nil {
		if in.Lat == nil {
			return Task{}, Assignment{}, apperr.Invalid("该任务需要定位打卡", map[string]string{"lat": "需要位置信息"})
		}
		d := distanceM(loc.Lat, loc.Lng, *in.Lat, *in.Lng)
		slack := 0.0
		if in.AccuracyM != nil {
			slack = math.Min(*in.AccuracyM, accuracyCap)
		}
		if d > float64(loc.RadiusM)+slack {
			e := apperr.New(apperr.KindRule, "outside_area", fmt.Sprintf("您不在任务区域内：距离任务地点约 %.0f 米，需在 %d 米以内", d, loc.RadiusM))
			e.Fields = map[string]string{"distance_m": strconv.FormatFloat(math.Round(d), 'f', 0, 64), "radius_m": strconv.Itoa(loc.RadiusM)}
			return Task{}, Assignment{}, e
		}
		updates["checkin_distance_m"] = math.Round(d*10) / 10
	}
	if a.Status == AAssigned {
		updates["accepted_at"] = at
	}
	a, err = s.moveWith(ctx, a, []AStatus{AAssigned, AAccepted}, updates, media.OwnerTaskCheckin, in.MediaIDs)
	if errors.Is(err, ErrTransition) {
		// A concurrent retry may have won: answer it the same way.
		if _, cur, err2 := s.mine(ctx, userID, taskID); err2 == nil && cur.CheckinRequestID != nil && *cur.CheckinRequestID == in.RequestID {
			return t, asCheckedIn(cur), nil
		}
	}
	return t, a, err
}

// asCheckedIn shows an assignment as its check-in left it, so that a retried
// check-in gets the first answer even after the member completed the task.
func asCheckedIn(a Assignment) Assignment {
	if a.Status == ACompleted {
		a.Status, a.CompletedAt, a.Note, a.CompleteRequestID = ACheckedIn, nil, "", nil
	}
	return a
}

// Complete finishes the task with an optional note and photos. A task with
// a location needs a check-in first; an overdue task can still be
// completed.
func (s *Service) Complete(ctx context.Context, userID, taskID int64, note, requestID string, mediaIDs []int64) (Task, Assignment, error) {
	if err := checkRequestID(requestID); err != nil {
		return Task{}, Assignment{}, err
	}
	if err := media.CheckIDs(mediaIDs); err != nil {
		return Task{}, Assignment{}, err
	}
	note, err := text.Note("note", note, 1000)
	if err != nil {
		return Task{}, Assignment{}, err
	}
	t, a, err := s.mine(ctx, userID, taskID)
	if err != nil {
		return Task{}, Assignment{}, err
	}
	if a.CompleteRequestID != nil && *a.CompleteRequestID == requestID {
		return t, a, nil
	}
	from := []AStatus{ACheckedIn}
	if t.Location() == nil {
		from = []AStatus{AAssigned, AAccepted, ACheckedIn}
	}
	if t.StartsAt != nil && s.now().Before(*t.StartsAt) {
		return Task{}, Assignment{}, ErrNotStarted
	}
	switch {
	case a.Status == AAssigned || a.Status == AAccepted:
		if t.Location() != nil {
			return Task{}, Assignment{}, ErrCheckinFirst
		}
	case a.Status != ACheckedIn:
		return Task{}, Assignment{}, transitionError(a, "完成")
	}
	a, err = s.moveWith(ctx, a, from, map[string]any{"status": ACompleted, "completed_at": s.now(), "note": note, "complete_request_id": requestID},
		media.OwnerTaskComplete, mediaIDs)
	if errors.Is(err, ErrTransition) {
		if _, cur, err2 := s.mine(ctx, userID, taskID); err2 == nil && cur.CompleteRequestID != nil && *cur.CompleteRequestID == requestID {
			return t, cur, nil
		}
	}
	return t, a, err
}

// CanSeeAssignment reports whether userID may see assignment id and what
// was attached to it: its member, or a secretary who manages its task
// (media.Viewer of check-ins and completions).
func (s *Service) CanSeeAssignment(ctx context.Context, userID, id int64) (bool, error) {
	var a Assignment
	err := s.db.WithContext(ctx).Take(&a, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, nil
	}
	if err != nil || a.UserID == userID {
		return err == nil, err
	}
	t, err := s.get(ctx, a.TaskID)
	if errors.Is(err, ErrTaskNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return s.orgs.Manages(ctx, userID, t.OrgID)
}

// MyTask is an assignment with its task, for the member's list.
type MyTask struct {
	Assignment Assignment
	Task       Task
}

// Mine returns a page of the user's assignments, newest first, before the
// assignment id before (0: from the newest), optionally by status: those
// they still have standing on (see standing).
func (s *Service) Mine(ctx context.Context, userID int64, status AStatus, before int64, limit int) (paging.Page[MyTask], error) {
	rows, err := s.myTasks(ctx, userID, status, before, limit+1)
	return paging.Trim(rows, limit, func(t MyTask) int64 { return t.Assignment.ID }), err
}

// myTasks returns up to limit of the user's assignments for Mine.
func (s *Service) myTasks(ctx context.Context, userID int64, status AStatus, before int64, limit int) ([]MyTask, error) {
	db := s.db.WithContext(ctx)
	q := db.Where("user_id = ? AND status <> ?", userID, ARemoved).
		Where("EXISTS (?)", org.LiveMembershipOf(db, "assignments.org_id", "assignments.user_id", s.now())).
		Where("EXISTS (?)", db.Session(&gorm.Session{NewDB: true}).Table("tasks").Select("1").
			Where("tasks.id = assignments.task_id").Scopes(contentsec.Shown("tasks.created_by", userID)))
	if status != "" {
		q = q.Where("status = ?", status)
	}
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	var as []Assignment
	if err := q.Order("id DESC").Limit(limit).Find(&as).Error; err != nil {
		return nil, fmt.Errorf("task.Mine: %w", err)
	}
	if len(as) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(as))
	for i, a := range as {
		ids[i] = a.TaskID
	}
	var ts []Task
	if err := s.db.WithContext(ctx).Where("id IN ?", ids).Find(&ts).Error; err != nil {
		return nil, fmt.Errorf("task.Mine: tasks: %w", err)
	}
	byID := make(map[int64]Task, len(ts))
	for _, t := range ts {
		byID[t.ID] = t
	}
	out := make([]MyTask, len(as))
	for i, a := range as {
		out[i] = MyTask{Assignment: a, Task: byID[a.TaskID]}
	}
	return out, nil
}

// FanOut creates one assignment per live member matching the task's target
// and notifies each, then opens the task: one INSERT … SELECT for the
// assignments and one for the notifications, whatever the number of
// members. It is safe to run again after a crash at any point: assignments
// and notifications are unique per task and user, so a rerun writes only
// what is missing. A member whose membership ended before the statements
// gets neither; one whose removal races them is closed by the removal or,
// failing that, by the sweep (Sweep), and is not notified once closed.
func (s *Service) FanOut(ctx context.Context, taskID int64) error {
	t, err := s.get(ctx, taskID)
	if errors.Is(err, ErrTaskNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if t.Status != StatusDispatching {
		return nil
	}
	db := s.db.WithContext(ctx)
	now := s.now()
	_, err = database.InsertSelect(db, "assignments", []string{"task_id", "user_id", "org_id", "status", "created_at", "updated_at"},
		"SELECT ?, x.user_id, x.org_id, ?, ?, ? FROM (?) AS x WHERE true ORDER BY x.id", t.ID, AAssigned, now, now, s.targets(db, t))
	if err != nil {
		return fmt.Errorf("task.FanOut(%d): insert: %w", t.ID, err)
	}
	if s.opts.AfterBatch != nil {
		if err := s.opts.AfterBatch(t.ID, 0); err != nil {
			return err
		}
	}
	if err := s.notifyAssigned(ctx, t); err != nil {
		return err
	}
	var n int64
	if err := db.Model(&Assignment{}).Where("task_id = ?", t.ID).Count(&n).Error; err != nil {
		return fmt.Errorf("task.FanOut(%d): count: %w", t.ID, err)
	}
	res := db.Model(&Task{}).Where("id = ? AND status = ?", t.ID, StatusDispatching).
		Updates(map[string]any{"status": StatusOpen, "assigned_count": n, "dispatched_at": s.now()})
	if res.Error != nil {
		return fmt.Errorf("task.FanOut(%d): open: %w", t.ID, res.Error)
	}
	if res.RowsAffected == 0 {
		// Cancelled while dispatching: cancel what this run assigned too.
		if cur, err := s.get(ctx, t.ID); err == nil && cur.Status == StatusCancelled {
			return s.cancel(ctx, cur)
		}
	}
	return nil
}

// notifyAssigned tells the members of the task's standing assignments (not
// closed, their membership live) that they have a new task, in one
// statement when the notifier writes sets (notify.SetNotifier).
func (s *Service) notifyAssigned(ctx context.Context, t Task) error {
	title := "新任务：" + t.Title
	body := t.Kind.Label() + "任务"
	if t.DueAt != nil {
		body += "，截止 " + t.DueAt.In(s.opts.Location).Format("01-02 15:04")
	}
	dedupe := "task_assigned:" + strconv.FormatInt(t.ID, 10)
	db := s.db.WithContext(ctx)
	users := db.Session(&gorm.Session{NewDB: true}).Table("assignments AS a").Select("a.user_id").
		Where("a.task_id = ? AND a.status NOT IN ?", t.ID, []AStatus{ARemoved, ACancelled}).
		Where("EXISTS (?)", org.LiveMembershipOf(db, "a.org_id", "a.user_id", s.now()))
	if each, ok := s.opts.Notifier.(notify.SetNotifier); ok {
		return each.NotifyEach(ctx, s.notification(ctx, t, notify.KindTaskAssigned, title, body, dedupe), users)
	}
	var ids []int64
	if err := users.Order("a.user_id").Pluck("a.user_id", &ids).Error; err != nil {
		return fmt.Errorf("task.FanOut(%d): members: %w", t.ID, err)
	}
	return s.notify(ctx, t, ids, notify.KindTaskAssigned, title, body, dedupe)
}

// targets selects the live membership rows (id, user_id, org_id) the task
// is for.
func (s *Service) targets(db *gorm.DB, t Task) *gorm.DB {
	q := db.Session(&gorm.Session{NewDB: true}).Scopes(org.LiveMemberships(s.now())).Select("m.id, m.user_id, m.org_id")
	if t.IncludeSuborgs {
		q = q.Scopes(org.InSubtree("m.org_id", t.OrgID))
	} else {
		q = q.Where("m.org_id = ?", t.OrgID)
	}
	badges, users := t.Badges(), t.UserIDs()
	switch {
	case len(badges) > 0 && len(users) > 0:
		q = q.Where("(m.badge IN ? OR m.user_id IN ?)", badges, users)
	case len(badges) > 0:
		q = q.Where("m.badge IN ?", badges)
	case len(users) > 0:
		q = q.Where("m.user_id IN ?", users)
	}
	return q
}

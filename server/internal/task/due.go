package task

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"xianfeng/server/internal/notify"
)

// toMillis cuts a time to the milliseconds every database keeps, so that a
// write answers the time as stored and a job carries exactly the stored due
// time (MySQL rounds extra digits: 12:00:00.9999996 would become 12:00:01).
func toMillis(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Millisecond)
	return &u
}

// stale reports whether a job scheduled for due time dueUnix no longer
// applies: the task was cancelled, is gone, or its due time moved.
func stale(t Task, dueUnix int64) bool {
	return t.Status == StatusCancelled || t.DueAt == nil || t.DueAt.Unix() != dueUnix
}

// Remind tells the assignees who are not done that the task is due soon. It
// notifies before it records the reminder, and notifications are unique per
// task, due time and user, so a retry after a crash neither loses nor
// repeats a reminder.
func (s *Service) Remind(ctx context.Context, taskID, dueUnix int64) error {
	t, err := s.get(ctx, taskID)
	if err != nil || stale(t, dueUnix) || t.RemindedAt != nil {
		return ignoreMissing(err)
	}
	if err := notDispatching(t); err != nil {
		return err
	}
	users, err := s.activeUsers(ctx, t.ID)
	if err != nil {
		return err
	}
	due := t.DueAt.In(s.opts.Location).Format("01-02 15:04")
	key := "task_reminder:" + strconv.FormatInt(t.ID, 10) + ":" + strconv.FormatInt(dueUnix, 10)
	if err := s.notify(ctx, t, users, notify.KindTaskReminder, "任务即将截止："+t.Title, "请在 "+due+" 前完成。", key); err != nil {
		return err
	}
	return s.db.WithContext(ctx).Model(&Task{}).Where("id = ? AND reminded_at IS NULL", t.ID).Update("reminded_at", s.now()).Error
}

// MarkOverdue flags the assignments not done at the due time and tells
// their members, once.
func (s *Service) MarkOverdue(ctx context.Context, taskID, dueUnix int64) error {
	t, err := s.get(ctx, taskID)
	if err != nil || stale(t, dueUnix) || t.OverdueAt != nil {
		return ignoreMissing(err)
	}
	if s.now().Add(2 * time.Second).Before(*t.DueAt) {
		return fmt.Errorf("task %d: overdue job ran before %s", t.ID, t.DueAt)
	}
	if err := notDispatching(t); err != nil {
		return err
	}
	users, err := s.activeUsers(ctx, t.ID)
	if err != nil {
		return err
	}
	key := "task_overdue:" + strconv.FormatInt(t.ID, 10) + ":" + strconv.FormatInt(dueUnix, 10)
	if err := s.notify(ctx, t, users, notify.KindTaskOverdue, "任务已逾期："+t.Title, "该任务已过截止时间，请尽快完成并上报。", key); err != nil {
		return err
	}
	db := s.db.WithContext(ctx)
	if err := db.Model(&Assignment{}).Where("task_id = ? AND status IN ? AND overdue = ?", t.ID, activeStatuses, false).
		Updates(map[string]any{"overdue": true, "updated_at": s.now()}).Error; err != nil {
		return fmt.Errorf("task.MarkOverdue(%d): %w", t.ID, err)
	}
	return db.Model(&Task{}).Where("id = ? AND overdue_at IS NULL", t.ID).Update("overdue_at", s.now()).Error
}

// notDispatching refuses to run a due-time job before the task's
// assignments exist: the job fails and is retried (or the sweeper runs it
// once the task is open) instead of being used up on nobody.
func notDispatching(t Task) error {
	if t.Status == StatusDispatching {
		return fmt.Errorf("task %d: due-time job ran before the fan-out finished", t.ID)
	}
	return nil
}

func (s *Service) activeUsers(ctx context.Context, taskID int64) ([]int64, error) {
	var users []int64
	err := s.db.WithContext(ctx).Model(&Assignment{}).Where("task_id = ? AND status IN ?", taskID, activeStatuses).Pluck("user_id", &users).Error
	if err != nil {
		return nil, fmt.Errorf("task %d: active assignees: %w", taskID, err)
	}
	return users, nil
}

func ignoreMissing(err error) error {
	if err == ErrTaskNotFound {
		return nil
	}
	return err
}

// Sweep is the safety net behind the queue: it re-dispatches tasks left
// dispatching (the enqueue failed, or the job was lost with Redis), closes
// assignments that a fan-out wrote just after their membership ended, and
// runs reminders and overdue marking whose jobs never ran.
func (s *Service) Sweep(ctx context.Context) error {
	db := s.db.WithContext(ctx)
	now := s.now()
	if err := s.redispatch(ctx, now.Add(-30*time.Second)); err != nil {
		return fmt.Errorf("task.Sweep: %w", err)
	}
	if err := s.closeRaced(ctx, now); err != nil {
		return fmt.Errorf("task.Sweep: %w", err)
	}
	var due []Task
	if err := db.Where("status = ? AND due_at IS NOT NULL AND due_at <= ? AND overdue_at IS NULL", StatusOpen, now).
		Limit(100).Find(&due).Error; err != nil {
		return fmt.Errorf("task.Sweep: %w", err)
	}
	for _, t := range due {
		if err := s.MarkOverdue(ctx, t.ID, t.DueAt.Unix()); err != nil {
			return err
		}
	}
	var soon []Task
	if err := db.Where("status = ? AND due_at IS NOT NULL AND due_at > ? AND remind_before_minutes > 0 AND reminded_at IS NULL", StatusOpen, now).
		Order("due_at").Limit(500).Find(&soon).Error; err != nil {
		return fmt.Errorf("task.Sweep: %w", err)
	}
	for _, t := range soon {
		if !now.Before(t.DueAt.Add(-time.Duration(t.RemindBeforeMinutes) * time.Minute)) {
			if err := s.Remind(ctx, t.ID, t.DueAt.Unix()); err != nil {
				return err
			}
		}
	}
	return nil
}

// ResumeFanOuts dispatches again the fan-out of every task still
// dispatching, whatever its age. Workers run it when they start: after a
// crash that took the queue's jobs with it (Redis restarted without
// persistence), the fan-outs go on at once instead of at the next sweep. A
// fan-out whose job is still queued is not queued twice.
func (s *Service) ResumeFanOuts(ctx context.Context) error {
	if err := s.redispatch(ctx, s.now()); err != nil {
		return fmt.Errorf("task.ResumeFanOuts: %w", err)
	}
	return nil
}

// redispatch enqueues the fan-out of the tasks still dispatching that were
// created before the given time.
func (s *Service) redispatch(ctx context.Context, before time.Time) error {
	var stuck []int64
	if err := s.db.WithContext(ctx).Model(&Task{}).Where("status = ? AND created_at < ?", StatusDispatching, before).
		Order("id").Limit(1000).Pluck("id", &stuck).Error; err != nil {
		return err
	}
	for _, id := range stuck {
		if err := s.opts.Scheduler.Dispatch(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

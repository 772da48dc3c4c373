package task

import (
	"context"
	"errors"
	"time"

	"github.com/hibiken/asynq"

	"xianfeng/server/internal/queue"
)

// Task types of this package.
const (
	TypeFanOut  = "task:fanout"
	TypeRemind  = "task:remind"
	TypeOverdue = "task:overdue"
	TypeSweep   = "task:sweep"
)

type payload struct {
	TaskID  int64 `json:"task_id"`
	DueUnix int64 `json:"due_unix,omitempty"`
}

func (p payload) Valid() bool { return p.TaskID > 0 }

// NewFanOutTask returns the job that creates a task's assignments.
func NewFanOutTask(taskID int64) *asynq.Task {
	return queue.NewTask(TypeFanOut, payload{TaskID: taskID}, asynq.MaxRetry(20), asynq.Timeout(10*time.Minute))
}

// NewRemindTask returns the job that reminds a task's assignees before dueUnix.
func NewRemindTask(taskID, dueUnix int64) *asynq.Task {
	return queue.NewTask(TypeRemind, payload{TaskID: taskID, DueUnix: dueUnix}, asynq.MaxRetry(10))
}

// NewOverdueTask returns the job that marks a task's assignments overdue at dueUnix.
func NewOverdueTask(taskID, dueUnix int64) *asynq.Task {
	return queue.NewTask(TypeOverdue, payload{TaskID: taskID, DueUnix: dueUnix}, asynq.MaxRetry(10))
}

// Jobs runs the task jobs on the queue and implements Scheduler.
type Jobs struct{ q *queue.Queue }

// NewJobs returns the task jobs on q.
func NewJobs(q *queue.Queue) *Jobs { return &Jobs{q: q} }

var _ Scheduler = (*Jobs)(nil)

func remindID(taskID, due int64) string  { return queue.ID("task-remind", taskID, due) }
func overdueID(taskID, due int64) string { return queue.ID("task-overdue", taskID, due) }

// Dispatch enqueues the fan-out once per task (the id is the task's).
func (j *Jobs) Dispatch(ctx context.Context, taskID int64) error {
	return j.q.EnqueueOnce(ctx, NewFanOutTask(taskID), queue.Critical, queue.ID("task-fanout", taskID))
}

// ScheduleDue enqueues the reminder and the overdue marking for the task's
// due time; their ids carry the due time, so each happens once per due time.
func (j *Jobs) ScheduleDue(ctx context.Context, t Task) error {
	if t.DueAt == nil {
		return nil
	}
	due := t.DueAt.Unix()
	var errs []error
	if t.RemindBeforeMinutes > 0 {
		at := t.DueAt.Add(-time.Duration(t.RemindBeforeMinutes) * time.Minute)
		errs = append(errs, j.q.EnqueueOnce(ctx, NewRemindTask(t.ID, due), queue.Default, remindID(t.ID, due), asynq.ProcessAt(at)))
	}
	errs = append(errs, j.q.EnqueueOnce(ctx, NewOverdueTask(t.ID, due), queue.Default, overdueID(t.ID, due), asynq.ProcessAt(*t.DueAt)))
	return errors.Join(errs...)
}

// Unschedule deletes the reminder and overdue jobs of the task's due time.
// Jobs already gone are fine.
func (j *Jobs) Unschedule(_ context.Context, t Task) error {
	if t.DueAt == nil {
		return nil
	}
	due := t.DueAt.Unix()
	return errors.Join(j.q.Delete(queue.Default, remindID(t.ID, due)), j.q.Delete(queue.Default, overdueID(t.ID, due)))
}

// Register adds the handlers and the periodic sweep to the queue.
func (j *Jobs) Register(svc *Service) {
	queue.HandleJSON(j.q, TypeFanOut, func(ctx context.Context, p payload) error { return svc.FanOut(ctx, p.TaskID) })
	queue.HandleJSON(j.q, TypeRemind, func(ctx context.Context, p payload) error { return svc.Remind(ctx, p.TaskID, p.DueUnix) })
	queue.HandleJSON(j.q, TypeOverdue, func(ctx context.Context, p payload) error { return svc.MarkOverdue(ctx, p.TaskID, p.DueUnix) })
	j.q.Sweep(TypeSweep, time.Minute, 0, svc.Sweep)
	j.q.AtStart(svc.ResumeFanOuts)
}

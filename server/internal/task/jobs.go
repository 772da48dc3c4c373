package task

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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

// NewFanOutTask returns the job that creates a task's assignments.
func NewFanOutTask(taskID int64) *asynq.Task {
	b, _ := json.Marshal(payload{TaskID: taskID})
	return asynq.NewTask(TypeFanOut, b, asynq.MaxRetry(20), asynq.Timeout(10*time.Minute))
}

// NewRemindTask returns the job that reminds a task's assignees before dueUnix.
func NewRemindTask(taskID, dueUnix int64) *asynq.Task {
	b, _ := json.Marshal(payload{TaskID: taskID, DueUnix: dueUnix})
	return asynq.NewTask(TypeRemind, b, asynq.MaxRetry(10))
}

// NewOverdueTask returns the job that marks a task's assignments overdue at dueUnix.
func NewOverdueTask(taskID, dueUnix int64) *asynq.Task {
	b, _ := json.Marshal(payload{TaskID: taskID, DueUnix: dueUnix})
	return asynq.NewTask(TypeOverdue, b, asynq.MaxRetry(10))
}

// Jobs runs the task jobs on the queue and implements Scheduler.
type Jobs struct{ q *queue.Queue }

// NewJobs returns the task jobs on q.
func NewJobs(q *queue.Queue) *Jobs { return &Jobs{q: q} }

var _ Scheduler = (*Jobs)(nil)

func fanOutID(taskID int64) string { return "task-fanout-" + strconv.FormatInt(taskID, 10) }
func remindID(taskID, due int64) string {
	return "task-remind-" + strconv.FormatInt(taskID, 10) + "-" + strconv.FormatInt(due, 10)
}
func overdueID(taskID, due int64) string {
	return "task-overdue-" + strconv.FormatInt(taskID, 10) + "-" + strconv.FormatInt(due, 10)
}

// Dispatch enqueues the fan-out once per task (the id is the task's).
func (j *Jobs) Dispatch(ctx context.Context, taskID int64) error {
	_, err := j.q.Enqueue(ctx, NewFanOutTask(taskID), queue.Critical, asynq.TaskID(fanOutID(taskID)))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
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
		_, err := j.q.Enqueue(ctx, NewRemindTask(t.ID, due), queue.Default, asynq.ProcessAt(at), asynq.TaskID(remindID(t.ID, due)))
		if !errors.Is(err, asynq.ErrTaskIDConflict) {
			errs = append(errs, err)
		}
	}
	_, err := j.q.Enqueue(ctx, NewOverdueTask(t.ID, due), queue.Default, asynq.ProcessAt(*t.DueAt), asynq.TaskID(overdueID(t.ID, due)))
	if !errors.Is(err, asynq.ErrTaskIDConflict) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Unschedule deletes the reminder and overdue jobs of the task's due time.
// Jobs already gone are fine.
func (j *Jobs) Unschedule(_ context.Context, t Task) error {
	if t.DueAt == nil {
		return nil
	}
	due := t.DueAt.Unix()
	var errs []error
	for _, id := range []string{remindID(t.ID, due), overdueID(t.ID, due)} {
		err := j.q.Inspector().DeleteTask(j.q.Name(queue.Default), id)
		if err != nil && !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Register adds the handlers and the periodic sweep to the queue.
func (j *Jobs) Register(svc *Service) {
	decode := func(t *asynq.Task) (payload, error) {
		var p payload
		if err := json.Unmarshal(t.Payload(), &p); err != nil || p.TaskID <= 0 {
			return p, fmt.Errorf("%s: bad payload: %w", t.Type(), asynq.SkipRetry)
		}
		return p, nil
	}
	j.q.Handle(TypeFanOut, asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		p, err := decode(t)
		if err != nil {
			return err
		}
		return svc.FanOut(ctx, p.TaskID)
	}))
	j.q.Handle(TypeRemind, asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		p, err := decode(t)
		if err != nil {
			return err
		}
		return svc.Remind(ctx, p.TaskID, p.DueUnix)
	}))
	j.q.Handle(TypeOverdue, asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		p, err := decode(t)
		if err != nil {
			return err
		}
		return svc.MarkOverdue(ctx, p.TaskID, p.DueUnix)
	}))
	j.q.Handle(TypeSweep, asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
		return svc.Sweep(ctx)
	}))
	j.q.Every(time.Minute, asynq.NewTask(TypeSweep, nil, asynq.MaxRetry(0)), queue.Low)
	j.q.AtStart(svc.ResumeFanOuts)
}

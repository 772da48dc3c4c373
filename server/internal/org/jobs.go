package org

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
	// TypeEnd dissolves one temporary org at its end date.
	TypeEnd = "org:end"
	// TypeSweepEnded dissolves every temporary org past its end date that
	// the exact-time job missed (it was never enqueued, or Redis lost it).
	TypeSweepEnded = "org:sweep-ended"
)

type endPayload struct {
	OrgID int64 `json:"org_id"`
}

// NewEndTask returns the task that ends a temporary org.
func NewEndTask(orgID int64) *asynq.Task {
	b, _ := json.Marshal(endPayload{OrgID: orgID})
	return asynq.NewTask(TypeEnd, b, asynq.MaxRetry(10))
}

// Jobs schedules and runs the background work of orgs.
type Jobs struct{ q *queue.Queue }

// NewJobs returns the org jobs on q.
func NewJobs(q *queue.Queue) *Jobs { return &Jobs{q: q} }

var _ Ender = (*Jobs)(nil)

// ScheduleEnd enqueues the end of a temporary org for its end date. The task
// id is derived from the org and the time, so scheduling twice is harmless.
func (j *Jobs) ScheduleEnd(ctx context.Context, orgID int64, at time.Time) error {
	id := "org-end-" + strconv.FormatInt(orgID, 10) + "-" + strconv.FormatInt(at.Unix(), 10)
	_, err := j.q.Enqueue(ctx, NewEndTask(orgID), queue.Default, asynq.ProcessAt(at), asynq.TaskID(id))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// Register adds the handlers and the periodic sweep to the queue.
func (j *Jobs) Register(svc *Service) {
	j.q.Handle(TypeEnd, asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		var p endPayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil || p.OrgID <= 0 {
			return fmt.Errorf("%s: bad payload: %w", TypeEnd, asynq.SkipRetry)
		}
		return svc.EndOne(ctx, p.OrgID)
	}))
	j.q.Handle(TypeSweepEnded, asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
		_, err := svc.EndDue(ctx)
		return err
	}))
	j.q.Every(5*time.Minute, asynq.NewTask(TypeSweepEnded, nil, asynq.MaxRetry(1)), queue.Low)
}

package org

import (
	"context"
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

func (p endPayload) Valid() bool { return p.OrgID > 0 }

// NewEndTask returns the task that ends a temporary org.
func NewEndTask(orgID int64) *asynq.Task {
	return queue.NewTask(TypeEnd, endPayload{OrgID: orgID}, asynq.MaxRetry(10))
}

// Jobs schedules and runs the background work of orgs.
type Jobs struct{ q *queue.Queue }

// NewJobs returns the org jobs on q.
func NewJobs(q *queue.Queue) *Jobs { return &Jobs{q: q} }

var _ Ender = (*Jobs)(nil)

// ScheduleEnd enqueues the end of a temporary org for its end date. The task
// id is derived from the org and the time, so scheduling twice is harmless.
func (j *Jobs) ScheduleEnd(ctx context.Context, orgID int64, at time.Time) error {
	return j.q.EnqueueOnce(ctx, NewEndTask(orgID), queue.Default, queue.ID("org-end", orgID, at.Unix()), asynq.ProcessAt(at))
}

// Register adds the handlers and the periodic sweep to the queue.
func (j *Jobs) Register(svc *Service) {
	queue.HandleJSON(j.q, TypeEnd, func(ctx context.Context, p endPayload) error { return svc.EndOne(ctx, p.OrgID) })
	j.q.Sweep(TypeSweepEnded, 5*time.Minute, 1, func(ctx context.Context) error {
		_, err := svc.EndDue(ctx)
		return err
	})
}

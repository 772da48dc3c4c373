package form

import (
	"context"
	"errors"
	"time"

	"github.com/hibiken/asynq"

	"xianfeng/server/internal/queue"
)

// Task types of this package.
const (
	TypeFanOut = "form:fanout"
	TypeSweep  = "form:sweep"
	TypeFold   = "form:fold"
)

// foldEvery is how often the workers fold the entries not yet counted into
// the totals (see Service.Fold).
const foldEvery = 2 * time.Second

// fanOutPayload names the form whose audience the fan-out tells.
type fanOutPayload struct {
	ID int64 `json:"id"`
}

func (p fanOutPayload) Valid() bool { return p.ID > 0 }

// Jobs puts the forms' background work on the queue (it is the service's
// Publisher) and runs it: the fan-out that tells a new form's audience,
// every minute the sweep that sends reminders and marks misses, and every
// foldEvery the fold of new entries into the totals.
type Jobs struct{ q *queue.Queue }

// NewJobs returns the form jobs on q.
func NewJobs(q *queue.Queue) *Jobs { return &Jobs{q: q} }

var _ Publisher = (*Jobs)(nil)

// Register adds the handlers and the sweeps to the queue.
func (j *Jobs) Register(svc *Service) {
	queue.HandleJSON(j.q, TypeFanOut, func(ctx context.Context, p fanOutPayload) error { return svc.FanOut(ctx, p.ID) })
	j.q.Sweep(TypeSweep, time.Minute, 0, func(ctx context.Context) error {
		return errors.Join(svc.Remind(ctx), svc.MarkMissing(ctx))
	})
	j.q.Sweep(TypeFold, foldEvery, 0, svc.FoldAll)
}

// Publish queues the fan-out of a new form, once per form (its task id is
// the form's). Unlike queue.FanOut it runs on the Default queue.
func (j *Jobs) Publish(ctx context.Context, formID int64) error {
	task := queue.NewTask(TypeFanOut, fanOutPayload{ID: formID}, asynq.MaxRetry(20), asynq.Timeout(10*time.Minute))
	return j.q.EnqueueOnce(ctx, task, queue.Default, queue.ID("form-fanout", formID))
}

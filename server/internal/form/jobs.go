package form

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// Jobs puts the forms' background work on the queue (it is the service's
// Publisher) and runs it: the fan-out that tells a new form's audience,
// every minute the sweep that sends reminders and marks misses, and every
// foldEvery the fold of new entries into the totals.
type Jobs struct{ q *queue.Queue }

// NewJobs returns the form jobs on q.
func NewJobs(q *queue.Queue) *Jobs { return &Jobs{q: q} }

var _ Publisher = (*Jobs)(nil)

// Register adds the handlers and the sweep to the queue.
func (j *Jobs) Register(svc *Service) {
	j.q.Handle(TypeFanOut, asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		var p fanOutPayload
		if json.Unmarshal(t.Payload(), &p) != nil || p.ID <= 0 {
			return fmt.Errorf("%s: bad payload: %w", TypeFanOut, asynq.SkipRetry)
		}
		return svc.FanOut(ctx, p.ID)
	}))
	j.q.Handle(TypeSweep, asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
		return errors.Join(svc.Remind(ctx), svc.MarkMissing(ctx))
	}))
	j.q.Every(time.Minute, asynq.NewTask(TypeSweep, nil, asynq.MaxRetry(0)), queue.Low)
	j.q.Sweep(TypeFold, foldEvery, 0, svc.FoldAll)
}

// Publish queues the fan-out of a new form, once per form (its task id is
// the form's).
func (j *Jobs) Publish(ctx context.Context, formID int64) error {
	b, err := json.Marshal(fanOutPayload{ID: formID})
	if err != nil {
		return err
	}
	task := asynq.NewTask(TypeFanOut, b, asynq.MaxRetry(20), asynq.Timeout(10*time.Minute))
	if _, err = j.q.Enqueue(ctx, task, queue.Default, asynq.TaskID(fmt.Sprintf("form-fanout-%d", formID))); errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil // queued already
	}
	return err
}

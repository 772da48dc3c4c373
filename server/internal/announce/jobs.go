package announce

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
	TypeFanOut = "announcement:fanout"
	TypeSweep  = "announcement:sweep"
)

// Jobs runs the announcement jobs and implements Dispatcher.
type Jobs struct{ q *queue.Queue }

// NewJobs returns the announcement jobs on q.
func NewJobs(q *queue.Queue) *Jobs { return &Jobs{q: q} }

var _ Dispatcher = (*Jobs)(nil)

// Dispatch enqueues an announcement's fan-out once (the id is the announcement's).
func (j *Jobs) Dispatch(ctx context.Context, id int64) error {
	b, _ := json.Marshal(map[string]int64{"id": id})
	_, err := j.q.Enqueue(ctx, asynq.NewTask(TypeFanOut, b, asynq.MaxRetry(20), asynq.Timeout(10*time.Minute)),
		queue.Critical, asynq.TaskID("announcement-fanout-"+strconv.FormatInt(id, 10)))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// Register adds the handlers and the periodic sweep to the queue.
func (j *Jobs) Register(svc *Service) {
	j.q.Handle(TypeFanOut, asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		var p struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(t.Payload(), &p); err != nil || p.ID <= 0 {
			return fmt.Errorf("%s: bad payload: %w", TypeFanOut, asynq.SkipRetry)
		}
		return svc.FanOut(ctx, p.ID)
	}))
	j.q.Handle(TypeSweep, asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error { return svc.Sweep(ctx) }))
	j.q.Every(time.Minute, asynq.NewTask(TypeSweep, nil, asynq.MaxRetry(0)), queue.Low)
}

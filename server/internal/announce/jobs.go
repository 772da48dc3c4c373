package announce

import (
	"context"
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

type payload struct {
	ID int64 `json:"id"`
}

func (p payload) Valid() bool { return p.ID > 0 }

// Dispatch enqueues an announcement's fan-out once (the id is the announcement's).
func (j *Jobs) Dispatch(ctx context.Context, id int64) error {
	return j.q.EnqueueOnce(ctx, queue.NewTask(TypeFanOut, payload{ID: id}, asynq.MaxRetry(20), asynq.Timeout(10*time.Minute)),
		queue.Critical, queue.ID("announcement-fanout", id))
}

// Register adds the handlers and the periodic sweep to the queue.
func (j *Jobs) Register(svc *Service) {
	queue.HandleJSON(j.q, TypeFanOut, func(ctx context.Context, p payload) error { return svc.FanOut(ctx, p.ID) })
	j.q.Sweep(TypeSweep, time.Minute, 0, svc.Sweep)
}

package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"xianfeng/server/internal/queue"
)

// Task types of this package.
const (
	// TypeSend pushes one notification.
	TypeSend = "notify:send"
	// TypeFanOut delivers a batch of notifications (a task for 10,000
	// members is ten of them), up to SendsInFlight sends at once in each
	// process whatever the queue's concurrency; a send that failed in a way
	// a retry can fix goes on as its own TypeSend job, with its retries.
	TypeFanOut = "notify:fanout"
	// TypeSweep re-enqueues pushes whose jobs were never enqueued or lost.
	TypeSweep = "notify:sweep"
)

// sendRetries is how often a push that failed in a retryable way is tried
// again (with asynq's exponential backoff) before it is recorded as failed.
const sendRetries = 8

// SendsInFlight bounds the WeChat sends of one process's batch deliveries,
// across all its workers. WeChat answers in about 100 ms, so 128 in flight
// can push about 1,000 messages/s; the database work around each send is
// short and does not hold a connection while WeChat is asked.
const SendsInFlight = 128

// Jobs runs the push jobs and implements Enqueuer.
type Jobs struct {
	q        *queue.Queue
	inFlight chan struct{} // a token per batch send in flight
}

// NewJobs returns the push jobs on q.
func NewJobs(q *queue.Queue) *Jobs {
	return &Jobs{q: q, inFlight: make(chan struct{}, SendsInFlight)}
}

var _ Enqueuer = (*Jobs)(nil)

type idsPayload struct {
	IDs []int64 `json:"ids"`
}

// Valid is always true: a batch of no notifications is nothing to deliver.
func (idsPayload) Valid() bool { return true }

type sendPayload struct {
	ID int64 `json:"id"`
}

func (p sendPayload) Valid() bool { return p.ID > 0 }

// EnqueuePush queues the push of the given notifications, in batches; a
// batch's task id is its first and last id and its size, so it is queued once.
func (j *Jobs) EnqueuePush(ctx context.Context, ids []int64) error {
	for start := 0; start < len(ids); start += 1000 {
		chunk := ids[start:min(start+1000, len(ids))]
		task := queue.NewTask(TypeFanOut, idsPayload{IDs: chunk}, asynq.MaxRetry(20))
		id := queue.ID("notify-fanout", chunk[0], chunk[len(chunk)-1], int64(len(chunk)))
		if err := j.q.EnqueueOnce(ctx, task, queue.Critical, id); err != nil {
			return err
		}
	}
	return nil
}

func (j *Jobs) enqueueSends(ctx context.Context, ids []int64, opts ...asynq.Option) error {
	for _, id := range ids {
		task := queue.NewTask(TypeSend, sendPayload{ID: id}, asynq.MaxRetry(sendRetries), asynq.Timeout(time.Minute))
		if err := j.q.EnqueueOnce(ctx, task, queue.Default, queue.ID("notify-send", id), opts...); err != nil {
			return err
		}
	}
	return nil
}

// deliverBatch delivers the notifications ids (Pusher.DeliverBatch), at
// most SendsInFlight sends at once in this process. Delivery is safe to run
// again, so a batch cut short (a crash, a lost job) is simply run again.
// What failed in a way a retry can fix is handed at once to a TypeSend job
// of its own, with its retries and backoff, rather than waiting for the
// rest of the batch; a permanent failure is already recorded.
func (j *Jobs) deliverBatch(ctx context.Context, p *Pusher, ids []int64) error {
	var lostErr error
	for id, err := range p.DeliverBatch(ctx, ids, j.inFlight) {
		// Also when another attempt holds the push (ErrAttemptInFlight):
		// that holder may be a worker that was killed, so a send job of
		// its own (one per notification, whatever asks for it) takes it
		// up once the holder's claim would have run out, finding it sent
		// if the holder was alive.
		var opts []asynq.Option
		if errors.Is(err, ErrAttemptInFlight) {
			opts = append(opts, asynq.ProcessIn(attemptTTL+time.Second))
		}
		if err := j.enqueueSends(context.WithoutCancel(ctx), []int64{id}, opts...); err != nil {
			lostErr = err
		}
	}
	if lostErr != nil {
		return lostErr // the batch runs again; what was done is skipped
	}
	return ctx.Err()
}

// Register adds the handlers and the periodic sweep to the queue.
func (j *Jobs) Register(p *Pusher, in *Inbox) {
	queue.HandleJSON(j.q, TypeFanOut, func(ctx context.Context, pl idsPayload) error {
		return j.deliverBatch(ctx, p, pl.IDs)
	})
	queue.HandleJSON(j.q, TypeSend, func(ctx context.Context, pl sendPayload) error {
		retried, _ := asynq.GetRetryCount(ctx)
		maxRetry, _ := asynq.GetMaxRetry(ctx)
		err := p.Deliver(ctx, pl.ID, retried >= maxRetry)
		if errors.Is(err, ErrPermanent) {
			return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
		}
		if errors.Is(err, ErrAttemptInFlight) {
			// Held by another attempt, perhaps of a worker that was killed:
			// look again once its claim would have run out.
			return queue.RetryAfter(err, attemptTTL+time.Second)
		}
		return err
	})
	j.q.Sweep(TypeSweep, time.Minute, 0, func(ctx context.Context) error {
		ids, err := in.Unpushed(ctx, 5000)
		if err != nil {
			return err
		}
		return j.enqueueSends(ctx, ids)
	})
	// At start, every push still waiting is queued again whatever its age
	// (a push whose job is still queued is not queued twice), so pushes
	// whose jobs Redis lost go on at once instead of at the next sweep.
	j.q.AtStart(func(ctx context.Context) error {
		ids, err := in.Waiting(ctx, 0, 20000)
		if err != nil {
			return err
		}
		return j.enqueueSends(ctx, ids)
	})
}

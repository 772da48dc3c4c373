package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
)

// NewTask returns a task of taskType whose payload is p as JSON. p is one
// of the domain's own payload structs, which always marshal.
func NewTask(taskType string, p any, opts ...asynq.Option) *asynq.Task {
	b, _ := json.Marshal(p)
	return asynq.NewTask(taskType, b, opts...)
}

// ID is a deterministic task id: prefix and the ids joined by "-", such as
// "task-remind-7-1700000000". Enqueuing twice with the same id queues the
// job once (see EnqueueOnce).
func ID(prefix string, ids ...int64) string {
	b := []byte(prefix)
	for _, id := range ids {
		b = strconv.AppendInt(append(b, '-'), id, 10)
	}
	return string(b)
}

// EnqueueOnce enqueues task under the deterministic id: a job with that id
// already queued is not queued again, and that is no error.
func (q *Queue) EnqueueOnce(ctx context.Context, task *asynq.Task, priority, id string, opts ...asynq.Option) error {
	_, err := q.Enqueue(ctx, task, priority, append(opts, asynq.TaskID(id))...)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// Delete deletes the pending job of that id from the queue of priority; a
// job (or a queue) already gone is no error.
func (q *Queue) Delete(priority, id string) error {
	err := q.inspector.DeleteTask(q.Name(priority), id)
	if err != nil && !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
		return err
	}
	return nil
}

// Payload is the JSON payload of a job, which tells whether it names
// something to work on.
type Payload interface{ Valid() bool }

// HandleJSON registers fn for taskType with the task's payload decoded into
// a P. A payload that does not decode, or is not valid, can never succeed:
// the job fails without retry.
func HandleJSON[P Payload](q *Queue, taskType string, fn func(context.Context, P) error) {
	q.Handle(taskType, asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		var p P
		if err := json.Unmarshal(t.Payload(), &p); err != nil || !p.Valid() {
			return fmt.Errorf("%s: bad payload: %w", taskType, asynq.SkipRetry)
		}
		return fn(ctx, p)
	}))
}

// Sweep registers fn as the job of taskType, which the workers run every
// interval on the Low queue with at most retries retries: a sweep that
// repairs what the exact-time jobs missed.
func (q *Queue) Sweep(taskType string, interval time.Duration, retries int, fn func(context.Context) error) {
	q.Handle(taskType, asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error { return fn(ctx) }))
	q.Every(interval, asynq.NewTask(taskType, nil, asynq.MaxRetry(retries)), Low)
}

// FanOut is a domain's fan-out job: the work that follows a new record
// (telling its audience), one job per record with {"id": N} as its payload
// and the record's id in its task id, so that dispatching it twice queues it
// once. It runs on the Critical queue, up to ten minutes a try, retried up
// to 20 times; what a dying process leaves unfinished a domain's sweep
// dispatches again.
type FanOut struct {
	q        *Queue
	taskType string
	prefix   string
}

// FanOut returns the fan-out job of taskType, whose task ids are prefix
// and the record's id (see ID).
func (q *Queue) FanOut(taskType, prefix string) FanOut {
	return FanOut{q: q, taskType: taskType, prefix: prefix}
}

type fanOutPayload struct {
	ID int64 `json:"id"`
}

func (p fanOutPayload) Valid() bool { return p.ID > 0 }

// Dispatch queues the fan-out of the record id, once.
func (f FanOut) Dispatch(ctx context.Context, id int64) error {
	task := NewTask(f.taskType, fanOutPayload{ID: id}, asynq.MaxRetry(20), asynq.Timeout(10*time.Minute))
	return f.q.EnqueueOnce(ctx, task, Critical, ID(f.prefix, id))
}

// Handle registers fn as the work of the fan-out of a record.
func (f FanOut) Handle(fn func(ctx context.Context, id int64) error) {
	HandleJSON(f.q, f.taskType, func(ctx context.Context, p fanOutPayload) error { return fn(ctx, p.ID) })
}

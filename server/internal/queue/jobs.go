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

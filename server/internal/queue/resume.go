package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
)

// retryDelay is asynq's exponential back-off, except for a job whose
// worker died (lease expired): that one never failed, so it runs again at
// once.
func retryDelay(n int, err error, t *asynq.Task) time.Duration {
	if errors.Is(err, asynq.ErrLeaseExpired) {
		return 0
	}
	return asynq.DefaultRetryDelayFunc(n, err, t)
}

// resumeMark separates a job's id from the suffix of its resumed copy.
const resumeMark = "~resume-"

// resumer re-enqueues copies of jobs that a dead worker left active.
type resumer struct {
	q    *Queue
	boot string // this process's suffix for the ids of its copies

	mu   sync.Mutex
	done map[string]bool // ids of active jobs already copied

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newResumer(q *Queue) *resumer {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &resumer{q: q, boot: hex.EncodeToString(b[:]), done: map[string]bool{}}
}

// start looks for orphans every interval (5 s when 0) until stop.
func (r *resumer) start(every time.Duration) {
	if every <= 0 {
		every = 5 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				r.resumeActive(ctx, true)
			}
		}
	})
}

func (r *resumer) stop() {
	if r.cancel != nil {
		r.cancel()
		r.wg.Wait()
	}
}

// resumeActive enqueues a copy of each active job (only those whose lease
// ran out when orphansOnly), once per job and process. Errors are logged:
// asynq's own recoverer is still there behind this.
func (r *resumer) resumeActive(ctx context.Context, orphansOnly bool) {
	log := r.q.opts.Log
	for _, name := range r.q.Names() {
		for page := 1; ctx.Err() == nil; page++ {
			infos, err := r.q.inspector.ListActiveTasks(name, asynq.PageSize(500), asynq.Page(page))
			if errors.Is(err, asynq.ErrQueueNotFound) {
				break
			}
			if err != nil {
				log.Warn("queue: list active jobs to resume", "queue", name, "err", err)
				break
			}
			for _, info := range infos {
				if orphansOnly && !info.IsOrphaned {
					continue
				}
				r.resume(ctx, info)
			}
			if len(infos) < 500 {
				break
			}
		}
	}
}

func (r *resumer) resume(ctx context.Context, info *asynq.TaskInfo) {
	r.mu.Lock()
	seen := r.done[info.ID]
	r.done[info.ID] = true
	r.mu.Unlock()
	if seen {
		return
	}
	id := info.ID
	if i := strings.Index(id, resumeMark); i >= 0 {
		id = id[:i]
	}
	opts := []asynq.Option{asynq.Queue(info.Queue), asynq.MaxRetry(info.MaxRetry), asynq.TaskID(id + resumeMark + r.boot)}
	if info.Timeout > 0 {
		opts = append(opts, asynq.Timeout(info.Timeout))
	}
	if !info.Deadline.IsZero() {
		opts = append(opts, asynq.Deadline(info.Deadline))
	}
	_, err := r.q.client.EnqueueContext(ctx, asynq.NewTask(info.Type, info.Payload), opts...)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		r.mu.Lock()
		delete(r.done, info.ID)
		r.mu.Unlock()
		r.q.opts.Log.Warn("queue: resume an interrupted job", "type", info.Type, "id", info.ID, "err", err)
		return
	}
	r.q.opts.Log.Info("queue: resumed a job its worker left unfinished", "type", info.Type, "id", info.ID)
}

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
	var ra *retryAfterError
	if errors.As(err, &ra) {
		return ra.after
	}
	return asynq.DefaultRetryDelayFunc(n, err, t)
}

// RetryAfter marks a job's error as one that a retry after d (not the
// exponential back-off) will get past: something another worker holds for
// a known time.
func RetryAfter(err error, d time.Duration) error { return &retryAfterError{err: err, after: d} }

type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// resumeMark separates a job's id from the suffix of its resumed copy.
const resumeMark = "~resume-"

// resumer re-enqueues copies of jobs that a dead worker left active.
//
// A job is orphaned when its lease ran out (asynq's own test, up to 30 s
// after the worker died) or when no live worker process holds it: asynq's
// heartbeat lists each process's running jobs every 5 s and forgets a dead
// process 10 s after its last beat. A job just taken by a live process is
// not listed until that process's next beat, so "held by nobody" must be
// seen twice, at least holdGrace apart, before the job counts as orphaned.
// A restarted worker thus resumes a killed worker's jobs within about
// 10 s + holdGrace + one round, and never copies a job that another live
// worker is running.
type resumer struct {
	q    *Queue
	boot string // this process's suffix for the ids of its copies
	now  func() time.Time

	mu       sync.Mutex
	done     map[string]bool      // ids of active jobs already copied
	unheld   map[string]time.Time // active jobs no live worker held, since when
	holdWait time.Duration

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// holdGrace is longer than asynq's heartbeat interval (5 s), so a job that
// a live worker runs is listed by it before the second look.
const holdGrace = 6 * time.Second

func newResumer(q *Queue) *resumer {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &resumer{q: q, boot: hex.EncodeToString(b[:]), now: time.Now, done: map[string]bool{},
		unheld: map[string]time.Time{}, holdWait: holdGrace}
}

// start looks for orphans every interval (2 s when 0) until stop.
func (r *resumer) start(every time.Duration) {
	if every <= 0 {
		every = 2 * time.Second
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
				r.resumeOrphans(ctx)
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

// held returns the ids of the jobs that live worker processes say they run.
func (r *resumer) held() (map[string]bool, error) {
	servers, err := r.q.inspector.Servers()
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for _, s := range servers {
		for _, w := range s.ActiveWorkers {
			ids[w.TaskID] = true
		}
	}
	return ids, nil
}

// resumeOrphans enqueues a copy of each orphaned active job (see resumer),
// once per job and process. Errors are logged: asynq's own recoverer is
// still there behind this.
func (r *resumer) resumeOrphans(ctx context.Context) {
	log := r.q.opts.Log
	held, err := r.held()
	if err != nil {
		log.Warn("queue: list live workers to resume orphaned jobs", "err", err)
		return
	}
	now := r.now()
	seen := map[string]bool{}
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
				seen[info.ID] = true
				if r.orphaned(info, held, now) {
					r.resume(ctx, info)
				}
			}
			if len(infos) < 500 {
				break
			}
		}
	}
	r.mu.Lock()
	for id := range r.unheld {
		if !seen[id] {
			delete(r.unheld, id)
		}
	}
	r.mu.Unlock()
}

// orphaned applies the rule of resumer to one active job at now.
func (r *resumer) orphaned(info *asynq.TaskInfo, held map[string]bool, now time.Time) bool {
	if info.IsOrphaned {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if held[info.ID] {
		delete(r.unheld, info.ID)
		return false
	}
	since, ok := r.unheld[info.ID]
	if !ok {
		r.unheld[info.ID] = now
		return false
	}
	return now.Sub(since) >= r.holdWait
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

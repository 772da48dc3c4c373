package queue_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"xianfeng/config"
	"xianfeng/server/internal/logging"
	"xianfeng/server/internal/queue"
	"xianfeng/server/internal/redisdb"
	"xianfeng/server/internal/testenv/testdb"
)

// patience bounds every wait: asynq polls its queues about once a second.
const patience = 15 * time.Second

// redisFor returns this test's configuration and a Redis client on it: the
// embedded Redis, or the one TEST_REDIS_URL names under a namespace of its own.
func redisFor(t *testing.T) (config.Config, *redisdb.Client) {
	t.Helper()
	cfg := testdb.Config(t)
	rdb, err := redisdb.Open(context.Background(), cfg.Redis, logging.Discard())
	if err != nil {
		t.Fatalf("redisdb.Open: %v", err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return cfg, rdb
}

func newQueue(cfg config.Config, rdb *redisdb.Client, shutdown time.Duration) *queue.Queue {
	return queue.New(rdb, queue.Options{
		Namespace: cfg.Queue.Namespace, Concurrency: 2, ShutdownTimeout: shutdown, Log: logging.Discard(),
	})
}

// start runs q's workers until the test ends.
func start(t *testing.T, q *queue.Queue) {
	t.Helper()
	if err := q.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(q.Shutdown)
}

// waitFor fails the test unless ch delivers within patience.
func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(patience):
		t.Fatalf("waited %s for %s", patience, what)
		var zero T
		return zero
	}
}

func TestARegisteredHandlerProcessesAnEnqueuedTask(t *testing.T) {
	tests := []struct {
		name      string
		priority  string
		wantQueue string
	}{
		{"a critical task is processed from the critical queue", queue.Critical, queue.Critical},
		{"a task without a priority is processed from the default queue", "", queue.Default},
		{"a low-priority task is processed from the low queue", queue.Low, queue.Low},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, rdb := redisFor(t)
			q := newQueue(cfg, rdb, time.Second)
			got := make(chan string, 1)
			q.Handle("test:echo", asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
				got <- string(task.Payload())
				return nil
			}))
			start(t, q)

			info, err := q.Enqueue(context.Background(), asynq.NewTask("test:echo", []byte("hello")), tt.priority)
			if err != nil {
				t.Fatalf("Enqueue: %v", err)
			}
			if want := cfg.Queue.Namespace + ":" + tt.wantQueue; info.Queue != want {
				t.Errorf("task went to queue %q, want %q", info.Queue, want)
			}
			if payload := waitFor(t, got, "the handler"); payload != "hello" {
				t.Errorf("handler got payload %q, want %q", payload, "hello")
			}
		})
	}
}

func TestATaskIDIsQueuedOnlyOnce(t *testing.T) {
	tests := []struct {
		name        string
		ids         []string
		wantPending int
		wantErrs    []error
	}{
		{"the same id twice queues one task and reports the conflict",
			[]string{"remind:42", "remind:42"}, 1, []error{nil, asynq.ErrTaskIDConflict}},
		{"two different ids queue two tasks",
			[]string{"remind:42", "remind:43"}, 2, []error{nil, nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, rdb := redisFor(t)
			q := newQueue(cfg, rdb, time.Second)
			for i, id := range tt.ids {
				_, err := q.Enqueue(context.Background(), asynq.NewTask("test:remind", nil), queue.Default, asynq.TaskID(id))
				if want := tt.wantErrs[i]; (want == nil) != (err == nil) || (want != nil && !errors.Is(err, want)) {
					t.Errorf("Enqueue #%d (id %s) error = %v, want %v", i+1, id, err, want)
				}
			}
			info, err := q.Inspector().GetQueueInfo(q.Name(queue.Default))
			if err != nil {
				t.Fatalf("GetQueueInfo: %v", err)
			}
			if info.Pending != tt.wantPending {
				t.Errorf("pending = %d, want %d", info.Pending, tt.wantPending)
			}
		})
	}
}

func TestShutdownHandsUnfinishedWorkBackToTheQueue(t *testing.T) {
	tests := []struct {
		name     string
		priority string
	}{
		{"a default task cut off by shutdown is finished by the next worker", queue.Default},
		{"a low-priority task cut off by shutdown is finished by the next worker", queue.Low},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each has a Redis and queues of its own
			cfg, rdb := redisFor(t)
			var attempts atomic.Int32
			started, finished := make(chan struct{}, 1), make(chan struct{}, 1)
			// The first attempt outlasts the shutdown timeout; the next one finishes.
			handler := asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
				if attempts.Add(1) == 1 {
					started <- struct{}{}
					<-ctx.Done()
					return ctx.Err()
				}
				finished <- struct{}{}
				return nil
			})

			// The handler waits for its context, so any shutdown timeout
			// cuts it off; a short one keeps the test from waiting it out.
			first := newQueue(cfg, rdb, 20*time.Millisecond)
			first.Handle("test:slow", handler)
			info, err := first.Enqueue(context.Background(), asynq.NewTask("test:slow", []byte("work")), tt.priority)
			if err != nil {
				t.Fatalf("Enqueue: %v", err)
			}
			start(t, first)
			waitFor(t, started, "the first attempt to start")
			active, err := first.Inspector().ListActiveTasks(info.Queue)
			if err != nil || len(active) != 1 || active[0].ID != info.ID {
				t.Fatalf("active tasks = %v, %v; want the task %s", active, err, info.ID)
			}

			stopped := make(chan struct{})
			go func() { first.Shutdown(); close(stopped) }()
			waitFor(t, stopped, "Shutdown to return")

			back, err := first.Inspector().GetTaskInfo(info.Queue, info.ID)
			if err != nil {
				t.Fatalf("after Shutdown the task is gone: %v", err)
			}
			if !slices.Contains([]asynq.TaskState{asynq.TaskStatePending, asynq.TaskStateRetry, asynq.TaskStateScheduled}, back.State) {
				t.Fatalf("after Shutdown the task is %s, want it back in the queue", back.State)
			}

			second := newQueue(cfg, rdb, time.Second)
			second.Handle("test:slow", handler)
			start(t, second)
			waitFor(t, finished, "the next worker to finish the task")
			if n := attempts.Load(); n != 2 {
				t.Errorf("handler ran %d times, want 2", n)
			}
			testdb.Eventually(t, patience, "the finished task to leave Redis", func() bool {
				_, err := second.Inspector().GetTaskInfo(info.Queue, info.ID)
				return errors.Is(err, asynq.ErrTaskNotFound)
			})
		})
	}
}

// depths collects the queue-depth gauge as queue → state → jobs.
func depths(t *testing.T, c prometheus.Collector) map[string]map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatalf("register collector: %v", err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]map[string]float64{}
	for _, f := range families {
		if f.GetName() != "xianfeng_queue_jobs" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if out[labels["queue"]] == nil {
				out[labels["queue"]] = map[string]float64{}
			}
			out[labels["queue"]][labels["state"]] = m.GetGauge().GetValue()
		}
	}
	return out
}

func TestTheCollectorReportsQueueDepths(t *testing.T) {
	type job struct {
		priority string
		later    bool
	}
	tests := []struct {
		name string
		jobs []job
		// want is priority → state → jobs; unlisted states must be 0.
		want map[string]map[string]float64
	}{
		{"empty queues report zero jobs", nil, nil},
		{"waiting jobs are counted as pending on their queue",
			[]job{{queue.Default, false}, {queue.Default, false}, {queue.Low, false}},
			map[string]map[string]float64{queue.Default: {"pending": 2}, queue.Low: {"pending": 1}}},
		{"jobs due later are counted as scheduled",
			[]job{{queue.Critical, true}, {queue.Critical, false}},
			map[string]map[string]float64{queue.Critical: {"pending": 1, "scheduled": 1}}},
	}
	states := []string{"pending", "active", "scheduled", "retry", "archived", "aggregating"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, rdb := redisFor(t)
			q := newQueue(cfg, rdb, time.Second)
			for _, j := range tt.jobs {
				var opts []asynq.Option
				if j.later {
					opts = append(opts, asynq.ProcessIn(time.Hour))
				}
				if _, err := q.Enqueue(context.Background(), asynq.NewTask("test:count", nil), j.priority, opts...); err != nil {
					t.Fatalf("Enqueue: %v", err)
				}
			}
			got := depths(t, q.Collector())
			for _, p := range []string{queue.Critical, queue.Default, queue.Low} {
				for _, s := range states {
					want := tt.want[p][s]
					g, ok := got[q.Name(p)][s]
					if !ok || g != want {
						t.Errorf("%s %s = %v (reported %v), want %v", q.Name(p), s, g, ok, want)
					}
				}
			}
		})
	}
}

func TestClosingTheQueueLeavesTheSharedRedisOpen(t *testing.T) {
	tests := []struct {
		name    string
		started bool
	}{
		{"closing an enqueue-only queue succeeds and Redis still answers", false},
		{"closing after the workers stopped succeeds and Redis still answers", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, rdb := redisFor(t)
			q := newQueue(cfg, rdb, time.Second)
			if tt.started {
				if err := q.Start(); err != nil {
					t.Fatalf("Start: %v", err)
				}
				q.Shutdown()
			}
			if err := q.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := rdb.Ping(context.Background()).Err(); err != nil {
				t.Errorf("the shared Redis client no longer answers: %v", err)
			}
		})
	}
}

// TestAStartingWorkerLeavesAnotherWorkersJobAlone: a second worker process
// (a rolling deploy, a scaled-out worker) must not run again a job that a
// live worker is running, while a killed worker's jobs are resumed (see the
// fault tests). It waits on asynq's real heartbeat, so it runs in .ci/run.
func TestAStartingWorkerLeavesAnotherWorkersJobAlone(t *testing.T) {
	if os.Getenv("XF_FAULT_TESTS") == "" {
		t.Skip("waits on asynq's heartbeat in real time; .ci/run sets XF_FAULT_TESTS=1")
	}
	cfg, rdb := redisFor(t)
	var runs atomic.Int32
	started := make(chan struct{}, 4)
	release := make(chan struct{})
	handler := asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
		runs.Add(1)
		started <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	})
	first := newQueue(cfg, rdb, time.Second)
	first.Handle("test:long", handler)
	start(t, first)
	if _, err := first.Enqueue(context.Background(), asynq.NewTask("test:long", nil), "", asynq.TaskID("long-1")); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	waitFor(t, started, "the first worker to take the job")

	second := newQueue(cfg, rdb, time.Second)
	second.Handle("test:long", handler)
	start(t, second)
	time.Sleep(12 * time.Second) // two heartbeats and the grace period
	close(release)
	if n := runs.Load(); n != 1 {
		t.Errorf("the job ran %d times while its first worker was alive, want 1", n)
	}
}

func TestAFanOutIsQueuedOncePerRecordAndHandedItsID(t *testing.T) {
	cfg, rdb := redisFor(t)
	q := newQueue(cfg, rdb, time.Second)
	fan := q.FanOut("test:fanout", "test-fanout")
	for range 2 {
		if err := fan.Dispatch(context.Background(), 42); err != nil {
			t.Fatalf("Dispatch: %v", err)
		}
	}
	info, err := q.Inspector().GetTaskInfo(q.Name(queue.Critical), "test-fanout-42")
	if err != nil {
		t.Fatalf("GetTaskInfo: %v", err)
	}
	if string(info.Payload) != `{"id":42}` || info.MaxRetry != 20 || info.Timeout != 10*time.Minute {
		t.Errorf("queued %s with %d retries and timeout %s, want {\"id\":42}, 20 and 10m", info.Payload, info.MaxRetry, info.Timeout)
	}
	if pending, err := q.Inspector().GetQueueInfo(q.Name(queue.Critical)); err != nil || pending.Pending != 1 {
		t.Fatalf("critical queue = %+v, %v; want one pending fan-out", pending, err)
	}

	got := make(chan int64, 1)
	fan.Handle(func(_ context.Context, id int64) error {
		got <- id
		return nil
	})
	start(t, q)
	if id := waitFor(t, got, "the fan-out"); id != 42 {
		t.Errorf("the fan-out worked on record %d, want 42", id)
	}
}

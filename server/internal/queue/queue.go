// Package queue runs background work on asynq over the shared Redis client:
// the client that enqueues, the workers that process, and the queue-depth
// metrics. Domain packages register their task handlers on it.
package queue

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"xianfeng/server/internal/apperr"
)

// Priorities of the queues, highest first.
const (
	Critical = "critical"
	Default  = "default"
	Low      = "low"
)

// Options configure the queue.
type Options struct {
	// Namespace starts every queue name, so deployments sharing one Redis do
	// not take each other's jobs.
	Namespace   string
	Concurrency int
	// ShutdownTimeout is how long Shutdown waits for running jobs before it
	// hands them back to the queue for another worker.
	ShutdownTimeout time.Duration
	Log             *slog.Logger
	// ResumeEvery is how often a running worker looks for jobs orphaned by
	// a worker that died; 0 means 2 s. See Start.
	ResumeEvery time.Duration
}

// Queue enqueues and processes background jobs.
type Queue struct {
	opts      Options
	rdb       redis.UniversalClient
	client    *asynq.Client
	inspector *asynq.Inspector
	mux       *asynq.ServeMux
	server    *asynq.Server
	scheduler *asynq.Scheduler
	periodic  []periodic
	atStart   []func(context.Context) error
	resumer   *resumer
}

type periodic struct {
	spec     string
	task     *asynq.Task
	priority string
	every    time.Duration
}

// New returns a queue on rdb. It does not start workers; Start does.
func New(rdb redis.UniversalClient, opts Options) *Queue {
	return &Queue{
		opts:      opts,
		rdb:       rdb,
		client:    asynq.NewClientFromRedisClient(rdb),
		inspector: asynq.NewInspectorFromRedisClient(rdb),
		mux:       asynq.NewServeMux(),
	}
}

// Name returns the full asynq queue name of a priority.
func (q *Queue) Name(priority string) string { return q.opts.Namespace + ":" + priority }

// Names returns the full names of all queues, highest priority first.
func (q *Queue) Names() []string {
	return []string{q.Name(Critical), q.Name(Default), q.Name(Low)}
}

// Handle registers the handler for a task type. Call it before Start.
func (q *Queue) Handle(taskType string, h asynq.Handler) { q.mux.Handle(taskType, h) }

// Enqueue puts a task on the queue of its priority (asynq.Queue option given
// as a priority name such as Default, or Default when absent). A task with a
// deterministic asynq.TaskID that is already queued is not queued twice: that
// case returns asynq.ErrTaskIDConflict, which callers treat as done.
func (q *Queue) Enqueue(ctx context.Context, task *asynq.Task, priority string, opts ...asynq.Option) (_ *asynq.TaskInfo, err error) {
	defer apperr.Annotate(&err, "queue.Enqueue(%s)", task.Type())
	if priority == "" {
		priority = Default
	}
	opts = append([]asynq.Option{asynq.Queue(q.Name(priority))}, opts...)
	info, err := q.client.EnqueueContext(ctx, task, opts...)
	if err != nil {
		return nil, err
	}
	return info, nil
}

// Every asks the workers to enqueue task every interval (at least a
// minute). Each worker process runs the schedule, so the task carries a
// uniqueness lock for the interval: with several worker processes it still
// runs once per interval. Call it before Start.
func (q *Queue) Every(interval time.Duration, task *asynq.Task, priority string) {
	q.periodic = append(q.periodic, periodic{spec: "@every " + interval.String(), task: task, priority: priority, every: interval})
}

// AtStart registers fn to run once the workers have started: a sweep that
// re-enqueues the work the database says is unfinished, whose jobs Redis
// may have lost. Call it before Start.
func (q *Queue) AtStart(fn func(ctx context.Context) error) { q.atStart = append(q.atStart, fn) }

// Inspector gives read access to queue contents, for tests and operators.
func (q *Queue) Inspector() *asynq.Inspector { return q.inspector }

// Start runs the workers in the background until Shutdown.
//
// A worker killed with SIGKILL leaves its jobs "active" in Redis; asynq
// gives them back only after their lease ran out, its recoverer's next
// round and a retry back-off: about two minutes. So Start, and then every
// ResumeEvery, re-enqueues a copy of each active job that no live worker
// process holds (see resumer): a restarted worker resumes a killed one's
// jobs within about 20 s, and never copies a job another worker still runs.
// A job that asynq itself recovers from a lost lease is retried without
// back-off.
func (q *Queue) Start() (err error) {
	defer apperr.Annotate(&err, "queue.Start")
	q.resumer = newResumer(q)
	q.resumer.resumeOrphans(context.Background())
	q.server = asynq.NewServerFromRedisClient(q.rdb, asynq.Config{
		Concurrency: q.opts.Concurrency,
		Queues: map[string]int{
			q.Name(Critical): 6,
			q.Name(Default):  3,
			q.Name(Low):      1,
		},
		ShutdownTimeout: q.opts.ShutdownTimeout,
		// Idle workers look for new jobs every 100 ms instead of every second,
		// so a push or fan-out starts at once after a quiet spell.
		TaskCheckInterval: 100 * time.Millisecond,
		// Retries (a recovered job among them) are due at once or soon:
		// move them to their queue every second instead of every five.
		DelayedTaskCheckInterval: time.Second,
		RetryDelayFunc:           retryDelay,
		Logger:                   slogAdapter{q.opts.Log},
		LogLevel:                 asynq.WarnLevel,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, task *asynq.Task, err error) {
			retried, _ := asynq.GetRetryCount(ctx)
			maxRetry, _ := asynq.GetMaxRetry(ctx)
			q.opts.Log.WarnContext(ctx, "job failed", "type", task.Type(), "retried", retried, "max_retry", maxRetry, "err", err)
		}),
	})
	if err := q.server.Start(q.mux); err != nil {
		return err
	}
	q.resumer.start(q.opts.ResumeEvery)
	if len(q.atStart) > 0 {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for _, fn := range q.atStart {
				if err := fn(ctx); err != nil {
					q.opts.Log.Warn("queue: start-up sweep failed; the periodic sweep will retry", "err", err)
				}
			}
		}()
	}
	if len(q.periodic) > 0 {
		q.scheduler = asynq.NewSchedulerFromRedisClient(q.rdb, &asynq.SchedulerOpts{Logger: slogAdapter{q.opts.Log}, LogLevel: asynq.WarnLevel})
		for _, p := range q.periodic {
			if _, err := q.scheduler.Register(p.spec, p.task, asynq.Queue(q.Name(p.priority)), asynq.Unique(p.every-time.Second)); err != nil {
				return fmt.Errorf("schedule %s: %w", p.task.Type(), err)
			}
		}
		if err := q.scheduler.Start(); err != nil {
			return err
		}
	}
	return nil
}

// Shutdown stops taking new jobs, waits up to ShutdownTimeout for running
// ones, and returns unfinished jobs to their queue so none is lost.
func (q *Queue) Shutdown() {
	if q.resumer != nil {
		q.resumer.stop()
	}
	if q.scheduler != nil {
		q.scheduler.Shutdown()
	}
	if q.server != nil {
		q.server.Shutdown()
	}
}

// Close releases the queue. The enqueueing client and the inspector run on
// the shared Redis client, which stays open (asynq refuses to close a shared
// connection), so there is nothing of their own to release.
func (q *Queue) Close() error {
	return nil
}

// Collector exports the number of jobs per queue and state on /metrics.
func (q *Queue) Collector() prometheus.Collector { return depthCollector{q} }

var depthDesc = prometheus.NewDesc("xianfeng_queue_jobs", "Jobs in the asynq queues, by queue and state.", []string{"queue", "state"}, nil)

type depthCollector struct{ q *Queue }

func (d depthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- depthDesc }

func (d depthCollector) Collect(ch chan<- prometheus.Metric) {
	for _, name := range d.q.Names() {
		info, err := d.q.inspector.GetQueueInfo(name)
		if err != nil {
			// A queue that never had a job does not exist yet: report zeros.
			info = &asynq.QueueInfo{}
		}
		for state, n := range map[string]int{
			"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
			"retry": info.Retry, "archived": info.Archived, "aggregating": info.Aggregating,
		} {
			ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(n), name, state)
		}
	}
}

type slogAdapter struct{ log *slog.Logger }

func (a slogAdapter) Debug(args ...any) { a.log.Debug(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Info(args ...any)  { a.log.Info(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Warn(args ...any)  { a.log.Warn(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Error(args ...any) {
	msg := fmt.Sprint(args...)
	if strings.Contains(msg, "redis connection is shared") {
		// asynq complains at shutdown that it may not close the client we
		// share with it; closing it is ours to do, so this is expected.
		a.log.Debug(msg, "component", "asynq")
		return
	}
	a.log.Error(msg, "component", "asynq")
}

// Fatal logs and exits, as asynq's Logger contract requires.
func (a slogAdapter) Fatal(args ...any) {
	a.log.Error(fmt.Sprint(args...), "component", "asynq", "fatal", true)
	os.Exit(1)
}

//go:build faults

package faulttest

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"xianfeng/server/internal/org"
	"xianfeng/server/internal/task"
	"xianfeng/server/internal/testenv"
)

// resumeLimit is how soon after a restart an interrupted fan-out must go on.
const resumeLimit = 30 * time.Second

// TestFanOutResumesAfterKill9 kills the worker process (SIGKILL) in the
// middle of a 10,000-member fan-out, starts a new one, and measures how long
// after the restart the remaining members have their task.
func TestFanOutResumesAfterKill9(t *testing.T) {
	gate(t)
	tests := []struct {
		name string
		// loseQueue, when set, empties the queue's keys in Redis after the
		// kill, as a Redis restarted without persistence would.
		loseQueue bool
	}{
		{"after the worker was killed, a new worker finishes the fan-out within 30 s", false},
		{"after the worker was killed and Redis lost the queue, a new worker finishes the fan-out from the database within 30 s", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			env := testenv.New(t, testenv.Options{Mock: true})
			db := env.App.DB.DB
			seeded, err := org.Seed(ctx, db, org.SeedSpec{Orgs: 20, Members: 11100})
			if err != nil {
				t.Fatal(err)
			}
			tk, _, err := env.App.Task.Create(ctx, seeded.RootSecretaryUserID, seeded.RootID, task.Input{
				Title: "全员排查", Kind: task.KindScreening, Target: task.Target{IncludeSuborgs: true},
			})
			if err != nil {
				t.Fatal(err)
			}
			assigned := func() int64 {
				var n int64
				db.Table("assignments").Where("task_id = ?", tk.ID).Count(&n)
				return n
			}
			status := func() string {
				var s string
				db.Table("tasks").Where("id = ?", tk.ID).Pluck("status", &s)
				return s
			}

			first := startWorker(t, env.App.Config, "worker-1")
			if !eventually(time.Minute, func() bool { return assigned() > 0 }) {
				t.Fatal("the first worker never started the fan-out")
			}
			first.kill(t)
			before := assigned()
			if status() != string(task.StatusDispatching) {
				t.Fatalf("the fan-out finished (%d assignments) before the kill; it must be cut in the middle", before)
			}
			if tc.loseQueue {
				dropQueue(t, env.App.Redis, env.App.Config.Queue.Namespace)
			}

			second := startWorker(t, env.App.Config, "worker-2")
			done := eventually(resumeLimit+30*time.Second, func() bool { return status() == string(task.StatusOpen) })
			took := time.Since(second.started)
			total := assigned()
			t.Logf("fan-out resume: killed after %d of %d assignments; the remaining %d members got their task %.1f s after the restart (limit %v)",
				before, total, total-before, took.Seconds(), resumeLimit)
			if !done {
				t.Fatalf("the fan-out did not finish within %v of the restart (%d assignments)", resumeLimit+30*time.Second, total)
			}
			if took > resumeLimit {
				t.Errorf("the fan-out finished %.1f s after the restart, want within %v", took.Seconds(), resumeLimit)
			}
		})
	}
}

// dropQueue deletes the asynq keys of the namespace's queues.
func dropQueue(t *testing.T, rdb redis.UniversalClient, namespace string) {
	t.Helper()
	ctx := context.Background()
	var keys []string
	iter := rdb.Scan(ctx, 0, "asynq:{"+namespace+":*", 500).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if len(keys) == 0 {
		t.Fatal("no queue keys to drop")
	}
	if err := rdb.Del(ctx, keys...).Err(); err != nil {
		t.Fatal(err)
	}
}

package faulttest

import (
	"context"
	"testing"
	"time"

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
}

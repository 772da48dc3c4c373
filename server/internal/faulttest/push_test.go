//go:build faults

package faulttest

import (
	"context"
	"testing"
	"time"

	"xianfeng/server/internal/org"
	"xianfeng/server/internal/task"
	"xianfeng/server/internal/testenv"
)

// TestPushResumesAfterKill9 kills the worker process (SIGKILL) while it
// pushes a task's notifications to WeChat (the mock), starts a new one, and
// measures how long after the restart no push is left waiting; no consent
// may be used twice, i.e. nothing is sent twice.
func TestPushResumesAfterKill9(t *testing.T) {
	gate(t)
	tests := []struct {
		name      string
		loseQueue bool // Redis lost the queue's jobs too (see TestFanOutResumesAfterKill9)
	}{
		{"after the worker was killed, a new worker takes up every queued push within 30 s", false},
		{"after the worker was killed and Redis lost the queue, a new worker takes up every queued push from the database within 30 s", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { pushResumes(t, tc.loseQueue) })
	}
}

func pushResumes(t *testing.T, loseQueue bool) {
	ctx := context.Background()
	env := testenv.New(t, testenv.Options{Mock: true})
	db := env.App.DB.DB
	seeded, err := org.Seed(ctx, db, org.SeedSpec{Orgs: 8, Members: 3000})
	if err != nil {
		t.Fatal(err)
	}
	template := env.App.Config.NotifyTemplates()["task_assigned"].ID
	if err := db.Exec(`INSERT INTO subscriptions (user_id, template_id, count, updated_at)
		SELECT DISTINCT user_id, ?, 3, CURRENT_TIMESTAMP FROM memberships`, template).Error; err != nil {
		t.Fatal(err)
	}
	tk, _, err := env.App.Task.Create(ctx, seeded.RootSecretaryUserID, seeded.RootID, task.Input{
		Title: "物资发放", Kind: task.KindDuty, Target: task.Target{IncludeSuborgs: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	count := func(delivery string) int64 {
		var n int64
		db.Table("notifications").Where("ref_type = 'task' AND ref_id = ? AND delivery = ?", tk.ID, delivery).Count(&n)
		return n
	}
	fast := "APP_NOTIFY_RATE_PER_MINUTE=1000000"

	first := startWorker(t, env.App.Config, "worker-1", fast)
	if !eventually(time.Minute, func() bool { return count("sent") >= 200 }) {
		t.Fatal("the first worker never pushed 200 messages")
	}
	first.kill(t)
	sent, queued, sending := count("sent"), count("queued"), count("sending")
	if queued == 0 {
		t.Fatalf("all pushes were done (%d sent) before the kill; it must come in the middle", sent)
	}
	if loseQueue {
		dropQueue(t, env.App.Redis, env.App.Config.Queue.Namespace)
	}

	second := startWorker(t, env.App.Config, "worker-2", fast)
	done := eventually(resumeLimit+30*time.Second, func() bool { return count("queued") == 0 })
	took := time.Since(second.started)
	t.Logf("push resume: killed after %d sent with %d queued and %d mid-send; no push was left queued %.1f s after the restart (limit %v); %d sent, %d unconfirmed so far",
		sent, queued, sending, took.Seconds(), resumeLimit, count("sent"), count("unconfirmed"))
	if !done {
		t.Fatalf("%d pushes still queued %v after the restart", count("queued"), resumeLimit+30*time.Second)
	}
	if took > resumeLimit {
		t.Errorf("the queued pushes resumed %.1f s after the restart, want within %v", took.Seconds(), resumeLimit)
	}
	var twice int64
	db.Table("subscriptions").Where("template_id = ? AND count < 2", template).Count(&twice)
	if twice != 0 {
		t.Errorf("%d users had two consents used for one notification: a message went out twice", twice)
	}
}

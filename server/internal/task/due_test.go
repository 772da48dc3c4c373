package task_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/queue"
	"xianfeng/server/internal/service"
	"xianfeng/server/internal/task"
	"xianfeng/server/internal/testenv"
)

// patience bounds every wait on the queue workers.
const patience = 20 * time.Second

// runWorkers runs the app's queue workers until the test ends.
func (w *world) runWorkers() {
	w.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.App.RunWorkers(ctx) }()
	w.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			w.t.Errorf("RunWorkers: %v", err)
		}
	})
}

// notified lists the users told about a task with a kind of notification,
// sorted, once per notification.
func (w *world) notified(kind string, taskID int64) []int64 {
	w.t.Helper()
	var users []int64
	w.Must(w.App.DB.Table("notifications").Where("kind = ? AND ref_type = 'task' AND ref_id = ?", kind, taskID).Order("user_id").Pluck("user_id", &users).Error)
	return users
}

// overdueUsers lists the users whose assignment in a task is flagged overdue.
func (w *world) overdueUsers(taskID int64) []int64 {
	w.t.Helper()
	var users []int64
	w.Must(w.App.DB.Table("assignments").Where("task_id = ? AND overdue = ?", taskID, true).Order("user_id").Pluck("user_id", &users).Error)
	return users
}

// future is an instant for a test clock that is later than the machine's
// clock by a month, at 02:00 UTC: the queue's scheduler runs on real time,
// so jobs scheduled by the test clock wait until the test runs them (see
// runNow), whatever the day the test runs.
func future() time.Time {
	return time.Now().UTC().AddDate(0, 1, 0).Truncate(24 * time.Hour).Add(2 * time.Hour)
}

// job returns the scheduled job of the default queue with this id.
func (w *world) job(id string) *asynq.TaskInfo {
	w.t.Helper()
	info, err := w.App.Queue.Inspector().GetTaskInfo(w.App.Queue.Name(queue.Default), id)
	if err != nil {
		w.t.Fatalf("job %s: %v", id, err)
	}
	return info
}

// runNow has the workers run a scheduled job of the default queue now
// instead of at its time on the machine's clock.
func (w *world) runNow(id string) {
	w.t.Helper()
	if err := w.App.Queue.Inspector().RunTask(w.App.Queue.Name(queue.Default), id); err != nil {
		w.t.Fatalf("run job %s: %v", id, err)
	}
}

// idle waits until the workers have nothing pending or running.
func (w *world) idle(t *testing.T) {
	t.Helper()
	testenv.Eventually(t, patience, "the queue to drain", func() bool {
		queues, err := w.App.Queue.Inspector().Queues()
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range queues {
			if !slices.Contains(w.App.Queue.Names(), q) {
				continue
			}
			info, err := w.App.Queue.Inspector().GetQueueInfo(q)
			if err != nil {
				t.Fatal(err)
			}
			if info.Pending+info.Active > 0 {
				return false
			}
		}
		return true
	})
}

func TestRemindersAndOverdueRunOnTheQueue(t *testing.T) {
	clock := testenv.NewClock(future())
	w := newWorldAt(t, clock)
	ctx := context.Background()
	done, declined, accepted := w.NewMember(w.A, "frontline"), w.NewMember(w.A, "frontline"), w.NewMember(w.A, "frontline")
	due := clock.Now().Add(2 * time.Hour)
	tk := w.createTask(w.SecA, w.A, newTask("发热门诊值守", map[string]any{
		"due_at": due, "remind_before_minutes": 30, "target": map[string]any{"badges": []string{"frontline"}},
	}))
	w.Expect(w.DoAs("POST", taskPath(tk.ID, "complete"), done, map[string]any{"request_id": "r1"}), 200)
	w.Expect(w.DoAs("POST", taskPath(tk.ID, "decline"), declined, nil), 200)
	w.Expect(w.DoAs("POST", taskPath(tk.ID, "accept"), accepted, nil), 200)
	notDone := sorted([]int64{w.MemberA.ID, accepted.ID})
	remindJob, overdueJob := fmt.Sprintf("task-remind-%d-%d", tk.ID, due.Unix()), fmt.Sprintf("task-overdue-%d-%d", tk.ID, due.Unix())

	w.runWorkers()
	t.Run("the reminder and the overdue marking wait for their times", func(t *testing.T) {
		w := w.in(t)
		for id, at := range map[string]time.Time{remindJob: due.Add(-30 * time.Minute), overdueJob: due} {
			if job := w.job(id); job.State != asynq.TaskStateScheduled || !job.NextProcessAt.Equal(at) {
				t.Errorf("job %s is %s at %s, want scheduled at %s", id, job.State, job.NextProcessAt, at)
			}
		}
	})
	t.Run("each assignee not done gets one reminder", func(t *testing.T) {
		w := w.in(t)
		clock.Set(due.Add(-30 * time.Minute))
		w.runNow(remindJob)
		testenv.Eventually(t, patience, "the reminders", func() bool { return len(w.notified(notify.KindTaskReminder, tk.ID)) >= len(notDone) })
		w.idle(t)
		if got := w.overdueUsers(tk.ID); len(got) != 0 {
			t.Errorf("assignments %v were marked overdue before the due time", got)
		}
	})
	t.Run("at the due time the assignments not done are flagged overdue and told once", func(t *testing.T) {
		w := w.in(t)
		clock.Set(due)
		w.runNow(overdueJob)
		var row struct{ OverdueAt *time.Time }
		testenv.Eventually(t, patience, "the overdue marking", func() bool { // its last step
			w.Must(w.App.DB.Table("tasks").Select("overdue_at").Where("id = ?", tk.ID).Take(&row).Error)
			return row.OverdueAt != nil
		})
		if !row.OverdueAt.Equal(due) {
			t.Errorf("the task was marked overdue at %s, due %s", row.OverdueAt, due)
		}
		if got := w.overdueUsers(tk.ID); !slices.Equal(got, notDone) {
			t.Errorf("overdue assignments of %v, want %v", got, notDone)
		}
		if got := w.notified(notify.KindTaskOverdue, tk.ID); !slices.Equal(got, notDone) {
			t.Errorf("overdue notices went to %v, want one to each of %v", got, notDone)
		}
	})
	t.Run("nothing happens twice", func(t *testing.T) {
		w := w.in(t)
		if err := w.App.Task.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if err := w.App.Task.MarkOverdue(ctx, tk.ID, due.Unix()); err != nil {
			t.Fatal(err)
		}
		if err := w.App.Task.Remind(ctx, tk.ID, due.Unix()); err != nil {
			t.Fatal(err)
		}
		w.idle(t)
		if got := w.notified(notify.KindTaskReminder, tk.ID); !slices.Equal(got, notDone) {
			t.Errorf("reminders went to %v, want one to each of %v", got, notDone)
		}
		if got := w.notified(notify.KindTaskOverdue, tk.ID); !slices.Equal(got, notDone) {
			t.Errorf("overdue notices went to %v, want one to each of %v", got, notDone)
		}
	})
	t.Run("an overdue assignment can still be completed", func(t *testing.T) {
		w := w.in(t)
		var a answer
		w.Expect(w.DoAs("POST", taskPath(tk.ID, "complete"), accepted, map[string]any{"request_id": "late"}), 200).JSON(t, &a)
		if a.Assignment.Status != "completed" || !a.Assignment.Overdue {
			t.Errorf("completing late answered %+v", a.Assignment)
		}
	})
}

func TestTheQueueRunsTheFanOutOfANewTask(t *testing.T) {
	w := newWorld(t)
	w.runWorkers()
	var tk taskJSON
	w.Expect(w.DoAs("POST", taskPathOrg(w.A), w.SecA, newTask("即时分派", nil)), 201).JSON(t, &tk)
	testenv.Eventually(t, patience, "the fan-out", func() bool {
		var status string
		w.Must(w.App.DB.Table("tasks").Where("id = ?", tk.ID).Pluck("status", &status).Error)
		return status == "open"
	})
	w.checkFanOut(tk.ID, w.approvedIn(w.A, false))
}

func taskPathOrg(org int64) string { return fmt.Sprintf("/api/v1/orgs/%d/tasks", org) }

func TestDueJobsThatRunDuringTheFanOutAreNotLost(t *testing.T) {
	start := future()
	clock := testenv.NewClock(start)
	w := newWorldAt(t, clock)
	ctx := context.Background()
	a1 := w.NewMember(w.A, "frontline")
	want := sorted([]int64{w.MemberA.ID, a1.ID})
	tests := []struct {
		name string
		kind string
		// due is when the task is due; run is the job that comes too early.
		due time.Duration
		run func(ctx context.Context, id, due int64) error
		// moveDue moves the clock past the due time before the job runs.
		moveDue bool
	}{
		{"a reminder that runs before the assignments exist", notify.KindTaskReminder, 10 * time.Minute, w.App.Task.Remind, false},
		{"an overdue marking that runs before the assignments exist", notify.KindTaskOverdue, 10 * time.Minute, w.App.Task.MarkOverdue, true},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is done once they do", func(t *testing.T) {
			w := w.in(t)
			clock.Set(start)
			due := clock.Now().Add(tc.due)
			var tk taskJSON
			w.Expect(w.DoAs("POST", taskPathOrg(w.A), w.SecA, newTask("紧急排查", map[string]any{
				"due_at": due, "remind_before_minutes": 30, "target": map[string]any{"badges": []string{"frontline"}},
			})), 201).JSON(t, &tk)
			if tc.moveDue {
				clock.Set(due.Add(time.Second))
			}
			_ = tc.run(ctx, tk.ID, due.Unix()) // still dispatching: whatever it answers, it must not use up the job
			if err := w.App.Task.FanOut(ctx, tk.ID); err != nil {
				t.Fatal(err)
			}
			if err := tc.run(ctx, tk.ID, due.Unix()); err != nil { // the retry, or the sweeper
				t.Fatal(err)
			}
			if err := w.App.Task.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			if got := w.notified(tc.kind, tk.ID); !slices.Equal(got, want) {
				t.Errorf("%s went to %v, want one to each of %v", tc.kind, got, want)
			}
		})
	}
}

// downScheduler fails as the queue does while Redis is down.
type downScheduler struct{}

var errRedisDown = errors.New("redis is down")

func (downScheduler) Dispatch(context.Context, int64) error        { return errRedisDown }
func (downScheduler) ScheduleDue(context.Context, task.Task) error { return errRedisDown }
func (downScheduler) Unschedule(context.Context, task.Task) error  { return errRedisDown }

func TestTheSweeperCatchesTasksWhoseJobsWereNeverQueued(t *testing.T) {
	clock := testenv.NewClock(future())
	w := newWorldAt(t, clock)
	ctx := context.Background()
	a1 := w.NewMember(w.A, "frontline")
	want := sorted([]int64{w.MemberA.ID, a1.ID})
	// A service whose scheduler fails: as if Redis was down when the tasks were created.
	lost := task.NewService(w.App.DB.DB, w.App.Org.Store(), task.Options{Deps: service.Deps{Log: w.App.Log, Now: clock.Now}, Location: w.App.Config.Location(), Media: w.App.Media,
		Notifier: notify.NewInbox(w.App.DB.DB, notify.InboxOptions{Log: w.App.Log}), Scheduler: downScheduler{}})
	create := func(title string, due time.Time) int64 {
		t.Helper()
		tk, created, err := lost.Create(ctx, w.SecA.ID, w.A, task.Input{Title: title, Kind: task.KindDuty, DueAt: &due,
			RemindBeforeMinutes: 30, Target: task.Target{Badges: []org.Badge{org.BadgeFrontline}}})
		if err != nil || !created {
			t.Fatalf("Create = %v, %v", created, err)
		}
		return tk.ID
	}
	// Later the clock stands past the first's due time and within the
	// second's reminder time (30 minutes before it).
	overdueAt, soonAt := clock.Now().Add(time.Hour), clock.Now().Add(3*time.Hour)
	overdue := create("昨日遗留任务", overdueAt)
	soon := create("即将截止的任务", soonAt)
	for _, id := range []int64{overdue, soon} {
		if got := w.scheduled(id); len(got) != 0 {
			t.Fatalf("task %d has jobs %v though nothing was queued", id, got)
		}
	}
	fanOuts := func() int {
		infos, err := w.App.Queue.Inspector().ListPendingTasks(w.App.Queue.Name(queue.Critical))
		if err != nil && !errors.Is(err, asynq.ErrQueueNotFound) {
			t.Fatal(err)
		}
		n := 0
		for _, info := range infos {
			if info.Type == task.TypeFanOut {
				n++
			}
		}
		return n
	}
	if n := fanOuts(); n != 0 {
		t.Fatalf("%d fan-outs queued before the sweep", n)
	}

	t.Run("a task left dispatching is queued for its fan-out, once", func(t *testing.T) {
		w := w.in(t)
		if err := w.App.Task.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if n := fanOuts(); n != 0 {
			t.Errorf("a task created a moment ago was re-dispatched (%d jobs); the first enqueue may still be on its way", n)
		}
		clock.Add(time.Minute)
		for range 2 {
			if err := w.App.Task.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if n := fanOuts(); n != 2 {
			t.Fatalf("%d fan-outs queued, want 2", n)
		}
		w.runWorkers()
		testenv.Eventually(t, patience, "the fan-outs", func() bool {
			var n int64
			w.Must(w.App.DB.Table("tasks").Where("id IN ? AND status = 'open'", []int64{overdue, soon}).Count(&n).Error)
			return n == 2
		})
		w.checkFanOut(overdue, want)
		w.checkFanOut(soon, want)
	})
	t.Run("a task past its due time is marked overdue once, one within its reminder time is reminded once", func(t *testing.T) {
		w := w.in(t)
		clock.Set(soonAt.Add(-15 * time.Minute))
		for range 3 {
			if err := w.App.Task.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got := w.overdueUsers(overdue); !slices.Equal(got, want) {
			t.Errorf("overdue assignments of %v, want %v", got, want)
		}
		for _, tc := range []struct {
			task int64
			kind string
			want []int64
		}{
			{overdue, notify.KindTaskOverdue, want}, {overdue, notify.KindTaskReminder, nil},
			{soon, notify.KindTaskReminder, want}, {soon, notify.KindTaskOverdue, nil},
		} {
			if got := w.notified(tc.kind, tc.task); !slices.Equal(got, tc.want) {
				t.Errorf("task %d: %s went to %v, want %v", tc.task, tc.kind, got, tc.want)
			}
		}
		if got := w.overdueUsers(soon); len(got) != 0 {
			t.Errorf("the task not yet due has overdue assignments %v", got)
		}
	})
}

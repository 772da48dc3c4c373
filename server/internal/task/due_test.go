package task_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/queue"
	"xianfeng/server/internal/task"
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

// eventually polls cond until it holds or patience runs out.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", patience, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// notified lists the users told about a task with a kind of notification,
// sorted, once per notification.
func (w *world) notified(kind string, taskID int64) []int64 {
	w.t.Helper()
	var users []int64
	w.App.DB.Table("notifications").Where("kind = ? AND ref_type = 'task' AND ref_id = ?", kind, taskID).Order("user_id").Pluck("user_id", &users)
	return users
}

// overdueUsers lists the users whose assignment in a task is flagged overdue.
func (w *world) overdueUsers(taskID int64) []int64 {
	w.t.Helper()
	var users []int64
	w.App.DB.Table("assignments").Where("task_id = ? AND overdue = ?", taskID, true).Order("user_id").Pluck("user_id", &users)
	return users
}

func TestRemindersAndOverdueRunOnTheQueue(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	done, declined, accepted := w.NewMember(w.A, "frontline"), w.NewMember(w.A, "frontline"), w.NewMember(w.A, "frontline")
	due := time.Now().Add(4 * time.Second).UTC().Truncate(time.Second).Add(time.Second)
	tk := w.createTask(w.SecA, w.A, newTask("发热门诊值守", map[string]any{
		"due_at": due, "remind_before_minutes": 1, "target": map[string]any{"badges": []string{"frontline"}},
	}))
	w.Expect(w.DoAs("POST", taskPath(tk.ID, "complete"), done, map[string]any{"request_id": "r1"}), 200)
	w.Expect(w.DoAs("POST", taskPath(tk.ID, "decline"), declined, nil), 200)
	w.Expect(w.DoAs("POST", taskPath(tk.ID, "accept"), accepted, nil), 200)
	notDone := sorted([]int64{w.MemberA.ID, accepted.ID})

	w.runWorkers()
	t.Run("each assignee not done gets one reminder", func(t *testing.T) {
		w := w.in(t)
		eventually(t, "the reminders", func() bool { return len(w.notified(notify.KindTaskReminder, tk.ID)) >= len(notDone) })
		if time.Now().Add(2 * time.Second).Before(due) {
			if got := w.overdueUsers(tk.ID); len(got) != 0 {
				t.Errorf("assignments %v were marked overdue before the due time", got)
			}
		}
	})
	t.Run("at the due time the assignments not done are flagged overdue and told once", func(t *testing.T) {
		w := w.in(t)
		var row struct{ OverdueAt *time.Time }
		eventually(t, "the overdue marking", func() bool { // its last step
			if err := w.App.DB.Table("tasks").Select("overdue_at").Where("id = ?", tk.ID).Take(&row).Error; err != nil {
				t.Fatal(err)
			}
			return row.OverdueAt != nil
		})
		if row.OverdueAt.Before(due.Add(-2 * time.Second)) {
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
		time.Sleep(time.Second)
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
	eventually(t, "the fan-out", func() bool {
		var status string
		w.App.DB.Table("tasks").Where("id = ?", tk.ID).Pluck("status", &status)
		return status == "open"
	})
	w.checkFanOut(tk.ID, w.approvedIn(w.A, false))
}

func taskPathOrg(org int64) string { return fmt.Sprintf("/api/v1/orgs/%d/tasks", org) }

func TestDueJobsThatRunDuringTheFanOutAreNotLost(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a1 := w.NewMember(w.A, "frontline")
	want := sorted([]int64{w.MemberA.ID, a1.ID})
	tests := []struct {
		name string
		kind string
		// due is when the task is due; run is the job that comes too early.
		due time.Duration
		run func(ctx context.Context, id, due int64) error
		// moveDue sets the due time into the past before the sweep, as time passing would.
		moveDue bool
	}{
		{"a reminder that runs before the assignments exist", notify.KindTaskReminder, 10 * time.Minute, w.App.Task.Remind, false},
		{"an overdue marking that runs before the assignments exist", notify.KindTaskOverdue, 10 * time.Minute, w.App.Task.MarkOverdue, true},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is done once they do", func(t *testing.T) {
			w := w.in(t)
			due := time.Now().Add(tc.due).UTC().Truncate(time.Second)
			var tk taskJSON
			w.Expect(w.DoAs("POST", taskPathOrg(w.A), w.SecA, newTask("紧急排查", map[string]any{
				"due_at": due, "remind_before_minutes": 30, "target": map[string]any{"badges": []string{"frontline"}},
			})), 201).JSON(t, &tk)
			if tc.moveDue {
				due = time.Now().Add(-time.Second).UTC().Truncate(time.Second)
				w.App.DB.Exec("UPDATE tasks SET due_at = ? WHERE id = ?", due, tk.ID)
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

func TestTheSweeperCatchesTasksWhoseJobsWereNeverQueued(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a1 := w.NewMember(w.A, "frontline")
	want := sorted([]int64{w.MemberA.ID, a1.ID})
	// A service without a scheduler: as if Redis was down when the tasks were created.
	lost := task.NewService(w.App.DB.DB, w.App.Org.Store(), task.Options{Location: w.App.Config.Location(), Log: w.App.Log, Notifier: notify.NewInbox(w.App.DB.DB)})
	create := func(title string, due time.Time) int64 {
		t.Helper()
		tk, created, err := lost.Create(ctx, w.SecA.ID, w.A, task.Input{Title: title, Kind: task.KindDuty, DueAt: &due,
			RemindBeforeMinutes: 30, Target: task.Target{Badges: []org.Badge{org.BadgeFrontline}}})
		if err != nil || !created {
			t.Fatalf("Create = %v, %v", created, err)
		}
		return tk.ID
	}
	overdue := create("昨日遗留任务", time.Now().Add(time.Hour).UTC().Truncate(time.Second))
	soon := create("即将截止的任务", time.Now().Add(10*time.Minute).UTC().Truncate(time.Second))
	for _, id := range []int64{overdue, soon} {
		if got := w.scheduled(id); len(got) != 0 {
			t.Fatalf("task %d has jobs %v though nothing was queued", id, got)
		}
	}
	fanOuts := func() int {
		infos, _ := w.App.Queue.Inspector().ListPendingTasks(w.App.Queue.Name(queue.Critical))
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
		w.App.DB.Exec("UPDATE tasks SET created_at = ? WHERE id IN ?", time.Now().Add(-time.Minute).UTC(), []int64{overdue, soon})
		for range 2 {
			if err := w.App.Task.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if n := fanOuts(); n != 2 {
			t.Fatalf("%d fan-outs queued, want 2", n)
		}
		w.runWorkers()
		eventually(t, "the fan-outs", func() bool {
			var n int64
			w.App.DB.Table("tasks").Where("id IN ? AND status = 'open'", []int64{overdue, soon}).Count(&n)
			return n == 2
		})
		w.checkFanOut(overdue, want)
		w.checkFanOut(soon, want)
	})
	t.Run("a task past its due time is marked overdue once, one within its reminder time is reminded once", func(t *testing.T) {
		w := w.in(t)
		w.App.DB.Exec("UPDATE tasks SET due_at = ? WHERE id = ?", time.Now().Add(-time.Minute).UTC(), overdue)
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

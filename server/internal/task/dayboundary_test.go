package task_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"xianfeng/config"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/testenv"
)

// texts are the due time as notifications write it about a task: the
// assignment's body, its {{due}} template value and the reminder's body.
func (w *world) texts(taskID int64, userID int64) (assigned, due, reminder string) {
	w.t.Helper()
	var rows []notify.Notification
	if err := w.App.DB.DB.Where("ref_type = 'task' AND ref_id = ? AND user_id = ?", taskID, userID).Order("id").Find(&rows).Error; err != nil {
		w.t.Fatal(err)
	}
	for _, n := range rows {
		switch n.Kind {
		case notify.KindTaskAssigned:
			assigned, due = n.Body, n.Vars
		case notify.KindTaskReminder:
			reminder = n.Body
		}
	}
	return assigned, due, reminder
}

// TestDueAndOverdueAtMidnight runs a task due at midnight in Shanghai
// (16:00 UTC) on a clock the test moves: it is not overdue at 23:59:59 and
// is at 00:00:01, whatever the hour the test runs at, and its notifications
// write the due time in the configured zone.
func TestDueAndOverdueAtMidnight(t *testing.T) {
	due := time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC) // 2026-03-02 00:00 in Shanghai
	for _, zone := range []struct {
		name                  string
		timezone              string
		body, data, remindAt  string
		before, after         time.Time
		beforeName, afterName string
	}{
		{"in Asia/Shanghai", "Asia/Shanghai", "值守任务，截止 03-02 00:00", `"due":"2026-03-02 00:00"`, "请在 03-02 00:00 前完成。",
			time.Date(2026, 3, 1, 23, 59, 59, 0, shanghaiZone(t)), time.Date(2026, 3, 2, 0, 0, 1, 0, shanghaiZone(t)),
			"23:59:59 in Shanghai (15:59:59 UTC)", "00:00:01 in Shanghai (16:00:01 UTC)"},
		{"in America/Los_Angeles", "America/Los_Angeles", "值守任务，截止 03-01 08:00", `"due":"2026-03-01 08:00"`, "请在 03-01 08:00 前完成。",
			time.Date(2026, 3, 1, 15, 59, 59, 0, time.UTC), time.Date(2026, 3, 1, 16, 0, 1, 0, time.UTC),
			"15:59:59 UTC", "16:00:01 UTC"},
	} {
		t.Run(zone.name, func(t *testing.T) {
			clock := testenv.NewClock(due.Add(-time.Hour))
			w := newWorldAt(t, clock, func(c *config.Config) { c.Timezone = zone.timezone })
			ctx := context.Background()
			tk := w.createTask(w.SecA, w.A, newTask("零点值守", map[string]any{"due_at": due, "remind_before_minutes": 1}))
			assignees := w.assignees(tk.ID)
			if len(assignees) == 0 {
				t.Fatal("the task has no assignees")
			}

			t.Run("the assignment's notification writes the due time in the configured zone", func(t *testing.T) {
				w := w.in(t)
				body, data, _ := w.texts(tk.ID, w.MemberA.ID)
				if body != zone.body || !strings.Contains(data, zone.data) {
					t.Errorf("body %q data %s, want %q and %s", body, data, zone.body, zone.data)
				}
			})

			clock.Set(zone.before)
			w.sweep(ctx)
			t.Run("at "+zone.beforeName+" the task is reminded but not overdue", func(t *testing.T) {
				w := w.in(t)
				if got := w.overdueUsers(tk.ID); len(got) != 0 {
					t.Errorf("assignments of %v are overdue a second before the due time", got)
				}
				if w.shown(tk.ID).Overdue {
					t.Error("the task shows overdue a second before the due time")
				}
				if _, _, reminder := w.texts(tk.ID, w.MemberA.ID); reminder != zone.remindAt {
					t.Errorf("the reminder says %q, want %q", reminder, zone.remindAt)
				}
			})
			t.Run("at "+zone.beforeName+" a task due a second later can still be made", func(t *testing.T) {
				w := w.in(t)
				w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/tasks", w.A), w.SecA, newTask("明日值守", map[string]any{"due_at": zone.before.Add(time.Second)})), 201)
			})

			clock.Set(zone.after)
			w.sweep(ctx)
			t.Run("at "+zone.afterName+" every assignee not done is overdue", func(t *testing.T) {
				w := w.in(t)
				if got := w.overdueUsers(tk.ID); fmt.Sprint(got) != fmt.Sprint(sorted(assignees)) {
					t.Errorf("overdue %v, want %v", got, sorted(assignees))
				}
				if got := w.shown(tk.ID); got.ID != tk.ID || !got.Overdue {
					t.Error("the task does not show overdue a second after the due time")
				}
				if n := w.notifications(notify.KindTaskOverdue, tk.ID, w.MemberA.ID); n != 1 {
					t.Errorf("%d overdue notifications, want 1", n)
				}
			})
			t.Run("at "+zone.afterName+" a task due at the past midnight is refused", func(t *testing.T) {
				w := w.in(t)
				r := w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/tasks", w.A), w.SecA, newTask("过期值守", map[string]any{"due_at": due}))
				if r.Status != 400 || r.ErrorCode() != "invalid_argument" {
					t.Errorf("answered %d %s, want 400 invalid_argument", r.Status, r.Body)
				}
			})
		})
	}
}

// shown is the task as GET /tasks/{id} shows it to its secretary.
func (w *world) shown(taskID int64) taskJSON {
	w.t.Helper()
	var d struct {
		Task taskJSON `json:"task"`
	}
	w.Expect(w.DoAs("GET", taskPath(taskID, ""), w.SecA, nil), 200).JSON(w.t, &d)
	return d.Task
}

// sweep runs the task sweeper once, as the periodic job does.
func (w *world) sweep(ctx context.Context) {
	w.t.Helper()
	if err := w.App.Task.Sweep(ctx); err != nil {
		w.t.Fatalf("sweep: %v", err)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func shanghaiZone(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

package task_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"xianfeng/server/internal/queue"
	"xianfeng/server/internal/task"
	"xianfeng/server/internal/testenv"
)

// progressJSON is a task's progress as the API answers it: the server's own type, since testenv's
// client checks every response against openapi.yaml.
type progressJSON = task.Progress

type detailJSON struct {
	Task      taskJSON      `json:"task"`
	Progress  *progressJSON `json:"progress"`
	Assignees []struct {
		assignmentJSON
		Name  string `json:"name"`
		Badge string `json:"badge"`
	} `json:"assignees"`
	AssigneesNext string          `json:"assignees_next_cursor"`
	MyAssignment  *assignmentJSON `json:"my_assignment"`
}

func TestTaskCreation(t *testing.T) {
	w := newWorld(t)
	due := time.Now().Add(6 * time.Hour).UTC().Truncate(time.Second)
	path := fmt.Sprintf("/api/v1/orgs/%d/tasks", w.A)

	t.Run("a secretary creates a task that starts dispatching", func(t *testing.T) {
		w := w.in(t)
		var got taskJSON
		w.Expect(w.DoAs("POST", path, w.SecA, newTask("社区排查", map[string]any{
			"kind": "screening", "due_at": due, "remind_before_minutes": 30,
			"target":   map[string]any{"badges": []string{"frontline", "information"}, "include_suborgs": true},
			"location": map[string]any{"lat": postLat, "lng": postLng, "radius_m": 500, "address": "某小区"},
		})), 201).JSON(t, &got)
		if got.ID == 0 || got.Status != "dispatching" || got.OrgID != w.A || got.Kind != "screening" ||
			got.DueAt == nil || !got.DueAt.Equal(due) || got.Location == nil || got.Location.RadiusM != 500 ||
			strings.Join(got.Target.Badges, ",") != "frontline,information" || !got.Target.IncludeSuborgs {
			t.Errorf("created %+v", got)
		}
		var n int64
		w.Must(w.App.DB.Table("assignments").Where("task_id = ?", got.ID).Count(&n).Error)
		if n != 0 {
			t.Errorf("the task has %d assignments before its fan-out ran", n)
		}
	})

	long := strings.Repeat("长", 101)
	past := time.Now().Add(-time.Hour).UTC()
	tests := []testenv.InvalidBody{
		{Name: "an empty title", Body: newTask(" ", nil), Field: "title"},
		{Name: "a title over 100 characters", Body: newTask(long, nil), Field: "title"},
		{Name: "an unknown kind", Body: newTask("任务", map[string]any{"kind": "party"}), Field: "kind"},
		{Name: "an unknown badge", Body: newTask("任务", map[string]any{"target": map[string]any{"badges": []string{"captain"}}}), Field: "target.badges"},
		{Name: "a user id that is not positive", Body: newTask("任务", map[string]any{"target": map[string]any{"user_ids": []int64{0}}}), Field: "target.user_ids"},
		{Name: "a latitude out of range", Body: newTask("任务", map[string]any{"location": map[string]any{"lat": 91, "lng": 120, "radius_m": 100}}), Field: "location"},
		{Name: "a radius under 10 m", Body: newTask("任务", map[string]any{"location": map[string]any{"lat": 36, "lng": 120, "radius_m": 5}}), Field: "location.radius_m"},
		{Name: "a location without a radius", Body: newTask("任务", map[string]any{"location": map[string]any{"lat": 36, "lng": 120}}), Field: "location"},
		{Name: "a due time in the past", Body: newTask("任务", map[string]any{"due_at": past}), Field: "due_at"},
		{Name: "a due time before the start", Body: newTask("任务", map[string]any{"starts_at": due, "due_at": due.Add(-time.Minute)}), Field: "due_at"},
		{Name: "a reminder without a due time", Body: newTask("任务", map[string]any{"remind_before_minutes": 30}), Field: "remind_before_minutes"},
		{Name: "a negative reminder", Body: newTask("任务", map[string]any{"due_at": due, "remind_before_minutes": -1}), Field: "remind_before_minutes"},
		{Name: "a request id over 64 characters", Body: newTask("任务", map[string]any{"request_id": strings.Repeat("r", 65)}), Field: "request_id"},
	}
	w.ExpectInvalid(t, "POST", path, w.SecA, tests)

	t.Run("a replayed request_id returns the same task and makes one row", func(t *testing.T) {
		w := w.in(t)
		body := newTask("重复提交的任务", map[string]any{"request_id": "req-0001", "due_at": due})
		var first, other taskJSON
		r1 := w.Expect(w.DoAs("POST", path, w.SecA, body), 201)
		r1.JSON(t, &first)
		r := w.DoAs("POST", path, w.SecA, body)
		if (r.Status != 201 && r.Status != 200) || !bytes.Equal(r.Body, r1.Body) {
			t.Errorf("the replay answered %d\n%s\nwant\n%s", r.Status, r.Body, r1.Body)
		}
		var n int64
		w.Must(w.App.DB.Table("tasks").Where("request_id = ?", "req-0001").Count(&n).Error)
		if n != 1 {
			t.Errorf("%d rows for one request_id", n)
		}
		// Request ids belong to their secretary: another one's is a new task.
		w.Expect(w.DoAs("POST", path, w.RootSec, body), 201).JSON(t, &other)
		if other.ID == first.ID {
			t.Error("another secretary's request with the same request_id got the first task")
		}
	})

	t.Run("only secretaries of the org or above may create tasks there", func(t *testing.T) {
		w := w.in(t)
		for _, tc := range []struct {
			name   string
			p      person
			status int
		}{
			{"the secretary of the root", w.RootSec, 201},
			{"the secretary of another branch", w.SecB, 404},
			{"a member of the branch", w.MemberA, 404},
			{"a pending applicant of the branch", w.PendingA, 404},
			{"a member of another branch", w.MemberB, 404},
		} {
			r := w.DoAs("POST", path, tc.p, newTask("越权任务", nil))
			if r.Status != tc.status {
				t.Errorf("%s: got %d %s, want %d", tc.name, r.Status, r.Body, tc.status)
			}
		}
		if r := w.DoAs("POST", "/api/v1/orgs/99999/tasks", w.RootSec, newTask("任务", nil)); r.Status != 404 {
			t.Errorf("a task on an org that does not exist answered %d", r.Status)
		}
	})
}

func TestTaskDetailShowsEachCallerTheirPart(t *testing.T) {
	w := newWorld(t)
	a1 := w.NewMember(w.A, "frontline")
	a2 := w.NewMember(w.A, "publicity")
	tk := w.createTask(w.SecA, w.A, newTask("入户排查", map[string]any{"target": map[string]any{"badges": []string{"frontline"}}}))
	w.Expect(w.DoAs("POST", taskPath(tk.ID, "accept"), w.MemberA, nil), 200)
	w.Expect(w.DoAs("POST", taskPath(tk.ID, "decline"), a1, map[string]any{"reason": "外地未返"}), 200)

	for _, sec := range []struct {
		name string
		p    person
	}{{"the branch secretary", w.SecA}, {"the root secretary", w.RootSec}} {
		t.Run(sec.name+" sees progress and assignees", func(t *testing.T) {
			w := w.in(t)
			var d detailJSON
			w.Expect(w.DoAs("GET", taskPath(tk.ID, ""), sec.p, nil), 200).JSON(t, &d)
			want := progressJSON{Accepted: 1, Declined: 1, Total: 2}
			if d.Progress == nil || *d.Progress != want {
				t.Errorf("progress = %+v, want %+v", d.Progress, want)
			}
			if d.Task.Status != "open" || d.Task.AssignedCount != 2 || len(d.Assignees) != 2 || d.MyAssignment != nil {
				t.Fatalf("detail = %+v", d)
			}
			names := map[int64]string{}
			for _, a := range d.Assignees {
				names[a.UserID] = a.Name + "/" + a.Badge + "/" + a.Status
			}
			if names[w.MemberA.ID] != "张小明/frontline/accepted" || names[a1.ID] != a1.Name+"/frontline/declined" {
				t.Errorf("assignees = %v", names)
			}
		})
	}
	t.Run("the assignee list pages", func(t *testing.T) {
		w := w.in(t)
		var d detailJSON
		w.Expect(w.DoAs("GET", taskPath(tk.ID, "")+"?limit=1", w.SecA, nil), 200).JSON(t, &d)
		if len(d.Assignees) != 1 || d.AssigneesNext == "" {
			t.Fatalf("first page = %+v", d)
		}
		first := d.Assignees[0].UserID
		w.Expect(w.DoAs("GET", taskPath(tk.ID, "")+"?limit=1&cursor="+d.AssigneesNext, w.SecA, nil), 200).JSON(t, &d)
		if len(d.Assignees) != 1 || d.Assignees[0].UserID == first {
			t.Errorf("second page = %+v", d.Assignees)
		}
	})
	t.Run("an assignee sees only their own assignment", func(t *testing.T) {
		w := w.in(t)
		var d detailJSON
		w.Expect(w.DoAs("GET", taskPath(tk.ID, ""), w.MemberA, nil), 200).JSON(t, &d)
		if d.Progress != nil || d.Assignees != nil || d.MyAssignment == nil || d.MyAssignment.UserID != w.MemberA.ID || d.MyAssignment.Status != "accepted" {
			t.Errorf("detail = %+v", d)
		}
	})
	t.Run("a secretary who is also assigned sees their own assignment too", func(t *testing.T) {
		w := w.in(t)
		all := w.createTask(w.SecA, w.A, newTask("全员值守", nil))
		var d detailJSON
		w.Expect(w.DoAs("GET", taskPath(all.ID, ""), w.SecA, nil), 200).JSON(t, &d)
		if d.Progress == nil || d.MyAssignment == nil || d.MyAssignment.UserID != w.SecA.ID {
			t.Errorf("detail = %+v", d)
		}
	})
	t.Run("everyone else is told the task is not found", func(t *testing.T) {
		w := w.in(t)
		for _, who := range []struct {
			name string
			p    person
		}{
			{"a member of the branch who is not assigned", a2},
			{"a pending applicant", w.PendingA},
			{"a member of another branch", w.MemberB},
			{"the secretary of another branch", w.SecB},
		} {
			if r := w.DoAs("GET", taskPath(tk.ID, ""), who.p, nil); r.Status != 404 || r.ErrorCode() != "task_not_found" {
				t.Errorf("%s: got %d %s", who.name, r.Status, r.Body)
			}
		}
	})
	t.Run("the org's task list is for its secretaries", func(t *testing.T) {
		w := w.in(t)
		var page struct {
			Items []taskJSON `json:"items"`
		}
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/tasks?status=open", w.A), w.RootSec, nil), 200).JSON(t, &page)
		if len(page.Items) != 2 {
			t.Errorf("open tasks of A = %+v", page.Items)
		}
		if r := w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/tasks", w.A), w.MemberA, nil); r.Status != 404 {
			t.Errorf("a member listed the tasks: %d", r.Status)
		}
	})
}

// scheduled returns the due times of the task's reminder and overdue jobs
// waiting in the queue, by job type.
func (w *world) scheduled(taskID int64) map[string][]int64 {
	w.t.Helper()
	out := map[string][]int64{}
	infos, err := w.App.Queue.Inspector().ListScheduledTasks(w.App.Queue.Name(queue.Default))
	if err != nil && !strings.Contains(err.Error(), "not found") {
		w.t.Fatalf("list scheduled jobs: %v", err)
	}
	for _, info := range infos {
		var p struct {
			TaskID  int64 `json:"task_id"`
			DueUnix int64 `json:"due_unix"`
		}
		if json.Unmarshal(info.Payload, &p) == nil && p.TaskID == taskID {
			out[info.Type] = append(out[info.Type], p.DueUnix)
		}
	}
	return out
}

func TestCancellingATask(t *testing.T) {
	w := newWorld(t)
	a1 := w.NewMember(w.A, "frontline")
	a2 := w.NewMember(w.A, "frontline")
	due := time.Now().Add(3 * time.Hour).UTC().Truncate(time.Second)
	tk := w.createTask(w.SecA, w.A, newTask("夜间值守", map[string]any{
		"due_at": due, "remind_before_minutes": 60, "target": map[string]any{"badges": []string{"frontline"}},
	}))
	if got := w.scheduled(tk.ID); len(got[task.TypeOverdue]) != 1 || len(got[task.TypeRemind]) != 1 {
		t.Fatalf("before the cancel the scheduled jobs are %v", got)
	}
	w.Expect(w.DoAs("POST", taskPath(tk.ID, "accept"), w.MemberA, nil), 200)
	w.Expect(w.DoAs("POST", taskPath(tk.ID, "complete"), a1, map[string]any{"request_id": "done"}), 200)

	t.Run("nobody but its secretaries may cancel it", func(t *testing.T) {
		w := w.in(t)
		for _, p := range []person{w.MemberA, w.SecB, w.MemberB} {
			if r := w.DoAs("POST", taskPath(tk.ID, "cancel"), p, nil); r.Status != 404 {
				t.Errorf("user %d cancelled: %d %s", p.ID, r.Status, r.Body)
			}
		}
	})
	var got taskJSON
	w.Expect(w.DoAs("POST", taskPath(tk.ID, "cancel"), w.RootSec, nil), 200).JSON(t, &got)
	t.Run("the task is cancelled with its open assignments", func(t *testing.T) {
		w := w.in(t)
		if got.Status != "cancelled" || got.CancelledAt == nil {
			t.Errorf("cancel answered %+v", got)
		}
		for _, tc := range []struct {
			p    person
			want string
		}{{w.MemberA, "cancelled"}, {a2, "cancelled"}, {a1, "completed"}} {
			if st, _ := w.assignmentStatus(tk.ID, tc.p.ID); st != tc.want {
				t.Errorf("the assignment of user %d is %s, want %s", tc.p.ID, st, tc.want)
			}
		}
	})
	t.Run("cancelling again changes nothing and notifies nobody twice", func(t *testing.T) {
		w := w.in(t)
		w.Expect(w.DoAs("POST", taskPath(tk.ID, "cancel"), w.SecA, nil), 200)
		for _, tc := range []struct {
			p    person
			want int64
		}{{w.MemberA, 1}, {a2, 1}, {a1, 0}} {
			if n := w.notifications("task_cancelled", tk.ID, tc.p.ID); n != tc.want {
				t.Errorf("user %d has %d cancellation notices, want %d", tc.p.ID, n, tc.want)
			}
		}
	})
	t.Run("the reminder and overdue jobs are gone and would do nothing", func(t *testing.T) {
		w := w.in(t)
		if got := w.scheduled(tk.ID); len(got) != 0 {
			t.Errorf("after the cancel the scheduled jobs are %v", got)
		}
		ctx := context.Background()
		if err := w.App.Task.Remind(ctx, tk.ID, due.Unix()); err != nil {
			t.Fatal(err)
		}
		if err := w.App.Task.MarkOverdue(ctx, tk.ID, due.Unix()); err != nil {
			t.Fatal(err)
		}
		if n := w.notifications("task_reminder", tk.ID, 0) + w.notifications("task_overdue", tk.ID, 0); n != 0 {
			t.Errorf("a cancelled task sent %d reminders or overdue notices", n)
		}
	})
}

func TestReschedulingMovesTheDueJobs(t *testing.T) {
	clock := testenv.NewClock(future())
	w := newWorldAt(t, clock)
	ctx := context.Background()
	oldDue := clock.Now().Add(time.Hour)
	tk := w.createTask(w.SecA, w.A, newTask("物资配送", map[string]any{
		"due_at": oldDue, "remind_before_minutes": 10, "target": map[string]any{"user_ids": []int64{w.MemberA.ID}},
	}))
	if r := w.DoAs("PATCH", taskPath(tk.ID, ""), w.SecB, map[string]any{"due_at": oldDue.Add(time.Hour)}); r.Status != 404 {
		t.Errorf("another branch's secretary rescheduled: %d %s", r.Status, r.Body)
	}
	if r := w.DoAs("PATCH", taskPath(tk.ID, ""), w.SecA, map[string]any{"due_at": clock.Now().Add(-time.Minute)}); r.Status != 400 {
		t.Errorf("a due time in the past answered %d %s", r.Status, r.Body)
	}

	newDue := clock.Now().Add(3 * time.Second)
	var moved taskJSON
	w.Expect(w.DoAs("PATCH", taskPath(tk.ID, ""), w.SecA, map[string]any{"due_at": newDue, "remind_before_minutes": 0}), 200).JSON(t, &moved)
	if moved.DueAt == nil || !moved.DueAt.Equal(newDue) {
		t.Fatalf("rescheduled to %v, want %v", moved.DueAt, newDue)
	}
	t.Run("the jobs of the old due time are replaced by one of the new", func(t *testing.T) {
		w := w.in(t)
		got := w.scheduled(tk.ID)
		if len(got[task.TypeRemind]) != 0 || len(got[task.TypeOverdue]) != 1 || got[task.TypeOverdue][0] != newDue.Unix() {
			t.Errorf("scheduled jobs %v, want one overdue job at %d", got, newDue.Unix())
		}
	})
	clock.Set(newDue.Add(-time.Second)) // the overdue job may run a moment early
	t.Run("a job of the old due time does nothing", func(t *testing.T) {
		w := w.in(t)
		if err := w.App.Task.Remind(ctx, tk.ID, oldDue.Unix()); err != nil {
			t.Fatal(err)
		}
		if err := w.App.Task.MarkOverdue(ctx, tk.ID, oldDue.Unix()); err != nil {
			t.Fatal(err)
		}
		if _, overdue := w.assignmentStatus(tk.ID, w.MemberA.ID); overdue || w.notifications("task_overdue", tk.ID, 0)+w.notifications("task_reminder", tk.ID, 0) != 0 {
			t.Error("the old due time's jobs acted")
		}
	})
	t.Run("the job of the new due time marks the assignment overdue once", func(t *testing.T) {
		w := w.in(t)
		for range 2 {
			if err := w.App.Task.MarkOverdue(ctx, tk.ID, newDue.Unix()); err != nil {
				t.Fatal(err)
			}
		}
		if _, overdue := w.assignmentStatus(tk.ID, w.MemberA.ID); !overdue || w.notifications("task_overdue", tk.ID, w.MemberA.ID) != 1 {
			t.Error("the new due time's job did not mark the assignment overdue once")
		}
		var d detailJSON
		w.Expect(w.DoAs("GET", taskPath(tk.ID, ""), w.SecA, nil), 200).JSON(t, &d)
		if !d.Task.Overdue || d.Progress.Overdue != 1 {
			t.Errorf("the task shows overdue=%v with %d overdue assignments", d.Task.Overdue, d.Progress.Overdue)
		}
	})
	t.Run("moving a passed due time later clears the flag and the passed job stays quiet", func(t *testing.T) {
		w := w.in(t)
		later := clock.Now().Add(2 * time.Hour)
		w.Expect(w.DoAs("PATCH", taskPath(tk.ID, ""), w.SecA, map[string]any{"due_at": later}), 200)
		if err := w.App.Task.MarkOverdue(ctx, tk.ID, newDue.Unix()); err != nil {
			t.Fatal(err)
		}
		if _, overdue := w.assignmentStatus(tk.ID, w.MemberA.ID); overdue {
			t.Error("the assignment is still overdue after the due time moved later")
		}
		if got := w.scheduled(tk.ID); len(got[task.TypeOverdue]) != 1 || got[task.TypeOverdue][0] != later.Unix() {
			t.Errorf("scheduled jobs %v, want one overdue job at %d", got, later.Unix())
		}
	})
	t.Run("the assignee still completes the rescheduled task", func(t *testing.T) {
		w := w.in(t)
		w.Expect(w.DoAs("POST", taskPath(tk.ID, "complete"), w.MemberA, map[string]any{"request_id": "late"}), 200)
	})
}

func TestDueJobsCarryTheStoredDueTime(t *testing.T) {
	w := newWorld(t)
	// Just under a whole second, with more digits than any database keeps:
	// MySQL would round it up to the next second.
	due := time.Now().Add(time.Hour).UTC().Truncate(time.Second).Add(999_999_600 * time.Nanosecond)
	var created taskJSON
	w.Expect(w.DoAs("POST", taskPathOrg(w.A), w.SecA, newTask("精确到秒", map[string]any{"due_at": due, "remind_before_minutes": 5})), 201).JSON(t, &created)
	check := func(t *testing.T, answered *time.Time) {
		t.Helper()
		var d detailJSON
		w.Expect(w.DoAs("GET", taskPath(created.ID, ""), w.SecA, nil), 200).JSON(t, &d)
		stored := d.Task.DueAt
		if stored == nil || answered == nil || !stored.Equal(*answered) {
			t.Errorf("the write answered due_at %v, GET shows %v", answered, stored)
			return
		}
		got := w.scheduled(created.ID)
		want := map[string][]int64{task.TypeRemind: {stored.Unix()}, task.TypeOverdue: {stored.Unix()}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("the jobs are due %v, the task %v (%d)", got, stored, stored.Unix())
		}
	}
	t.Run("the jobs of a new task are due when the stored task is", func(t *testing.T) { check(t, created.DueAt) })
	t.Run("the jobs of a rescheduled task are due when the stored task is", func(t *testing.T) {
		w := w.in(t)
		var moved taskJSON
		w.Expect(w.DoAs("PATCH", taskPath(created.ID, ""), w.SecA, map[string]any{"due_at": due.Add(time.Hour)}), 200).JSON(t, &moved)
		check(t, moved.DueAt)
	})
}

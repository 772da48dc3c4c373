package task_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/task"
	"xianfeng/server/internal/testenv"
)

// TestAMemberWhoseMembershipEndedLosesTheirTasks ends a member's membership
// in each way one ends, after they were assigned four tasks there (one left
// assigned, one accepted, one checked in, one completed), and checks that
// from the next request on they have no standing on those tasks: every
// action is 404, the open assignments are closed as removed (counted as
// neither done nor missed), reminders and queued pushes leave them out, and
// check-ins and reports into that org are refused.
func TestAMemberWhoseMembershipEndedLosesTheirTasks(t *testing.T) {
	withTaskTemplates := testenv.WithTemplates(notify.KindTaskAssigned, notify.KindTaskReminder, notify.KindTaskOverdue, notify.KindTaskCancelled)
	tests := []struct {
		name string
		// setup returns the org where the member's tasks are, with the
		// member and a colleague who stays approved members of it.
		setup func(w *world, stay person) int64
		// end ends the member's membership of that org.
		end func(w *world, org int64)
		// homeLeft says whether the member still has a home membership.
		homeLeft bool
		// colleagueEnded says whether the colleague's membership ended too
		// (a dissolution ends everyone's).
		colleagueEnded bool
	}{
		{
			name:  "a member removed by the branch secretary",
			setup: func(w *world, _ person) int64 { return w.A },
			end: func(w *world, org int64) {
				w.Expect(w.DoAs("DELETE", w.MemberPath(org, w.MemberA), w.SecA, nil), 204)
			},
		},
		{
			name:  "a member removed who applied again and was rejected",
			setup: func(w *world, _ person) int64 { return w.A },
			end: func(w *world, org int64) {
				w.Expect(w.DoAs("DELETE", w.MemberPath(org, w.MemberA), w.SecA, nil), 204)
				w.Signup(w.MemberA, org, w.RootSec, "张小明", "frontline", 201)
				w.Expect(w.DoAs("POST", w.MemberPath(org, w.MemberA)+"/reject", w.SecA, map[string]string{"reason": "已调离"}), 200)
			},
		},
		{
			name: "a member lent to a temporary org that was dissolved",
			setup: func(w *world, stay person) int64 {
				temp := w.Child(w.SecA, w.A, "火车站卡口临时党支部", "temporary")
				w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/members", temp), w.SecA, map[string][]int64{"user_ids": {w.MemberA.ID, stay.ID}}), 200)
				return temp
			},
			end: func(w *world, org int64) {
				w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/dissolve", org), w.SecA, nil), 200)
			},
			homeLeft: true, colleagueEnded: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, withTaskTemplates)
			ctx := context.Background()
			stay := w.NewMember(w.A, "frontline")
			org := tc.setup(w, stay)
			consents := notify.NewConsents(w.App.DB.DB, 20)
			for range 10 {
				if err := consents.Add(ctx, w.MemberA.ID, []string{"tmpl-" + notify.KindTaskAssigned, "tmpl-" + notify.KindTaskReminder}); err != nil {
					t.Fatal(err)
				}
			}
			due := time.Now().UTC().Add(2 * time.Hour)
			var tasks [4]taskJSON
			for i := range tasks {
				tasks[i] = w.createTask(w.SecA, org, newTask(fmt.Sprintf("任务%d", i+1), map[string]any{
					"target": map[string]any{"user_ids": []int64{w.MemberA.ID, stay.ID}}, "due_at": due, "remind_before_minutes": 30,
				}))
			}
			assigned, accepted, checkedIn, completed := tasks[0], tasks[1], tasks[2], tasks[3]
			w.Expect(w.DoAs("POST", taskPath(accepted.ID, "accept"), w.MemberA, nil), 200)
			w.Expect(w.DoAs("POST", taskPath(checkedIn.ID, "checkin"), w.MemberA, map[string]any{"request_id": "ci-1"}), 200)
			w.Expect(w.DoAs("POST", taskPath(completed.ID, "complete"), w.MemberA, map[string]any{"request_id": "done-1"}), 200)

			tc.end(w, org)

			t.Run("every action on the tasks is 404 from the next request on", func(t *testing.T) {
				w := w.in(t)
				for _, r := range []struct {
					method, path string
					body         any
				}{
					{"GET", taskPath(assigned.ID, ""), nil},
					{"GET", taskPath(completed.ID, ""), nil},
					{"POST", taskPath(assigned.ID, "accept"), nil},
					{"POST", taskPath(assigned.ID, "decline"), map[string]any{"reason": "不想去"}},
					{"POST", taskPath(accepted.ID, "checkin"), map[string]any{"request_id": "ci-2"}},
					{"POST", taskPath(accepted.ID, "complete"), map[string]any{"request_id": "done-2"}},
					{"POST", taskPath(checkedIn.ID, "complete"), map[string]any{"request_id": "done-3"}},
					{"POST", taskPath(checkedIn.ID, "checkin"), map[string]any{"request_id": "ci-1"}},
					{"POST", taskPath(completed.ID, "complete"), map[string]any{"request_id": "done-1"}},
				} {
					if res := w.DoAs(r.method, r.path, w.MemberA, r.body); res.Status != 404 || res.ErrorCode() != "task_not_found" {
						t.Errorf("%s %s = %d %s, want 404 task_not_found", r.method, r.path, res.Status, res.Body)
					}
				}
			})

			t.Run("the open assignments are closed as removed and the completed one stays completed", func(t *testing.T) {
				w := w.in(t)
				for _, tk := range []taskJSON{assigned, accepted, checkedIn} {
					if st, _ := w.assignmentStatus(tk.ID, w.MemberA.ID); st != "removed" {
						t.Errorf("the assignment in %s is %s, want removed", tk.Title, st)
					}
				}
				if st, _ := w.assignmentStatus(completed.ID, w.MemberA.ID); st != "completed" {
					t.Errorf("the assignment completed before is %s, want completed", st)
				}
			})

			t.Run("the member's task list no longer shows them", func(t *testing.T) {
				w := w.in(t)
				var page struct {
					Items []struct {
						Task taskJSON `json:"task"`
					} `json:"items"`
				}
				w.Expect(w.DoAs("GET", "/api/v1/me/tasks", w.MemberA, nil), 200).JSON(t, &page)
				if len(page.Items) != 0 {
					t.Errorf("GET /me/tasks lists %d tasks, want none", len(page.Items))
				}
			})

			t.Run("the secretary's progress counts them as removed, neither done nor missed", func(t *testing.T) {
				w := w.in(t)
				var d struct {
					Progress map[string]int64 `json:"progress"`
				}
				w.Expect(w.DoAs("GET", taskPath(accepted.ID, ""), w.SecA, nil), 200).JSON(t, &d)
				want := map[string]int64{"assigned": 1, "accepted": 0, "completed": 0, "removed": 1, "overdue": 0, "total": 2}
				if tc.colleagueEnded {
					want["assigned"], want["removed"] = 0, 2
				}
				for k, v := range want {
					if d.Progress[k] != v {
						t.Errorf("progress.%s = %d, want %d (progress %v)", k, d.Progress[k], v, d.Progress)
					}
				}
			})

			t.Run("statistics count neither the removed assignments nor the member", func(t *testing.T) {
				w := w.in(t)
				var st struct {
					Org struct {
						Tasks map[string]int64 `json:"tasks"`
					} `json:"org"`
				}
				w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/stats", org), w.SecA, nil), 200).JSON(t, &st)
				// 8 assignments: the member's 3 removed ones do not count (nor
				// the colleague's 4 when theirs ended too); 1 done, unaccepted.
				want := map[string]int64{"assigned": 5, "accepted": 0, "done_on_time": 1, "overdue": 0, "declined": 0}
				if tc.colleagueEnded {
					want["assigned"] = 1
				}
				for k, v := range want {
					if st.Org.Tasks[k] != v {
						t.Errorf("tasks.%s = %d, want %d (%v)", k, st.Org.Tasks[k], v, st.Org.Tasks)
					}
				}
			})

			t.Run("reminders leave the member out and their queued pushes are not sent", func(t *testing.T) {
				w := w.in(t)
				if err := w.App.Task.Remind(ctx, assigned.ID, assigned.DueAt.Unix()); err != nil {
					t.Fatal(err)
				}
				if n := w.notifications(notify.KindTaskReminder, assigned.ID, w.MemberA.ID); n != 0 {
					t.Errorf("the member got %d reminders, want 0", n)
				}
				if want := map[bool]int64{false: 1, true: 0}[tc.colleagueEnded]; w.notifications(notify.KindTaskReminder, assigned.ID, stay.ID) != want {
					t.Errorf("the colleague got %d reminders, want %d", w.notifications(notify.KindTaskReminder, assigned.ID, stay.ID), want)
				}
				w.DeliverQueued(ctx)
				for _, m := range w.WeChat.Sent() {
					if m.ToOpenID == "o-"+w.MemberA.Login {
						t.Errorf("a push went to the member: %+v", m)
					}
				}
			})

			t.Run("daily check-ins and reports into that org are refused", func(t *testing.T) {
				w := w.in(t)
				if res := w.DoAs("POST", "/api/v1/checkins", w.MemberA, map[string]any{"org_id": org, "request_id": "day-1"}); res.Status != 404 || res.ErrorCode() != "not_member" {
					t.Errorf("check-in = %d %s, want 404 not_member", res.Status, res.Body)
				}
				if res := w.DoAs("POST", "/api/v1/reports", w.MemberA, map[string]any{"org_id": org, "category": "other", "urgency": "normal",
					"content": "移出后上报", "request_id": "r-1"}); res.Status != 404 || res.ErrorCode() != "not_member" {
					t.Errorf("report = %d %s, want 404 not_member", res.Status, res.Body)
				}
				res := w.DoAs("POST", "/api/v1/deeds", w.MemberA, map[string]any{"title": "移出后自荐", "content": "内容"})
				if want := map[bool]int{false: 404, true: 201}[tc.homeLeft]; res.Status != want {
					t.Errorf("self-nominated deed = %d %s, want %d", res.Status, res.Body, want)
				}
			})
		})
	}
}

// TestARemovedMembersQueuedPushesStop: a member removed from their only
// organisation gets no more pushes of any kind from the next moment on —
// an announcement posted before the removal whose push still waits is not
// sent; it stays in the inbox, which they can no longer reach through the
// org anyway. A member who keeps another membership keeps those pushes.
func TestARemovedMembersQueuedPushesStop(t *testing.T) {
	w := newWorld(t, testenv.WithTemplates(notify.KindAnnouncement))
	ctx := context.Background()
	stay := w.NewMember(w.A, "frontline")
	consents := notify.NewConsents(w.App.DB.DB, 20)
	for _, p := range []person{w.MemberA, stay} {
		if err := consents.Add(ctx, p.ID, []string{"tmpl-" + notify.KindAnnouncement}); err != nil {
			t.Fatal(err)
		}
	}
	var a struct{ ID int64 }
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/announcements", w.A), w.SecA,
		map[string]any{"title": "防控通知", "body": "请立即传达。", "include_suborgs": false}), 201).JSON(t, &a)
	if err := w.App.Announce.FanOut(ctx, a.ID); err != nil {
		t.Fatal(err)
	}

	w.Expect(w.DoAs("DELETE", w.MemberPath(w.A, w.MemberA), w.SecA, nil), 204)

	w.DeliverQueued(ctx)
	if n := w.Pushed(w.MemberA); n != 0 {
		t.Errorf("the removed member got %d pushes after the removal, want 0", n)
	}
	if n := w.Pushed(stay); n != 1 {
		t.Errorf("the member who stayed got %d pushes, want 1 (the announcement)", n)
	}
}

// TestTheSweepClosesAssignmentsThatRacedARemoval: a fan-out that read the
// member list just before a removal committed can still write the removed
// member an assignment after the removal closed theirs. The minute sweep
// closes such an assignment as removed, so it is counted neither done nor
// missed, while the colleague's stays open.
func TestTheSweepClosesAssignmentsThatRacedARemoval(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	stay := w.NewMember(w.A, "frontline")
	tk := w.createTask(w.SecA, w.A, newTask("卡口值守", map[string]any{
		"target": map[string]any{"user_ids": []int64{stay.ID}}, "due_at": time.Now().UTC().Add(2 * time.Hour),
	}))
	w.Expect(w.DoAs("DELETE", w.MemberPath(w.A, w.MemberA), w.SecA, nil), 204)
	// The late write of the racing fan-out.
	now := time.Now().UTC()
	late := task.Assignment{TaskID: tk.ID, UserID: w.MemberA.ID, OrgID: w.A, Status: task.AAssigned, CreatedAt: now, UpdatedAt: now}
	if err := w.App.DB.Create(&late).Error; err != nil {
		t.Fatal(err)
	}

	if err := w.App.Task.Sweep(ctx); err != nil {
		t.Fatal(err)
	}

	statusOf := func(userID int64) string {
		var status string
		if err := w.App.DB.Model(&task.Assignment{}).Where("task_id = ? AND user_id = ?", tk.ID, userID).Pluck("status", &status).Error; err != nil {
			t.Fatal(err)
		}
		return status
	}
	if got := statusOf(w.MemberA.ID); got != string(task.ARemoved) {
		t.Errorf("the removed member's late assignment is %q after the sweep, want %q", got, task.ARemoved)
	}
	if got := statusOf(stay.ID); got != string(task.AAssigned) {
		t.Errorf("the colleague's assignment is %q after the sweep, want %q", got, task.AAssigned)
	}
}

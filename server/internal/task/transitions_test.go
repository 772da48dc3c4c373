package task_test

import (
	"bytes"
	"math"
	"strconv"
	"testing"
	"time"
)

// The post of the located task, and points at a given distance north of it.
const postLat, postLng, postRadius = 36.0671, 120.3826, 200

// metresPerDegree is the length of a degree of latitude on the sphere the
// server measures on (radius 6371 km).
const metresPerDegree = 6371000 * math.Pi / 180

func north(m float64) (lat, lng float64) { return postLat + m/metresPerDegree, postLng }

// at is a check-in body at m metres north of the post.
func at(m float64, accuracy float64, rid string) map[string]any {
	lat, lng := north(m)
	body := map[string]any{"lat": lat, "lng": lng, "request_id": rid}
	if accuracy > 0 {
		body["accuracy_m"] = accuracy
	}
	return body
}

// step is one request of a member on their assignment and what must follow.
type step struct {
	action string // accept, decline, checkin or complete
	body   any
	status int
	code   string // the error code, for refusals
	after  string // the assignment's status afterwards, read from the database
}

type answer struct {
	Task       taskJSON       `json:"task"`
	Assignment assignmentJSON `json:"assignment"`
}

func TestAssignmentStateMachine(t *testing.T) {
	w := newWorld(t)
	now := time.Now().UTC()
	// Every approved member of A is assigned each task created after they joined.
	var members []person
	for range 18 {
		members = append(members, w.NewMember(w.A, "frontline"))
	}
	plain := w.createTask(w.SecA, w.A, newTask("卡口值守", map[string]any{"due_at": now.Add(24 * time.Hour)}))
	located := w.createTask(w.SecA, w.A, newTask("火车站卡口值守", map[string]any{
		"location": map[string]any{"lat": postLat, "lng": postLng, "radius_m": postRadius, "address": "青岛站北广场"},
	}))
	later := w.createTask(w.SecA, w.A, newTask("明日排查", map[string]any{
		"kind": "screening", "starts_at": now.Add(time.Hour), "due_at": now.Add(2 * time.Hour),
	}))
	if plain.Status != "dispatching" {
		t.Fatalf("a new task is %s, want dispatching", plain.Status)
	}

	paths := []struct {
		name  string
		task  taskJSON
		steps []step
	}{
		{"an assigned member accepts and then completes a task without a location", plain, []step{
			{"accept", nil, 200, "", "accepted"},
			{"complete", map[string]any{"request_id": "c1", "note": "已完成"}, 200, "", "completed"},
		}},
		{"an assigned member completes a task without a location at once", plain, []step{
			{"complete", map[string]any{"request_id": "c1"}, 200, "", "completed"},
		}},
		{"an assigned member declines, and cannot accept afterwards", plain, []step{
			{"decline", map[string]any{"reason": "发烧在家隔离"}, 200, "", "declined"},
			{"accept", nil, 409, "invalid_transition", "declined"},
		}},
		{"an accepted member declines", plain, []step{
			{"accept", nil, 200, "", "accepted"},
			{"decline", nil, 200, "", "declined"},
		}},
		{"accepting twice is refused", plain, []step{
			{"accept", nil, 200, "", "accepted"},
			{"accept", nil, 409, "invalid_transition", "accepted"},
		}},
		{"an assigned member checks in without a position where none is needed, then completes", plain, []step{
			{"checkin", map[string]any{"request_id": "k1"}, 200, "", "checked_in"},
			{"complete", map[string]any{"request_id": "c1"}, 200, "", "completed"},
		}},
		{"a completed assignment can be neither declined, checked in nor completed again", plain, []step{
			{"complete", map[string]any{"request_id": "c1"}, 200, "", "completed"},
			{"decline", nil, 409, "invalid_transition", "completed"},
			{"checkin", map[string]any{"request_id": "k2"}, 409, "invalid_transition", "completed"},
			{"complete", map[string]any{"request_id": "c2"}, 409, "invalid_transition", "completed"},
		}},
		{"completing a located task before checking in is refused, assigned or accepted", located, []step{
			{"complete", map[string]any{"request_id": "c1"}, 409, "checkin_required", "assigned"},
			{"accept", nil, 200, "", "accepted"},
			{"complete", map[string]any{"request_id": "c2"}, 409, "checkin_required", "accepted"},
		}},
		{"an accepted member checks in inside the area and completes", located, []step{
			{"accept", nil, 200, "", "accepted"},
			{"checkin", at(50, 0, "k1"), 200, "", "checked_in"},
			{"complete", map[string]any{"request_id": "c1"}, 200, "", "completed"},
		}},
		{"an assigned member checks in at once, and a second check-in is refused", located, []step{
			{"checkin", at(0, 10, "k1"), 200, "", "checked_in"},
			{"checkin", at(0, 10, "k2"), 409, "invalid_transition", "checked_in"},
			{"decline", nil, 409, "invalid_transition", "checked_in"},
		}},
		{"a check-in 1 km away is refused", located, []step{
			{"checkin", at(1000, 0, "k1"), 422, "outside_area", "assigned"},
		}},
		{"a reported accuracy widens the radius", located, []step{
			{"checkin", at(250, 80, "k1"), 200, "", "checked_in"},
		}},
		{"without the accuracy the same point is outside", located, []step{
			{"checkin", at(250, 0, "k1"), 422, "outside_area", "assigned"},
		}},
		{"a 5 km accuracy does not let a point 1 km away in", located, []step{
			{"checkin", at(1000, 5000, "k1"), 422, "outside_area", "assigned"},
		}},
		{"accuracy widens the radius by 100 m at most", located, []step{
			{"checkin", at(320, 5000, "k1"), 422, "outside_area", "assigned"},
			{"checkin", at(280, 5000, "k2"), 200, "", "checked_in"},
		}},
		{"a check-in without a position at a located task is refused", located, []step{
			{"checkin", map[string]any{"request_id": "k1"}, 400, "invalid_argument", "assigned"},
		}},
		{"checking in before the task starts is refused, accepting is not", later, []step{
			{"checkin", map[string]any{"request_id": "k1"}, 409, "task_not_started", "assigned"},
			{"accept", nil, 200, "", "accepted"},
			{"checkin", map[string]any{"request_id": "k2"}, 409, "task_not_started", "accepted"},
		}},
	}
	if len(paths) > len(members) {
		t.Fatalf("%d paths need as many members, have %d", len(paths), len(members))
	}
	for i, tc := range paths {
		p := members[i]
		t.Run(tc.name, func(t *testing.T) {
			w := w.in(t)
			for j, s := range tc.steps {
				r := w.DoAs("POST", taskPath(tc.task.ID, s.action), p, s.body)
				if r.Status != s.status || (s.code != "" && r.ErrorCode() != s.code) {
					t.Fatalf("step %d %s answered %d %s, want %d %s", j+1, s.action, r.Status, r.Body, s.status, s.code)
				}
				if r.Status == 200 {
					var a answer
					r.JSON(t, &a)
					if a.Assignment.Status != s.after || a.Task.ID != tc.task.ID || a.Assignment.UserID != p.ID {
						t.Errorf("step %d %s answered %+v, want status %s", j+1, s.action, a.Assignment, s.after)
					}
				}
				if got, _ := w.assignmentStatus(tc.task.ID, p.ID); got != s.after {
					t.Errorf("after step %d %s the assignment is %s, want %s", j+1, s.action, got, s.after)
				}
			}
		})
	}

	t.Run("a refusal outside the area names the distance", func(t *testing.T) {
		w := w.in(t)
		p := members[len(paths)]
		r := w.DoAs("POST", taskPath(located.ID, "checkin"), p, at(1000, 5000, "far"))
		e := r.APIError(t)
		d, err := strconv.ParseFloat(e.Fields["distance_m"], 64)
		if r.Status != 422 || e.Code != "outside_area" || err != nil || math.Abs(d-1000) > 2 {
			t.Errorf("got %d %s, want 422 outside_area with distance_m about 1000", r.Status, r.Body)
		}
	})

	t.Run("a repeated request_id returns the first answer even after the state moved on", func(t *testing.T) {
		w := w.in(t)
		p := members[len(paths)]
		checkin := w.Expect(w.DoAs("POST", taskPath(located.ID, "checkin"), p, at(30, 5, "k-retry")), 200)
		complete := w.Expect(w.DoAs("POST", taskPath(located.ID, "complete"), p, map[string]any{"request_id": "c-retry", "note": "交接完毕"}), 200)
		for _, tc := range []struct {
			name, action string
			body         any
			first        []byte
		}{
			{"check-in", "checkin", at(30, 5, "k-retry"), checkin.Body},
			{"completion", "complete", map[string]any{"request_id": "c-retry", "note": "交接完毕"}, complete.Body},
		} {
			for range 2 {
				r := w.DoAs("POST", taskPath(located.ID, tc.action), p, tc.body)
				if r.Status != 200 || !bytes.Equal(r.Body, tc.first) {
					t.Errorf("the %s again answered %d\n%s\nwant 200\n%s", tc.name, r.Status, r.Body, tc.first)
				}
			}
		}
		if got, _ := w.assignmentStatus(located.ID, p.ID); got != "completed" {
			t.Errorf("after the retries the assignment is %s, want completed", got)
		}
	})

	t.Run("every action on a cancelled task is refused as cancelled", func(t *testing.T) {
		w := w.in(t)
		cancelled := w.createTask(w.SecA, w.A, newTask("已取消的任务", nil))
		w.Expect(w.DoAs("POST", taskPath(cancelled.ID, "cancel"), w.SecA, nil), 200)
		for _, tc := range []struct {
			action string
			body   any
		}{
			{"accept", nil}, {"decline", map[string]any{"reason": "无"}},
			{"checkin", map[string]any{"request_id": "k1"}}, {"complete", map[string]any{"request_id": "c1"}},
		} {
			r := w.DoAs("POST", taskPath(cancelled.ID, tc.action), w.MemberA, tc.body)
			if r.Status != 409 || r.ErrorCode() != "task_cancelled" {
				t.Errorf("%s answered %d %s, want 409 task_cancelled", tc.action, r.Status, r.Body)
			}
		}
		if r := w.DoAs("PATCH", taskPath(cancelled.ID, ""), w.SecA, map[string]any{"due_at": now.Add(48 * time.Hour)}); r.Status != 409 || r.ErrorCode() != "task_cancelled" {
			t.Errorf("rescheduling a cancelled task answered %d %s", r.Status, r.Body)
		}
	})

	t.Run("a user without an assignment is told the task is not found", func(t *testing.T) {
		w := w.in(t)
		for _, who := range []struct {
			name string
			p    person
			task int64
		}{
			{"a member of another branch", w.MemberB, plain.ID},
			{"a pending applicant", w.PendingA, plain.ID},
			{"the secretary of another branch", w.SecB, plain.ID},
			{"a member who joined after the fan-out", w.NewMember(w.A, "publicity"), plain.ID},
			{"an assignee of a task that does not exist", w.MemberA, plain.ID + 1000},
		} {
			for _, action := range []string{"accept", "decline", "checkin", "complete"} {
				r := w.DoAs("POST", taskPath(who.task, action), who.p, map[string]any{"request_id": "x1"})
				if r.Status != 404 || r.ErrorCode() != "task_not_found" {
					t.Errorf("%s: %s answered %d %s, want 404 task_not_found", who.name, action, r.Status, r.Body)
				}
			}
		}
	})

	t.Run("my task list shows each assignment with its task", func(t *testing.T) {
		w := w.in(t)
		var page struct {
			Items []answer `json:"items"`
		}
		w.Expect(w.DoAs("GET", "/api/v1/me/tasks?status=completed", members[0], nil), 200).JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0].Task.ID != plain.ID || page.Items[0].Assignment.Status != "completed" {
			t.Errorf("completed tasks of member 1 = %+v", page.Items)
		}
		w.Expect(w.DoAs("GET", "/api/v1/me/tasks", members[0], nil), 200).JSON(t, &page)
		if len(page.Items) != 4 { // plain, located, later and the cancelled one
			t.Errorf("member 1 lists %d tasks, want 4", len(page.Items))
		}
	})
}

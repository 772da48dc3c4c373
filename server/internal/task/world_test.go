package task_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"xianfeng/config"
	"xianfeng/server/internal/testenv"
)

// world is the testenv.World (the small Tree) of a task test.
type world struct {
	*testenv.World
	t *testing.T
}

// person is a logged-in user.
type person = testenv.Person

func newWorld(t *testing.T, configure ...func(*config.Config)) *world {
	t.Helper()
	return newWorldAt(t, nil, configure...)
}

// newWorldAt is newWorld on a clock that the test moves (nil: real time).
func newWorldAt(t *testing.T, clock *testenv.Clock, configure ...func(*config.Config)) *world {
	t.Helper()
	opts := testenv.Options{}
	if clock != nil {
		opts.Now = clock.Now
	}
	if len(configure) > 0 {
		opts.Configure = configure[0]
	}
	return &world{World: testenv.NewWorld(t, opts), t: t}
}

// in returns the world for a subtest, so that its helpers fail the subtest.
func (w *world) in(t *testing.T) *world { return &world{World: w.World.In(t), t: t} }

// taskJSON is a task as the API answers it.
type taskJSON struct {
	ID            int64  `json:"id"`
	OrgID         int64  `json:"org_id"`
	Title         string `json:"title"`
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	AssignedCount int    `json:"assigned_count"`
	Overdue       bool   `json:"overdue"`
	Target        struct {
		Badges         []string `json:"badges"`
		UserIDs        []int64  `json:"user_ids"`
		IncludeSuborgs bool     `json:"include_suborgs"`
	} `json:"target"`
	Location *struct {
		Lat     float64 `json:"lat"`
		Lng     float64 `json:"lng"`
		RadiusM int     `json:"radius_m"`
	} `json:"location"`
	StartsAt    *time.Time `json:"starts_at"`
	DueAt       *time.Time `json:"due_at"`
	CancelledAt *time.Time `json:"cancelled_at"`
}

// assignmentJSON is an assignment as the API answers it.
type assignmentJSON struct {
	ID      int64  `json:"id"`
	TaskID  int64  `json:"task_id"`
	UserID  int64  `json:"user_id"`
	OrgID   int64  `json:"org_id"`
	Status  string `json:"status"`
	Overdue bool   `json:"overdue"`
	Reason  string `json:"reason"`
	Note    string `json:"note"`
	Checkin *struct {
		DistanceM *float64 `json:"distance_m"`
	} `json:"checkin"`
}

// newTask is the body of POST /orgs/{id}/tasks with sensible defaults.
func newTask(title string, extra map[string]any) map[string]any {
	body := map[string]any{"title": title, "kind": "duty", "description": "请按时到岗"}
	for k, v := range extra {
		body[k] = v
	}
	return body
}

// createTask creates a task on org as by and runs its fan-out, as the
// queue worker would.
func (w *world) createTask(by person, org int64, body map[string]any) taskJSON {
	w.t.Helper()
	var t taskJSON
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/tasks", org), by, body), 201).JSON(w.t, &t)
	if err := w.App.Task.FanOut(context.Background(), t.ID); err != nil {
		w.t.Fatalf("fan-out of task %d: %v", t.ID, err)
	}
	return t
}

// notifications counts the notifications of a kind about a task, for one
// user or (user 0) for everyone.
func (w *world) notifications(kind string, taskID, userID int64) int64 {
	w.t.Helper()
	q := w.App.DB.Table("notifications").Where("kind = ? AND ref_type = 'task' AND ref_id = ?", kind, taskID)
	if userID != 0 {
		q = q.Where("user_id = ?", userID)
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		w.t.Fatal(err)
	}
	return n
}

// assignmentStatus reads a user's assignment straight from the database.
func (w *world) assignmentStatus(taskID, userID int64) (status string, overdue bool) {
	w.t.Helper()
	var row struct {
		Status  string
		Overdue bool
	}
	if err := w.App.DB.Table("assignments").Select("status, overdue").Where("task_id = ? AND user_id = ?", taskID, userID).Take(&row).Error; err != nil {
		w.t.Fatalf("assignment of user %d in task %d: %v", userID, taskID, err)
	}
	return row.Status, row.Overdue
}

func taskPath(id int64, action string) string {
	if action == "" {
		return fmt.Sprintf("/api/v1/tasks/%d", id)
	}
	return fmt.Sprintf("/api/v1/tasks/%d/%s", id, action)
}

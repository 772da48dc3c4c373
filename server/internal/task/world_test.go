package task_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"xianfeng/config"
	"xianfeng/server/internal/testenv"
)

// world is a small tree for HTTP tests:
//
//	root (committee, secretary rootSec)
//	├── A (branch, secretary secA; members memberA, pendingA)
//	└── B (branch, secretary secB; member memberB)
type world struct {
	t   *testing.T
	env *testenv.Env

	root, a, b int64

	rootSec, secA, secB, memberA, memberB, pendingA person
	logins                                          int
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
	w := &world{t: t, env: testenv.New(t, opts)}
	tree := w.env.BuildTree()
	w.root, w.a, w.b = tree.Root, tree.A, tree.B
	w.rootSec, w.secA, w.secB, w.memberA, w.memberB, w.pendingA = tree.RootSec, tree.SecA, tree.SecB, tree.MemberA, tree.MemberB, tree.PendingA
	return w
}

func (w *world) do(method, path string, p person, body any) testenv.Response {
	w.t.Helper()
	return w.env.DoAs(method, path, p, body)
}

func (w *world) expect(r testenv.Response, status int) testenv.Response {
	w.t.Helper()
	return w.env.Expect(r, status)
}

func (w *world) login(name, phone string) person {
	w.t.Helper()
	return w.env.LoginAs(name, phone)
}

func (w *world) child(by person, parent int64, name, kind string) int64 {
	w.t.Helper()
	return w.env.Child(by, parent, name, kind)
}

func (w *world) invite(org int64) string {
	w.t.Helper()
	return w.env.Invite(w.rootSec, org)
}

func (w *world) signup(p person, org int64, name, badge string) {
	w.t.Helper()
	w.env.Signup(p, org, w.rootSec, name, badge, 201)
}

// join logs a new user in, signs them up to org and has approver approve them.
func (w *world) join(login, phone string, org int64, name, badge string, approver person) person {
	w.t.Helper()
	return w.env.Join(w.login(login, phone), org, w.rootSec, name, badge, approver)
}

// newMember adds a fresh approved member with badge to org.
func (w *world) newMember(org int64, badge string) person {
	w.t.Helper()
	w.logins++
	return w.join(fmt.Sprintf("m%d", w.logins), fmt.Sprintf("135%08d", w.logins), org, fmt.Sprintf("队员%d", w.logins), badge, w.rootSec)
}

func (w *world) memberPath(org int64, p person) string {
	return w.env.MemberPath(org, p)
}

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
	w.expect(w.do("POST", fmt.Sprintf("/api/v1/orgs/%d/tasks", org), by, body), 201).JSON(w.t, &t)
	if err := w.env.App.Task.FanOut(context.Background(), t.ID); err != nil {
		w.t.Fatalf("fan-out of task %d: %v", t.ID, err)
	}
	return t
}

// notifications counts the notifications of a kind about a task, for one
// user or (user 0) for everyone.
func (w *world) notifications(kind string, taskID, userID int64) int64 {
	w.t.Helper()
	q := w.env.App.DB.Table("notifications").Where("kind = ? AND ref_type = 'task' AND ref_id = ?", kind, taskID)
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
	if err := w.env.App.DB.Table("assignments").Select("status, overdue").Where("task_id = ? AND user_id = ?", taskID, userID).Take(&row).Error; err != nil {
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
